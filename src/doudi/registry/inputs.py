"""登记家庭的输入: a household and its members as a user or another system types them,
declared once — each field with its label, limits and code list.

The API schema (`api.schemas.HouseholdIn`) is built from these declarations, the registry
services check every input against them (`household_errors`, `member_errors`), and the web
form takes its labels and limits from here, so the limits cannot drift apart. The checks
answer in Chinese, naming each field ("members[1].id_number"); nothing here writes.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, Strict, StringConstraints, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from doudi.core import idnumber
from doudi.core.errors import FieldError, field_path, reason_for
from doudi.registry import choices

MAX_MEMBERS = 20  # one form, one API call: a household larger than this is entered in parts
NAME_MAX = 50
PHONE_MAX = 20
SERIOUS_ILLNESS_MAX = 100
ADDRESS_MAX = 200
DISABILITY_GRADES = tuple(grade for grade, _ in choices.DISABILITY_GRADE_CHOICES)


def _codes(options: list[tuple[str, str]]) -> Any:
    return Literal[tuple(code for code, _ in options)]


def _id_number(value: str) -> str:
    try:
        return idnumber.parse(value).id_number
    except idnumber.InvalidIdNumber as exc:
        raise ValueError(str(exc)) from None


IdNumber = Annotated[str, AfterValidator(_id_number),
                     Field(title="身份证号", description="18位居民身份证号 (GB 11643 校验)")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX),
                 Field(title="姓名")]
Hukou = Annotated[_codes(choices.HUKOU_CHOICES),
                  Field(title="户籍类型", description="urban 城镇 / rural 农村")]


@dataclass
class MemberInput:
    """One member (家庭成员) as typed; checked by `member_errors`, not on construction."""

    id_number: IdNumber
    name: Name
    relation: Annotated[_codes(choices.RELATION_CHOICES), Field(
        title="与户主关系", description="与户主关系: head, spouse, child, parent …")]
    hukou_type: Annotated[_codes([("", ""), *choices.HUKOU_CHOICES]), Field(
        title="户籍类型", description="空为与家庭相同")] = ""
    co_resident: Annotated[bool, Strict(), Field(title="共同生活")] = True
    phone: Annotated[str, StringConstraints(max_length=PHONE_MAX), Field(title="联系电话")] = ""
    disability_category: Annotated[_codes([("", ""), *choices.DISABILITY_CATEGORY_CHOICES]),
                                   Field(title="残疾类别")] = ""
    disability_grade: Annotated[int | None, Strict(), Field(
        title="残疾等级", ge=DISABILITY_GRADES[0], le=DISABILITY_GRADES[-1])] = None
    serious_illness: Annotated[str, StringConstraints(max_length=SERIOUS_ILLNESS_MAX),
                               Field(title="重病病种")] = ""
    labour_capacity: Annotated[_codes(choices.LABOUR_CAPACITY_CHOICES),
                               Field(title="劳动能力")] = "full"
    student_status: Annotated[_codes(choices.STUDENT_CHOICES), Field(title="在校情况")] = ""
    has_supporter: Annotated[bool, Strict(), Field(
        title="法定义务人",
        description="有法定赡养、抚养、扶养义务人且其有履行能力；无义务人或义务人无履行义务能力为"
                    " false（特困人员认定条件之一）")] = True
    adl_failed: Annotated[int, Strict(), Field(
        title="生活不能自理项数", ge=0, le=choices.ADL_ITEM_COUNT,
        description="生活不能自理项数：吃饭、穿衣、上下床、如厕、室内行走、洗澡六项中不能自理的项数",
    )] = 0


@dataclass
class HouseholdInput:
    """登记家庭: the household and all its members, in one act."""

    area_code: Annotated[str, Field(title="所在村（社区）",
                                    description="所在村(社区)的12位区划代码")]
    hukou_type: Hukou
    members: Annotated[list[MemberInput], Field(title="家庭成员", min_length=1,
                                                max_length=MAX_MEMBERS)]
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=ADDRESS_MAX),
                       Field(title="住址")] = ""


def _labels(*declared: type) -> dict[str, tuple[str, int | None, int | None]]:
    """field → (label, low, high) from the declarations' metadata."""
    out = {}
    for cls in declared:
        hints = typing.get_type_hints(cls, include_extras=True)
        for f in dataclasses.fields(cls):
            label, low, high = f.name, None, None
            for meta in getattr(hints[f.name], "__metadata__", ()):
                label = getattr(meta, "title", None) or label
                for item in getattr(meta, "metadata", ()):
                    low = getattr(item, "ge", low)
                    high = getattr(item, "le", high)
            out.setdefault(f.name, (label, low, high))
    return out


FIELDS = _labels(MemberInput, HouseholdInput)
LABELS = {name: label for name, (label, _, _) in FIELDS.items()}
UNITS = {"phone": "位", "disability_grade": "级", "adl_failed": "项", "members": "名成员"}
# where the general wording does not say it well
SAID = {("members", "too_short"): "至少登记一名家庭成员",
        ("members", "too_long"): f"一户一次至多登记{MAX_MEMBERS}名成员",
        ("has_supporter", "bool_type"): "应为“是”或“否”"}


def reason(error: dict) -> str:
    """The Chinese reason for one validation error of these inputs (or of any API schema: a
    field not declared here is named by its own name)."""
    name = next((p for p in reversed(error.get("loc", ())) if isinstance(p, str)), "")
    said = SAID.get((name, str(error.get("type"))))
    if said:
        return said
    label, low, high = FIELDS.get(name, (name, None, None))
    return reason_for(error, label, unit=UNITS.get(name, ""), low=low, high=high)


def range_reason(name: str) -> str:
    """E.g. "残疾等级应为1–4级", for a form that parses the number itself."""
    label, low, high = FIELDS[name]
    return f"{label}应为{low}–{high}{UNITS.get(name, '')}"


def _errors(exc: PydanticValidationError, where: str) -> list[FieldError]:
    found = []
    for e in exc.errors():
        path = field_path(e["loc"])
        found.append(FieldError(f"{where}.{path}" if where else path, reason(e)))
    return found


def _cross_member(m: MemberInput, where: str) -> list[FieldError]:
    if m.disability_grade in DISABILITY_GRADES and not m.disability_category:
        return [FieldError(f"{where}.disability_category", "填写残疾等级时须填写残疾类别")]
    return []


_MEMBER = TypeAdapter(MemberInput)
_HOUSEHOLD = TypeAdapter(HouseholdInput)


def member_errors(m: MemberInput, where: str = "member") -> tuple[MemberInput | None,
                                                                 list[FieldError]]:
    """The member as checked (ID normalised, name trimmed) and the reasons it is refused."""
    try:
        clean = _MEMBER.validate_python(dataclasses.asdict(m))
    except PydanticValidationError as exc:
        return None, _errors(exc, where) + _cross_member(m, where)
    errors = _cross_member(clean, where)
    return (clean if not errors else None), errors


def household_errors(form: HouseholdInput) -> tuple[HouseholdInput | None, list[FieldError]]:
    """The household as checked and the reasons it is refused, each member's named by its
    place in the form ("members[1].id_number")."""
    raw = dataclasses.asdict(form)
    cross = [e for i, m in enumerate(form.members) for e in _cross_member(m, f"members[{i}]")]
    try:
        clean = _HOUSEHOLD.validate_python(raw)
    except PydanticValidationError as exc:
        return None, _errors(exc, "") + cross
    return (clean if not cross else None), cross
