"""在保状态对账: a programme's registry status (低保, 特困 categories) against its enrollments,
for data written before the status had one door (a category typed on the household page, an
enrollment stopped while its category stayed open).

For each programme that both pays monthly and sets a category (低保 with 单人保 counted as
it, 特困; 低保边缘 and 支出型 are recognitions without a monthly payment, their category is their
record):
- an open category whose owner's enrollments of that programme have all ended is ended on the
  day the last one ended (补正：随停发终止);
- an enrollment in force whose owner has no open category gets one from the enrollment's start
  (or from the day an earlier category of the owner ended, if later) (补正：随在保记录认定);
- an open category with no enrollment of the programme at all cannot be settled from the data
  — it may be a decision never recorded, or a category typed by hand — and is only reported,
  for a clerk to take up (补办申请, or end it through a decision).

The decision is `doudi.benefits.status_rules.decide` (pure, shared with the data migration
benefits 0014, which ran it once at the upgrade); this module reads the rows through the
current models and applies the plan through them, audited row by row, with one summary
record. `reconcile(apply=False)` only reports. `doudi benefits reconcile-status [--apply]`.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.benefits import coverage, status_rules
from doudi.benefits.models import Enrollment
from doudi.core import clock
from doudi.programmes import catalogue
from doudi.registry.models import CategoryAssignment, Household, Person

Report = status_rules.Plan


def programmes() -> list[status_rules.StatusProgramme]:
    """The catalogue's programmes whose category mirrors a monthly-paid enrollment."""
    return [status_rules.StatusProgramme(
        category=p.category or "", label=p.short_label,
        level=status_rules.MEMBER if p.level == catalogue.MEMBER else status_rules.HOUSEHOLD,
        programmes=catalogue.counted_as(p.code)) for p in coverage.paid_statuses()]


def reconcile(*, apply: bool = False, day: dt.date | None = None) -> Report:
    day = day or clock.today()
    specs = programmes()
    with transaction.atomic():
        enrollments = [status_rules.EnrollmentRow(*r) for r in Enrollment.objects.filter(
            programme__in={c for s in specs for c in s.programmes}).order_by("id").values_list(
            "programme", "household_id", "person_id", "start_date", "end_date")]
        categories = [status_rules.CategoryRow(*r) for r in CategoryAssignment.objects.filter(
            category__in={s.category for s in specs}).order_by("id").values_list(
            "id", "category", "household_id", "person_id", "start_date", "end_date")]
        plan = status_rules.decide(specs, enrollments, categories, day)
        if apply:
            _apply(plan)
        if apply and plan:
            audit.record(AuditEvent.UPDATE, object_type="registry.categoryassignment",
                         object_label="在保状态对账：救助类别与保障记录",
                         changes={**plan.counts(),
                                  "unsettled_rows": [x.line() for x in plan.unsettled[:200]]})
    return plan


def _apply(plan: status_rules.Plan) -> None:
    """Through the models: each change is audited by the save signal."""
    rows = CategoryAssignment.objects.in_bulk([x.category_id for x in plan.ended])
    for end in plan.ended:
        row = rows[end.category_id]
        row.end_date, row.note = end.end_date, status_rules.NOTE_ENDED
        row.save()
    areas = {kind: _area_codes(model, [x.owner[1] for x in plan.opened if x.owner[0] == kind])
             for kind, model in (("household", Household), ("person", Person))}
    for new in plan.opened:
        kind, owner_id = new.owner
        CategoryAssignment.objects.create(
            category=new.category, start_date=new.start_date, note=status_rules.NOTE_OPENED,
            area_code=areas[kind][owner_id], **{f"{kind}_id": owner_id})


def _area_codes(model: type[Household] | type[Person], ids: list[int]) -> dict[int, str]:
    """The owners' areas (a new category belongs to its owner's area, as assign_category)."""
    out: dict[int, str] = {}
    for start in range(0, len(ids), 5_000):
        out.update(model.objects.filter(pk__in=ids[start:start + 5_000])
                   .values_list("pk", "area_code"))
    return out
