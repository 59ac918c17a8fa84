"""一次性救助 (临时救助): an approved one-off case is paid once, never enrolled.

`grant` makes the case's `OneOffPayment` when its notice is issued: the approved amount less
the 先行救助 the town already paid from its reserve fund for this case (never negative; an
advance above the approved amount is recorded as to be recovered and nothing is paid).
`pay` records how it was paid: cash or in kind (实物, with what was given) are paid on the
spot and recorded as paid; a bank payment records the account and waits for a second person
(`approve_bank`, `benefits.approve_run`) before it can be written to a bank file
(`bank_file`, the district's layouts) and settled by the bank's answer (`bank_result`) —
money leaves only to a payee a second person approved. A case is paid once: one payment per
application, and a payment already paid or on its way is never recorded again.

`granted_this_year` is the one place that says what a family was granted this calendar year:
the rules read it as the amount already used of the yearly cap.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from doudi.accounts import roles
from doudi.areas.scoping import in_scope
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.benefits import bank_layouts, banks
from doudi.benefits.models import BankLayout, OneOffPayment
from doudi.benefits.services import BenefitsError
from doudi.core import clock
from doudi.core.errors import FieldError
from doudi.core.money import yuan_text
from doudi.programmes import catalogue

# the 流水号 of a one-off payment in a bank file: never mistaken for a roster line's number
LINE_PREFIX = "YC"


def granted_this_year(household_id: int, programme: str, day: dt.date) -> int:
    """What the family was granted of `programme` in the calendar year of `day` (fen): the
    approved amounts of its one-off payments decided that year, advances included (they are
    part of what was approved)."""
    return OneOffPayment.objects.filter(
        household_id=household_id, programme=programme, granted_on__year=day.year,
    ).aggregate(s=Sum("granted_fen"))["s"] or 0


def advance_paid(application) -> int:  # noqa: ANN001
    """先行救助 paid from the town's reserve fund for this case, less what came back."""
    from doudi.casework.models import FundEntry

    net = FundEntry.objects.filter(
        application=application, kind__in=(FundEntry.PAYOUT, FundEntry.RETURN),
    ).aggregate(s=Sum("amount_fen"))["s"] or 0
    return max(-net, 0)


def grant(*, by, application, day: dt.date) -> OneOffPayment:  # noqa: ANN001
    """The payment an approved one-off case makes (inside the notice's transaction)."""
    if not catalogue.one_off(application.programme):
        raise BenefitsError(f"{catalogue.label(application.programme)}按月发放，不作一次性发放")
    if application.decision != "approved" or not application.amount_fen:
        raise BenefitsError("申请尚未批准救助金额")
    if OneOffPayment.objects.filter(application=application).exists():
        raise BenefitsError(f"申请 {application.number} 已生成发放记录，不能重复发放")
    granted = application.amount_fen
    advance = advance_paid(application)
    amount = max(granted - advance, 0)
    payment = OneOffPayment.objects.create(
        application=application, household=application.household,
        programme=application.programme, aid_type=application.aid_type,
        granted_on=application.decided_on or day, granted_fen=granted, advance_fen=advance,
        amount_fen=amount, recover_fen=max(advance - granted, 0),
        status=OneOffPayment.DUE if amount else OneOffPayment.COVERED,
        payee_name=application.applicant.name if application.applicant else "",
        area_code=application.area_code)
    if payment.recover_fen:
        audit.record(AuditEvent.UPDATE, object_type="benefits.oneoffpayment",
                     object_id=payment.pk,
                     object_label=f"先行救助 {yuan_text(advance)} 元超过核定金额 "
                                  f"{yuan_text(granted)} 元，应追回 "
                                  f"{yuan_text(payment.recover_fen)} 元",
                     area_code=payment.area_code, changes={"recover_fen": payment.recover_fen})
    return payment


def _check_scope(by, payment: OneOffPayment, capability: str, refused: str) -> None:  # noqa: ANN001
    if not by.can(capability) or not in_scope(by, payment.area_code, roles.VIEW_REGISTRY):
        raise PermissionDenied(refused)


def pay(*, by, payment: OneOffPayment, method: str, paid_on: dt.date | None = None,  # noqa: ANN001
        payee_name: str = "", goods: str = "", account: str = "", bank: str = "",
        account_kind: str = banks.CARD, note: str = "") -> OneOffPayment:
    """登记发放: cash or in kind is paid and recorded at once; a bank payment records the
    account and waits for a second person's approval."""
    _check_scope(by, payment, roles.PAY_ONE_OFF, "无权登记该临时救助的发放")
    day = clock.today()
    paid_on = paid_on or day
    errors = []
    if method not in dict(OneOffPayment.METHOD_CHOICES):
        raise BenefitsError("请选择发放方式（现金、银行或实物）", field="method")
    payee_name = payee_name.strip()
    if not payee_name:
        errors.append(("payee_name", "请填写领款人/收款人"))
    if method == OneOffPayment.IN_KIND and not goods.strip():
        errors.append(("goods", "实物发放请写明物品名称和数量"))
    field_errors = []
    if method == OneOffPayment.BANK:  # the same checks as a monthly payee's account
        try:
            account = banks.check(account, bank, account_kind)
            bank = banks.find(bank).name  # type: ignore[union-attr]
        except banks.BankAccountError as exc:
            field_errors = exc.errors
    if method != OneOffPayment.BANK and paid_on > day:
        errors.append(("paid_on", "发放日期不能晚于今天"))
    if errors or field_errors:
        raise BenefitsError([FieldError(f, m) for f, m in errors] + field_errors)
    with transaction.atomic():
        # the row lock: two clerks recording the same case cannot both pay it
        current = OneOffPayment.objects.select_for_update().get(pk=payment.pk)
        if current.status not in (OneOffPayment.DUE, OneOffPayment.FAILED):
            raise BenefitsError(f"申请 {current.application.number} 的临时救助"
                                f"{current.get_status_display()}，不能重复发放")
        if method != OneOffPayment.BANK and paid_on < current.granted_on:
            raise BenefitsError("发放日期不能早于审批日期", field="paid_on")
        current.method, current.payee_name, current.note = method, payee_name[:50], note[:200]
        current.goods = goods.strip()[:200] if method == OneOffPayment.IN_KIND else ""
        current.recorded_by, current.approved_by, current.failure = by, None, ""
        if method == OneOffPayment.BANK:
            current.payee_account, current.bank = account, bank
            current.account_kind = account_kind
            current.status, current.paid_on = OneOffPayment.AWAITING_APPROVAL, None
        else:
            current.payee_account, current.bank, current.account_kind = "", "", ""
            current.status, current.paid_on = OneOffPayment.PAID, paid_on
        current.save()
    return current


def approve_bank(*, by, payment: OneOffPayment) -> OneOffPayment:  # noqa: ANN001
    """复核: a second person approves the account a bank payment goes to."""
    _check_scope(by, payment, roles.APPROVE_RUN, "银行发放的收款账户由区县审批人员复核")
    with transaction.atomic():
        current = OneOffPayment.objects.select_for_update().get(pk=payment.pk)
        if current.status != OneOffPayment.AWAITING_APPROVAL:
            raise BenefitsError("只有待复核的银行发放可以复核")
        if current.recorded_by_id == by.pk:
            raise PermissionDenied("登记收款账户的人员不能复核同一笔发放（双人复核）")
        current.status, current.approved_by = OneOffPayment.APPROVED, by
        current.save()
    return current


def _rows(payments: list[OneOffPayment], codes: dict[str, str]) -> Iterator[dict[str, str]]:
    codes = {**bank_layouts.default_codes(), **codes}
    names = catalogue.labels()
    for p in payments:
        yield {"line": f"{LINE_PREFIX}{p.pk}", "area_code": p.area_code,
               "account": p.payee_account, "name": p.payee_name,
               "amount": yuan_text(p.amount_fen), "amount_fen": str(p.amount_fen),
               "code": codes.get(p.programme, "99"),
               "programme_name": names.get(p.programme, p.programme),
               "month": f"{p.granted_on:%Y%m}"}


def bank_file(*, by, area_code: str, layout: str = "default") -> tuple[bytes, str, str, int]:  # noqa: ANN001
    """The bank's file of the approved bank one-offs under `area_code` not yet sent, in one of
    the district's layouts: (data, file name, content type, how many). They become 已生成银行
    文件 and wait for the bank's answer."""
    if not by.can(roles.EXPORT_BANK_FILE) or not in_scope(by, area_code, roles.VIEW_REGISTRY):
        raise PermissionDenied("无权生成银行文件")
    from doudi.benefits.bank_files import layouts_for

    row = layouts_for(by).filter(code=layout).first()
    if row is None:
        raise BenefitsError("未知或未启用的银行文件格式")
    spec = row.layout()
    with transaction.atomic():
        payments = list(OneOffPayment.objects.select_for_update()
                        .filter(area_code__startswith=area_code, method=OneOffPayment.BANK,
                                status=OneOffPayment.APPROVED).order_by("id"))
        if not payments:
            raise BenefitsError("没有已复核待发放的银行一次性救助")
        data = bank_layouts.render(spec, _rows(payments, spec.codes))
        OneOffPayment.objects.filter(pk__in=[p.pk for p in payments]).update(
            status=OneOffPayment.EXPORTED, note=f"银行文件格式 {row.code}")
        audit.record(AuditEvent.EXPORT, object_type="benefits.oneoffpayment",
                     object_label=f"生成一次性救助银行文件（{len(payments)} 笔，{row.name}）",
                     area_code=area_code,
                     changes={"payments": [p.pk for p in payments]})
    stamp = timezone.localtime().strftime("%Y%m%d%H%M")
    return (data, spec.file_name(f"一次性救助银行文件_{stamp}"), spec.content_type,
            len(payments))


def bank_result(*, by, area_code: str, data: bytes, layout: str = "default",  # noqa: ANN001
                paid_on: dt.date | None = None) -> dict[str, int]:
    """The bank's answer to a one-off bank file: each named payment is paid (on `paid_on`)
    or returned with the bank's reason (then it may be recorded again)."""
    if not by.can(roles.EXPORT_BANK_FILE) or not in_scope(by, area_code, roles.VIEW_REGISTRY):
        raise PermissionDenied("无权导入银行回盘")
    row = BankLayout.objects.filter(code=layout).first()
    spec = row.layout() if row else bank_layouts.make_layout(columns=[["流水号", "line"]])
    try:
        results = bank_layouts.read_result(spec, bank_layouts.result_rows(data))
    except bank_layouts.LayoutError as exc:
        raise BenefitsError(str(exc)) from exc
    sent = {f"{LINE_PREFIX}{pk}": pk for pk in OneOffPayment.objects.filter(
        area_code__startswith=area_code, status=OneOffPayment.EXPORTED).values_list("pk",
                                                                                   flat=True)}
    paid: list[int] = []
    failed: dict[str, list[int]] = defaultdict(list)
    unknown = 0
    for r in results:
        pk = sent.get(r.line)
        if pk is None:
            unknown += 1
        elif r.paid:
            paid.append(pk)
        else:
            failed[r.reason[:100]].append(pk)
    if not paid and not failed:
        raise BenefitsError(f"回盘文件的 {unknown} 行都不是待回盘的一次性救助流水号，未作任何改动")
    day = paid_on or clock.today()
    with transaction.atomic():
        for p in OneOffPayment.objects.filter(pk__in=paid):
            p.status, p.paid_on = OneOffPayment.PAID, day
            p.save()
        for reason, pks in failed.items():
            for p in OneOffPayment.objects.filter(pk__in=pks):
                p.status, p.failure = OneOffPayment.FAILED, reason or "银行退回"
                p.save()
    return {"paid": len(paid), "failed": sum(len(v) for v in failed.values()),
            "unknown": unknown}
