"""放权后监管 (备案审查): every decision a town takes under delegated power — 批准 and 不予批准 —
is filed with the district when it is made, and the district reviews the filings of its towns.

`file_decision` is called by `services.act`, the one place a decision is taken, in the same
transaction: no decision under delegated power exists without its `FilingRecord`. It fixes,
once, whether the filing is selected for review and why (`filing_risk`: drawn at
`casework.filing.sample_rate`, and every risk rule that fires). A reviewer holding
`casework.review_filing`, at the district or above and not the decider, confirms it or opens a
correction with a reason; the town records the correction (纠正情况) by
`casework.filing.correction_days`. Every write is audited (the model is `Audited`), every read
goes through `visible_to`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from doudi.accounts import roles
from doudi.areas.scoping import in_scope
from doudi.casework import filing_risk
from doudi.casework.models import Application, FilingRecord
from doudi.core.areacode import COUNTY, PREFIX_LENGTH, TOWN
from doudi.core.errors import ServiceError
from doudi.policy.services import parameter_set

TOWN_CODE_LENGTH = PREFIX_LENGTH[TOWN]
MEDIAN_WINDOW_DAYS = 365  # the comparable decisions: the county's of the year before


class FilingError(ServiceError):
    """A refused 备案审查 action; the message is Chinese."""


def _value(key: str, area_code: str, day: dt.date, default: int) -> int:
    from doudi.casework.services import parameter_value

    found = parameter_value(key, area_code, day, parameter_set())
    return default if found is None else int(found)


def thresholds(area_code: str, day: dt.date) -> filing_risk.Thresholds:
    return filing_risk.Thresholds(
        sample_rate_bp=_value("casework.filing.sample_rate", area_code, day, 0),
        above_median_bp=_value("casework.filing.amount_above_median_rate", area_code, day,
                               filing_risk.BASIS))


def comparable_median(application: Application, day: dt.date) -> int | None:
    """The median amount of the county's delegated approvals of the same programme over the
    year before `day` (filed before this one), or None when there are fewer than
    `casework.filing.median_min_decisions`."""
    county = application.area_code[:PREFIX_LENGTH[COUNTY]]
    amounts = FilingRecord.objects.filter(
        area_code__startswith=county, programme=application.programme,
        decision="approved", amount_fen__isnull=False,
        decided_on__gt=day - dt.timedelta(days=MEDIAN_WINDOW_DAYS), decided_on__lte=day,
    ).values_list("amount_fen", flat=True)
    least = _value("casework.filing.median_min_decisions", application.area_code, day, 1)
    return filing_risk.median(amounts, least)


def file_decision(*, by, application: Application, day: dt.date) -> FilingRecord:  # noqa: ANN001
    """备案: the town's decision just taken on `application` (called inside `services.act`'s
    transaction, after the decision is recorded)."""
    from doudi.casework.services import rules_eligible

    by_id = getattr(by, "pk", None)
    visited = by_id is not None and application.visits.filter(visitor_id=by_id).exists()
    refused = application.decision == "refused"
    facts = filing_risk.Facts(
        decision=application.decision, amount_fen=application.amount_fen,
        median_fen=None if refused else comparable_median(application, day),
        rules_eligible=rules_eligible(application, day) if refused else None,
        decider_visited=visited,
        decider_took_in=by_id is not None and application.created_by_id == by_id)
    found = filing_risk.assess(application.number, facts,
                               thresholds(application.area_code, day))
    return FilingRecord.objects.create(
        application=application, household_id=application.household_id,
        programme=application.programme, town=application.area_code[:TOWN_CODE_LENGTH],
        decision=application.decision, amount_fen=application.amount_fen, decided_on=day,
        decider=by if by_id is not None else None,
        decider_name=getattr(by, "username", "system"), sampled=found.sampled,
        risks=list(found.risks), selected=found.selected, median_fen=facts.median_fen,
        rules_eligible=facts.rules_eligible, area_code=application.area_code)


def may_review(user, record: FilingRecord) -> bool:  # noqa: ANN001
    """A holder of `casework.review_filing` whose area contains the record's town and lies above
    it (a district, never a town), and who did not take the decision."""
    scope = getattr(user, "scope_prefix", None)
    return (scope is not None and len(scope) < TOWN_CODE_LENGTH
            and in_scope(user, record.area_code, roles.REVIEW_FILING)
            and record.decider_id != user.pk)


REVIEW_OUTCOMES = {"confirm": "确认", "correct": "要求纠正"}


def review(*, by, record: FilingRecord, outcome: str, note: str,  # noqa: ANN001
           day: dt.date) -> FilingRecord:
    """审查: confirm the decision, or open a correction (a reason is required) the town must
    record within `casework.filing.correction_days`."""
    if not may_review(by, record):
        raise PermissionDenied("备案审查由区县民政部门对其辖区镇街的决定进行，不能审查本人的决定")
    if outcome not in REVIEW_OUTCOMES:
        raise FilingError("请选择审查结论：确认或要求纠正")
    note = note.strip()
    if outcome == "correct" and not note:
        raise FilingError("要求纠正须写明理由")
    with transaction.atomic():
        record = FilingRecord.objects.select_for_update().get(pk=record.pk)
        if record.status != FilingRecord.PENDING:
            raise FilingError(f"该备案已审查（{record.get_status_display()}）")
        record.reviewed_by, record.reviewed_at = by, timezone.now()
        record.review_note = note[:300]
        if outcome == "confirm":
            record.status = FilingRecord.CONFIRMED
        else:
            record.status = FilingRecord.CORRECTION
            days = _value("casework.filing.correction_days", record.area_code, day, 30)
            record.correction_due_on = day + dt.timedelta(days=days)
        record.save()
    return record


def record_correction(*, by, record: FilingRecord, correction: str,  # noqa: ANN001
                      day: dt.date) -> FilingRecord:
    """纠正情况: what the town did about the correction the district asked for."""
    if not in_scope(by, record.area_code, roles.EDIT_REGISTRY):
        raise PermissionDenied("无权登记该备案的纠正情况")
    correction = correction.strip()
    if not correction:
        raise FilingError("请填写纠正情况")
    with transaction.atomic():
        record = FilingRecord.objects.select_for_update().get(pk=record.pk)
        if not record.correction_open:
            raise FilingError("该备案没有待完成的纠正")
        record.correction, record.corrected_on = correction[:300], day
        record.corrected_by = by
        record.save()
    return record


def visible(user) -> QuerySet[FilingRecord]:  # noqa: ANN001
    return FilingRecord.objects.visible_to(user).select_related("application", "household")


def filtered(rows: QuerySet[FilingRecord], *, status: str = "", reason: str = "",
             town: str = "", selected_only: bool = False) -> QuerySet[FilingRecord]:
    """The list's filters: 审查状态, 抽查原因 (随机抽中 or a risk rule), 镇街, 须审查."""
    if status in dict(FilingRecord.STATUS_CHOICES):
        rows = rows.filter(status=status)
    if reason == filing_risk.SAMPLED:
        rows = rows.filter(sampled=True)
    elif reason in filing_risk.BY_CODE:
        # risks is a short JSON list; read in Python, the same way on SQLite and PostgreSQL
        rows = rows.filter(pk__in=[pk for pk, risks in rows.values_list("pk", "risks")
                                   if reason in (risks or [])])
    if town.isdigit() and len(town) == TOWN_CODE_LENGTH:
        rows = rows.filter(town=town)
    if selected_only:
        rows = rows.filter(selected=True)
    return rows


@dataclass
class TownRow:
    town: str
    filed: int = 0
    approved: int = 0
    refused: int = 0
    selected: int = 0
    sampled: int = 0
    risky: int = 0
    pending_selected: int = 0  # selected and not yet reviewed
    confirmed: int = 0
    corrections: int = 0
    corrected: int = 0
    overdue: int = 0  # corrections past their due date and not recorded


def summary(rows: QuerySet[FilingRecord], today: dt.date) -> list[TownRow]:
    """备案审查 by town, counted from the records shown."""
    towns: dict[str, TownRow] = defaultdict(lambda: TownRow(""))
    fields = ("town", "decision", "selected", "sampled", "risks", "status", "corrected_on",
              "correction_due_on")
    for r in rows.select_related(None).only(*fields):
        t = towns[r.town]
        t.town = r.town
        t.filed += 1
        t.approved += r.decision == "approved"
        t.refused += r.decision == "refused"
        t.selected += r.selected
        t.sampled += r.sampled
        t.risky += bool(r.risks)
        t.pending_selected += r.selected and r.status == FilingRecord.PENDING
        t.confirmed += r.status == FilingRecord.CONFIRMED
        if r.status == FilingRecord.CORRECTION:
            t.corrections += 1
            t.corrected += r.corrected_on is not None
            t.overdue += (r.corrected_on is None and r.correction_due_on is not None
                          and r.correction_due_on < today)
    return [towns[k] for k in sorted(towns)]
