"""POST /api/token — exchange a username and password for a bearer token (audited).

The same identity rules as the login page (accounts.signin): the address rate limit, the
lockout, the second factor when the account has one, and no token while the password must be
changed or while the user's role requires a second factor not yet set up on the web."""

from __future__ import annotations

from django.contrib.auth import authenticate
from ninja import Router
from ninja.errors import HttpError

from doudi.accounts import lockout, signin, totp
from doudi.accounts.client_address import client_address
from doudi.accounts.models import User
from doudi.accounts.services import issue_api_token
from doudi.api.schemas import TokenIn, TokenOut, refusals
from doudi.audit import context
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent

router = Router(tags=["认证"])


@router.post("/token", auth=None,
             response={200: TokenOut, **refusals(400, 401, 403, 422, 429)}, summary="获取令牌")
def issue_token(request, payload: TokenIn):  # noqa: ANN001, ANN201
    ip = client_address(request)
    if not lockout.address_allowed(ip):
        raise HttpError(429, "登录尝试过于频繁，请一分钟后再试")
    known = User.objects.filter(username=payload.username).first()
    locked = known is not None and lockout.locked_until(known) is not None
    # the password is hashed for every name, and a locked account answers as a wrong password
    # does: the answer tells nobody which user names exist or are locked
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is not None and not locked and totp.enrolled(user) \
            and not totp.accept(user, payload.code):
        user = None
    if user is None or locked or user.area_id is None:
        if known is not None and not (locked and user is not None):
            lockout.register_failure(known)
        raise HttpError(401, lockout.refused_message(code=True))
    refusal = signin.token_refusal(user)
    if refusal:
        audit.record(AuditEvent.REFUSED, object_type="accounts.user", object_id=user.pk,
                     object_label=f"用户 {user.username} 申请接口令牌被拒绝：{refusal}"[:200],
                     area_code=user.area_id,
                     actor=context.as_user(user, request_id=getattr(request, "request_id", ""),
                                           ip=ip))
        raise HttpError(403, refusal)
    lockout.register_success(user)
    token, expires_at = issue_api_token(user, actor=context.as_user(
        user, request_id=getattr(request, "request_id", ""), ip=ip))
    return {"token": token, "expires_at": expires_at}
