"""Who may use the sync (与上级监测平台同步): a capability of `accounts.roles`, and for a
部门数据接口 account only when its department is 民政 — the civil-affairs system at the other
level (the platform above at a district's Doudi, a district's Doudi at the city's). A 医保 or
车管 account holds the role too, and must never read the population or push warnings."""

from __future__ import annotations

from doudi.accounts import roles

SYNC_DEPARTMENT = "民政"


def may(user, capability: str) -> bool:  # noqa: ANN001
    if user is None or not user.is_authenticated or user.scope_prefix is None \
            or not user.can(capability):
        return False
    if user.can(roles.PUSH_FEEDS):  # a department's machine account
        return user.department == SYNC_DEPARTMENT
    return True
