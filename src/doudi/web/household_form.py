"""登记家庭 form: a household and a variable number of member rows, posted together.

Rows are plain indexed fields (m-0-name, m-0-id_number, …) so htmx can append a row without
a formset's management form; on error everything typed is shown again with the reasons."""

from __future__ import annotations

from django.http import HttpRequest

from doudi.core.errors import FieldError
from doudi.registry import choices, inputs
from doudi.registry.inputs import MemberInput

MEMBER_FIELDS = ["name", "id_number", "relation", "phone", "disability_category",
                 "disability_grade", "serious_illness", "labour_capacity", "student_status",
                 "has_supporter", "adl_failed"]
# 有法定义务人且有履行能力: "yes" / "no"; a row posted without the field keeps the default (yes)
SUPPORTER_CHOICES = [("yes", "有"), ("no", "无或无履行能力")]
ADL_FAILED_CHOICES = [(str(n), f"{n}项") for n in range(choices.ADL_ITEM_COUNT + 1)]
MAX_MEMBERS = inputs.MAX_MEMBERS


def member_rows(request: HttpRequest) -> list[dict[str, str]]:
    post = request.POST
    rows = []
    for i in range(MAX_MEMBERS):
        row = {f: post.get(f"m-{i}-{f}", "").strip() for f in MEMBER_FIELDS}
        if any(row[f] for f in ("name", "id_number")):
            row["co_resident"] = post.get(f"m-{i}-co_resident", "") == "on"
            rows.append(row)
    return rows


def to_members(rows: list[dict]) -> tuple[list[MemberInput], list[FieldError]]:
    members, errors = [], []
    for i, row in enumerate(rows):
        grade = row.get("disability_grade") or ""
        if grade and not (grade.isascii() and grade.isdigit()):  # "²".isdigit() is True
            errors.append(FieldError(f"members[{i}].disability_grade",
                                     inputs.range_reason("disability_grade")))
            grade = ""
        adl = row.get("adl_failed") or "0"
        if not (adl.isascii() and adl.isdigit()):
            errors.append(FieldError(f"members[{i}].adl_failed",
                                     inputs.range_reason("adl_failed")))
            adl = "0"
        supporter = row.get("has_supporter") or "yes"
        if supporter not in {code for code, _ in SUPPORTER_CHOICES}:
            errors.append(FieldError(f"members[{i}].has_supporter", "应为“有”或“无或无履行能力”"))
        members.append(MemberInput(
            id_number=row["id_number"], name=row["name"], relation=row["relation"] or "other",
            phone=row["phone"], disability_category=row["disability_category"],
            disability_grade=int(grade) if grade else None,
            serious_illness=row["serious_illness"],
            labour_capacity=row["labour_capacity"] or "full",
            student_status=row["student_status"], co_resident=row.get("co_resident", True),
            has_supporter=supporter != "no", adl_failed=int(adl),
        ))
    return members, errors


def blank_row(relation: str = "head") -> dict:
    row = {f: "" for f in MEMBER_FIELDS}
    row.update(relation=relation, labour_capacity="full", co_resident=True,
               has_supporter="yes", adl_failed="0")
    return row


def errors_by_row(errors: list[FieldError]) -> tuple[list[str], dict[int, list[str]]]:
    """Split service errors into household-level messages and messages per member row."""
    general: list[str] = []
    per_row: dict[int, list[str]] = {}
    for e in errors:
        if e.field and e.field.startswith("members[") and "]." in e.field:
            index = int(e.field[len("members["):e.field.index("]")])
            name = e.field.split("].", 1)[1]
            per_row.setdefault(index, []).append(f"{inputs.LABELS.get(name, name)}：{e.message}")
        else:
            general.append(e.message)
    return general, per_row


CHOICES = {
    "relations": choices.RELATION_CHOICES,
    "disability_categories": choices.DISABILITY_CATEGORY_CHOICES,
    "disability_grades": choices.DISABILITY_GRADE_CHOICES,
    "labour_capacities": choices.LABOUR_CAPACITY_CHOICES,
    "students": choices.STUDENT_CHOICES,
    "supporter_choices": SUPPORTER_CHOICES,
    "adl_failed_choices": ADL_FAILED_CHOICES,
    "hukou_choices": choices.HUKOU_CHOICES,
    # the inputs' maxlength, from the one declaration the service checks against
    "limits": {"name": inputs.NAME_MAX, "phone": inputs.PHONE_MAX,
               "serious_illness": inputs.SERIOUS_ILLNESS_MAX, "address": inputs.ADDRESS_MAX},
}
