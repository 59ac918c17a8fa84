"""Enrollments and monthly payments.

`enroll` starts an enrollment (from an approved application); `change` records a dated
增发 / 减发 / 停发 / 恢复 / 暂停 / 渐退 event; `build_run` makes a month's roster for an area
with `doudi.engine.payments.roster` from the events and the earlier lines — only those since
each enrollment's carried balance, `doudi.benefits.settlement` (maker); `approve_run` locks
it (checker, never the maker) and freezes each line's payee as approved; a line without a
usable account is held back as 待补账号. The payee itself changes only by a request a second
person approves (`doudi.benefits.payees`). The bank's file and its answer are
`doudi.benefits.bank_files`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, Sum
from django.utils import timezone

from doudi.accounts import roles
from doudi.areas.models import Area
from doudi.areas.scoping import in_scope
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.benefits import banks, partitions, settlement
from doudi.benefits.models import (
    Budget,
    Enrollment,
    EnrollmentEvent,
    PaymentLine,
    PaymentRun,
    PaymentRunEvent,
)
from doudi.core.errors import ServiceError
from doudi.engine.payments import roster
from doudi.policy.services import parameter_set
from doudi.programmes import catalogue
from doudi.rules.parameters import engine_value


class BenefitsError(ServiceError):
    """A refused benefits action; the message is Chinese."""


def _rule(key: str, area_code: str, day: dt.date, default: str) -> str:
    found = parameter_set().find(key, area_code, day)
    return str(engine_value(found)) if found is not None else default


def enroll(*, by, household, programme: str, amount_fen: int, start_date: dt.date,  # noqa: ANN001
           person=None, application=None, explanation: dict | None = None,  # noqa: ANN001
           reason: str = "审批纳入", part: str = "", part_unknown: str = "") -> Enrollment:
    """纳入保障 from `start_date`. A programme paid in parts (两项补贴) is enrolled part by part:
    `part` names it, and a part the person (or household) already receives is refused. Only a
    decision that cannot tell its parts apart (`part_unknown`: why) enrols the programme whole,
    marked for staff to settle. The payee is the member concerned or the head; the account is
    registered afterwards through a payee change (two people), and until then the lines wait
    as 待补账号."""
    parts = {u.code: u for u in catalogue.parts(programme)}
    if part_unknown and parts and not part:
        explanation = {**(explanation or {}), "part_unknown": part_unknown}
    elif parts and part not in parts:
        raise BenefitsError(f"{catalogue.label(programme)}须按组成部分分别纳入："
                            f"{'、'.join(u.label for u in parts.values())}")
    if part and not parts:
        raise BenefitsError(f"{catalogue.label(programme)}没有组成部分“{part}”")
    holder = person or household.head()
    with transaction.atomic():
        if part and Enrollment.objects.filter(
                household=household, person=person, programme=programme, part=part).exclude(
                status=Enrollment.ENDED).exists():
            raise BenefitsError(f"已在享受{parts[part].label}，不能重复纳入")
        enrollment = Enrollment.objects.create(
            household=household, person=person, programme=programme, part=part,
            amount_fen=amount_fen, start_date=start_date, application=application,
            explanation=explanation or {},
            payee_name=holder.name if holder else "", payee_person=holder,
            area_code=household.area_code)
        EnrollmentEvent.objects.create(enrollment=enrollment, kind="start",
                                       effective_date=start_date, amount_fen=amount_fen,
                                       reason=reason, actor=by, area_code=household.area_code)
    return enrollment


def change(*, by, enrollment: Enrollment, kind: str, effective_date: dt.date,  # noqa: ANN001
           amount_fen: int | None = None, reason: str) -> EnrollmentEvent:
    """A dated change. `stop` ends the enrollment (exit reason kept, monitored two years)."""
    if kind not in dict(EnrollmentEvent.KIND_CHOICES) or kind == "start":
        raise BenefitsError(f"未知变更类型：{kind}")
    if not reason.strip():
        raise BenefitsError("请填写变更原因")
    if by is not None and (not in_scope(by, enrollment.area_code, roles.EDIT_REGISTRY)
                           or not by.can(roles.CHANGE_ENROLLMENT)):
        raise PermissionDenied("保障金变更由镇街审批或区县民政部门办理")
    if enrollment.status == Enrollment.ENDED and kind != "resume":
        raise BenefitsError("已停保，不能再变更")
    new_amount = 0 if kind in ("stop", "suspend") else amount_fen
    if new_amount is None or new_amount < 0:
        raise BenefitsError("请填写变更后的月保障金")
    with transaction.atomic():
        event = EnrollmentEvent.objects.create(
            enrollment=enrollment, kind=kind, effective_date=effective_date,
            amount_fen=new_amount, previous_fen=enrollment.amount_fen, reason=reason.strip(),
            actor=by, area_code=enrollment.area_code)
        enrollment.amount_fen = new_amount
        if kind == "stop":
            enrollment.status, enrollment.end_date = Enrollment.ENDED, effective_date
            enrollment.exit_reason = reason.strip()[:100]
            enrollment.monitor_until = effective_date.replace(year=effective_date.year + 2) \
                if not (effective_date.month == 2 and effective_date.day == 29) \
                else dt.date(effective_date.year + 2, 3, 1)
        elif kind == "suspend":
            enrollment.status = Enrollment.SUSPENDED
        elif kind == "taper":
            enrollment.status = Enrollment.TAPERING
        elif kind == "resume":
            enrollment.status, enrollment.end_date = Enrollment.ACTIVE, None
        enrollment.save()
        if kind in ("stop", "resume"):
            _follow_category(enrollment, kind, effective_date, reason.strip())
    return event


def _follow_category(enrollment: Enrollment, kind: str, day: dt.date, reason: str) -> None:
    """The programme status in the registry (低保, 特困 …) follows the decision that stops or
    resumes the enrollment: this is one of the doors through which it changes."""
    from doudi.registry.models import CategoryAssignment

    category = catalogue.category_of(enrollment.programme)
    if category is None:
        return
    owner = ({"person_id": enrollment.person_id} if enrollment.person_id
             and catalogue.get(enrollment.programme).level == catalogue.MEMBER
             else {"household_id": enrollment.household_id})
    open_rows = CategoryAssignment.objects.filter(category=category, end_date__isnull=True,
                                                  **owner)
    note = f"{'停发' if kind == 'stop' else '恢复'}：{reason}"[:200]
    if kind == "stop" and catalogue.parts(enrollment.programme) and Enrollment.objects.filter(
            programme=enrollment.programme, **owner).exclude(pk=enrollment.pk).exclude(
            status=Enrollment.ENDED).exists():
        return  # another part of the programme still pays: the status stays
    if kind == "stop":
        for row in open_rows:
            row.end_date, row.note = max(day, row.start_date), note
            row.save()
    elif not open_rows.exists():
        CategoryAssignment.objects.create(category=category, start_date=day, note=note,
                                          area_code=enrollment.area_code, **owner)


def payee_is_usable(name: str, account: str, bank: str, account_kind: str) -> bool:
    """Whether a payment may be written to a bank file for this payee (a name, and an account
    its bank's numbers can be: `doudi.benefits.banks`); otherwise the line is held back as
    待补账号 until an approved payee change gives it one (`doudi.benefits.payees`)."""
    return bool(name.strip()) and banks.payable(account, bank, account_kind)


EVENT_SCHEMA = {"enrollment_id": pl.Int64, "kind": pl.String, "effective_date": pl.Date,
                "amount_fen": pl.Int64}


def periods(enrollment_ids) -> pl.DataFrame:  # noqa: ANN001 - a list or an id subquery
    """Amount periods from the events: each event's amount holds until the next event; a stop
    closes the enrollment at its date."""
    rows = (EnrollmentEvent.objects.filter(enrollment_id__in=enrollment_ids)
            .order_by("enrollment_id", "effective_date", "id")
            .values_list("enrollment_id", "kind", "effective_date", "amount_fen"))
    return periods_of(settlement.read_frame(rows, EVENT_SCHEMA))


def periods_frame(rows) -> pl.DataFrame:  # noqa: ANN001 - (enrollment, kind, day, fen) in order
    return periods_of(pl.DataFrame(list(rows), schema=EVENT_SCHEMA, orient="row"))


def periods_of(events: pl.DataFrame) -> pl.DataFrame:
    """PERIOD_SCHEMA from events (EVENT_SCHEMA) ordered by enrollment, date and id: each
    event but a stop opens a period that lasts until the enrollment's next event."""
    return (events.with_columns(pl.col("effective_date").shift(-1).over("enrollment_id")
                                .alias("valid_to"))
            .filter(pl.col("kind") != "stop")
            .select("enrollment_id", pl.col("effective_date").alias("valid_from"), "valid_to",
                    "amount_fen"))


@dataclass
class Built:
    run: PaymentRun
    lines: int
    total_fen: int
    carried: int = 0  # enrollments summed from a carried balance (结转), not their history


@dataclass
class Owed:
    """What the rosters of an area owe in a month, from the events, the carried balances and
    the lines since them (`doudi.benefits.settlement`)."""

    scope: Any  # the enrollments' queryset
    lines: pl.DataFrame  # LINE_SCHEMA
    balances: pl.DataFrame  # BALANCE_SCHEMA: only those new or changed
    first: dt.date
    rules: tuple[str, str]
    carried: int  # enrollments summed from a balance rather than their history


def _owed(area: Area, month: dt.date, settle_through: dt.date) -> Owed:
    """The lines of `month` for the enrollments under `area`, and their balances carried to
    `settle_through` (those that differ from the balance they started from)."""
    prefix = area.prefix
    start_rule = _rule("benefits.start_rule", area.code, month, "none")
    stop_rule = _rule("benefits.stop_rule", area.code, month, "full")
    first = (PaymentRun.objects.filter(area_code__startswith=prefix[:6])
             .aggregate(m=Min("month"))["m"] or month)
    first = min(first, month)
    # the enrollments as a subquery: a list of a million ids would cost seconds to send and
    # would pass SQLite's limit on bound variables
    scope = Enrollment.objects.filter(area_code__startswith=prefix).exclude(end_date__lt=first)
    ids = scope.values("id")
    amounts = periods(ids)
    # 结转: from each enrollment's balance carried to a settled month, the months since; a
    # line returned by the bank or held back for want of an account paid nothing
    opening, paid = settlement.paid_lines(
        ids, settlement.openings(ids, month, first, start_rule, stop_rule),
        amounts["enrollment_id"].unique(), first)
    lines, balances = roster.roster_with_balances(
        amounts, paid, month, first, start_rule, stop_rule, opening,
        settle_through=settle_through)
    # a balance that did not move (its opening already reached `settle_through`) stays as
    # it is stored: rewriting a million unchanged rows would cost seconds
    unchanged = opening.select("enrollment_id",
                               pl.col("from_month").dt.offset_by("-1mo").alias("settled_month"),
                               "balance_fen")
    balances = balances.join(unchanged, on=list(unchanged.columns), how="anti")
    return Owed(scope, lines, balances, first, (start_rule, stop_rule), opening.height)


def _area(area_code: str) -> Area:
    area = Area.objects.filter(code=area_code.ljust(12, "0")).first()
    if area is None:
        raise BenefitsError(f"区划不存在：{area_code}")
    return area


def build_run(*, by, month: dt.date, area_code: str) -> Built:  # noqa: ANN001
    """发放花名册 of `month` for the enrollments under `area_code` (maker)."""
    month = month.replace(day=1)
    area = _area(area_code)
    area_code = area.code
    if not by.can(roles.BUILD_RUN) or not in_scope(by, area_code, roles.VIEW_REGISTRY):
        raise PermissionDenied("发放花名册由区县民政部门生成")
    _after_history(area, month)
    partitions.ensure_month(month)  # before the long transaction: it locks the table briefly
    with transaction.atomic():
        old = PaymentRun.objects.select_for_update().filter(
            area_code=area_code, month=month, status__in=PaymentRun.OPEN).first()
        if old is not None:  # a draft, or one sent back, is built again in place
            settlement.forget_lines(old.month_lines())
            old.month_lines().delete()
        # balances through the month before: usually the bank's answer for it settled them
        # already (`settle_run`) and nothing moves; without an answer they are carried here
        owed = _owed(area, month, roster.month_start(month - dt.timedelta(days=1)))
        settlement.store(owed.balances, owed.first, *owed.rules)
        # one line per enrollment and month, whatever became of it: what a returned line
        # still owes is paid in the next month's roster
        ids = owed.scope.values("id")
        done = pl.Series(list(PaymentLine.objects.filter(month=month, enrollment_id__in=ids)
                              .values_list("enrollment_id", flat=True)), dtype=pl.Int64)
        areas = pl.DataFrame(list(owed.scope.values_list("id", "area_code")),
                             schema={"enrollment_id": pl.Int64, "area_code": pl.String},
                             orient="row")
        lines = (owed.lines.filter(~pl.col("enrollment_id").is_in(done.implode())
                                   & (pl.col("total_fen") > 0))
                 .join(areas, on="enrollment_id", how="left"))
        if old is None:
            run = PaymentRun.objects.create(month=month, built_by=by, area_code=area_code)
        else:
            run = old
            run.status, run.built_by, run.built_at = PaymentRun.DRAFT, by, timezone.now()
        _write_lines(run, lines)
        run.totals = totals(run)
        run.save(update_fields=["totals", "status", "built_by", "built_at"])
        PaymentRunEvent.objects.create(run=run, action=PaymentRunEvent.BUILD, by=by,
                                       note="重新生成" if old is not None else "",
                                       area_code=area_code)
        audit.record(AuditEvent.CREATE, object_type="benefits.paymentrun", object_id=run.pk,
                     object_label=f"生成{run}（{run.totals['lines']} 人次）",
                     area_code=area_code, changes={"total_fen": run.totals["total_fen"]})
    return Built(run, run.totals["lines"], run.totals["total_fen"], owed.carried)


def _after_history(area: Area, month: dt.date) -> None:
    """A month the old system paid (its history imported at go-live) is not built again."""
    last = (PaymentRun.objects.filter(area_code__startswith=area.prefix[:6], imported=True)
            .aggregate(m=Max("month"))["m"])
    if last is not None and month <= last:
        raise BenefitsError(f"{month:%Y年%m月}已由原系统发放（上线时导入的历史发放至"
                            f"{last:%Y年%m月}），本系统的花名册从{roster.next_month(last):%Y年%m月}"
                            "起生成")


def settle_run(run: PaymentRun) -> int:
    """结算: once the bank has answered `run`, carry the balances of its area's enrollments
    through its month, so that the next month's roster starts from them and sums that one
    month only. Not when a later month's run exists (its roster carried them already).
    Inside the caller's transaction; returns how many balances moved."""
    area = _area(run.area_code)
    later = PaymentRun.objects.filter(area_code__startswith=area.prefix, month__gt=run.month)
    if later.exists():
        return 0
    owed = _owed(area, roster.next_month(run.month), run.month)
    settlement.store(owed.balances, owed.first, *owed.rules)
    return owed.balances.height


LINE_COLUMNS = ("run_id", "enrollment_id", "month", "regular_fen", "arrears_fen",
                "recovery_fen", "total_fen", "status", "failure", "area_code", "payee_name",
                "payee_account", "bank", "account_kind")


def _write_lines(run: PaymentRun, lines: pl.DataFrame) -> None:
    """The roster's lines into the database: COPY on PostgreSQL (a million rows in seconds),
    bulk_create elsewhere. Both inside the caller's transaction."""
    frame = lines.select(
        pl.lit(run.pk, pl.Int64).alias("run_id"), "enrollment_id",
        pl.lit(run.month, pl.Date).alias("month"), "regular_fen", "arrears_fen",
        "recovery_fen", "total_fen", pl.lit(PaymentLine.PENDING).alias("status"),
        pl.lit("").alias("failure"), "area_code",
        # the payee is taken when the run is approved (`approve_run`), not while it is a draft
        pl.lit("").alias("payee_name"), pl.lit("").alias("payee_account"),
        pl.lit("").alias("bank"), pl.lit("").alias("account_kind"))
    if connection.vendor == "postgresql":
        sql = (f"COPY {PaymentLine._meta.db_table} ({', '.join(LINE_COLUMNS)}) FROM STDIN "
               "(FORMAT csv, FORCE_NOT_NULL (failure, payee_name, payee_account, bank, "
               "account_kind))")
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for start in range(0, frame.height, 200_000):
                copy.write(frame.slice(start, 200_000).write_csv(include_header=False))
        return
    PaymentLine.objects.bulk_create(
        [PaymentLine(**row) for row in frame.iter_rows(named=True)], batch_size=5000)


def totals(run: PaymentRun) -> dict[str, Any]:
    """Totals by town and programme, summed from the lines (so they always agree). Lines held
    back as 待补账号 are not in them: they are counted apart under "awaiting_account"."""
    held = run.month_lines().filter(status=PaymentLine.AWAITING_ACCOUNT).aggregate(
        lines=Count("id"), total_fen=Sum("total_fen"))
    rows = pl.DataFrame(
        list(run.month_lines().exclude(status=PaymentLine.AWAITING_ACCOUNT).values_list(
            "area_code", "enrollment__programme", "total_fen", "arrears_fen", "recovery_fen")),
        schema={"area": pl.String, "programme": pl.String, "total": pl.Int64,
                "arrears": pl.Int64, "recovery": pl.Int64}, orient="row")
    by = (rows.with_columns(pl.col("area").str.slice(0, 9).alias("town"))
          .group_by("town", "programme").agg(pl.len().alias("lines"),
                                             pl.col("total").sum().alias("total_fen"))
          .sort("town", "programme"))
    return {"lines": rows.height, "total_fen": int(rows["total"].sum() or 0),
            "arrears_fen": int(rows["arrears"].sum() or 0),
            "recovery_fen": int(rows["recovery"].sum() or 0),
            "by_town_programme": by.to_dicts(),
            "awaiting_account": {"lines": held["lines"], "total_fen": held["total_fen"] or 0}}


# what a line keeps of its enrollment's payee when its run is approved
PAYEE_SNAPSHOT = ("payee_name", "payee_account", "bank", "account_kind")


def freeze_payees(run: PaymentRun) -> None:
    """Each line of `run` takes its enrollment's payee as it is now (the account's ciphertext is
    copied as stored: one UPDATE joined to the enrollments, nothing decrypted). Inside the
    approval's transaction."""
    lines, enrollments = PaymentLine._meta.db_table, Enrollment._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {lines} SET "
            + ", ".join(f"{f} = e.{f}" for f in PAYEE_SNAPSHOT)
            + f" FROM {enrollments} e WHERE e.id = {lines}.enrollment_id "
            f"AND {lines}.month = %s AND {lines}.run_id = %s", [run.month, run.pk])


def hold(run: PaymentRun, line_ids: list[int]) -> None:
    """These lines of `run` become 待补账号: kept with their amount, never sent, owed again
    next month (so a balance that counted them as paid is cleared)."""
    for start in range(0, len(line_ids), 50_000):
        chunk = run.month_lines().filter(pk__in=line_ids[start:start + 50_000])
        settlement.forget_lines(chunk)
        chunk.update(status=PaymentLine.AWAITING_ACCOUNT)


def hold_unpayable(run: PaymentRun) -> int:
    """Lines of `run` still to be sent whose frozen payee cannot be paid are held back. Returns
    how many; the run's totals are recomputed."""
    held = [pk for pk, *payee in run.month_lines().filter(status=PaymentLine.PENDING)
            .values_list("pk", *PAYEE_SNAPSHOT).iterator(chunk_size=20_000)
            if not payee_is_usable(*payee)]
    hold(run, held)
    if held:
        run.totals = totals(run)
        run.save(update_fields=["totals"])
    return len(held)


def check_checker(by, run: PaymentRun, act: str, capability: str) -> None:  # noqa: ANN001
    """Refuses, with the reason, a checker who may not `act` on `run` (审核 or 退回): the run
    must await approval, lie in the checker's area, and not be the checker's own build
    (双人复核)."""
    if not by.can(capability) or not in_scope(by, run.area_code, roles.VIEW_REGISTRY):
        raise PermissionDenied(f"发放批次由区县审批人员{act}")
    if run.status != PaymentRun.DRAFT:
        raise BenefitsError(f"只有待审核的发放批次可以{act}")
    if run.built_by_id == by.pk:
        raise PermissionDenied(f"生成花名册的人员不能{act}同一批次（双人复核）")


def _checker(by, run: PaymentRun, act: str, capability: str) -> PaymentRun:  # noqa: ANN001
    """The run locked for the checker's act, after `check_checker`."""
    run.status = PaymentRun.objects.select_for_update().values_list(
        "status", flat=True).get(pk=run.pk)
    check_checker(by, run, act, capability)
    return run


@transaction.atomic
def approve_run(*, by, run: PaymentRun, opinion: str) -> PaymentRun:  # noqa: ANN001
    """审核锁定 with the checker's opinion (审核意见, required): the payees are frozen as
    approved and lines without a usable account are held back. The status change, its
    history row and its audit row commit together; the row lock stops two approvers."""
    opinion = opinion.strip()
    if not opinion:
        raise BenefitsError("请填写审核意见", field="opinion")
    _checker(by, run, "审核", roles.APPROVE_RUN)
    run.status, run.approved_by, run.approved_at = PaymentRun.APPROVED, by, timezone.now()
    run.save(update_fields=["status", "approved_by", "approved_at"])
    freeze_payees(run)
    held = hold_unpayable(run)
    PaymentRunEvent.objects.create(run=run, action=PaymentRunEvent.APPROVE, note=opinion[:500],
                                   by=by, area_code=run.area_code)
    audit.record(AuditEvent.UPDATE, object_type="benefits.paymentrun", object_id=run.pk,
                 object_label=f"审核锁定{run}" + (f"（待补账号 {held} 人次）" if held else ""),
                 area_code=run.area_code,
                 changes={"opinion": opinion[:500], **({"awaiting_account": held} if held
                                                        else {})})
    return run


@transaction.atomic
def return_run(*, by, run: PaymentRun, reason: str) -> PaymentRun:  # noqa: ANN001
    """退回: the checker sends the run back to the maker with a reason; it cannot be approved
    until the maker builds it again (`build_run`, in place)."""
    reason = reason.strip()
    if not reason:
        raise BenefitsError("请填写退回原因", field="reason")
    _checker(by, run, "退回", roles.RETURN_RUN)
    run.status = PaymentRun.RETURNED
    run.save(update_fields=["status"])
    PaymentRunEvent.objects.create(run=run, action=PaymentRunEvent.RETURN, note=reason[:500],
                                   by=by, area_code=run.area_code)
    audit.record(AuditEvent.UPDATE, object_type="benefits.paymentrun", object_id=run.pk,
                 object_label=f"退回{run}", area_code=run.area_code,
                 changes={"status": [PaymentRun.DRAFT, PaymentRun.RETURNED],
                          "reason": reason[:500]})
    return run


# 与上月比较: how a run's lines stand against the previous month's approved run
CHANGE_KINDS = {"new": "新增", "ended": "减少", "changed": "金额变化", "unchanged": "未变"}


def previous_run(run: PaymentRun) -> PaymentRun | None:
    """The approved run of the same area for the month before `run`'s."""
    before = roster.month_start(run.month - dt.timedelta(days=1))
    return (PaymentRun.objects.filter(area_code=run.area_code, month=before)
            .exclude(status__in=PaymentRun.OPEN).order_by("-id").first())


def _compared_lines(run: PaymentRun | None) -> pl.DataFrame:
    schema = {"enrollment_id": pl.Int64, "household_id": pl.Int64, "programme": pl.String,
              "area_code": pl.String, "total_fen": pl.Int64}
    if run is None:
        return pl.DataFrame(schema=schema)
    return pl.DataFrame(list(run.month_lines().values_list(
        "enrollment_id", "enrollment__household_id", "enrollment__programme", "area_code",
        "total_fen")), schema=schema, orient="row")


def _covered(enrollment_ids: list[int], day: dt.date) -> pl.DataFrame:
    """(enrollment, person) for the persons these enrollments cover (`coverage`'s rule)."""
    from doudi.benefits.coverage import covered_people

    schema = {"enrollment_id": pl.Int64, "who": pl.Int64}
    rows: list[tuple[int, int]] = []
    for start in range(0, len(enrollment_ids), 5000):
        force = Enrollment.objects.filter(pk__in=enrollment_ids[start:start + 5000])
        for qs in covered_people(force, day, eid=F("id")):
            rows += [(r["eid"], r["who"]) for r in qs]
    return pl.DataFrame(rows, schema=schema, orient="row")


def compare_to_previous(run: PaymentRun) -> dict[str, Any]:
    """与上月比较 by town and programme: households, persons and amount of the lines new this
    month, ended (in last month's approved run, not in this one), changed in amount, and
    unchanged. Amounts are this month's, last month's for those ended (`before_fen` gives last
    month's for the changed). The one computation the approval page and its Excel read."""
    previous = previous_run(run)
    now, before = _compared_lines(run), _compared_lines(previous)
    joined = now.join(before, on="enrollment_id", how="full", coalesce=True, suffix="_before")
    joined = joined.with_columns(
        pl.when(pl.col("total_fen_before").is_null()).then(pl.lit("new"))
        .when(pl.col("total_fen").is_null()).then(pl.lit("ended"))
        .when(pl.col("total_fen") != pl.col("total_fen_before")).then(pl.lit("changed"))
        .otherwise(pl.lit("unchanged")).alias("kind"),
        pl.coalesce("household_id", "household_id_before").alias("household"),
        pl.coalesce("programme", "programme_before").alias("prog"),
        pl.coalesce("area_code", "area_code_before").str.slice(0, 9).alias("town"),
        pl.when(pl.col("total_fen").is_null()).then(pl.col("total_fen_before"))
        .otherwise(pl.col("total_fen")).alias("amount"))
    # who is covered: on the last day of this month, and of last month for those ended
    def last_day(month: dt.date) -> dt.date:
        return roster.next_month(month) - dt.timedelta(days=1)

    ended = joined.filter(pl.col("kind") == "ended")["enrollment_id"].to_list()
    people = pl.concat([
        _covered(joined.filter(pl.col("kind") != "ended")["enrollment_id"].to_list(),
                 last_day(run.month)),
        _covered(ended, last_day(previous.month if previous else run.month))])
    persons = (joined.join(people, on="enrollment_id", how="inner")
               .group_by("town", "prog", "kind").agg(pl.col("who").n_unique().alias("persons")))
    groups = (joined.group_by("town", "prog", "kind")
              .agg(pl.col("household").n_unique().alias("households"),
                   pl.col("amount").sum().alias("amount_fen"),
                   pl.col("total_fen_before").sum().alias("before_fen"))
              .join(persons, on=["town", "prog", "kind"], how="left")
              .with_columns(pl.col("persons").fill_null(0)))
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for g in groups.sort("town", "prog").iter_rows(named=True):
        row = rows.setdefault((g["town"], g["prog"]), {
            "town": g["town"], "programme": g["prog"],
            **{k: {"households": 0, "persons": 0, "amount_fen": 0, "before_fen": 0}
               for k in CHANGE_KINDS}})
        row[g["kind"]] = {"households": g["households"], "persons": g["persons"],
                          "amount_fen": int(g["amount_fen"] or 0),
                          "before_fen": int(g["before_fen"] or 0)}
    total = {k: {m: sum(r[k][m] for r in rows.values())
                 for m in ("households", "persons", "amount_fen", "before_fen")}
             for k in CHANGE_KINDS}
    return {"previous": previous, "rows": list(rows.values()), "total": total}


@transaction.atomic
def set_budget(*, by, year: int, area_code: str, programme: str,  # noqa: ANN001
               amount_fen: int, note: str = "") -> Budget:
    """年度预算: a programme's budget for a year in a county or town (the district's makers);
    setting it again replaces the amount (audited through the model)."""
    if not by.can(roles.SET_BUDGET):
        raise BenefitsError("预算由区县民政部门登记")
    if not area_code.startswith(by.scope_prefix or "-"):
        raise BenefitsError("区划不在您的管辖范围内", field="area_code")
    if not Area.objects.filter(code=area_code, level__in=(3, 4)).exists():
        raise BenefitsError("请选择区县或镇街", field="area_code")
    if not catalogue.is_programme(programme):
        raise BenefitsError("请选择救助项目", field="programme")
    if amount_fen < 0:
        raise BenefitsError("预算金额不能为负数", field="amount_fen")
    row, _ = Budget.objects.update_or_create(
        year=year, area_code=area_code, programme=programme,
        defaults={"amount_fen": amount_fen, "note": note.strip()[:200]})
    return row
