"""账号是否齐全 (go-live check): every village (community) of the district has at least one
active account that records home visits there — its 村协理员 — and every town (street) at
least one active account of its own that approves (受委托审批). Asked by capability, never by
role code, so a role added later that does the same work counts."""

from __future__ import annotations

from dataclasses import dataclass

from doudi.accounts import roles
from doudi.accounts.services import accounts_holding
from doudi.areas.models import Area
from doudi.core import areacode
from doudi.golive.staff import district_area

# what an area of each level must have, and how a gap reads
VILLAGE_NEEDS = frozenset({roles.RECORD_HOME_VISIT})
TOWN_NEEDS = frozenset({roles.APPROVE_DELEGATED, roles.APPROVE})
VILLAGE_MISSING = "没有村协理员账号（可登记入户调查的在用账号）"
TOWN_MISSING = "没有审批账号（可受委托审批的在用账号，如镇街审批）"


@dataclass(frozen=True)
class Gap:
    area_code: str  # 12 digits
    area_name: str
    town_name: str  # the town a village belongs to; the town's own name for a town
    level: int  # areacode.TOWN or areacode.VILLAGE
    missing: str  # in Chinese

    def __str__(self) -> str:
        where = (self.area_name if self.level == areacode.TOWN
                 else f"{self.town_name} {self.area_name}")
        return f"{where}：{self.missing}"


def covered(area_codes: list[str], any_of: frozenset[str], under: str) -> set[str]:
    """Those of `area_codes` where an active account of the area itself can do one of
    `any_of`."""
    found: set[str] = set()
    for capability in any_of:
        found |= set(accounts_holding({capability}, under=under)
                     .filter(area__code__in=area_codes).values_list("area_id", flat=True))
    return found


def gaps(district_code: str) -> list[Gap]:
    """The district's villages without a 村协理员 and towns without an approver, towns first
    in code order, each followed by its villages."""
    district = district_area(district_code)
    areas = list(Area.objects.filter(code__startswith=district.prefix,
                                     level__in=(areacode.TOWN, areacode.VILLAGE))
                 .order_by("code"))
    towns = {a.code[:9]: a for a in areas if a.level == areacode.TOWN}
    villages = [a for a in areas if a.level == areacode.VILLAGE]
    with_approver = covered([t.code for t in towns.values()], TOWN_NEEDS, district.prefix)
    with_assistant = covered([v.code for v in villages], VILLAGE_NEEDS, district.prefix)
    found = []
    for area in areas:
        town = towns.get(area.code[:9])
        town_name = town.name if town else ""
        if area.level == areacode.TOWN and area.code not in with_approver:
            found.append(Gap(area.code, area.name, town_name, area.level, TOWN_MISSING))
        elif area.level == areacode.VILLAGE and area.code not in with_assistant:
            found.append(Gap(area.code, area.name, town_name, area.level, VILLAGE_MISSING))
    return found
