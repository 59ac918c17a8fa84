"""网上申请: the public form and the town's 受理 of what residents send.

The form asks for the applicant, the village, the programme, the reason and the signed 授权书
(a required box; 跨省通办 applicants give where their 户籍 is); for one-off aid (临时救助) the
type and the amount needed, which the case carries. Nothing reaches the registry
until a town officer accepts the request: the applicant's registered household is used, or a
one-person household is registered, the application is created on channel 网上申请 (跨省通办
when an origin is given) and the consent recorded. Submissions are rate-limited per address.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from doudi.accounts import roles
from doudi.areas.models import Area
from doudi.areas.scoping import in_scope
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.casework import services
from doudi.casework.models import OnlineRequest
from doudi.core import idnumber
from doudi.programmes import catalogue
from doudi.registry import choices, inputs
from doudi.registry import services as registry
from doudi.registry.models import Membership, Person

PER_ADDRESS_PER_HOUR = 5


def served_prefixes() -> tuple[str, ...]:
    """The area-code prefixes the deployment serves (`DOUDI_PUBLIC_AREA`, comma-separated)."""
    raw = str(settings.DOUDI_PUBLIC_AREA or "")
    return tuple(p for p in (part.strip() for part in raw.split(",")) if p.isdigit())


def serves(code: str) -> bool:
    return any(code.startswith(prefix) for prefix in served_prefixes())


def served_areas(level: int):  # noqa: ANN201
    """The served areas of a level (4 towns, 5 villages); none when nothing is configured."""
    prefixes = served_prefixes()
    if not prefixes:
        return Area.objects.none()
    match = Q()
    for prefix in prefixes:
        match |= Q(code__startswith=prefix)
    return Area.objects.filter(match, level=level)


def submit(*, programme: str, name: str, id_number: str, phone: str, village: str,
           address: str, hukou_type: str, reason: str, consent: bool, origin: str = "",
           ip: str = "", aid_type: str = "", need_fen: int | None = None) -> OnlineRequest:
    """A resident's request; for a one-off programme (临时救助) with its type and need."""
    errors = [e.message for e in services.check_request(programme, aid_type, need_fen)]
    if programme not in {p.code for p in catalogue.public_intake()}:
        errors.append("请选择救助项目")
    if not name.strip():
        errors.append("请填写申请人姓名")
    elif len(name.strip()) > inputs.NAME_MAX:  # the applicant becomes a registered member
        errors.append(f"申请人姓名过长（至多{inputs.NAME_MAX}字）")
    try:
        id_number = idnumber.parse(id_number).id_number
    except idnumber.InvalidIdNumber as exc:
        errors.append(f"身份证号：{exc}")
    if not phone.strip().isdigit() or not 7 <= len(phone.strip()) <= inputs.PHONE_MAX:
        errors.append("请填写有效的联系电话")
    # only a village the deployment serves: any other in the division tree (another province)
    # would reach no town office here
    area = served_areas(5).filter(code=village).first() if village.isdigit() else None
    if area is None:
        errors.append("请选择本地区的村（社区）")
    if hukou_type not in dict(choices.HUKOU_CHOICES):
        errors.append("请选择户籍类型")
    if not reason.strip():
        errors.append("请填写申请事由")
    if not consent:
        errors.append("须同意授权核对家庭经济状况（授权书），才能提交申请")
    if errors:
        raise services.CaseworkError("；".join(errors))
    key = f"doudi:online-apply:{ip}"
    if cache.get_or_set(key, 0, timeout=3600) >= PER_ADDRESS_PER_HOUR:
        raise services.CaseworkError("提交过于频繁，请稍后再试或到镇（街道）窗口申请")
    cache.incr(key)
    request = OnlineRequest.objects.create(
        programme=programme, name=name.strip(), id_number=id_number,
        phone=phone.strip(), address=address.strip()[:inputs.ADDRESS_MAX], hukou_type=hukou_type,
        reason=reason.strip()[:300], origin=origin.strip()[:100], consent=True, ip=ip[:45],
        aid_type=aid_type if catalogue.request_of(programme) else "",
        need_fen=need_fen if catalogue.request_of(programme) else None,
        area_code=area.code)
    audit.record(AuditEvent.CREATE, object_type="casework.onlinerequest", object_id=request.pk,
                 object_label=f"网上申请（{request.get_programme_display()}）",
                 area_code=request.area_code)
    return request


def accept(*, by, request: OnlineRequest) -> OnlineRequest:  # noqa: ANN001
    """受理: register the applicant if needed, open the case, record the consent."""
    from doudi.exchange.verification import record_online_consent

    if not in_scope(by, request.area_code, roles.EDIT_REGISTRY) or \
            not by.can(roles.ACCEPT_ONLINE):
        raise PermissionDenied("网上申请由所在镇（街道）受理")
    if request.status != OnlineRequest.PENDING:
        raise services.CaseworkError("该网上申请已处理")
    with transaction.atomic():
        person = Person.objects.filter(id_number=request.id_number).first()
        membership = (Membership.objects.filter(person=person, end_date__isnull=True)
                      .select_related("household").first() if person else None)
        if membership is not None:
            household = membership.household
            if not in_scope(by, household.area_code, roles.EDIT_REGISTRY):
                raise services.CaseworkError("申请人已在其他镇街登记，请转所在地受理")
        else:
            household = registry.create_household(
                by=by, area_code=request.area_code, hukou_type=request.hukou_type,
                address=request.address, members=[registry.MemberInput(
                    id_number=request.id_number, name=request.name, relation="head",
                    phone=request.phone)])
            person = household.head()
        channel = "cross_province" if request.origin else "online"
        reason = request.reason + (f"（户籍地：{request.origin}）" if request.origin else "")
        app = services.create_application(
            by=by, household=household, programme=request.programme, channel=channel,
            reason=reason, applicant=person,
            submitted_on=timezone.localtime(request.submitted_at).date(),
            **({"aid_type": request.aid_type, "need_fen": request.need_fen}
               if request.aid_type or request.need_fen is not None else {}))
        # counts for a 核对 only once the sender's identity is verified (verify_identity)
        record_online_consent(by=by, household=household, request=request, person=person,
                              signed_on=app.submitted_on)
        request.status, request.application = OnlineRequest.ACCEPTED, app
        request.save(update_fields=["status", "application"])
    return request


def verify_identity(*, by, request: OnlineRequest, method: str,  # noqa: ANN001
                    note: str = "") -> OnlineRequest:
    """身份核验: a town officer records how they checked that the sender of an online
    application is the person whose ID it gives (the ID card at the window, at home, on a
    video call). From then on the 授权书 ticked on the form counts for that person."""
    if not in_scope(by, request.area_code, roles.EDIT_REGISTRY) or \
            not by.can(roles.ACCEPT_ONLINE):
        raise PermissionDenied("网上申请由所在镇（街道）受理")
    if method not in dict(OnlineRequest.IDENTITY_METHODS):
        raise services.CaseworkError("请选择身份核验方式", field="method")
    if request.status == OnlineRequest.DECLINED:
        raise services.CaseworkError("该网上申请已不予受理")
    if request.identity_verified_at is not None:
        raise services.CaseworkError("该申请人的身份已核验")
    request.identity_method, request.identity_note = method, note.strip()[:200]
    request.identity_verified_by, request.identity_verified_at = by, timezone.now()
    request.save(update_fields=["identity_method", "identity_note", "identity_verified_by",
                                "identity_verified_at"])
    audit.record(AuditEvent.UPDATE, object_type="casework.onlinerequest", object_id=request.pk,
                 object_label=f"核验网上申请人身份（{request.get_identity_method_display()}）",
                 area_code=request.area_code,
                 changes={"identity_method": [None, method],
                          "identity_note": [None, request.identity_note]})
    return request


def decline(*, by, request: OnlineRequest, reason: str) -> OnlineRequest:  # noqa: ANN001
    if not in_scope(by, request.area_code, roles.EDIT_REGISTRY) or \
            not by.can(roles.ACCEPT_ONLINE):
        raise PermissionDenied("网上申请由所在镇（街道）受理")
    if not reason.strip():
        raise services.CaseworkError("请填写不予受理的理由")
    request.status, request.decline_reason = OnlineRequest.DECLINED, reason.strip()[:200]
    request.save(update_fields=["status", "decline_reason"])
    audit.record(AuditEvent.UPDATE, object_type="casework.onlinerequest", object_id=request.pk,
                 object_label=f"不予受理网上申请：{request.decline_reason}",
                 area_code=request.area_code, instance=request)
    return request
