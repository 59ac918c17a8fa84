"""Who may use the sync (与上级监测平台同步): a capability of `accounts.roles`; for a
部门数据接口 account, only when its department names the civil-affairs system at the other
end, and only that end's part:

- `民政监测平台` — the city's, province's or national platform's account at a district's
  Doudi: reads the district's package, pushes warnings down, reads their dispositions;
- `民政下级系统` — a district Doudi's account at the city's: sends its package up.

A 医保 or 车管 account holds the role too and must never read the population or push
warnings; the platform's account must never write the registry it reads."""

from __future__ import annotations

from doudi.accounts import roles

PLATFORM_DEPARTMENT = "民政监测平台"
LOWER_DEPARTMENT = "民政下级系统"
# department → the sync capabilities its machine account uses
DEPARTMENT_CAPABILITIES = {
    PLATFORM_DEPARTMENT: frozenset({roles.SYNC_EXPORT, roles.SYNC_WARNINGS}),
    LOWER_DEPARTMENT: frozenset({roles.SYNC_IMPORT}),
}


def may(user, capability: str) -> bool:  # noqa: ANN001
    if user is None or not user.is_authenticated or user.scope_prefix is None \
            or not user.can(capability):
        return False
    if user.can(roles.PUSH_FEEDS):  # a department's machine account
        return capability in DEPARTMENT_CAPABILITIES.get(user.department, frozenset())
    return True
