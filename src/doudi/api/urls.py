"""The NinjaAPI instance and its error shapes."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import ValidationError
from ninja.parser import Parser

from doudi.api.auth import TokenAuth
from doudi.api.hotline import router as hotline_router
from doudi.api.households import router as households_router
from doudi.api.referrals import router as referrals_router
from doudi.api.tokens import router as tokens_router
from doudi.core.errors import ServiceError
from doudi.exchange.department_api import router as feeds_router
from doudi.exchange.outbound_api import router as outbound_router
from doudi.platform_sync.api import router as sync_router
from doudi.registry import inputs


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


class BodyParser(Parser):
    """JSON bodies, refusing a string with a NUL character ("\\u0000"): PostgreSQL cannot
    store or compare such text. Ninja answers a body it cannot parse with 400."""

    def parse_body(self, request):  # noqa: ANN001, ANN201
        data = super().parse_body(request)
        if _holds_nul(data):
            raise ValueError("NUL in the request body")
        return data


def _docs_when_enabled(view):  # noqa: ANN001, ANN202
    """The schema and the documentation page answer 404 unless settings.DOUDI_API_DOCS (read
    on each request, so the demo and the tests can turn them on)."""

    def gated(request, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if not settings.DOUDI_API_DOCS:
            raise Http404("接口文档未开放")
        return view(request, *args, **kwargs)

    return gated


api = NinjaAPI(
    docs_decorator=_docs_when_enabled,
    parser=BodyParser(),
    title="兜底 Doudi API",
    version="1",
    description="社会救助与低收入人口动态监测。个人信息默认脱敏；金额单位为分。",
    auth=TokenAuth(),
    urls_namespace="api",
)
api.add_router("/", tokens_router)
api.add_router("/households", households_router)
api.add_router("/feeds", feeds_router)
api.add_router("/outbound", outbound_router)
api.add_router("/hotline", hotline_router)
api.add_router("/sync", sync_router)
api.add_router("/referrals", referrals_router)


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):  # noqa: ANN001, ANN201
    """An invalid request: one item per bad field, the reason in Chinese."""
    detail = [{"loc": list(e.get("loc", [])), "type": e.get("type", "value_error"),
               "msg": inputs.reason(e)} for e in exc.errors]
    return api.create_response(request, {"detail": detail}, status=422)


def _loc(field: str) -> list[str | int]:
    """"members[1].id_number" → ["body", "payload", "members", 1, "id_number"] (every body
    of this API is the operation's `payload`)."""
    parts = field.replace("[", ".").replace("]", "").split(".")
    return ["body", "payload", *(int(p) if p.isdigit() else p for p in parts if p)]


@api.exception_handler(ServiceError)
def service_error(request, exc: ServiceError):  # noqa: ANN001, ANN201
    """A refused act (422): per field like a validation error when the reasons name fields,
    else the reason as the detail."""
    if not exc.field_errors():
        return api.create_response(request, {"detail": exc.message or "请求有误"}, status=422)
    detail = [{"loc": _loc(e.field) if e.field else [], "msg": e.message, "type": "value_error"}
              for e in exc.errors]
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(PermissionDenied)
def permission_denied(request, exc: PermissionDenied):  # noqa: ANN001, ANN201
    return api.create_response(request, {"detail": str(exc) or "无权执行此操作"}, status=403)
