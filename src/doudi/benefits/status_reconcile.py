"""在保状态对账: a programme's registry status (低保, 特困 categories) against its enrollments,
for data written before the status had one door (a category typed on the household page, an
enrollment stopped while its category stayed open).

For each programme that both pays monthly and sets a category:
- an open category whose owner's enrollments of that programme have all ended is ended on the
  day the last one ended (补正：随停发终止);
- an enrollment in force whose owner has no open category gets one from the enrollment's start
  (补正：随在保记录认定);
- an open category with no enrollment of the programme at all cannot be settled from the data
  — it may be a decision never recorded, or a category typed by hand — and is only reported,
  for a clerk to take up (补办申请, or end it through a decision).

`reconcile(apply=False)` reports what it would change; `apply=True` changes it, audited row by
row through the models, with one summary record. `doudi benefits reconcile-status [--apply]`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.benefits.models import Enrollment
from doudi.programmes import catalogue
from doudi.registry.models import CategoryAssignment


@dataclass
class Report:
    ended: list[str] = field(default_factory=list)  # categories ended with their enrollment
    opened: list[str] = field(default_factory=list)  # categories opened for an enrollment
    unsettled: list[str] = field(default_factory=list)  # open categories with no enrollment

    def lines(self) -> list[str]:
        return ([f"终止：{x}" for x in self.ended] + [f"补认定：{x}" for x in self.opened]
                + [f"待核实（无在保记录）：{x}" for x in self.unsettled])


def _owner(level: str, household_id: int | None, person_id: int | None) -> tuple[str, int]:
    if level == catalogue.MEMBER and person_id:
        return "person", person_id
    return "household", household_id  # type: ignore[return-value]


def reconcile(*, apply: bool = False, day: dt.date | None = None) -> Report:
    day = day or timezone.localdate()
    report = Report()
    with transaction.atomic():
        for entry in catalogue.programmes():
            if not entry.category or not entry.monitored or entry.compared_with:
                continue
            codes = catalogue.counted_as(entry.code)
            enrollments: dict[tuple[str, int], list[Enrollment]] = {}
            for e in Enrollment.objects.filter(programme__in=codes).order_by("start_date", "id"):
                enrollments.setdefault(_owner(entry.level, e.household_id, e.person_id),
                                       []).append(e)
            open_rows = {}
            for row in CategoryAssignment.objects.filter(category=entry.category,
                                                         end_date__isnull=True):
                open_rows[("person", row.person_id) if row.person_id
                          else ("household", row.household_id)] = row
            for key, row in open_rows.items():
                mine = enrollments.get(key, [])
                label = f"{entry.short_label} {key[0]}#{key[1]}"
                if not mine:
                    report.unsettled.append(label)
                elif all(e.end_date is not None and e.end_date <= day for e in mine):
                    last = max(e.end_date for e in mine)
                    report.ended.append(f"{label} 于 {last}")
                    if apply:
                        row.end_date = max(last, row.start_date)
                        row.note = "补正：随停发终止（在保状态对账）"
                        row.save()
            for key, mine in enrollments.items():
                live = [e for e in mine if e.start_date <= day
                        and (e.end_date is None or e.end_date > day)]
                if not live or key in open_rows:
                    continue
                start = min(e.start_date for e in live)
                report.opened.append(f"{entry.short_label} {key[0]}#{key[1]} 自 {start}")
                if apply:
                    CategoryAssignment.objects.create(
                        category=entry.category, start_date=start,
                        note="补正：随在保记录认定（在保状态对账）", area_code=live[0].area_code,
                        **{f"{key[0]}_id": key[1]})
        if apply and (report.ended or report.opened or report.unsettled):
            audit.record(AuditEvent.UPDATE, object_type="registry.categoryassignment",
                         object_label="在保状态对账：救助类别与保障记录",
                         changes={"ended": len(report.ended), "opened": len(report.opened),
                                  "unsettled": report.unsettled[:200]})
    return report
