"""Care services: visit tasks generated from the plans, visits recorded against them (a finding
can raise a warning or start an application at once), overdue tasks escalated, children's
facts, institutions and their residents, home-care services, and the nursing-bed ratio."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum

from doudi.accounts import roles
from doudi.areas.scoping import in_scope, is_assigned
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.care import plans
from doudi.care.models import (
    CareProfile,
    CrossProvinceCase,
    HomeCareService,
    Institution,
    InstitutionResident,
    Visit,
    VisitPhoto,
    VisitTask,
)
from doudi.core import clock
from doudi.core.errors import ServiceError
from doudi.core.money import AmountError, parse_tenths
from doudi.core.shares import ratio_bp
from doudi.policy.services import parameter_set
from doudi.programmes import catalogue
from doudi.registry.models import CategoryAssignment, Membership, Person
from doudi.rules.parameters import engine_value

# the programme an application a visit starts is for, unless the visitor chose another (the
# form preselects it from the catalogue's own list, so it is named once)
DEFAULT_VISIT_PROGRAMME = catalogue.LINSHI
DEFAULT_NURSING_TARGET_BP = 5_500  # 国发〔2021〕35号：2025年养老机构护理型床位占比达到55%


class CareError(ServiceError):
    """A refused care action; the message is Chinese."""


def _param(key: str, area_code: str, day: dt.date) -> object | None:
    found = parameter_set().find(key, area_code, day)
    return engine_value(found) if found is not None else None


def interval(group: plans.Group, area_code: str, day: dt.date, risk: str | None) -> int:
    value = _param(plans.parameter_key(group, risk), area_code, day)
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


def generate_tasks(month: dt.date, area_code: str = "") -> Generated:
    """The tasks of every group for the period containing `month` (idempotent: a task exists
    once per person, group and period)."""
    month = month.replace(day=1)
    # anyone in a group by the month's end (or today, if that is earlier) is visited in it
    on = min(plans.period(month, 1)[1], max(clock.today(), month))
    risks = dict(CareProfile.objects.values_list("person_id", "risk_level"))
    out = Generated(0, 0, {})
    for group in plans.GROUPS.values():
        made = []
        for person_id, household_id, area in _members(group, area_code, on):
            months = interval(group, area, month, risks.get(person_id))
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
        setattr(profile, key, str(value).strip()[:300])
    profile.area_code = area
    profile.save()
    return profile


# -- institutions ---------------------------------------------------------------------------

def save_institution(*, by, institution: Institution, **values) -> Institution:  # noqa: ANN001, ANN003
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
    institution.name = str(values["name"]).strip()[:100]
    institution.kind = values["kind"]
    institution.operator = values.get("operator") or "public"
    institution.beds, institution.nursing_beds = beds, nursing
    institution.staff, institution.nursing_staff = staff, nursing_staff
    institution.address = str(values.get("address", "")).strip()[:200]
    institution.area_code = area
    institution.save()
    return institution


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
