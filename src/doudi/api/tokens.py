"""POST /api/token — exchange a username and password for a bearer token (audited)."""

from __future__ import annotations

from django.contrib.auth import authenticate
from ninja import Router
from ninja.errors import HttpError

from doudi.accounts.models import ApiToken
from doudi.api.schemas import TokenIn, TokenOut
from doudi.audit import context, services
from doudi.audit.models import AuditEvent

router = Router(tags=["认证"])


@router.post("/token", auth=None, response=TokenOut, summary="获取令牌")
def issue_token(request, payload: TokenIn):  # noqa: ANN001, ANN201
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is None or user.area_id is None:
        raise HttpError(401, "用户名或密码错误")
    token = ApiToken.issue(user)
    row = ApiToken.objects.get(digest=ApiToken.hash(token))
    services.record(AuditEvent.TOKEN, object_type="accounts.user", object_id=user.pk,
                    object_label=f"用户 {user.username} 签发接口令牌", area_code=user.area_id,
                    actor=context.as_user(user, request_id=getattr(request, "request_id", ""),
                                          ip=request.META.get("REMOTE_ADDR", "")))
    return {"token": token, "expires_at": row.expires_at}
