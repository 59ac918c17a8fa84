"""Programme status from the enrollments (在保状态对账, once, at the upgrade): before the status
had one door, a 低保 or 特困 category could be typed on the household page or outlive the
enrollment that a stop ended. This maps the categories onto the enrollments where they differ,
by the rules of `doudi.benefits.status_rules` (shared with `doudi benefits reconcile-status`):
- an open category whose enrollments have all ended is ended when the last one ended;
- an enrollment in force without its category gets one from its start;
- an open category with no enrollment at all is reported, not changed (待核实: a clerk takes
  it up with an application, or ends it through a decision).

Historical models only; the programme table is frozen below as the catalogue stood here. The
decision function is pure (plain rows in, a plan out) and imports no model.

The report: a summary printed while `migrate` runs, one audit row per category changed (as the
models' save signal would have written it) and one summary row with the counts and the rows
left to verify. Audit rows written here are inserted unsealed like every other; the hash chain
takes them in when `migrate` ends (audit's post_migrate seal, doudi/audit/apps.py). The full
list of categories still to verify stays available from `doudi benefits reconcile-status`.

Reverse: nothing (the audit rows say what changed; an ended category is not reopened).
"""

from django.db import migrations
from django.utils import timezone

from doudi.benefits import status_rules

# Frozen: the programmes that pay monthly and set a registry category, as the catalogue
# declared them at this migration — 低保 (a household's; 单人保 counts as 低保) and 特困 (one
# member's). 低保边缘 and 支出型困难 set a category but pay nothing monthly: the category is
# their only record, there is no enrollment to compare it with.
PROGRAMMES = [
    status_rules.StatusProgramme(category="dibao", label="低保", level="household",
                                 programmes=("dibao", "single_person")),
    status_rules.StatusProgramme(category="tekun", label="特困", level="member",
                                 programmes=("tekun",)),
]
JOB = "migrate benefits 0014"
OBJECT_TYPE = "registry.categoryassignment"
SHOWN = 20  # lines of each kind printed; the audit rows hold them all
KEPT = 500  # rows still to verify listed in the summary audit row
CHUNK = 2_000


def _chunks(items):
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def _area_codes(model, db, ids):
    out = {}
    for part in _chunks(ids):
        out.update(model.objects.using(db).filter(pk__in=part).values_list("pk", "area_code"))
    return out


def _event(AuditEvent, action, object_id, label, area_code, changes):
    return AuditEvent(actor_name="system", action=action, object_type=OBJECT_TYPE,
                      object_id=str(object_id or ""), object_label=label[:200],
                      area_code=area_code or "", changes=changes, job=JOB)


def forwards(apps, schema_editor):
    db = schema_editor.connection.alias
    Enrollment = apps.get_model("benefits", "Enrollment")
    CategoryAssignment = apps.get_model("registry", "CategoryAssignment")
    Household = apps.get_model("registry", "Household")
    Person = apps.get_model("registry", "Person")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    day = timezone.localdate()

    codes = sorted({c for p in PROGRAMMES for c in p.programmes})
    enrollments = [status_rules.EnrollmentRow(*r) for r in Enrollment.objects.using(db).filter(
        programme__in=codes).order_by("id").values_list(
        "programme", "household_id", "person_id", "start_date", "end_date").iterator(
        chunk_size=CHUNK)]
    categories = [status_rules.CategoryRow(*r) for r in CategoryAssignment.objects.using(db)
                  .filter(category__in=[p.category for p in PROGRAMMES]).order_by("id")
                  .values_list("id", "category", "household_id", "person_id", "start_date",
                               "end_date").iterator(chunk_size=CHUNK)]
    plan = status_rules.decide(PROGRAMMES, enrollments, categories, day)
    if not plan:
        return

    events = []
    rows = CategoryAssignment.objects.using(db)
    for part in _chunks(plan.ended):
        before = {r[0]: r[1:] for r in rows.filter(pk__in=[x.category_id for x in part])
                  .values_list("id", "area_code", "note")}
        for end in part:
            area_code, note = before[end.category_id]
            rows.filter(pk=end.category_id).update(end_date=end.end_date,
                                                   note=status_rules.NOTE_ENDED)
            events.append(_event(AuditEvent, "update", end.category_id, f"类别 {end.label}",
                                 area_code, {"end_date": [None, end.end_date.isoformat()],
                                             "note": [note, status_rules.NOTE_ENDED]}))

    areas = {kind: _area_codes(model, db, [x.owner[1] for x in plan.opened
                                           if x.owner[0] == kind])
             for kind, model in (("household", Household), ("person", Person))}
    for part in _chunks(plan.opened):
        made = rows.bulk_create([CategoryAssignment(
            category=new.category, start_date=new.start_date, note=status_rules.NOTE_OPENED,
            area_code=areas[new.owner[0]][new.owner[1]], **{f"{new.owner[0]}_id": new.owner[1]})
            for new in part])
        for new, row in zip(part, made, strict=True):
            events.append(_event(AuditEvent, "create", row.pk, f"类别 {new.label}",
                                 row.area_code, {
                                     "id": [None, row.pk], "area_code": [None, row.area_code],
                                     new.owner[0]: [None, new.owner[1]],
                                     "category": [None, new.category],
                                     "start_date": [None, new.start_date.isoformat()],
                                     "note": [None, status_rules.NOTE_OPENED]}))

    counts = plan.counts()
    events.append(_event(AuditEvent, "update", "", "在保状态对账（升级）：救助类别与保障记录", "", {
        **counts, "day": day.isoformat(),
        "unsettled_rows": [x.line() for x in plan.unsettled[:KEPT]],
        "unsettled_listed_by": "doudi benefits reconcile-status"}))
    for part in _chunks(events):
        AuditEvent.objects.using(db).bulk_create(part)

    out = [f"\n  在保状态对账（{day}）：终止 {counts['ended']}，补认定 {counts['opened']}；"
           f"待核实 {counts['unsettled']}（有类别而无任何保障记录，未改动）"]
    for kind in (plan.ended, plan.opened, plan.unsettled):
        out += [f"    {x.line()}" for x in kind[:SHOWN]]
        if len(kind) > SHOWN:
            out.append(f"    …… 另 {len(kind) - SHOWN} 条（见审计日志；待核实的用 "
                       "doudi benefits reconcile-status 列出）")
    print("\n".join(out))  # the report an operator reads while migrating


class Migration(migrations.Migration):

    dependencies = [
        ("benefits", "0013_settled_balance"),
        ("registry", "0005_person_name_index"),
        ("audit", "0005_hash_chain"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
