"""复核 and 渐退: periodic reviews on a schedule, and the taper that follows a review finding
earned income above the standard.

Intervals are policy parameters in months: `benefits.review_months.<programme>` (特困 12 by
default), else `benefits.review_months.stable` (12) for households without anyone able to
work — their income hardly changes — and `benefits.review_months.other` (6) for the rest.
`schedule` creates a task for every enrollment whose next review falls within the lookahead and
has none open. A review's outcome goes through the same decision-makers as any change
(镇街审批 or 区县): continue, a new amount, 渐退 (the rules' schedule — `taper.shares` of the
current amount for `taper.months` months — written as dated events month by month, then the
stop), or 停保 (kept in monitoring two years).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max

from doudi.accounts import roles
from doudi.benefits import services
from doudi.benefits.models import Enrollment, ReviewTask
from doudi.engine.payments.roster import next_month
from doudi.policy.services import parameter_set
from doudi.programmes import catalogue
from doudi.registry.models import Membership
from doudi.rules.parameters import BASIS, engine_value

LOOKAHEAD_DAYS = 30


def _months(key: str, area_code: str, day: dt.date) -> int | None:
    found = parameter_set().find(key, area_code, day)
    return int(engine_value(found)) if found is not None else None


def interval(enrollment: Enrollment, day: dt.date) -> int:
    own = _months(catalogue.review_schedule(enrollment.programme), enrollment.area_code, day)
    if own is not None:
        return own
    able = Membership.objects.filter(household_id=enrollment.household_id,
                                     end_date__isnull=True).exclude(
        person__labour_capacity="none").exists()
    key = "benefits.review_months.other" if able else "benefits.review_months.stable"
    return _months(key, enrollment.area_code, day) or 12


def add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    first = dt.date(day.year + y, m + 1, 1)
    last = (next_month(first) - dt.timedelta(days=1)).day
    return first.replace(day=min(day.day, last))


# decisions the old system took on a fresh look at the household (批准纳入, 复核, 增发, 减发),
# brought in at go-live as history (`golive.HistoricalDecision`): the next review counts
# from the latest, not from an enrollment's start years ago
HISTORICAL_REVIEW_KINDS = ("approve", "review", "increase", "decrease")


def last_reviewed() -> dict[int, dt.date]:
    """Each enrollment's latest review: a review task done here, or a historical decision
    of `HISTORICAL_REVIEW_KINDS` linked to it, whichever is later."""
    done = dict(ReviewTask.objects.filter(status=ReviewTask.DONE).values(
        "enrollment_id").annotate(d=Max("done_on")).values_list("enrollment_id", "d"))
    # through the reverse relation: benefits does not import the go-live app
    decided = (Enrollment.objects.filter(historical_decisions__kind__in=HISTORICAL_REVIEW_KINDS)
               .values("id").annotate(d=Max("historical_decisions__decided_on"))
               .values_list("id", "d"))
    for pk, day in decided:
        done[pk] = max(day, done.get(pk, day))
    return done


def schedule(today: dt.date) -> int:
    """Create the review tasks now due within the lookahead; returns how many."""
    made = 0
    last_done = last_reviewed()
    open_ids = set(ReviewTask.objects.filter(status=ReviewTask.OPEN).values_list(
        "enrollment_id", flat=True))
    for e in Enrollment.objects.filter(status__in=(Enrollment.ACTIVE, Enrollment.SUSPENDED)):
        if e.pk in open_ids:
            continue
        due = add_months(max(last_done.get(e.pk, e.start_date), e.start_date),
                         interval(e, today))
        if due <= today + dt.timedelta(days=LOOKAHEAD_DAYS):
            ReviewTask.objects.create(enrollment=e, due_date=due, area_code=e.area_code)
            made += 1
    return made


def taper_schedule(enrollment: Enrollment, start: dt.date) -> list[tuple[dt.date, int]]:
    """(month, amount) for each taper month from `start`'s month, by the rules' shares."""
    shares = engine_value(parameter_set().resolve("taper.shares", enrollment.area_code, start))
    months = _months("taper.months", enrollment.area_code, start) or len(shares)
    first = start.replace(day=1) if start.day == 1 else next_month(start)
    out, month = [], first
    for share in list(shares)[:months]:
        # half up to the fen, once per month
        out.append((month, (enrollment.amount_fen * int(share) * 2 + BASIS) // (2 * BASIS)))
        month = next_month(month)
    return out


def record(*, by, task: ReviewTask, outcome: str, findings: str,  # noqa: ANN001
           day: dt.date, amount_fen: int | None = None) -> ReviewTask:
    if task.status != ReviewTask.OPEN:
        raise services.BenefitsError("该复核已完成")
    if outcome not in dict(ReviewTask.OUTCOMES):
        raise services.BenefitsError("请选择复核结论")
    if not findings.strip():
        raise services.BenefitsError("请填写复核情况")
    if outcome != "continue" and not by.can(roles.CHANGE_ENROLLMENT):
        raise PermissionDenied("调整、渐退、停保由镇街审批或区县民政部门决定")
    e = task.enrollment
    with transaction.atomic():
        if outcome == "change":
            if amount_fen is None:
                raise services.BenefitsError("请填写调整后的月保障金")
            kind = "increase" if amount_fen > e.amount_fen else "decrease"
            services.change(by=by, enrollment=e, kind=kind, effective_date=next_month(day),
                            amount_fen=amount_fen, reason=f"复核：{findings.strip()}"[:200])
        elif outcome == "taper":
            plan = taper_schedule(e, day)
            for month, amount in plan:
                services.change(by=by, enrollment=e, kind="taper", effective_date=month,
                                amount_fen=amount, reason="复核：收入超过标准，按渐退期发放")
            stop_day = next_month(plan[-1][0]) if plan else next_month(day)
            services.change(by=by, enrollment=e, kind="stop", effective_date=stop_day,
                            reason="渐退期满")
        elif outcome == "stop":
            services.change(by=by, enrollment=e, kind="stop", effective_date=day,
                            reason=f"复核停保：{findings.strip()}"[:100])
        task.status, task.outcome, task.findings = ReviewTask.DONE, outcome, findings.strip()
        task.amount_fen, task.done_by, task.done_on = amount_fen, by, day
        task.save()
    return task
