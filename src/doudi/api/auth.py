"""Bearer-token authentication: the token's owner becomes the audit actor of the request."""

from __future__ import annotations

from ninja.security import HttpBearer

from doudi.accounts.client_address import client_address
from doudi.accounts.services import token_owner
from doudi.audit import context


class TokenAuth(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request, token: str):  # noqa: ANN001, ANN201
        user = token_owner(token)
        if user is None:
            return None
        request.user = user
        context.bind(context.as_user(user, request_id=getattr(request, "request_id", ""),
                                     ip=client_address(request)))
        return user
