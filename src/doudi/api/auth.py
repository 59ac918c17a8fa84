"""Bearer-token authentication: the token's owner becomes the audit actor of the request."""

from __future__ import annotations

from django.utils import timezone
from ninja.security import HttpBearer

from doudi.accounts.models import ApiToken
from doudi.audit import context


class TokenAuth(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request, token: str):  # noqa: ANN001, ANN201
        row = (ApiToken.objects.select_related("user", "user__area")
               .filter(digest=ApiToken.hash(token)).first())
        now = timezone.now()
        if row is None or row.expires_at <= now or not row.user.is_active:
            return None
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        context.bind(context.as_user(row.user, request_id=getattr(request, "request_id", ""),
                                     ip=request.META.get("REMOTE_ADDR", "")))
        return row.user
