"""收款人 (payees): who receives an enrollment's money, and how that changes.

Money leaves only to a payee a second person approved. An enrollment starts with its holder
set (`services.enroll`: the member concerned or the head) and no account; from then on the
payee — holder, bank, account — changes only by a `PayeeChange`:

- `request_change`: staff who may edit the registry in the area (村协理员 upward) ask for a new
  payee, a household member or a named agent 代领人 (name, resident ID, reason), with a bank
  from `doudi.benefits.banks` and an account its numbers can be. Filling in an account never
  registered is a change too. One open request per enrollment.
- `approve_change` / `reject_change`: a different person holding the approval capability over
  the area decides. Approval writes the payee onto the enrollment; runs approved from then on
  pay it (a run approved earlier keeps the payee it was approved with, `services.freeze_payees`).
- `withdraw_change`: the requester takes their own request back.

Every step is audited through the models (`Audited`), masked, and is on the household's
timeline. `loaded_payee` is for data loading only (synthetic districts): it validates like a
request but applies directly, because there is no person to ask.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from doudi.accounts import roles
from doudi.areas.scoping import in_scope
from doudi.benefits import banks
from doudi.benefits.models import Enrollment, PayeeChange
from doudi.benefits.services import BenefitsError
from doudi.core import clock, idnumber
from doudi.core.errors import FieldError
from doudi.registry.models import Membership, Person

MEMBER, AGENT = PayeeChange.MEMBER, PayeeChange.AGENT
# reasons a payee collects for the beneficiary (offered on the form; another may be typed)
AGENT_REASONS = ("本人失能", "未成年", "长期住院", "智力或精神残疾", "高龄行动不便",
                 "集中供养", "本人委托")
AGENT_MIN_AGE = 18


@dataclass(frozen=True)
class Payee:
    """A payee as checked: what the enrollment will hold once approved."""

    holder: str
    person: Person | None
    name: str
    agent_id_number: str
    agent_reason: str
    bank: str
    account_kind: str
    account: str

    def fields(self) -> dict[str, Any]:
        """The enrollment's payee fields."""
        return {"payee_person": self.person, "payee_name": self.name,
                "payee_agent_id_number": self.agent_id_number,
                "payee_agent_reason": self.agent_reason, "bank": self.bank,
                "account_kind": self.account_kind, "payee_account": self.account}


def members(enrollment: Enrollment) -> QuerySet[Person]:
    """The household's current members: who may hold the account as 本户成员."""
    return Person.objects.filter(
        pk__in=Membership.objects.filter(household_id=enrollment.household_id,
                                         end_date__isnull=True).values("person_id"),
        death_date__isnull=True).order_by("id")


def check(enrollment: Enrollment, *, holder: str, person_id: int | str | None = None,
          agent_name: str = "", agent_id_number: str = "", agent_reason: str = "",
          bank: str, account_kind: str, account: str, today: dt.date | None = None) -> Payee:
    """The payee requested, checked field by field; every reason at once in one
    `BenefitsError` (fields holder, person, agent_name, agent_id_number, agent_reason, bank,
    account_kind, account)."""
    errors: list[FieldError] = []
    person, name, agent_id, reason = None, "", "", ""
    if holder == MEMBER:
        try:
            pk = int(person_id or 0)
        except (TypeError, ValueError):
            pk = 0
        person = members(enrollment).filter(pk=pk).first() if pk else None
        if person is None:
            errors.append(FieldError("person", "请选择本户的一名在册成员作为收款人"))
        else:
            name = person.name
    elif holder == AGENT:
        name = " ".join((agent_name or "").split())
        if not name:
            errors.append(FieldError("agent_name", "请填写代领人姓名"))
        elif len(name) > 50:
            errors.append(FieldError("agent_name", "代领人姓名过长（至多50字）"))
        try:
            facts = idnumber.parse(agent_id_number or "", today=today)
        except idnumber.InvalidIdNumber as exc:
            errors.append(FieldError("agent_id_number", f"代领人身份证号：{exc}"))
        else:
            agent_id = facts.id_number
            day = today or clock.today()
            born = facts.birth_date
            age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
            if age < AGENT_MIN_AGE:
                errors.append(FieldError("agent_id_number",
                                         f"代领人须年满{AGENT_MIN_AGE}周岁（按身份证号为{age}岁）"))
        reason = " ".join((agent_reason or "").split())
        if not reason:
            errors.append(FieldError("agent_reason",
                                     "请填写代领原因（如本人失能、未成年、长期住院）"))
        elif len(reason) > 100:
            errors.append(FieldError("agent_reason", "代领原因过长（至多100字）"))
    else:
        errors.append(FieldError("holder", "请选择收款人是本户成员还是代领人"))
    number = ""
    try:
        number = banks.check(account, bank, account_kind)
    except banks.BankAccountError as exc:
        errors.extend(exc.errors)
    if errors:
        raise BenefitsError(errors)
    return Payee(holder=holder, person=person, name=name, agent_id_number=agent_id,
                 agent_reason=reason, bank=banks.find(bank).name, account_kind=account_kind,
                 account=number)


def _in_force(enrollment: Enrollment) -> dict[str, Any]:
    payee = enrollment.payee()
    return {"old_person_id": payee["person_id"], "old_name": payee["name"],
            "old_agent_id_number": payee["agent_id_number"],
            "old_agent_reason": payee["agent_reason"], "old_bank": payee["bank"],
            "old_account_kind": payee["account_kind"], "old_account": payee["account"]}


def request_change(*, by, enrollment: Enrollment, holder: str,  # noqa: ANN001
                   person_id: int | str | None = None, agent_name: str = "",
                   agent_id_number: str = "", agent_reason: str = "", bank: str,
                   account_kind: str, account: str, reason: str) -> PayeeChange:
    """Ask for a new payee. Nothing about the payment changes until a second person approves."""
    if not in_scope(by, enrollment.area_code, roles.REQUEST_PAYEE_CHANGE):
        raise PermissionDenied("该保障对象不在您的管辖范围内，或您无权申请变更收款人")
    try:
        payee = check(enrollment, holder=holder, person_id=person_id, agent_name=agent_name,
                      agent_id_number=agent_id_number, agent_reason=agent_reason, bank=bank,
                      account_kind=account_kind, account=account)
        errors: list[FieldError] = []
    except BenefitsError as exc:
        payee, errors = None, list(exc.errors)
    why = " ".join((reason or "").split())
    if not why:
        errors.append(FieldError("reason", "请填写变更原因（如补登账号、换卡、改由代领人领取）"))
    elif len(why) > 200:
        errors.append(FieldError("reason", "变更原因过长（至多200字）"))
    if errors:
        raise BenefitsError(errors)
    current = enrollment.payee()
    if (payee.person.pk if payee.person else None, payee.name, payee.agent_id_number,
            payee.bank, payee.account_kind, payee.account) == (
            current["person_id"], current["name"], current["agent_id_number"],
            current["bank"], current["account_kind"], current["account"]):
        raise BenefitsError("所填收款人和账户与现行的相同，无需变更")
    try:
        with transaction.atomic():
            if PayeeChange.objects.select_for_update().filter(
                    enrollment=enrollment, status=PayeeChange.PENDING).exists():
                raise BenefitsError("该保障对象已有待审批的收款人变更申请，请待审批或撤回后再申请")
            return PayeeChange.objects.create(
                enrollment=enrollment, holder=payee.holder, person=payee.person,
                name=payee.name, agent_id_number=payee.agent_id_number,
                agent_reason=payee.agent_reason, bank=payee.bank,
                account_kind=payee.account_kind, account=payee.account, reason=why,
                requested_by=by, area_code=enrollment.area_code, **_in_force(enrollment))
    except IntegrityError as exc:  # a second request raced the first past the check
        raise BenefitsError("该保障对象已有待审批的收款人变更申请，请待审批或撤回后再申请") \
            from exc


def may_decide(user, change: PayeeChange) -> bool:  # noqa: ANN001
    """Whether `user` may approve or reject `change` (what the pages offer)."""
    return (change.status == PayeeChange.PENDING and change.requested_by_id != user.pk
            and in_scope(user, change.area_code, roles.APPROVE_PAYEE_CHANGE))


def _pending(change: PayeeChange) -> PayeeChange:
    """The request locked for the decision, refused unless it still waits for one."""
    locked = PayeeChange.objects.select_for_update().select_related("enrollment").get(
        pk=change.pk)
    if locked.status != PayeeChange.PENDING:
        raise BenefitsError(f"该申请已{locked.get_status_display().removeprefix('已')}，"
                            "不能再处理")
    return locked


def _decider(by, change: PayeeChange) -> None:  # noqa: ANN001
    if not in_scope(by, change.area_code, roles.APPROVE_PAYEE_CHANGE):
        raise PermissionDenied("收款人变更由该区划的镇街或区县审批人员审批")
    if change.requested_by_id == by.pk:
        raise PermissionDenied("不能审批本人提出的收款人变更申请（双人复核），"
                               "请由另一名审批人员审批；如需放弃请撤回")


@transaction.atomic
def approve_change(*, by, change: PayeeChange, note: str = "") -> PayeeChange:  # noqa: ANN001
    """The requested payee becomes the enrollment's: runs approved from now on pay it."""
    _decider(by, change)
    locked = _pending(change)
    enrollment = Enrollment.objects.select_for_update().get(pk=locked.enrollment_id)
    old = {key.removeprefix("old_"): value for key, value in _in_force(enrollment).items()}
    asked = {"person_id": locked.old_person_id, "name": locked.old_name,
             "agent_id_number": locked.old_agent_id_number,
             "agent_reason": locked.old_agent_reason, "bank": locked.old_bank,
             "account_kind": locked.old_account_kind, "account": locked.old_account}
    if old != asked:
        raise BenefitsError("申请后收款人已有变更，本申请依据的原收款人已不是现行的，"
                            "请驳回后重新申请")
    # the member may have left the household, or the bank's rules changed, since the request
    payee = check(enrollment, holder=locked.holder, person_id=locked.person_id,
                  agent_name=locked.name, agent_id_number=locked.agent_id_number,
                  agent_reason=locked.agent_reason, bank=locked.bank,
                  account_kind=locked.account_kind, account=locked.account)
    for field, value in payee.fields().items():
        setattr(enrollment, field, value)
    enrollment.save()
    locked.status, locked.decided_by, locked.decided_at = (PayeeChange.APPROVED, by,
                                                           timezone.now())
    locked.decision_note = " ".join((note or "").split())[:200]
    locked.save()
    return locked


@transaction.atomic
def reject_change(*, by, change: PayeeChange, note: str) -> PayeeChange:  # noqa: ANN001
    """The request is refused with a reason; the payee in force stays."""
    _decider(by, change)
    why = " ".join((note or "").split())
    if not why:
        raise BenefitsError("请填写驳回理由", field="note")
    locked = _pending(change)
    locked.status, locked.decided_by, locked.decided_at = (PayeeChange.REJECTED, by,
                                                           timezone.now())
    locked.decision_note = why[:200]
    locked.save()
    return locked


@transaction.atomic
def withdraw_change(*, by, change: PayeeChange) -> PayeeChange:  # noqa: ANN001
    """The requester takes their request back (e.g. a typo they noticed)."""
    if change.requested_by_id != by.pk:
        raise PermissionDenied("只有申请人本人可以撤回申请")
    locked = _pending(change)
    locked.status, locked.decided_at = PayeeChange.WITHDRAWN, timezone.now()
    locked.save()
    return locked


def loaded_payee(*, name: str, account: str, bank: str, account_kind: str,
                 person_id: int | None = None) -> dict[str, Any]:
    """For data loading only (a synthetic district, where no person exists to ask): the
    enrollment fields of a member-held payee, the account checked as a request's would be.
    Raises `banks.BankAccountError` for an account that could not be paid into."""
    number = banks.check(account, bank, account_kind)
    return {"payee_name": name, "payee_person_id": person_id, "payee_agent_id_number": "",
            "payee_agent_reason": "", "bank": banks.find(bank).name,
            "account_kind": account_kind, "payee_account": number}
