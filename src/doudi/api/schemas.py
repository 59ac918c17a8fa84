"""API schemas. Personal data leaves the API masked; amounts are integer fen."""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from typing import Annotated, Any

from ninja import Schema
from pydantic import BeforeValidator, Field, ValidationInfo, WithJsonSchema, create_model

from doudi.core.money import MAX_FEN, parse_yuan
from doudi.registry import choices, inputs


class RefusalItem(Schema):
    loc: list[str | int]
    msg: str
    type: str


class Refusal(Schema):
    """Every refusal: a Chinese message, or for an invalid request one item per bad field."""

    detail: str | list[RefusalItem]


def refusals(*codes: int) -> dict[int, type[Refusal]]:
    """The error answers an operation declares, e.g. `response={200: X, **refusals(401, 422)}`:
    400 请求体无法解析, 401 没有或无效的令牌, 403 无权限, 404 不存在或不在辖区, 413 文件过大,
    422 请求有误, 429 请求过于频繁."""
    return dict.fromkeys(codes, Refusal)


def yuan_amount(label: str = "金额", *, allow_negative: bool = False,
                max_fen: int = MAX_FEN) -> Any:
    """The type of an amount an API caller sends in yuan ("1234.50" or 1234.5): checked by the
    one parser of typed amounts (`doudi.core.money.parse_yuan`) and handed on as integer
    fen; exponents, Infinity/NaN, a third decimal, a negative amount (unless allowed) or one
    above `max_fen` answer 422 with the field and the Chinese reason."""

    def to_fen(value: Any, info: ValidationInfo) -> int:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(f"{label}应为以元为单位的数字，如 \"1234.50\"")
        # repr keeps what a float says: 1e+30, inf and nan are refused as such
        text = repr(value) if isinstance(value, float) else str(value)
        return parse_yuan(text, field=info.field_name or "amount", label=label,
                          allow_negative=allow_negative, max_fen=max_fen)

    return Annotated[int, BeforeValidator(to_fen), WithJsonSchema({
        "anyOf": [{"type": "string"}, {"type": "number"}], "title": label,
        "description": f"{label}（元），最多两位小数，如 \"1234.50\"；"
                       f"不超过 {max_fen // 100} 元" + ("" if allow_negative else "，不能为负数")})]


class TokenIn(Schema):
    username: str
    password: str
    # 动态码: required when the account has a second factor (TOTP)
    code: str = ""


class TokenOut(Schema):
    token: str
    expires_at: dt.datetime


def schema_of(declared: type, name: str) -> type[Schema]:
    """The API schema of an input declared once elsewhere (a dataclass whose fields carry
    their labels and limits): the same fields, limits, code lists and descriptions."""
    hints = typing.get_type_hints(declared, include_extras=True)
    fields: dict[str, Any] = {
        f.name: (hints[f.name], ... if f.default is dataclasses.MISSING else f.default)
        for f in dataclasses.fields(declared)}
    return create_model(name, __base__=Schema, __doc__=declared.__doc__, **fields)


# 登记家庭: the household and its members as `registry.inputs` declares them
HouseholdIn = schema_of(inputs.HouseholdInput, "HouseholdIn")


class MemberOut(Schema):
    person_id: int
    name: str
    id_number: str
    sex: str
    age: int = Field(description="年龄（出生日期属于身份证号的隐藏部分，脱敏时不输出）")
    relation: str
    hukou_type: str
    co_resident: bool
    disability_category: str
    disability_grade: int | None
    serious_illness: str
    labour_capacity: str
    student_status: str
    has_supporter: bool = Field(description="有法定赡养抚养扶养义务人且有履行能力")
    adl_failed: int = Field(description=f"生活不能自理项数 (0–{choices.ADL_ITEM_COUNT})")
    start_date: dt.date


class CategoryOut(Schema):
    category: str
    label: str
    person_id: int | None
    start_date: dt.date
    end_date: dt.date | None


class ObservationOut(Schema):
    """A fact that counts today, of a member (`person_id`) or of the household (null)."""

    person_id: int | None
    kind: str
    item: str
    amount_fen: int | None
    quantity: int | None
    observed_on: dt.date
    ended_on: dt.date | None
    source: str


class HouseholdOut(Schema):
    id: int
    number: str
    area_code: str
    area_name: str
    town_name: str
    hukou_type: str
    address: str
    head_name: str
    member_count: int
    categories: list[str]


class HouseholdDetailOut(HouseholdOut):
    members: list[MemberOut]
    category_history: list[CategoryOut]
    observations: list[ObservationOut]


class HouseholdPage(Schema):
    count: int
    page: int
    page_size: int
    items: list[HouseholdOut]


# The instants a caller may pass as `since`: PostgreSQL keeps offsets within ±15:59, and the
# world's time zones lie within ±14 hours.
_MAX_OFFSET = dt.timedelta(hours=14)
_REFUSED = "since 应为 ISO 8601 时间（如 2026-12-01T08:00:00+08:00），时区偏移不超过 ±14 小时"


def watermark(since: dt.datetime | None) -> dt.datetime | None:
    """A `since` query value as an aware UTC instant (a naive one is the bureau's local time),
    or a 422 naming the field — never a database error on an odd offset."""
    from django.utils import timezone
    from ninja.errors import HttpError

    if since is None:
        return None
    try:
        if timezone.is_naive(since):
            since = timezone.make_aware(since)
        if abs(since.utcoffset() or dt.timedelta()) > _MAX_OFFSET:
            raise HttpError(422, _REFUSED)
        return since.astimezone(dt.UTC)
    except OverflowError as exc:  # the first or last day Python can hold, moved to UTC
        raise HttpError(422, _REFUSED) from exc
