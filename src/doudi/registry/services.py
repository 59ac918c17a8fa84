"""Registry services: each function is one business act in one transaction, checked against
the user's capability and area, audited (through the `Audited` models) as it writes.

Views, API handlers, CLI commands and jobs all call these; none writes registry rows itself.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from pypinyin import Style, lazy_pinyin

from doudi.accounts import roles
from doudi.areas.models import Area
from doudi.areas.scoping import in_scope, require
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.core import areacode, clock, idnumber
from doudi.core.errors import FieldError, ServiceError
from doudi.registry import choices
from doudi.registry.categories import CATEGORIES, by_decision
from doudi.registry.inputs import HouseholdInput, MemberInput, household_errors, member_errors
from doudi.registry.models import CategoryAssignment, Household, Membership, Observation, Person


class RegistryError(ServiceError, ValueError):
    """Bad input; `errors` names each field and the reason in Chinese. Nothing was written."""


def name_initials(name: str) -> str:
    """拼音首字母 for search: 张三丰 → zsf."""
    return "".join(lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore")).lower()[:20]


def _check_choice(errors: list[FieldError], where: str, value, options, label: str) -> None:  # noqa: ANN001
    if value not in {code for code, _ in options}:
        errors.append(FieldError(where, f"{label}取值无效: {value!r}"))


def _duplicate_message(person: Person, by) -> str:  # noqa: ANN001
    """Name the existing record to a user who may see it; to anyone else name only the
    county it is registered in, so the two offices can sort it out without a data leak."""
    if not in_scope(by, person.area_code):
        county = Area.objects.filter(code=areacode.full_code(person.area_code[:6])).first()
        where = county.full_name() if county else person.area_code[:6]
        return f"该身份证号已在其他辖区（{where}）登记，不能重复登记，请与当地民政部门核实"
    membership = person.current_membership()
    where = ""
    if membership is not None:
        hh = membership.household
        where = f"，现属家庭 {hh.number}（{hh.area.name}）"
    return f"该身份证号已登记：{person.masked_name}（人员编号 {person.pk}{where}）"


def _refuse_duplicate(person: Person, by) -> str:  # noqa: ANN001
    """The refusal is itself audited: asking whether an ID is registered is a lookup."""
    audit.record(
        AuditEvent.REFUSED, object_type="registry.person", object_id=person.pk,
        object_label=f"重复登记被拒 {person.masked_id}",
        area_code=getattr(getattr(by, "area", None), "code", "") or "",
        changes={"existing_area": person.area_code[:6]},
    )
    return _duplicate_message(person, by)


def _new_household_number(area_code: str) -> str:
    last = (
        Household.objects.filter(number__startswith=area_code)
        .order_by("-number").values_list("number", flat=True).first()
    )
    seq = int(last[len(area_code):]) + 1 if last else 1
    return f"{area_code}{seq:05d}"


def _village(area_code: str) -> Area:
    area = Area.objects.filter(code=area_code).first()
    if area is None:
        raise RegistryError([FieldError("area_code", f"区划代码 {area_code} 不存在")])
    if area.level != areacode.VILLAGE:
        raise RegistryError([FieldError("area_code", "家庭须登记到村(社区)一级")])
    return area


def _create_person(m: MemberInput, area_code: str, hukou_type: str) -> Person:
    facts = idnumber.parse(m.id_number)
    return Person.objects.create(
        id_number=facts.id_number, name=m.name, name_initials=name_initials(m.name),
        sex=facts.sex, birth_date=facts.birth_date, hukou_type=m.hukou_type or hukou_type,
        phone=m.phone, disability_category=m.disability_category,
        disability_grade=m.disability_grade, serious_illness=m.serious_illness,
        labour_capacity=m.labour_capacity, student_status=m.student_status,
        has_supporter=m.has_supporter, adl_failed=m.adl_failed, area_code=area_code,
    )


def create_household(
    *, by, area_code: str, hukou_type: str, members: list[MemberInput],  # noqa: ANN001
    address: str = "", start_date: dt.date | None = None,
) -> Household:
    """登记家庭: a household with its members; exactly one 户主. All or nothing."""
    require(by, area_code, roles.EDIT_REGISTRY)
    area = _village(area_code)
    form, errors = household_errors(HouseholdInput(
        area_code=area_code, hukou_type=hukou_type, members=members, address=address))
    # the checks across members run on what was typed, so every reason is shown at once
    ids = [_normalised_id(m.id_number) for m in members]
    heads = [m for m in members if m.relation == "head"]
    if members and len(heads) != 1:
        errors.append(FieldError("members", f"应有且仅有一名户主，实际为{len(heads)}名"))
    seen: dict[str, int] = {}
    for i, id_number in enumerate(ids):
        if id_number in seen:
            errors.append(FieldError(f"members[{i}].id_number",
                                     f"与第{seen[id_number] + 1}名成员身份证号重复"))
        seen.setdefault(id_number, i)
    if not errors:
        existing = {p.id_number: p for p in Person.objects.filter(id_number__in=list(seen))}
        for i, id_number in enumerate(ids):
            if id_number in existing:
                errors.append(FieldError(f"members[{i}].id_number",
                                         _refuse_duplicate(existing[id_number], by)))
    if errors or form is None:
        raise RegistryError(errors)
    start = start_date or clock.today()
    for attempt in range(5):
        try:
            with transaction.atomic():
                household = Household.objects.create(
                    number=_new_household_number(area.code), area=area, area_code=area.code,
                    address=form.address, hukou_type=form.hukou_type,
                )
                for m in form.members:
                    person = _create_person(m, area.code, form.hukou_type)
                    Membership.objects.create(
                        household=household, person=person, relation=m.relation,
                        co_resident=m.co_resident, start_date=start, area_code=area.code,
                    )
            return household
        except IntegrityError:
            # Another registration took the same household number (retry with the next
            # one) or the same ID a moment ago (the check above will now name it).
            if Person.objects.filter(id_number__in=list(seen)).exists():
                raise RegistryError(
                    [FieldError("members", "该身份证号刚被他人登记，请刷新后核实")]) from None
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _normalised_id(raw: str) -> str:
    try:
        return idnumber.parse(raw).id_number
    except (idnumber.InvalidIdNumber, TypeError, AttributeError):
        return raw


@transaction.atomic
def add_member(*, by, household: Household, member: MemberInput,  # noqa: ANN001
               start_date: dt.date | None = None) -> Membership:
    """增加家庭成员 (a new person: birth, marriage, registration)."""
    require(by, household.area_code, roles.EDIT_REGISTRY)
    clean, errors = member_errors(member, "member")
    if clean is not None and clean.relation == "head" and household.head() is not None:
        errors.append(FieldError("member.relation", "该家庭已有户主"))
    if clean is not None and not errors:
        existing = Person.objects.filter(id_number=clean.id_number).first()
        if existing is not None:
            errors.append(FieldError("member.id_number", _refuse_duplicate(existing, by)))
    if errors or clean is None:
        raise RegistryError(errors)
    person = _create_person(clean, household.area_code, household.hukou_type)
    return Membership.objects.create(
        household=household, person=person, relation=clean.relation,
        co_resident=clean.co_resident, start_date=start_date or clock.today(),
        area_code=household.area_code,
    )


@transaction.atomic
def move_person(*, by, person: Person, to_household: Household, relation: str,  # noqa: ANN001
                on: dt.date | None = None, reason: str = "迁入其他家庭") -> Membership:
    """成员迁移: end the current membership, open one in the new household; history stays."""
    require(by, person.area_code, roles.EDIT_REGISTRY)
    require(by, to_household.area_code, roles.EDIT_REGISTRY)
    errors: list[FieldError] = []
    _check_choice(errors, "relation", relation, choices.RELATION_CHOICES, "与户主关系")
    if relation == "head" and to_household.head() is not None:
        errors.append(FieldError("relation", "目标家庭已有户主"))
    current = person.current_membership()
    if current is not None and current.household_id == to_household.pk:
        errors.append(FieldError("to_household", "该人员已在目标家庭中"))
    if current is not None and current.relation == "head":
        errors.append(FieldError("person", "户主迁出前须先变更户主"))
    day = on or clock.today()
    if current is not None and day < current.start_date:
        errors.append(FieldError("on", "迁移日期不能早于在现家庭的起始日期"))
    if errors:
        raise RegistryError(errors)
    if current is not None:
        current.end_date = day
        current.end_reason = reason
        current.save()
    person.area_code = to_household.area_code
    person.save()
    # the person's open categories travel with them: the new area now owns and sees them
    for row in CategoryAssignment.objects.filter(person=person, end_date__isnull=True):
        row.area_code = to_household.area_code
        row.save()
    return Membership.objects.create(
        household=to_household, person=person, relation=relation, start_date=day,
        area_code=to_household.area_code,
    )


def _observation_errors(household: Household, kind: str, item: str, source: str,
                       amount_fen: int | None, person: Person | None) -> list[FieldError]:
    errors: list[FieldError] = []
    _check_choice(errors, "kind", kind, choices.OBSERVATION_KIND_CHOICES, "类别")
    if kind in choices.OBSERVATION_ITEMS:
        _check_choice(errors, "item", item, choices.OBSERVATION_ITEMS[kind], "项目")
    _check_choice(errors, "source", source, choices.OBSERVATION_SOURCE_CHOICES, "来源")
    if amount_fen is not None and (not isinstance(amount_fen, int) or isinstance(amount_fen, bool)):
        errors.append(FieldError("amount_fen", "金额须为整数(分)"))
    elif amount_fen is not None and amount_fen < 0 and kind != "business":
        errors.append(FieldError("amount_fen", "金额不能为负"))
    if person is not None and not household.current_memberships().filter(
            person=person).exists():
        errors.append(FieldError("person", "该人员不是本家庭的现有成员"))
    return errors


def record_observation(
    *, by, household: Household, kind: str, item: str, observed_on: dt.date,  # noqa: ANN001
    source: str = "declared", amount_fen: int | None = None, quantity: int | None = None,
    person: Person | None = None, description: str = "",
) -> Observation:
    """记录经济状况: a new dated row of a current member (`person`) or of the household;
    earlier rows stay as they were (a later row of the same item replaces an earlier one from
    its date on: `facts.current`)."""
    require(by, household.area_code, roles.EDIT_REGISTRY)
    errors = _observation_errors(household, kind, item, source, amount_fen, person)
    if errors:
        raise RegistryError(errors)
    return Observation.objects.create(
        household=household, person=person, kind=kind, item=item, amount_fen=amount_fen,
        quantity=quantity, description=description, observed_on=observed_on, source=source,
        area_code=household.area_code,
    )


def _open_fact(by, observation: Observation, reason: str) -> list[FieldError]:  # noqa: ANN001
    require(by, observation.area_code, roles.EDIT_REGISTRY)
    errors: list[FieldError] = []
    if observation.superseded_by_id is not None:
        errors.append(FieldError("observation", "该记录已被更正，请更正最新的记录"))
    if not reason.strip():
        errors.append(FieldError("reason", "请填写原因"))
    elif len(reason.strip()) > 200:
        errors.append(FieldError("reason", "原因不能超过200字"))
    return errors


@transaction.atomic
def correct_observation(
    *, by, observation: Observation, reason: str, amount_fen: int | None,  # noqa: ANN001
    quantity: int | None = None, person: Person | None = None,
    observed_on: dt.date | None = None, description: str | None = None,
) -> Observation:
    """更正经济状况: the wrong row is kept, superseded by a new row with the right value and
    the reason (both audited); from then on only the new row counts, on every day the old one
    would have. `person` names the member the fact belongs to (None: the household);
    `observed_on` and `description` default to the old row's."""
    observation = Observation.objects.select_for_update().get(pk=observation.pk)
    errors = _open_fact(by, observation, reason)
    household = observation.household
    # a fact may stay with a member who has since left; moved, it goes to a current one
    moved = person if person != observation.person else None
    errors += _observation_errors(household, observation.kind, observation.item,
                                  observation.source, amount_fen, moved)
    if errors:
        raise RegistryError(errors)
    corrected = Observation(
        household=household, person=person, kind=observation.kind, item=observation.item,
        amount_fen=amount_fen, quantity=quantity,
        description=observation.description if description is None else description,
        observed_on=observed_on or observation.observed_on, source=observation.source,
        ended_on=observation.ended_on, end_reason=observation.end_reason,
        area_code=household.area_code)
    corrected.correcting = observation
    corrected.save()
    observation.superseded_by = corrected
    observation.correction_reason = reason.strip()
    observation.save()
    return corrected


@transaction.atomic
def end_observation(*, by, observation: Observation, ended_on: dt.date,  # noqa: ANN001
                    reason: str) -> Observation:
    """终止经济状况 (失业, 房屋出售, 车辆报废 …): the fact stops counting from `ended_on`."""
    observation = Observation.objects.select_for_update().get(pk=observation.pk)
    errors = _open_fact(by, observation, reason)
    if observation.ended_on is not None:
        errors.append(FieldError("observation", "该记录已终止"))
    if ended_on < observation.observed_on:
        errors.append(FieldError("ended_on", "终止日期不能早于所属日期"))
    if errors:
        raise RegistryError(errors)
    observation.ended_on = ended_on
    observation.end_reason = reason.strip()
    observation.save()
    return observation


def assign_category(
    *, by, category: str, start_date: dt.date, household: Household | None = None,  # noqa: ANN001
    person: Person | None = None, note: str = "", decided_by: str = "",
) -> CategoryAssignment:
    """认定类别 (household- or person-level, as the category says). A programme status needs
    `decided_by`, the decision that sets it (an application's approval)."""
    spec = CATEGORIES.get(category)
    if spec is None:
        raise RegistryError([FieldError("category", f"未知类别: {category}")])
    _check_decision(category, decided_by)
    owner = household if spec.level == "H" else person
    if owner is None:
        which = "家庭" if spec.level == "H" else "人员"
        raise RegistryError([FieldError("category", f"{spec.label}应认定到{which}")])
    require(by, owner.area_code, roles.EDIT_REGISTRY)
    open_rows = CategoryAssignment.objects.filter(
        category=category, end_date__isnull=True,
        **({"household": owner} if spec.level == "H" else {"person": owner}),
    )
    duplicate = RegistryError([FieldError("category", f"已有未终止的{spec.label}类别")])
    if open_rows.exists():
        raise duplicate
    try:
        with transaction.atomic():  # the unique constraint settles a concurrent assignment
            return CategoryAssignment.objects.create(
                household=owner if spec.level == "H" else None,
                person=owner if spec.level == "P" else None,
                category=category, start_date=start_date, note=note, area_code=owner.area_code,
            )
    except IntegrityError:
        raise duplicate from None


def _check_decision(category: str, decided_by: str) -> None:
    if by_decision(category) and not decided_by.strip():
        raise RegistryError([FieldError("category", (
            f"{CATEGORIES[category].label}是救助认定结果，只能经申请审批确定或终止："
            "请在“救助申请”中受理，或在保障对象页办理停发"))])


def end_category(*, by, assignment: CategoryAssignment, end_date: dt.date,  # noqa: ANN001
                 note: str = "", decided_by: str = "") -> CategoryAssignment:
    """终止类别; a programme status only by the decision that ends it (`decided_by`)."""
    require(by, assignment.area_code, roles.EDIT_REGISTRY)
    _check_decision(assignment.category, decided_by)
    if assignment.end_date is not None:
        raise RegistryError([FieldError("end_date", "该类别已终止")])
    if end_date < assignment.start_date:
        raise RegistryError([FieldError("end_date", "终止日期不能早于起始日期")])
    assignment.end_date = end_date
    if note:
        assignment.note = note
    assignment.save()
    return assignment


def reveal_person(*, by, person: Person) -> dict[str, str]:  # noqa: ANN001
    """查看完整信息: full name, ID and phone for a role allowed to see them; audited."""
    require(by, person.area_code, roles.VIEW_FULL_PII)
    audit.record(
        AuditEvent.VIEW_FULL, object_type="registry.person", object_id=person.pk,
        object_label=person.audit_label(), area_code=person.area_code,
    )
    return {"name": person.name, "id_number": person.id_number, "phone": person.phone}
