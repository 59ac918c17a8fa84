"""在保状态对账的判定: which programme categories (低保, 特困) to end, which to open and which
to report, from plain rows — pure Python, no Django, so that the `reconcile-status` command
(current models) and the data migration benefits 0014 (historical models) decide alike.

The rules, for each programme that pays monthly and sets a registry category:
- an open category whose owner's enrollments of the programme (and of those counted as it:
  单人保 as 低保) have all ended on or before the day is ended on the day the last one ended
  (never before the category's own start) — 补正：随停发终止;
- an enrollment in force on the day whose owner has no category open or in force gets one from
  the earliest start of its owner's enrollments in force (or from the day the owner's last
  category of the programme ended, if that is later: periods never overlap) — 补正：随在保记录
  认定;
- an open category whose owner has no enrollment of the programme at all cannot be settled
  from the data (a decision never recorded, or a category typed by hand) and is only reported,
  for a clerk to take up (补办申请, or end it through a decision).

The owner is the household, or for a programme enrolling one member (特困) the person. An
enrollment of such a programme without a person owns no category and is left alone.

Callers pass the programmes as `StatusProgramme` rows: the command derives them from the
catalogue, the migration keeps its own frozen copy. Migration 0014 calls `decide`; a change
to these rules that would be wrong for the data that migration meets must first freeze a copy
of this module into the migration (its test in tests/test_migrations.py pins the
behaviour).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

HOUSEHOLD, MEMBER = "household", "member"
NOTE_ENDED = "补正：随停发终止（在保状态对账）"
NOTE_OPENED = "补正：随在保记录认定（在保状态对账）"

Owner = tuple[str, int]  # ("household", id) or ("person", id)


@dataclass(frozen=True)
class StatusProgramme:
    """A programme whose registry category mirrors its enrollments."""

    category: str  # the registry category its decisions set
    label: str  # 低保, 特困 (for the report)
    level: str  # HOUSEHOLD or MEMBER: who owns the category
    programmes: tuple[str, ...]  # the enrollments counted as it (低保: 低保 and 单人保)


class EnrollmentRow(NamedTuple):
    programme: str
    household_id: int
    person_id: int | None
    start_date: dt.date
    end_date: dt.date | None


class CategoryRow(NamedTuple):
    id: int
    category: str
    household_id: int | None
    person_id: int | None
    start_date: dt.date
    end_date: dt.date | None


@dataclass(frozen=True)
class End:
    category_id: int
    category: str
    label: str
    owner: Owner
    end_date: dt.date

    def line(self) -> str:
        return f"终止：{self.label} {self.owner[0]}#{self.owner[1]} 于 {self.end_date}"


@dataclass(frozen=True)
class Open:
    category: str
    label: str
    owner: Owner
    start_date: dt.date

    def line(self) -> str:
        return f"补认定：{self.label} {self.owner[0]}#{self.owner[1]} 自 {self.start_date}"


@dataclass(frozen=True)
class Unsettled:
    category_id: int
    category: str
    label: str
    owner: Owner
    start_date: dt.date

    def line(self) -> str:
        return (f"待核实（无在保记录）：{self.label} {self.owner[0]}#{self.owner[1]}"
                f"（自 {self.start_date}）")


@dataclass
class Plan:
    ended: list[End] = field(default_factory=list)
    opened: list[Open] = field(default_factory=list)
    unsettled: list[Unsettled] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [x.line() for x in (*self.ended, *self.opened, *self.unsettled)]

    def counts(self) -> dict[str, int]:
        return {"ended": len(self.ended), "opened": len(self.opened),
                "unsettled": len(self.unsettled)}

    def __bool__(self) -> bool:
        return bool(self.ended or self.opened or self.unsettled)


def enrollment_owner(level: str, row: EnrollmentRow) -> Owner | None:
    if level == MEMBER:
        return ("person", row.person_id) if row.person_id else None
    return "household", row.household_id


def category_owner(row: CategoryRow) -> Owner:
    if row.person_id:
        return "person", row.person_id
    return "household", row.household_id  # type: ignore[return-value]


def in_force(start: dt.date, end: dt.date | None, day: dt.date) -> bool:
    """As `benefits.coverage.in_force`: started on or before the day, not ended by it."""
    return start <= day and (end is None or end > day)


def decide(programmes: list[StatusProgramme], enrollments: list[EnrollmentRow],
           categories: list[CategoryRow], day: dt.date) -> Plan:
    """What to change on `day`. `enrollments`: at least every enrollment of the programmes'
    codes; `categories`: every category row (open and ended) of their categories."""
    plan = Plan()
    for spec in programmes:
        codes = set(spec.programmes)
        mine: dict[Owner, list[EnrollmentRow]] = defaultdict(list)
        for e in enrollments:
            owner = enrollment_owner(spec.level, e) if e.programme in codes else None
            if owner is not None:
                mine[owner].append(e)
        rows: dict[Owner, list[CategoryRow]] = defaultdict(list)
        for c in categories:
            if c.category == spec.category:
                rows[category_owner(c)].append(c)
        for owner, owned in sorted(rows.items()):
            for row in sorted(owned, key=lambda r: r.id):
                if row.end_date is not None:
                    continue
                theirs = mine.get(owner, [])
                if not theirs:
                    plan.unsettled.append(Unsettled(row.id, spec.category, spec.label, owner,
                                                    row.start_date))
                elif all(e.end_date is not None and e.end_date <= day for e in theirs):
                    last = max(e.end_date for e in theirs if e.end_date is not None)
                    plan.ended.append(End(row.id, spec.category, spec.label, owner,
                                          max(last, row.start_date)))
        for owner, theirs in sorted(mine.items()):
            live = [e for e in theirs if in_force(e.start_date, e.end_date, day)]
            owned = rows.get(owner, [])
            if not live or any(r.end_date is None or r.end_date > day for r in owned):
                continue
            start = min(e.start_date for e in live)
            ended_before = [r.end_date for r in owned if r.end_date is not None]
            if ended_before:
                start = max(start, max(ended_before))
            plan.opened.append(Open(spec.category, spec.label, owner, start))
    return plan
