"""POST /api/token — exchange a username and password for a bearer token (audited).

The same identity rules as the login page: the address rate limit, the lockout, the second
factor when the account has one, and no token while the password must be changed."""

from __future__ import annotations

from django.contrib.auth import authenticate
from ninja import Router
from ninja.errors import HttpError

from doudi.accounts import lockout, passwords, totp
from doudi.accounts.models import User
from doudi.accounts.services import issue_api_token
from doudi.api.schemas import TokenIn, TokenOut, refusals
from doudi.audit import context

router = Router(tags=["认证"])


@router.post("/token", auth=None,
             response={200: TokenOut, **refusals(400, 401, 403, 422, 429)}, summary="获取令牌")
def issue_token(request, payload: TokenIn):  # noqa: ANN001, ANN201
    if not lockout.address_allowed(request.META.get("REMOTE_ADDR", "")):
        raise HttpError(429, "登录尝试过于频繁，请一分钟后再试")
    known = User.objects.filter(username=payload.username).first()
    if known is not None and lockout.locked_until(known) is not None:
        raise HttpError(403, "连续登录失败次数过多，账号已锁定")
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is not None and totp.enrolled(user) and not totp.accept(user, payload.code):
        user = None
    if user is None or user.area_id is None:
        if known is not None:
            lockout.register_failure(known)
        raise HttpError(401, "用户名、密码或动态码错误")
    if passwords.must_change(user):
        raise HttpError(403, "口令须先在网页上修改")
    lockout.register_success(user)
    token, expires_at = issue_api_token(user, actor=context.as_user(
        user, request_id=getattr(request, "request_id", ""),
        ip=request.META.get("REMOTE_ADDR", "")))
    return {"token": token, "expires_at": expires_at}
