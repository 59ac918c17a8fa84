"""API schemas. Personal data leaves the API masked; amounts are integer fen."""

from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import Field, field_validator

from doudi.core import idnumber


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


class TokenIn(Schema):
    username: str
    password: str
    # 动态码: required when the account has a second factor (TOTP)
    code: str = ""


class TokenOut(Schema):
    token: str
    expires_at: dt.datetime


class MemberIn(Schema):
    id_number: str = Field(description="18位居民身份证号 (GB 11643 校验)")
    name: str = Field(min_length=1, max_length=50)
    relation: str = Field(description="与户主关系: head, spouse, child, parent …")
    hukou_type: str = ""
    co_resident: bool = True
    phone: str = ""
    disability_category: str = ""
    disability_grade: int | None = None
    serious_illness: str = ""
    labour_capacity: str = "full"
    student_status: str = ""
    has_supporter: bool = Field(
        default=True,
        description="有法定赡养、抚养、扶养义务人且其有履行能力；无义务人或义务人无履行义务能力为"
                    " false（特困人员认定条件之一）",
    )
    adl_failed: int = Field(
        default=0, ge=0, le=6,
        description="生活不能自理项数：吃饭、穿衣、上下床、如厕、室内行走、洗澡六项中不能自理的项数",
    )

    @field_validator("id_number")
    @classmethod
    def valid_id(cls, value: str) -> str:
        try:
            return idnumber.parse(value).id_number
        except idnumber.InvalidIdNumber as exc:
            raise ValueError(str(exc)) from None


class HouseholdIn(Schema):
    area_code: str = Field(description="所在村(社区)的12位区划代码")
    hukou_type: str = Field(description="urban 城镇 / rural 农村")
    address: str = ""
    members: list[MemberIn] = Field(min_length=1)


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
    adl_failed: int = Field(description="生活不能自理项数 (0–6)")
    start_date: dt.date


class CategoryOut(Schema):
    category: str
    label: str
    person_id: int | None
    start_date: dt.date
    end_date: dt.date | None


class ObservationOut(Schema):
    kind: str
    item: str
    amount_fen: int | None
    quantity: int | None
    observed_on: dt.date
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
