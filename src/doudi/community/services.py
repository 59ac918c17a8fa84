"""Social forces and grassroots governance services: organisations; publishing a household's
need to chosen organisations (with consent, without names), an organisation taking it up and
recording what it delivered; consultations and their follow-ups; points ledgers."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from doudi.accounts import roles
from doudi.areas.scoping import along_chain, in_scope
from doudi.community.models import (
    NEED_KINDS,
    Consultation,
    Donation,
    FollowUp,
    Need,
    Organisation,
    Pairing,
    PointBalance,
    PointEntry,
    PointRule,
    Project,
    Worker,
)
from doudi.core import clock
from doudi.core.errors import ServiceError
from doudi.core.money import AmountError, parse_tenths
from doudi.registry.models import Household


class CommunityError(ServiceError):
    """A refused action; the message is Chinese."""


def organisation_of(user) -> Organisation | None:  # noqa: ANN001
    membership = getattr(user, "organisation_membership", None)
    return membership.organisation if membership is not None else None


def organisations_for(area_code: str):  # noqa: ANN201
    """Organisations that serve an area: registered in it or above it."""
    return Organisation.objects.filter(active=True).filter(along_chain(area_code))


def save_organisation(*, by, organisation: Organisation, **values) -> Organisation:  # noqa: ANN001, ANN003
    area = values.get("area_code") or organisation.area_code or by.scope_prefix
    if not in_scope(by, area, roles.EDIT_REGISTRY) or len(by.scope_prefix) > 9:
        raise PermissionDenied("社会力量由县（区）、乡镇（街道）民政部门登记")
    if not str(values.get("name", "")).strip():
        raise CommunityError("请填写名称")
    if values.get("kind") not in dict(Organisation._meta.get_field("kind").choices):
        raise CommunityError("请选择类型")
    code = str(values.get("credit_code", "")).strip().upper()
    if code and (len(code) != 18 or not code.isalnum()):
        raise CommunityError("统一社会信用代码应为 18 位字母或数字")
    organisation.name = str(values["name"]).strip()[:100]
    organisation.kind, organisation.credit_code = values["kind"], code
    organisation.contact = str(values.get("contact", "")).strip()[:50]
    organisation.phone = str(values.get("phone", "")).strip()[:30]
    organisation.services = str(values.get("services", "")).strip()[:200]
    organisation.area_code = area
    organisation.save()
    return organisation


def publish(*, by, household: Household, kind: str, summary: str,  # noqa: ANN001
            organisations: list[Organisation], consent_on: dt.date | None,
            amount_fen: int | None = None) -> Need:
    """救助需求统一发布: only with the family's consent, only to organisations serving the
    household's area, and with a description free of names and numbers."""
    if not in_scope(by, household.area_code, roles.EDIT_REGISTRY) or \
            not by.can(roles.PUBLISH_NEED):
        raise PermissionDenied("无权发布该家庭的救助需求")
    if consent_on is None:
        raise CommunityError("须经家庭同意后才能发布（请填写同意日期）")
    if kind not in dict(NEED_KINDS):
        raise CommunityError("请选择需求类别")
    text = summary.strip()
    if not text:
        raise CommunityError("请描述需求")
    names = {m.person.name for m in household.memberships.select_related("person")}
    if any(name and name in text for name in names) or re.search(r"\d{7,}", text):
        raise CommunityError("需求描述不能包含姓名、身份证号或电话号码")
    allowed = set(organisations_for(household.area_code).values_list("pk", flat=True))
    chosen = [o for o in organisations if o.pk in allowed]
    if not chosen or len(chosen) != len(organisations):
        raise CommunityError("请选择服务本地区的社会力量")
    with transaction.atomic():
        need = Need.objects.create(household=household, kind=kind, summary=text[:300],
                                   amount_fen=amount_fen, consent_on=consent_on,
                                   published_by=by, area_code=household.area_code)
        need.organisations.set(chosen)
    return need


def queue(user):  # noqa: ANN001, ANN201
    """The needs published to the user's organisation."""
    organisation = organisation_of(user)
    if organisation is None or not user.can(roles.SERVE_NEEDS):
        return Need.objects.none()
    return Need.objects.filter(organisations=organisation).exclude(status=Need.WITHDRAWN)


def take(*, by, need: Need) -> Need:  # noqa: ANN001
    organisation = organisation_of(by)
    if organisation is None or not queue(by).filter(pk=need.pk).exists():
        raise PermissionDenied("该需求未发布给本组织")
    with transaction.atomic():
        locked = Need.objects.select_for_update().get(pk=need.pk)
        if locked.status != Need.OPEN:
            raise CommunityError("该需求已被认领")
        locked.status, locked.taken_by, locked.taken_at = Need.TAKEN, organisation, \
            timezone.now()
        locked.save()
    return locked


def complete(*, by, need: Need, outcome: str, delivered_fen: int | None) -> Need:  # noqa: ANN001
    organisation = organisation_of(by)
    if organisation is None or need.taken_by_id != organisation.pk:
        raise PermissionDenied("只有认领的组织可以反馈结果")
    if need.status != Need.TAKEN:
        raise CommunityError("该需求不在帮扶中")
    if not outcome.strip():
        raise CommunityError("请填写帮扶结果")
    need.status, need.outcome, need.done_at = Need.DONE, outcome.strip()[:300], timezone.now()
    need.delivered_fen = delivered_fen
    need.save()
    return need


def delivered_by_town(area: str) -> list[dict]:
    """What each organisation delivered, by town (completed needs and their amounts)."""
    rows: dict[tuple[int, str], dict] = defaultdict(lambda: {"done": 0, "fen": 0})
    for org, name, code, fen in Need.objects.filter(
            area_code__startswith=area, status=Need.DONE).values_list(
            "taken_by_id", "taken_by__name", "area_code", "delivered_fen"):
        row = rows[(org, code[:9])]
        row.update(organisation=name, town=code[:9])
        row["done"] += 1
        row["fen"] += fen or 0
    return sorted(rows.values(), key=lambda r: (r["organisation"], r["town"]))


# -- governance -----------------------------------------------------------------------------

def record_consultation(*, by, area_code: str, held_on: dt.date, topic: str,  # noqa: ANN001
                        participants: str, outcome: str,
                        follow_ups: list[tuple[str, str, dt.date]]) -> Consultation:
    if not in_scope(by, area_code, roles.EDIT_REGISTRY) or len(area_code) != 12:
        raise PermissionDenied("议事协商由村（社区）登记")
    if not topic.strip() or not outcome.strip() or not participants.strip():
        raise CommunityError("请填写议题、参与人员和协商结果")
    with transaction.atomic():
        c = Consultation.objects.create(area_code=area_code, held_on=held_on,
                                        topic=topic.strip()[:200],
                                        participants=participants.strip()[:300],
                                        outcome=outcome.strip())
        for task, owner, due in follow_ups:
            FollowUp.objects.create(consultation=c, task=task.strip()[:200],
                                    owner=owner.strip()[:50], due_on=due, area_code=area_code)
    return c


def add_points(*, by, household: Household, rule: PointRule, occurred_on: dt.date,  # noqa: ANN001
               note: str = "") -> PointEntry:
    """A ledger line and the balance moved by the same amount, atomically: concurrent entries
    from several clerks never lose a point."""
    if not in_scope(by, household.area_code, roles.EDIT_REGISTRY):
        raise PermissionDenied("无权登记该户积分")
    if not rule.active or not household.area_code.startswith(rule.area_code):
        raise CommunityError("该积分规则不适用于本户")
    with transaction.atomic():
        entry = PointEntry.objects.create(household=household, rule=rule, points=rule.points,
                                          occurred_on=occurred_on, note=note.strip()[:200],
                                          recorded_by=by, area_code=household.area_code)
        PointBalance.objects.get_or_create(household=household,
                                           defaults={"area_code": household.area_code})
        PointBalance.objects.filter(household=household).update(
            balance=F("balance") + rule.points, entries=F("entries") + 1)
    return entry


def _check_org_editor(by, organisation: Organisation) -> None:  # noqa: ANN001
    if not in_scope(by, organisation.area_code, roles.EDIT_REGISTRY) or \
            len(by.scope_prefix) > 9:
        raise PermissionDenied("由县（区）、乡镇（街道）民政部门登记")


def add_worker(*, by, organisation: Organisation, name: str, kind: str,  # noqa: ANN001
               certificate: str = "", hours: str = "0") -> Worker:
    _check_org_editor(by, organisation)
    if not name.strip() or kind not in dict(Worker.KINDS):
        raise CommunityError("请填写姓名并选择类别")
    try:
        spent = parse_tenths(hours or "0", field="hours", label="服务时长", maximum=9_999_999)
    except AmountError as exc:
        raise CommunityError(exc.message, field="hours") from exc
    return Worker.objects.create(organisation=organisation, name=name.strip()[:50], kind=kind,
                                 certificate=certificate.strip()[:50], hours=spent,
                                 area_code=organisation.area_code)


def add_project(*, by, organisation: Organisation, name: str, budget_fen: int,  # noqa: ANN001
                starts_on: dt.date, description: str = "") -> Project:
    _check_org_editor(by, organisation)
    if not name.strip() or budget_fen < 0:
        raise CommunityError("请填写项目名称，资金不能为负")
    return Project.objects.create(organisation=organisation, name=name.strip()[:100],
                                  budget_fen=budget_fen, starts_on=starts_on,
                                  description=description.strip()[:300],
                                  area_code=organisation.area_code)


def add_pairing(*, by, organisation: Organisation, county: str, since: dt.date,  # noqa: ANN001
                content: str) -> Pairing:
    _check_org_editor(by, organisation)
    if not county.strip() or not content.strip():
        raise CommunityError("请填写帮扶县（区）和帮扶内容")
    return Pairing.objects.create(organisation=organisation, county=county.strip()[:50],
                                  since=since, content=content.strip()[:300],
                                  area_code=organisation.area_code)


def add_rule(*, by, code: str, name: str, points: int) -> PointRule:  # noqa: ANN001
    area = by.scope_prefix
    if not by.can(roles.EDIT_REGISTRY) or len(area) > 12:
        raise PermissionDenied("无权设定积分规则")
    if not re.fullmatch(r"[a-z0-9_-]{1,40}", code) or not name.strip() or points == 0:
        raise CommunityError("规则代码为小写字母、数字，事项必填，分值不能为 0")
    if PointRule.objects.filter(area_code=area, code=code).exists():
        raise CommunityError("规则代码已存在")
    return PointRule.objects.create(code=code, name=name.strip()[:100], points=points,
                                    area_code=area)


# -- 慈善资金/物资 (charity and donations) ----------------------------------------------------

def _donation(*, by, direction: str, organisation: Organisation, area_code: str,  # noqa: ANN001
              kind: str, donated_on: dt.date | None, amount_fen: int | None, goods: str,
              value_fen: int | None, note: str, household: Household | None) -> Donation:
    if not by.can(roles.RECORD_DONATION) or not in_scope(by, area_code, roles.RECORD_DONATION):
        raise PermissionDenied("无权在该区划登记慈善捐赠")
    if not organisations_for(area_code).filter(pk=organisation.pk).exists():
        raise CommunityError("请选择服务本地区且在册的社会力量", field="organisation")
    if donated_on is None or donated_on > clock.today():
        raise CommunityError("请填写日期（不能晚于今天）", field="donated_on")
    if kind == Donation.FUNDS:
        if amount_fen is None or amount_fen <= 0:
            raise CommunityError("请填写慈善资金金额", field="amount")
        goods, value_fen = "", None
    elif kind == Donation.GOODS:
        goods = goods.strip()
        if not goods:
            raise CommunityError("请填写物资名称和数量", field="goods")
        if value_fen is None or value_fen < 0:
            raise CommunityError("请填写物资估值（元）", field="value")
        amount_fen = None
    else:
        raise CommunityError("请选择慈善资金或慈善物资", field="kind")
    with transaction.atomic():  # the row and its audit event together
        return Donation.objects.create(
            direction=direction, organisation=organisation, household=household, kind=kind,
            amount_fen=amount_fen, goods=goods[:200], value_fen=value_fen,
            donated_on=donated_on, note=note.strip()[:300], recorded_by=by,
            area_code=area_code)


def record_received(*, by, organisation: Organisation, kind: str,  # noqa: ANN001
                    donated_on: dt.date | None, amount_fen: int | None = None,
                    goods: str = "", value_fen: int | None = None, note: str = "",
                    area_code: str | None = None) -> Donation:
    """慈善资金/物资接收: what a town or district office (`area_code`, the recorder's own area
    by default) received from a social force serving it. Audited like every write."""
    return _donation(by=by, direction=Donation.RECEIVED, organisation=organisation,
                     area_code=area_code or by.scope_prefix, kind=kind, donated_on=donated_on,
                     amount_fen=amount_fen, goods=goods, value_fen=value_fen, note=note,
                     household=None)


def record_given(*, by, organisation: Organisation, household: Household, kind: str,  # noqa: ANN001
                 donated_on: dt.date | None, amount_fen: int | None = None, goods: str = "",
                 value_fen: int | None = None, note: str = "") -> Donation:
    """慈善资金/物资发放: what a household in the recorder's area received through a social
    force serving it; it shows on the household's page and timeline."""
    return _donation(by=by, direction=Donation.GIVEN, organisation=organisation,
                     area_code=household.area_code, kind=kind, donated_on=donated_on,
                     amount_fen=amount_fen, goods=goods, value_fen=value_fen, note=note,
                     household=household)


def donations_by_organisation(rows) -> list[dict]:  # noqa: ANN001
    """Per organisation: received and given, count, funds (fen) and goods' value (fen)."""
    out: dict[int, dict] = {}
    for org, name, direction, kind, amount, value in rows.values_list(
            "organisation_id", "organisation__name", "direction", "kind", "amount_fen",
            "value_fen"):
        row = out.setdefault(org, {"organisation": name, **{
            f"{d}_{k}": 0 for d in (Donation.RECEIVED, Donation.GIVEN)
            for k in ("n", "fen", "goods_fen")}})
        row[f"{direction}_n"] += 1
        if kind == Donation.FUNDS:
            row[f"{direction}_fen"] += amount or 0
        else:
            row[f"{direction}_goods_fen"] += value or 0
    return sorted(out.values(), key=lambda r: r["organisation"])
