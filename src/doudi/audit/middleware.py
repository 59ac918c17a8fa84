"""Binds each request to an audit actor (user, request id, client address)."""

from __future__ import annotations

import uuid

from doudi.accounts.client_address import client_address
from doudi.audit import context


class AuditContextMiddleware:
    def __init__(self, get_response) -> None:  # noqa: ANN001
        self.get_response = get_response

    def __call__(self, request):  # noqa: ANN001, ANN204
        request.request_id = uuid.uuid4().hex[:16]
        user = getattr(request, "user", None)
        actor = context.Actor(
            user_id=user.pk if user is not None and user.is_authenticated else None,
            username=user.username if user is not None and user.is_authenticated else "anonymous",
            request_id=request.request_id,
            ip=client_address(request),
        )
        with context.acting(actor):
            response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response
