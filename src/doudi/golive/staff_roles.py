"""The words a staff spreadsheet uses for a role (岗位、职务) → the roles of `accounts.roles`.

Only the working roles come from a staff list. The three administrators (三员分立), the
machine accounts of departments and the hotline, and the read-only supervisors are set up one
by one (`doudi adduser`, the account pages), so a word naming one of them is refused with that
reason rather than taken. A word that could mean either a town's or the district's role
(审批, 经办) is read by the level of the row's area; any other word is refused, naming the
words this list takes. Like the account services, this is a place that handles role codes
(the staff list grants roles): the rest of go-live asks for capabilities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import QuerySet

from doudi.accounts.models import User
from doudi.accounts.roles import ROLES
from doudi.core import areacode

# the roles a staff list may give
STAFF_ROLES = ("village_assistant", "town_officer", "town_approver", "district_officer",
               "district_approver", "visitor", "rural_staff")

# word → role code, besides each staff role's own label (村协理员, 镇街经办 …)
_WORDS: dict[str, str] = {
    "村级协理员": "village_assistant", "社会救助协理员": "village_assistant",
    "村（社区）协理员": "village_assistant", "协理员": "village_assistant",
    "镇街审核": "town_officer", "镇街审核员": "town_officer", "乡镇审核": "town_officer",
    "乡镇审核员": "town_officer", "街道审核员": "town_officer", "乡镇经办": "town_officer",
    "街道经办": "town_officer",
    "乡镇审批": "town_approver", "街道审批": "town_approver", "镇街审批人": "town_approver",
    "区民政经办": "district_officer", "县民政经办": "district_officer",
    "区民政局经办": "district_officer",
    "区民政审批": "district_approver", "县民政审批": "district_approver",
    "区民政局审批": "district_approver",
}
# words whose role depends on the level of the row's area
_BY_LEVEL: dict[str, dict[int, str]] = {
    "审批": {areacode.TOWN: "town_approver", areacode.COUNTY: "district_approver"},
    "经办": {areacode.TOWN: "town_officer", areacode.COUNTY: "district_officer"},
}
SEPARATORS = re.compile(r"[、，,；;/／|｜\s]+")


def words() -> dict[str, str]:
    """Every word taken as one role (labels of the staff roles first)."""
    return {**{ROLES[code].label: code for code in STAFF_ROLES}, **_WORDS}


def allowed_text() -> str:
    """The words a clerk may write, for a refusal's reason."""
    return "、".join([*words(), *_BY_LEVEL])


@dataclass(frozen=True)
class RoleReading:
    codes: tuple[str, ...]
    reason: str  # "" when every word was read


def read(cell: str, level: int, level_label: str) -> RoleReading:
    """The roles a cell names for an area of `level` (its Chinese label for the reason)."""
    parts = [p for p in SEPARATORS.split(cell or "") if p]
    if not parts:
        return RoleReading((), "角色为空；可填：" + allowed_text())
    known, codes = words(), []
    for word in parts:
        if word in known:
            code = known[word]
        elif word in _BY_LEVEL:
            code = _BY_LEVEL[word].get(level, "")
            if not code:
                return RoleReading((), f"“{word}”只能用于乡镇（街道）或县（区）级人员，本行区划是"
                                       f"{level_label}级")
        else:
            other = next((c for c, r in ROLES.items() if r.label == word), None)
            if other is not None:
                return RoleReading((), f"“{word}”账号不从工作人员名单建立（三员分立、接口和监督"
                                       "账号须单独建立并由安全管理员授权）")
            return RoleReading((), f"无法识别的角色“{word}”；可填：{allowed_text()}")
        if code not in codes:
            codes.append(code)
    for code in codes:
        role = ROLES[code]
        if level not in role.levels:
            where = "、".join(f"{areacode.LEVEL_LABELS[x]}级" for x in role.levels)
            return RoleReading((), f"角色“{role.label}”只能设在{where}区划，本行区划是"
                                   f"{level_label}级")
    return RoleReading(tuple(sorted(codes)), "")


def labels(codes: tuple[str, ...] | list[str]) -> str:
    return "、".join(ROLES[c].label for c in codes)


def held(user: User) -> tuple[str, ...]:
    """The roles an existing account holds, as `read` gives them: what a re-run compares."""
    return tuple(sorted(user.role_codes))


def with_roles(users: QuerySet[User]) -> QuerySet[User]:
    """Accounts with their roles fetched in one more query, for `held`."""
    return users.prefetch_related("role_rows")
