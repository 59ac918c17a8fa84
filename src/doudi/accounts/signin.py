"""One sign-in policy for every way in (登录策略): the login page, the token API
(`POST /api/token`), a department's long-lived token (`doudi feeds token`) and every call made
with a token.

After the password (and the dynamic code, when the user has a second factor) the web lets a
user whose password must change, or whose role requires a second factor not yet set up, reach
only the pages that put it right (accounts.middleware). A token opens no such page, so the
same user gets no token, and a token already issued stops working the moment the user falls
into one of these states — a token is never a way around the web's policy.
"""

from __future__ import annotations

from doudi.accounts import lockout, passwords, totp

ENROL_FIRST = ("您的角色必须使用双因素认证，尚未绑定验证器，不能签发接口令牌：请先登录网页，"
               "在“本人账号 — 双因素认证”中绑定验证器，再用口令和动态码获取令牌")
CHANGE_FIRST = "口令须先在网页上修改，才能签发接口令牌"


def second_factor_missing(user) -> bool:  # noqa: ANN001
    """The user's role requires a second factor (DOUDI_TOTP_ROLES) and none is set up."""
    return totp.required(user) and not totp.enrolled(user)


def token_refusal(user) -> str:  # noqa: ANN001
    """Why `user`, who has just proved who they are, gets no API token ("" when they may)."""
    if second_factor_missing(user):
        return ENROL_FIRST
    if passwords.must_change(user):
        return CHANGE_FIRST
    return ""


def token_usable(user) -> bool:  # noqa: ANN001
    """Whether a token of `user` still opens the API on this call: an active account with an
    area, not locked, and the second factor its roles require set up. (A change of password,
    second factor, roles or a forced change revokes the tokens outright: accounts.revocation.
    An expired password stops new tokens; a person's token lives 12 hours, and a department's
    long-lived one belongs to a machine account that signs in with no password.)"""
    return (user.is_active and user.area_id is not None
            and lockout.locked_until(user) is None and not second_factor_missing(user))
