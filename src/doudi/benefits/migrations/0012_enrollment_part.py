"""An enrollment says which part of a programme it pays (两项补贴: 困难残疾人生活补贴 or 重度残疾人
护理补贴), and the 两项补贴 enrollments made before, one per person for both subsidies, are split
where their records allow it.

What a 两项补贴 enrollment paid for is read from its 认定依据: the rules' explanation kept at
approval, with one line per subsidy saying whether it applied and its monthly amount. Nothing
else is taken as evidence and no amount is ever guessed:

- one subsidy applied, and every amount the enrollment has paid is that subsidy's: the
  enrollment is that part (its history is that part's history);
- both applied, the enrollment is in force with no change since its start, and the two amounts
  add up to what it pays: it is ended and each part starts as an enrollment of its own on the
  first of the month after the last month it has a payment line for (and never before its
  second month, so its first month is paid by the same rule as before). What it still owes for
  earlier months (a returned payment, a line waiting for an account) is owed on it as before;
  from that day each part is owed its own amount. The open 复核 goes with the parts;
- otherwise (no explanation, an amount changed since, suspended, tapering …) it is kept as it
  is, covering both subsidies as it did, and marked (`explanation.part_unknown`, the reason)
  for staff to settle; ended ones are history and are left alone.

Every change writes an audit row; a summary with the marked enrollments' ids is printed.
Backwards the field is dropped; enrollments already split stay split (each still pays its
amount).
"""

import datetime as dt
import re
import sys
from decimal import Decimal, InvalidOperation

from django.db import migrations, models
from django.db.models import Subquery

import doudi.programmes.catalogue

# the catalogue as it stood when parts were told apart (a migration does not follow it later)
PROGRAMME = "disability"
PARTS = (("disability_living", "困难残疾人生活补贴"), ("disability_care", "重度残疾人护理补贴"))
AMOUNT = re.compile(r"补贴\s*([0-9][0-9,]*\.[0-9]{2})\s*元/月")
JOB = "benefits 0012_enrollment_part"
COVERED = ("active", "suspended", "tapering")


def _next_month(day):
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def decided_parts(explanation):
    """{part: monthly fen} of the subsidies the approval found applying, or the reason the
    explanation cannot say."""
    lines = ((explanation or {}).get("rules") or {}).get("lines") or []
    found = {}
    for code, label in PARTS:
        line = next((ln for ln in lines if str(ln.get("label", "")).startswith(label)), None)
        if line is None:
            return None, "认定依据未记录各项补贴的认定结果"
        if line.get("outcome") is not True:
            continue
        amount = AMOUNT.search(str(line.get("detail", "")))
        try:
            fen = int(Decimal(amount.group(1).replace(",", "")) * 100) if amount else None
        except InvalidOperation:
            fen = None
        if not fen:
            return None, f"认定依据未载明{label}金额"
        found[code] = fen
    if not found:
        return None, "认定依据中两项补贴均不符合"
    return found, ""


def split(apps, schema_editor):
    Enrollment = apps.get_model("benefits", "Enrollment")
    EnrollmentEvent = apps.get_model("benefits", "EnrollmentEvent")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    labels = dict(PARTS)
    counts = {"labelled": 0, "split": 0, "marked": 0, "ended_left": 0}
    marked = []

    def audit(e, label, changes):
        AuditEvent.objects.create(actor_name="系统", action="update", job=JOB,
                                  object_type="benefits.enrollment", object_id=str(e.pk),
                                  object_label=f"保障对象 {e.pk}：{label}"[:200],
                                  area_code=e.area_code, changes=changes)

    for e in Enrollment.objects.filter(programme=PROGRAMME, part="").order_by("id"):
        parts, reason = decided_parts(e.explanation)
        events = list(EnrollmentEvent.objects.filter(enrollment=e).order_by(
            "effective_date", "id"))
        if parts and len(parts) == 1:
            (code, fen), = parts.items()
            if all(ev.amount_fen in (0, fen) for ev in events) and e.amount_fen in (0, fen):
                e.part = code
                e.save(update_fields=["part"])
                audit(e, f"认定为{labels[code]}", {"part": ["", code]})
                counts["labelled"] += 1
                continue
            reason = "金额自审批后有变更，无法确定所发补贴"
        elif parts and e.status == "ended":
            counts["ended_left"] += 1
            continue
        elif parts:
            if e.status != "active" or [ev.kind for ev in events] != ["start"]:
                reason = "审批后有过变更（暂停、渐退或调整金额），无法确定各项补贴现月金额"
            elif e.amount_fen != sum(parts.values()) or events[0].amount_fen != e.amount_fen:
                reason = "现月保障金与认定依据中各项补贴金额之和不符"
            else:
                _split(e, parts, apps, audit, labels)
                counts["split"] += 1
                continue
        if e.status == "ended":
            counts["ended_left"] += 1
            continue
        e.explanation = {**(e.explanation or {}), "part_unknown": reason}
        e.save(update_fields=["explanation"])
        audit(e, "未能区分两项补贴，待核实", {"part_unknown": reason})
        marked.append((e.pk, reason))
        counts["marked"] += 1
    if any(counts.values()):
        out = sys.stdout
        out.write(f"\n  两项补贴分项：认定为单项 {counts['labelled']} 个，拆分为两项 "
                  f"{counts['split']} 个，无法区分待核实 {len(marked)} 个，已停保未改 "
                  f"{counts['ended_left']} 个\n")
        for pk, reason in marked:
            out.write(f"    待核实 保障对象 {pk}：{reason}\n")


def _split(e, parts, apps, audit, labels):
    """End `e` and start one enrollment per part on the split day (see the module's note)."""
    Enrollment = apps.get_model("benefits", "Enrollment")
    EnrollmentEvent = apps.get_model("benefits", "EnrollmentEvent")
    PaymentLine = apps.get_model("benefits", "PaymentLine")
    ReviewTask = apps.get_model("benefits", "ReviewTask")
    day = _next_month(_next_month(e.start_date))
    last_line = (PaymentLine.objects.filter(enrollment=e).order_by("-month")
                 .values_list("month", flat=True).first())
    if last_line is not None:
        day = max(day, _next_month(last_line))
    reason = "两项补贴分项保障：自{:%Y年%m月}起按{}分别发放".format(
        day, "、".join(labels[c] for c in parts))
    EnrollmentEvent.objects.create(enrollment=e, kind="stop", effective_date=day, amount_fen=0,
                                   previous_fen=e.amount_fen, reason=reason[:200],
                                   area_code=e.area_code)
    before = e.amount_fen
    e.status, e.end_date, e.amount_fen = "ended", day, 0
    e.exit_reason = "分为两项补贴分别保障"
    e.save(update_fields=["status", "end_date", "amount_fen", "exit_reason"])
    made = []
    for code, fen in parts.items():
        part = Enrollment.objects.create(
            household_id=e.household_id, person_id=e.person_id, programme=e.programme,
            part=code, status="active", amount_fen=fen, start_date=day,
            application_id=e.application_id, area_code=e.area_code,
            explanation={**(e.explanation or {}), "amount_fen": fen, "part": code,
                         "split_from": e.pk},
            payee_name=e.payee_name, bank=e.bank)
        EnrollmentEvent.objects.create(enrollment=part, kind="start", effective_date=day,
                                       amount_fen=fen, reason=reason[:200],
                                       area_code=e.area_code)
        made.append(part)
    # the account's ciphertext copied as stored: no key needed, nothing decrypted
    Enrollment.objects.filter(pk__in=[p.pk for p in made]).update(
        payee_account=Subquery(Enrollment.objects.filter(pk=e.pk).values("payee_account")[:1]))
    task = ReviewTask.objects.filter(enrollment=e, status="open").first()
    if task is not None:
        task.enrollment = made[0]
        task.save(update_fields=["enrollment"])
        for part in made[1:]:
            ReviewTask.objects.create(enrollment=part, due_date=task.due_date,
                                      area_code=task.area_code)
    audit(e, f"两项补贴分项：原 {before} 分/月自 {day} 起分为 "
          + "、".join(f"{labels[p.part]} {p.amount_fen} 分（保障对象 {p.pk}）" for p in made),
          {"status": ["active", "ended"], "end_date": [None, day.isoformat()],
           "split_into": [p.pk for p in made]})
    for p in made:
        audit(p, f"新增{labels[p.part]}（由保障对象 {e.pk} 分项）",
              {"part": p.part, "amount_fen": p.amount_fen, "start_date": day.isoformat()})


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0005_hash_chain'),
        ('benefits', '0011_one_off_payment'),
    ]

    operations = [
        migrations.AddField(
            model_name='enrollment',
            name='part',
            field=models.CharField(blank=True, choices=doudi.programmes.catalogue.part_choices, default='', max_length=30, verbose_name='组成部分'),
        ),
        migrations.RunPython(split, migrations.RunPython.noop),
    ]
