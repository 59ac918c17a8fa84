"""Care services: visit tasks generated from the plans, visits recorded against them (a finding
can raise a warning or start an application at once), overdue tasks escalated, children's
facts, institutions and their residents, home-care services, and the nursing-bed ratio."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum

from doudi.accounts import roles
from doudi.areas.scoping import in_scope, is_assigned
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.care import facilities, plans
from doudi.care.models import (
    BedTarget,
    CareProfile,
    CrossProvinceCase,
    Facility,
    FacilityService,
    FacilityUser,
    HomeCareService,
    ImprovementProject,
    Institution,
    InstitutionResident,
    NursingBedChange,
    Visit,
    VisitPhoto,
    VisitTask,
)
from doudi.core import clock
from doudi.core.ages import age_on, years_before
from doudi.core.errors import ServiceError
from doudi.core.money import AmountError, parse_tenths
from doudi.core.shares import ratio_bp
from doudi.policy.services import parameter_set
from doudi.programmes import catalogue
from doudi.registry.models import CategoryAssignment, Membership, Person
from doudi.rules.parameters import ParameterSet, engine_value

# the programme an application a visit starts is for, unless the visitor chose another (the
# form preselects it from the catalogue's own list, so it is named once)
DEFAULT_VISIT_PROGRAMME = catalogue.LINSHI
DEFAULT_NURSING_TARGET_BP = 5_500  # 国发〔2021〕35号：2025年养老机构护理型床位占比达到55%


class CareError(ServiceError):
    """A refused care action; the message is Chinese."""


def _param(key: str, area_code: str, day: dt.date,
           params: ParameterSet | None = None) -> object | None:
    found = (params if params is not None else parameter_set()).find(key, area_code, day)
    return engine_value(found) if found is not None else None


def interval(group: plans.Group, area_code: str, day: dt.date, risk: str | None,
             params: ParameterSet | None = None) -> int:
    """Months between visits of the group in the area; `params`: one parameter set for many
    calls (each `parameter_set()` costs a query)."""
    value = _param(plans.parameter_key(group, risk), area_code, day, params)
    if value is not None:
        return int(value)
    return plans.DEFAULT_RISK_MONTHS.get(risk or "medium", 2) if group.by_risk \
        else group.default_months


# -- visit tasks ----------------------------------------------------------------------------

@dataclass
class Generated:
    created: int
    existing: int
    by_group: dict[str, int]


def _members(group: plans.Group, area_code: str, day: dt.date) -> list[tuple[int, int, str]]:
    """(person, household, area) of everyone in the group on `day`."""
    open_on = Q(start_date__lte=day) & (Q(end_date__isnull=True) | Q(end_date__gt=day))
    persons = set(CategoryAssignment.objects.filter(
        open_on, category=group.category, person__isnull=False,
        area_code__startswith=area_code).values_list("person_id", flat=True))
    if group.code == "dispersed_tekun":  # 集中供养 ones live in an institution
        persons -= set(InstitutionResident.objects.filter(left_on__isnull=True)
                       .values_list("person_id", flat=True))
    rows = (Membership.objects.filter(open_on, person_id__in=persons)
            .filter(Q(person__death_date__isnull=True) | Q(person__death_date__gt=day))
            .values_list("person_id", "household_id", "household__area_code"))
    return sorted(set(rows))


def _ages(area: str, day: dt.date, params: ParameterSet) -> tuple[int, int]:
    """(特殊困难老年人 age, 高龄 age) in force for an area on a day."""
    elderly = _param("care.elderly.age", area, day, params)
    advanced = _param("care.elderly.advanced_age", area, day, params)
    return (int(elderly) if elderly is not None else plans.DEFAULT_ELDERLY_AGE,
            int(advanced) if advanced is not None else plans.DEFAULT_ADVANCED_AGE)


def elderly_members(area_code: str, day: dt.date) -> dict[str, list[tuple[int, int, str]]]:
    """特殊困难老年人 on `day`, by group: (person, household, area) of the elderly people of the
    area's current households who are 高龄, 独居, 空巢, 失能 or of a 计生特殊家庭
    (`plans.elderly_groups`), at the ages the household's area sets. People living in an
    institution are not visited at home."""
    open_on = Q(start_date__lte=day) & (Q(end_date__isnull=True) | Q(end_date__gt=day))
    alive = Q(person__death_date__isnull=True) | Q(person__death_date__gt=day)
    current = Membership.objects.filter(open_on, alive, area_code__startswith=area_code)
    params = parameter_set()
    # order_by(): without it the model's ordering joins the DISTINCT, one row per membership
    ages = {area: _ages(area, day, params) for area in
            current.order_by().values_list("household__area_code", flat=True).distinct()}
    out: dict[str, list[tuple[int, int, str]]] = {code: [] for code in plans.ELDERLY_GROUPS}
    if not ages:
        return out
    youngest = min(age for age, _ in ages.values())
    born_by = years_before(day, youngest)
    candidates = current.filter(person__birth_date__lte=born_by, co_resident=True).exclude(
        person_id__in=InstitutionResident.objects.filter(left_on__isnull=True)
        .values("person_id"))
    rows = list(candidates.values_list("person_id", "household_id", "household__area_code",
                                       "person__birth_date", "person__adl_failed"))
    if not rows:
        return out
    household_ages: dict[int, list[tuple[int, int]]] = {}
    for person_id, household_id, birth in current.filter(
            co_resident=True, household_id__in={r[1] for r in rows}).values_list(
            "person_id", "household_id", "person__birth_date"):
        household_ages.setdefault(household_id, []).append((person_id, age_on(birth, day)))
    marked = set(CareProfile.objects.filter(
        person_id__in=[r[0] for r in rows], family_planning_special=True)
        .values_list("person_id", flat=True))
    for person_id, household_id, area, birth, adl in rows:
        facts = plans.ElderlyFacts(
            age=age_on(birth, day), adl_failed=adl or 0,
            others=tuple(a for p, a in household_ages.get(household_id, []) if p != person_id),
            family_planning_special=person_id in marked)
        for code in plans.elderly_groups(facts, *ages[area]):
            out[code].append((person_id, household_id, area))
    return {code: sorted(set(found)) for code, found in out.items()}


def generate_tasks(month: dt.date, area_code: str = "") -> Generated:
    """The tasks of every group for the period containing `month` (idempotent: a task exists
    once per person, group and period)."""
    month = month.replace(day=1)
    # anyone in a group by the month's end (or today, if that is earlier) is visited in it
    on = min(plans.period(month, 1)[1], max(clock.today(), month))
    risks = dict(CareProfile.objects.values_list("person_id", "risk_level"))
    elderly = elderly_members(area_code, on)
    params = parameter_set()
    months_of: dict[tuple[str, str | None], int] = {}  # (area, risk) → months, per group
    out = Generated(0, 0, {})
    for group in plans.GROUPS.values():
        made = []
        months_of.clear()
        people = elderly[group.code] if group.elderly else _members(group, area_code, on)
        for person_id, household_id, area in people:
            risk = risks.get(person_id)
            months = months_of.get((area, risk))
            if months is None:
                months = months_of[area, risk] = interval(group, area, month, risk, params)
            start, end = plans.period(month, months)
            made.append(VisitTask(person_id=person_id, household_id=household_id,
                                  group=group.code, period_start=start, due_on=end,
                                  owner_code=area, area_code=area))
        before = VisitTask.objects.filter(group=group.code).count()
        with transaction.atomic():
            VisitTask.objects.bulk_create(made, batch_size=2000, ignore_conflicts=True)
        created = VisitTask.objects.filter(group=group.code).count() - before
        out.created += created
        out.existing += len(made) - created
        out.by_group[group.code] = len(made)
    if out.created:
        audit.record(AuditEvent.CREATE, object_type="care.visittask", area_code=area_code,
                     object_label=f"生成{month:%Y年%m月}探访任务 {out.created} 条",
                     changes=out.by_group)
    return out


def escalate_overdue(today: dt.date | None = None, area_code: str = "") -> int:
    """Tasks not done by their last day move up one level (村 → 镇 → 县)."""
    today = today or clock.today()
    moved = 0
    late = VisitTask.objects.filter(status=VisitTask.OPEN, due_on__lt=today,
                                    area_code__startswith=area_code).exclude(
        handler_level="district")
    for task in late.iterator(chunk_size=2000):
        task.handler_level = plans.ESCALATION[task.handler_level]
        task.owner_code = task.area_code[:plans.LEVEL_PREFIX[task.handler_level]]
        task.escalations += 1
        task.save(update_fields=["handler_level", "owner_code", "escalations"])
        moved += 1
    if moved:
        audit.record(AuditEvent.UPDATE, object_type="care.visittask", area_code=area_code,
                     object_label=f"逾期探访任务升级 {moved} 条")
    return moved


# -- visits ---------------------------------------------------------------------------------

@dataclass
class VisitInput:
    visited_on: dt.date
    seen: str
    living: str
    health: str = ""
    safety: str = ""
    needs: str = ""
    carer: str = "na"
    place: str = ""
    follow_up: str = "none"
    programme: str = ""  # with follow_up "application"


def record_visit(*, by, person: Person, data: VisitInput,  # noqa: ANN001
                 photos: list[tuple[bytes, str]] | None = None) -> Visit:
    """探访: closes the person's open task of the period, and follows a finding up at once —
    a 主动发现 warning to the town, or an application started for the household."""
    from doudi.casework.attachments import store
    from doudi.casework.services import CaseworkError, create_application
    from doudi.monitoring import services as monitoring

    membership = (Membership.objects.select_related("household")
                  .filter(person=person, end_date__isnull=True).first())
    if membership is None:
        raise CareError("该人员不在任何家庭中")
    household = membership.household
    # an officer of the household's area, or a visitor the person is assigned to (the
    # scoping door's assignments: care.assignments)
    officer = in_scope(by, household.area_code, roles.EDIT_REGISTRY)
    if not by.can(roles.RECORD_VISIT) or not (officer or is_assigned(by, person)):
        raise PermissionDenied("无权为该人员登记探访")
    if not officer and data.follow_up != "none":
        raise CareError("探访人员请在“需求”中写明情况，由村（社区）、镇街跟进（转预警、启动申请）")
    if not data.seen.strip() or not data.living.strip():
        raise CareError("请填写见到的人和居住生活状况")
    if data.visited_on > clock.today():
        raise CareError("探访日期不能晚于今天")
    if data.follow_up not in dict(Visit.FOLLOW_UP) or data.carer not in dict(
            Visit.CARER_CHOICES):
        raise CareError("请选择跟进方式和委托照料情况")
    try:
        stored = [store(content, name) for content, name in photos or [] if content]
    except CaseworkError as exc:
        raise CareError(f"照片：{exc}") from exc
    with transaction.atomic():
        visit = Visit.objects.create(
            person=person, household=household, visited_on=data.visited_on, visitor=by,
            seen=data.seen.strip()[:100], living=data.living.strip(),
            health=data.health.strip()[:300], safety=data.safety.strip()[:300],
            needs=data.needs.strip()[:300], carer=data.carer, place=data.place.strip()[:200],
            follow_up=data.follow_up, area_code=household.area_code)
        for content_type, digest, size in stored:
            VisitPhoto.objects.create(visit=visit, content_type=content_type, size=size,
                                      sha256=digest, area_code=household.area_code)
        open_tasks = VisitTask.objects.filter(person=person, status=VisitTask.OPEN,
                                              period_start__lte=data.visited_on,
                                              due_on__gte=data.visited_on)
        # a late visit still closes the overdue task it was owed for
        open_tasks = open_tasks | VisitTask.objects.filter(
            person=person, status=VisitTask.OPEN, due_on__lt=data.visited_on)
        open_tasks.update(status=VisitTask.DONE, visit=visit)
        finding = "；".join(x for x in (data.living, data.health, data.safety, data.needs)
                           if x.strip())
        if data.follow_up == "warning":
            visit.warning = monitoring.report(
                by=by, channel="discovery", household=household, person=person,
                summary=f"探访发现：{finding}"[:1000], as_of=data.visited_on)
        elif data.follow_up == "application":
            try:
                visit.application = create_application(
                    by=by, household=household, programme=data.programme or DEFAULT_VISIT_PROGRAMME,
                    channel="village", applicant=person,
                    reason=f"探访发现（{data.visited_on}）：{finding}"[:500])
            except CaseworkError as exc:
                raise CareError(str(exc)) from exc
        if visit.warning_id or visit.application_id:
            visit.save(update_fields=["warning", "application"])
    return visit


# -- people's care facts --------------------------------------------------------------------

FLAG_FACTS = frozenset({"family_planning_special"})


def save_profile(*, by, person: Person, **facts: str) -> CareProfile:  # noqa: ANN001
    membership = Membership.objects.filter(person=person, end_date__isnull=True).first()
    area = membership.area_code if membership else person.area_code
    if not in_scope(by, area, roles.EDIT_REGISTRY):
        raise PermissionDenied("无权修改该人员的关爱信息")
    if facts.get("risk_level", "medium") not in plans.RISK_LEVELS:
        raise CareError("请选择风险等级")
    profile = CareProfile.objects.filter(person=person).first() or CareProfile(
        person=person, area_code=area)
    for key, value in facts.items():
        if key in FLAG_FACTS:  # a checkbox: present (on, 1, true, 是) or not
            setattr(profile, key, value is True or str(value).strip().lower() in
                    {"on", "1", "true", "是"})
        else:
            setattr(profile, key, str(value).strip()[:300])
    profile.area_code = area
    profile.save()
    return profile


# -- institutions ---------------------------------------------------------------------------

def save_institution(*, by, institution: Institution, **values) -> Institution:  # noqa: ANN001, ANN003
    """Register or update an institution. Every change of its beds is kept as a dated
    `NursingBedChange` with its reason (`bed_reason`): a new institution is 存量登记 unless it
    is 新建机构投入使用; a later change is 新增或改造护理型床位 or 数据更正, and must say which."""
    area = values.get("area_code") or institution.area_code
    if not area or not in_scope(by, area, roles.EDIT_REGISTRY) or \
            not by.can(roles.MANAGE_INSTITUTIONS):
        raise PermissionDenied("养老机构由区县民政部门登记")
    try:
        beds, nursing = int(values["beds"]), int(values["nursing_beds"])
        staff, nursing_staff = int(values.get("staff") or 0), int(values.get("nursing_staff")
                                                                 or 0)
    except (TypeError, ValueError) as exc:
        raise CareError("床位和人员数应为整数") from exc
    if min(beds, nursing, staff, nursing_staff) < 0 or nursing > beds:
        raise CareError("护理型床位不能多于总床位，数量不能为负")
    if not str(values.get("name", "")).strip():
        raise CareError("请填写机构名称")
    if values.get("kind") not in dict(Institution.KINDS):
        raise CareError("请选择机构类型")
    if values.get("operator") and values["operator"] not in dict(Institution.OPERATORS):
        raise CareError("请选择机构性质")
    reason = str(values.get("bed_reason") or "")
    before = (institution.beds, institution.nursing_beds) if institution.pk else (0, 0)
    new = institution.pk is None
    if new:
        reason = "opened" if reason == "opened" else "registered"
    elif before != (beds, nursing) and reason not in ("added", "correction"):
        raise CareError("床位数有变化，请选择变化原因（新增或改造护理型床位 / 数据更正）")
    institution.name = str(values["name"]).strip()[:100]
    institution.kind = values["kind"]
    institution.operator = values.get("operator") or "public"
    institution.beds, institution.nursing_beds = beds, nursing
    institution.staff, institution.nursing_staff = staff, nursing_staff
    institution.address = str(values.get("address", "")).strip()[:200]
    institution.area_code = area
    with transaction.atomic():
        institution.save()
        if new or before != (beds, nursing):
            _bed_change(by, institution, reason, before, clock.today())
    return institution


def _bed_change(by, institution: Institution, reason: str, before: tuple[int, int],  # noqa: ANN001
                day: dt.date, project: ImprovementProject | None = None) -> NursingBedChange:
    return NursingBedChange.objects.create(
        institution=institution, day=day, reason=reason, beds_before=before[0],
        beds_after=institution.beds, nursing_before=before[1],
        nursing_after=institution.nursing_beds, project=project,
        recorded_by=by if getattr(by, "pk", None) else None, area_code=institution.area_code)


def admit(*, by, institution: Institution, person: Person, care_level: str,  # noqa: ANN001
          admitted_on: dt.date, concentrated_tekun: bool) -> InstitutionResident:
    if not in_scope(by, institution.area_code, roles.EDIT_REGISTRY):
        raise PermissionDenied("无权登记该机构的入住人员")
    if care_level not in dict(InstitutionResident.CARE_LEVELS):
        raise CareError("请选择照护等级")
    try:
        with transaction.atomic():
            return InstitutionResident.objects.create(
                institution=institution, person=person, care_level=care_level,
                admitted_on=admitted_on, concentrated_tekun=concentrated_tekun,
                area_code=institution.area_code)
    except IntegrityError as exc:
        raise CareError("该人员已在某机构入住，请先办理离院") from exc


@dataclass
class BedRatio:
    beds: int
    nursing_beds: int
    ratio_bp: int | None  # nursing ÷ all, basis points
    target_bp: int


def nursing_bed_ratio(area_code: str, day: dt.date | None = None,
                      public_only: bool = False) -> BedRatio:
    """护理型床位占比 of the operating institutions in an area, against the target parameter
    `care.nursing_bed_ratio_target`."""
    rows = Institution.objects.filter(area_code__startswith=area_code, active=True)
    if public_only:
        rows = rows.filter(operator__in=("public", "public_private"))
    sums = rows.aggregate(beds=Sum("beds"), nursing=Sum("nursing_beds"))
    beds, nursing = sums["beds"] or 0, sums["nursing"] or 0
    target = _param("care.nursing_bed_ratio_target", area_code,
                    day or clock.today())
    return BedRatio(beds, nursing, ratio_bp(nursing, beds),
                    int(target) if target is not None else DEFAULT_NURSING_TARGET_BP)


def record_home_care(*, by, person: Person, month: dt.date, provider: str, items: str,  # noqa: ANN001
                     hours: str, amount_fen: int) -> HomeCareService:
    membership = Membership.objects.filter(person=person, end_date__isnull=True).first()
    area = membership.area_code if membership else person.area_code
    if not in_scope(by, area, roles.EDIT_REGISTRY):
        raise PermissionDenied("无权登记该人员的居家养老服务")
    try:
        spent = parse_tenths(hours, field="hours", label="服务时长", maximum=99_999)
    except AmountError as exc:
        raise CareError(exc.message, field="hours") from exc
    if amount_fen < 0 or not provider.strip() or not items.strip():
        raise CareError("请填写服务机构、服务内容，时长和金额不能为负")
    try:
        with transaction.atomic():
            return HomeCareService.objects.create(
                person=person, month=month.replace(day=1), provider=provider.strip()[:100],
                items=items.strip()[:200], hours=spent, amount_fen=amount_fen,
                recorded_by=by, area_code=area)
    except IntegrityError as exc:
        raise CareError("该机构本月的服务记录已登记") from exc



def record_cross_province(*, by, direction: str, province: str, reference: str,  # noqa: ANN001
                          child_name: str, child_id_number: str, kind: str,
                          received_on: dt.date, note: str = "") -> CrossProvinceCase:
    """跨省通办 of 孤儿 / 事实无人抚养儿童 recognition: a case received for another province, or
    sent to the province of the child's household registration. A case received for a child
    this district registers starts the application here (channel 跨省通办)."""
    from doudi.casework.services import CaseworkError, create_application
    from doudi.core import idnumber

    area = getattr(by, "scope_prefix", "")
    if not by.can(roles.EDIT_REGISTRY) or len(area) > 9:
        raise PermissionDenied("跨省通办由县（区）、乡镇（街道）民政部门登记")
    if not by.can(roles.VIEW_FULL_PII):  # the child is looked up by full ID below
        raise PermissionDenied("登记跨省通办需要查看完整身份证号的权限")
    if direction not in dict(CrossProvinceCase.DIRECTIONS):
        raise CareError("请选择方向")
    if kind not in dict(CrossProvinceCase._meta.get_field("kind").choices):
        raise CareError("请选择认定类别")
    number = child_id_number.strip().upper()
    if not idnumber.is_valid(number):
        raise CareError("儿童身份证号无效（校验位不符或格式错误）")
    if not province.strip() or not child_name.strip():
        raise CareError("请填写对方省份和儿童姓名")
    with transaction.atomic():
        case = CrossProvinceCase.objects.create(
            direction=direction, province=province.strip()[:20], reference=reference.strip()[:50],
            child_name=child_name.strip()[:50], child_id_number=number, kind=kind,
            received_on=received_on, note=note.strip()[:300], area_code=area)
        if direction == "in":
            member = (Membership.objects.select_related("household", "person")
                      .filter(person__id_number=number, end_date__isnull=True,
                              household__area_code__startswith=area).first())
            if member is not None:
                try:
                    case.application = create_application(
                        by=by, household=member.household, programme=catalogue.CHILD,
                        channel="cross_province", applicant=member.person,
                        reason=f"{case.province}跨省通办转来（{case.get_kind_display()}认定）",
                        reference=case.reference or f"跨省{case.pk}")
                except CaseworkError as exc:
                    raise CareError(str(exc)) from exc
                case.save(update_fields=["application"])
    return case


# -- 设施: facilities, their services and users ---------------------------------------------

PUBLIC_OPERATORS = ("public", "public_private")  # 公办（含公建民营）
PROJECT_INSTITUTION_KINDS = ("nursing_home", "welfare_home")  # 特困人员供养服务设施


def _manage(by, area_code: str, what: str) -> None:  # noqa: ANN001
    """Facilities, projects and targets are kept by the district (care.manage_institutions)."""
    if not area_code or not in_scope(by, area_code, roles.MANAGE_INSTITUTIONS):
        raise PermissionDenied(f"{what}由区县民政部门登记")


def _count(value: object, label: str) -> int:
    text = str(value if value is not None else "").strip()
    if not text:
        return 0
    try:
        number = int(text)
    except ValueError as exc:
        raise CareError(f"{label}应为整数") from exc
    if number < 0 or number > 10_000_000:
        raise CareError(f"{label}应为不小于 0 的整数")
    return number


def _day(value: object, label: str, *, required: bool = True) -> dt.date | None:
    if isinstance(value, dt.date):
        day = value
    elif not str(value or "").strip():
        if required:
            raise CareError(f"请填写{label}")
        return None
    else:
        try:
            day = dt.date.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise CareError(f"{label}应为日期，如 2026-01-31") from exc
    if day > clock.today():
        raise CareError(f"{label}不能晚于今天")
    return day


def save_facility(*, by, facility: Facility, **values) -> Facility:  # noqa: ANN001, ANN003
    """Register or update a facility: the facts its kind carries (the others stay 0)."""
    area = str(values.get("area_code") or facility.area_code)
    _manage(by, area, "设施")
    kind = facilities.KINDS.get(str(values.get("kind") or facility.kind or ""))
    if kind is None:
        raise CareError("请选择设施类型")
    name = str(values.get("name", "")).strip()
    if not name:
        raise CareError("请填写设施名称")
    operator = str(values.get("operator") or "")
    if "operator" in kind.facts and operator not in dict(Institution.OPERATORS):
        raise CareError("请选择设施性质")
    facility.kind, facility.name, facility.area_code = kind.code, name[:100], area
    facility.operator = operator if "operator" in kind.facts else ""
    for fact in ("capacity", "staff", "floor_area"):
        label = kind.capacity_label if fact == "capacity" else facilities.FACT_LABELS[fact]
        setattr(facility, fact, _count(values.get(fact), label) if fact in kind.facts else 0)
    facility.address = str(values.get("address", "")).strip()[:200]
    facility.opened_on = _day(values.get("opened_on"), "投入使用日期", required=False)
    facility.note = str(values.get("note", "")).strip()[:300]
    if "active" in values:
        facility.active = bool(values["active"])
    facility.save()
    return facility


def add_service(*, by, facility: Facility, name: str, mode: str = "own",  # noqa: ANN001
                started_on: object = None, note: str = "") -> FacilityService:
    _manage(by, facility.area_code, "设施服务项目")
    name = (name or "").strip()[:50]
    if not name:
        raise CareError("请填写服务项目")
    if mode not in dict(FacilityService.MODES):
        raise CareError("请选择提供方式")
    day = _day(started_on, "开始日期")
    try:
        with transaction.atomic():
            return FacilityService.objects.create(
                facility=facility, name=name, mode=mode, started_on=day,
                note=(note or "").strip()[:200], area_code=facility.area_code)
    except IntegrityError as exc:
        raise CareError(f"该设施已在提供“{name}”") from exc


def end_service(*, by, service: FacilityService, ended_on: object) -> FacilityService:  # noqa: ANN001
    _manage(by, service.area_code, "设施服务项目")
    day = _day(ended_on, "停止日期")
    if service.ended_on is not None:
        raise CareError("该服务项目已停止")
    if day < service.started_on:
        raise CareError("停止日期不能早于开始日期")
    service.ended_on = day
    service.save()
    return service


def add_user(*, by, facility: Facility, person: Person, started_on: object,  # noqa: ANN001
             service: str = "", note: str = "") -> FacilityUser:
    """A person begins to use the facility (精康融合 康复服务对象, a child in care)."""
    _manage(by, facility.area_code, "设施服务对象")
    if not facility.kind_info.users:
        raise CareError(f"{facility.kind_info.label}不登记服务对象")
    day = _day(started_on, "开始日期")
    try:
        with transaction.atomic():
            return FacilityUser.objects.create(
                facility=facility, person=person, started_on=day,
                service=(service or "").strip()[:50], note=(note or "").strip()[:200],
                area_code=facility.area_code)
    except IntegrityError as exc:
        raise CareError("该人员已在本设施接受服务") from exc


def end_user(*, by, use: FacilityUser, ended_on: object) -> FacilityUser:  # noqa: ANN001
    _manage(by, use.area_code, "设施服务对象")
    day = _day(ended_on, "结束日期")
    if use.ended_on is not None:
        raise CareError("该服务对象已结束服务")
    if day < use.started_on:
        raise CareError("结束日期不能早于开始日期")
    use.ended_on = day
    use.save()
    return use


def open_on(day: dt.date) -> Q:
    return Q(started_on__lte=day) & (Q(ended_on__isnull=True) | Q(ended_on__gt=day))


def facility_figures(area_code: str, day: dt.date | None = None) -> dict[str, dict[str, int]]:
    """Each kind's figures in an area on `day` (today): facilities, operating ones, their
    capacity, staff and floor area (operating ones), services offered and users on the day,
    and for 村级综合服务设施 the villages covered of all villages and the coverage."""
    from doudi.areas.models import Area

    day = day or clock.today()
    rows = Facility.objects.filter(area_code__startswith=area_code)
    out: dict[str, dict[str, int]] = {
        code: {"facilities": 0, "operating": 0, "capacity": 0, "staff": 0, "floor_area": 0,
               "services": 0, "users": 0} for code in facilities.KINDS}
    for r in rows.values("kind", "active", "capacity", "staff", "floor_area"):
        figures = out[r["kind"]]
        figures["facilities"] += 1
        if r["active"]:
            figures["operating"] += 1
            for fact in ("capacity", "staff", "floor_area"):
                figures[fact] += r[fact]
    for kind, n in (FacilityService.objects.filter(open_on(day), facility__in=rows,
                                                   facility__active=True)
                    .values_list("facility__kind").annotate(n=Count("id"))):
        out[kind]["services"] = n
    for kind, n in (FacilityUser.objects.filter(open_on(day), facility__in=rows)
                    .values_list("facility__kind")
                    .annotate(n=Count("person", distinct=True))):
        out[kind]["users"] = n
    villages = set(Area.objects.filter(code__startswith=area_code, level=5)
                   .values_list("code", flat=True))
    covered = set(rows.filter(kind="village_service", active=True)
                  .values_list("area_code", flat=True)) & villages
    village = out["village_service"]
    village["covered_villages"], village["villages"] = len(covered), len(villages)
    village["coverage_bp"] = ratio_bp(len(covered), len(villages))  # type: ignore[assignment]
    return out


# -- 改造提升 projects ----------------------------------------------------------------------

def save_project(*, by, project: ImprovementProject, institution: Institution | None = None,  # noqa: ANN001
                 name: str, plan: str, year: object, budget_fen: int,
                 new_nursing_beds: object = 0, note: str = "") -> ImprovementProject:
    """Register (or amend, until accepted) a 敬老院 improvement project."""
    institution = institution or project.institution
    _manage(by, institution.area_code, "改造提升项目")
    if institution.kind not in PROJECT_INSTITUTION_KINDS:
        raise CareError("改造提升项目登记于敬老院（特困供养服务机构）或社会福利院")
    if project.pk and project.status == "accepted":
        raise CareError("项目已验收，不能修改")
    if not (name or "").strip() or not (plan or "").strip():
        raise CareError("请填写项目名称和改造内容")
    number = _count(year, "计划年度")
    if not 2000 <= number <= clock.today().year + 5:
        raise CareError("计划年度应为四位年份")
    if budget_fen < 0:
        raise CareError("预算不能为负")
    project.institution, project.area_code = institution, institution.area_code
    project.name, project.plan = name.strip()[:100], plan.strip()
    project.year, project.budget_fen = number, budget_fen
    project.new_nursing_beds = _count(new_nursing_beds, "新增护理型床位")
    project.note = (note or "").strip()[:300]
    project.save()
    return project


def advance_project(*, by, project: ImprovementProject, action: str,  # noqa: ANN001
                    day: object = None, progress: object = None,
                    spent_fen: int | None = None) -> ImprovementProject:
    """One step of a project: `progress` (进度 and 已支出, while under construction), or a
    step of the workflow table `facilities.PROJECT_STEPS` — `start` (开工, dated) and `accept`
    (验收通过, dated; progress becomes 100 % and the project's new nursing-type beds are added
    to the institution as a counted bed change)."""
    _manage(by, project.area_code, "改造提升项目")
    if action == "progress":
        if project.status == "accepted":
            raise CareError("项目已验收，不能再更新进度")
        if progress not in (None, ""):
            pct = _count(progress, "进度")
            if pct > 100:
                raise CareError("进度应在 0 到 100 之间")
            if pct and project.status != "construction":
                raise CareError("项目开工后才能填报进度")
            project.progress_pct = pct
        if spent_fen is not None:
            if spent_fen < 0:
                raise CareError("已支出不能为负")
            project.spent_fen = spent_fen
        project.save()
        return project
    after = facilities.PROJECT_STEPS.get((project.status, action))
    if after is None:
        raise CareError(f"“{facilities.PROJECT_STATES[project.status]}”状态的项目不能"
                        f"{facilities.PROJECT_ACTIONS.get(action, '执行此操作')}")
    when = _day(day, "开工日期" if action == "start" else "验收日期")
    with transaction.atomic():
        if action == "start":
            project.started_on = when
        else:
            if project.started_on and when < project.started_on:
                raise CareError("验收日期不能早于开工日期")
            project.accepted_on, project.progress_pct = when, 100
            if spent_fen is not None:
                project.spent_fen = spent_fen
            if project.new_nursing_beds:
                home = Institution.objects.select_for_update().get(pk=project.institution_id)
                before = (home.beds, home.nursing_beds)
                if home.nursing_beds + project.new_nursing_beds > home.beds:
                    raise CareError(f"验收后护理型床位（{home.nursing_beds}＋"
                                    f"{project.new_nursing_beds}）将多于总床位（{home.beds}），"
                                    "请先更新机构床位数")
                home.nursing_beds += project.new_nursing_beds
                home.save()
                _bed_change(by, home, "project", before, when, project=project)
        project.status = after
        project.save()
    return project


@dataclass
class ProjectFigures:
    projects: int
    by_status: dict[str, int]
    budget_fen: int
    spent_fen: int
    spent_bp: int | None  # spent ÷ budget, basis points
    accepted_new_nursing_beds: int


def project_figures(area_code: str, year: int | None = None) -> ProjectFigures:
    rows = ImprovementProject.objects.filter(area_code__startswith=area_code)
    if year:
        rows = rows.filter(year=year)
    statuses = dict(rows.values_list("status").annotate(n=Count("id")))
    sums = rows.aggregate(budget=Sum("budget_fen"), spent=Sum("spent_fen"),
                          n=Count("id"),
                          beds=Sum("new_nursing_beds", filter=Q(status="accepted")))
    budget, spent = sums["budget"] or 0, sums["spent"] or 0
    return ProjectFigures(sums["n"], {s: statuses.get(s, 0) for s in facilities.PROJECT_STATES},
                          budget, spent, ratio_bp(spent, budget), sums["beds"] or 0)


# -- annual targets of new nursing-type beds, by town ---------------------------------------

def set_bed_target(*, by, town_code: str, year: object, target: object,  # noqa: ANN001
                   note: str = "") -> BedTarget:
    from doudi.areas.models import Area

    code = (town_code or "").strip()
    if not Area.objects.filter(code=code, level=4).exists():
        raise CareError("请选择乡镇（街道）")
    _manage(by, code, "护理型床位年度目标")
    number = _count(year, "年度")
    if not 2000 <= number <= clock.today().year + 5:
        raise CareError("年度应为四位年份")
    row = BedTarget.objects.filter(area_code=code, year=number).first() or BedTarget(
        area_code=code, year=number)
    row.target = _count(target, "目标新增护理型床位")
    row.note = (note or "").strip()[:200]
    row.save()
    return row


@dataclass
class TownTarget:
    code: str  # the town's 9-digit prefix
    name: str
    target: int | None
    achieved: int  # net new nursing-type beds in public institutions in the year
    rate_bp: int | None
    beds: int  # public institutions' beds now
    nursing_beds: int


def bed_targets(area_code: str, year: int) -> list[TownTarget]:
    """Each town's target of new nursing-type beds in public institutions (公办，含公建民营)
    for `year` against what was achieved: the counted bed changes (新建机构投入使用, 新增或
    改造, 改造提升项目验收) dated in the year, net of decreases among them; 存量登记 and 数据
    更正 do not count."""
    from doudi.areas.models import Area

    names = {code[:9]: name for code, name in Area.objects.filter(
        code__startswith=area_code[:9], level=4).values_list("code", "name")}
    targets = {t.area_code[:9]: t.target for t in BedTarget.objects.filter(
        area_code__startswith=area_code, year=year)}
    achieved: dict[str, int] = {}
    for code, before, after in NursingBedChange.objects.filter(
            area_code__startswith=area_code, day__year=year,
            reason__in=facilities.COUNTED_BED_CHANGES,
            institution__operator__in=PUBLIC_OPERATORS).values_list(
            "area_code", "nursing_before", "nursing_after"):
        achieved[code[:9]] = achieved.get(code[:9], 0) + after - before
    beds: dict[str, tuple[int, int]] = {}
    for code, b, n in Institution.objects.filter(
            area_code__startswith=area_code, active=True,
            operator__in=PUBLIC_OPERATORS).values_list("area_code", "beds", "nursing_beds"):
        old = beds.get(code[:9], (0, 0))
        beds[code[:9]] = (old[0] + b, old[1] + n)
    out = []
    for code in sorted(set(names) | set(targets) | set(achieved) | set(beds)):
        target, done = targets.get(code), achieved.get(code, 0)
        out.append(TownTarget(code, names.get(code, "县（区）直属"), target, done,
                              ratio_bp(done, target) if target else None,
                              *beds.get(code, (0, 0))))
    return out
