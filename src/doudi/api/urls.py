"""The NinjaAPI instance and its error shapes."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from ninja import NinjaAPI
from ninja.errors import ValidationError
from ninja.parser import Parser

from doudi.api.auth import TokenAuth
from doudi.api.hotline import router as hotline_router
from doudi.api.households import router as households_router
from doudi.api.tokens import router as tokens_router
from doudi.exchange.department_api import router as feeds_router
from doudi.registry.services import RegistryError


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


api = NinjaAPI(
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
api.add_router("/hotline", hotline_router)


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):  # noqa: ANN001, ANN201
    """Pydantic's messages, without its English "Value error, " prefix on our own reasons."""
    detail = [{"loc": list(e.get("loc", [])), "type": e.get("type", "value_error"),
               "msg": str(e.get("msg", "")).removeprefix("Value error, ")} for e in exc.errors]
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(RegistryError)
def registry_error(request, exc: RegistryError):  # noqa: ANN001, ANN201
    detail = [{"loc": ["body", "payload",
                       *e.field.replace("[", ".").replace("]", "").split(".")],
               "msg": e.message, "type": "value_error"} for e in exc.errors]
    for item in detail:  # members.0.id_number → ["members", 0, "id_number"]
        item["loc"] = [int(p) if isinstance(p, str) and p.isdigit() else p for p in item["loc"]]
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(PermissionDenied)
def permission_denied(request, exc: PermissionDenied):  # noqa: ANN001, ANN201
    return api.create_response(request, {"detail": str(exc) or "无权执行此操作"}, status=403)
