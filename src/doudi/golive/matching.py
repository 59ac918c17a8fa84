"""Which household, member and enrollment a history row names (原系统家庭编号 → the household
the caseload import recorded, 救助类别 → the programme, 享受人身份证号 → the member), read
once for a whole file: a few queries, not several per row."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from doudi.areas.models import Area
from doudi.benefits.models import Enrollment
from doudi.engine.payments.roster import month_start
from doudi.golive import words
from doudi.golive.models import LegacyHousehold
from doudi.registry.models import Membership, Person

CHUNK = 2000  # IDs per query: each is compared encrypted under every key


@dataclass(frozen=True)
class Found:
    household_id: int | None = None
    programme: str = ""
    part: str = ""
    person_id: int | None = None
    enrollment: Enrollment | None = None
    reason: str = ""  # why nothing (or not all) was found; "" when the row is usable


def chunks(values: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


class Matcher:
    """The district's legacy numbers, the members and enrollments of the households a file
    names, and the persons its 享受人 IDs are."""

    def __init__(self, district: Area, legacy_numbers: Iterable[str],
                 id_numbers: Iterable[str]) -> None:
        numbers = sorted({n for n in legacy_numbers if n})
        self.households: dict[str, int] = {}
        for chunk in chunks(numbers):
            self.households.update(LegacyHousehold.objects.filter(
                area_code__startswith=district.prefix, legacy_number__in=chunk,
                household__area_code__startswith=district.prefix)
                .values_list("legacy_number", "household_id"))
        ids = sorted({i for i in id_numbers if i})
        self.persons: dict[str, int] = {}
        for chunk in chunks(ids):
            self.persons.update(Person.objects.filter(id_number__in=chunk)
                                .values_list("id_number", "id"))
        hh = sorted(set(self.households.values()))
        self.members: set[tuple[int, int]] = set()
        self.enrollments: dict[int, list[Enrollment]] = defaultdict(list)
        for chunk in chunks(hh, 5000):
            self.members.update(Membership.objects.filter(household_id__in=chunk)
                                .values_list("household_id", "person_id"))
            for e in Enrollment.objects.filter(household_id__in=chunk).order_by("start_date",
                                                                                 "id"):
                self.enrollments[e.household_id].append(e)

    def find(self, legacy_number: str, word: str, beneficiary_id: str | None, *,
             month: dt.date | None = None, required: bool = True) -> Found:
        """The row's household, programme, member and enrollment. Without `required` a row
        whose enrollment cannot be told (none, or several) still names the household."""
        household = self.households.get(legacy_number)
        if household is None:
            return Found(reason=f"原系统家庭编号“{legacy_number}”不在本区县已导入的在保数据中："
                                "请先导入该户的在保数据，或核对家庭编号")
        named = words.programme_code(word)
        if named is None:
            return Found(household, reason=words.programme_reason(word))
        programme, part = named
        person = None
        if beneficiary_id:
            person = self.persons.get(beneficiary_id)
            if person is None or (household, person) not in self.members:
                return Found(household, programme, part,
                             reason="享受人身份证号不是该户的成员：请核对享受人或家庭编号")
        label = words.label(programme, part)
        found = [e for e in self.enrollments.get(household, [])
                 if e.programme == programme and (not part or e.part == part)]
        if person is not None and len(found) > 1:
            found = ([e for e in found if e.person_id == person]
                     or [e for e in found if e.person_id is None])
        if month is not None and len(found) > 1:
            found = [e for e in found if month_start(e.start_date) <= month
                     and (e.end_date is None or e.end_date >= month)] or found
        if len(found) == 1:
            return Found(household, programme, part, person, found[0])
        if not required:
            return Found(household, programme, part, person)
        if not found:
            return Found(household, programme, part, person,
                         reason=f"该户在已导入的在保数据中没有{label}的保障记录")
        return Found(household, programme, part, person,
                     reason=f"该户有 {len(found)} 条{label}保障记录，无法确定是哪一条："
                            "请填写享受人身份证号")
