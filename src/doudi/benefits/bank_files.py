"""The bank's payment file for an approved run and the bank's answer (回盘), in the layouts a
district keeps (`BankLayout`). The file is written from the payee each line took when the run
was approved, never the enrollment's current one; lines held back as 待补账号 are not in it. A
failed or held line is owed again in the next month's roster."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet

from doudi.accounts import roles
from doudi.areas.scoping import in_scope
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.benefits import bank_layouts, settlement
from doudi.benefits.models import BankLayout, PaymentLine, PaymentRun
from doudi.benefits.services import BenefitsError, hold, payee_is_usable, settle_run, totals
from doudi.policy.models import chain_prefixes
from doudi.programmes import catalogue

# who keeps a district's bank layouts: its business administrator
EDIT_LAYOUTS = roles.EDIT_POLICY


def layouts_for(user, *, active_only: bool = True) -> QuerySet[BankLayout]:  # noqa: ANN001
    """Shipped layouts and those of the user's area and the areas above it."""
    prefix = getattr(user, "scope_prefix", None)
    if prefix is None:
        return BankLayout.objects.none()
    rows = BankLayout.objects.filter(Q(area_code="") | Q(area_code__in=chain_prefixes(prefix)))
    return rows.filter(active=True) if active_only else rows


def save_layout(*, by, layout: BankLayout, **values) -> BankLayout:  # noqa: ANN001, ANN003
    """Validate and store a district's layout (shipped ones are read-only)."""
    if not by.can(EDIT_LAYOUTS) or getattr(by, "scope_prefix", None) is None:
        raise PermissionDenied("无权设置银行文件格式")
    if layout.pk and (layout.area_code == "" or layout.area_code != by.scope_prefix):
        raise PermissionDenied("系统提供或上级设定的格式不能修改，可另建格式")
    parsed = bank_layouts.make_layout(**{k: values[k] for k in (
        "columns", "encoding", "file_format", "result_line", "result_status", "result_reason",
        "success_values")}, codes=values.get("codes"))
    for key in ("code", "name"):
        if not str(values.get(key, "")).strip():
            raise bank_layouts.LayoutError("请填写格式代码和名称")
    code = str(values["code"]).strip()
    if BankLayout.objects.filter(code=code).exclude(pk=layout.pk).exists():
        raise bank_layouts.LayoutError(f"格式代码“{code}”已被使用")
    layout.code, layout.name = code, str(values["name"]).strip()
    layout.area_code = by.scope_prefix
    layout.encoding, layout.file_format = parsed.encoding, parsed.file_format
    layout.columns = [list(c) for c in parsed.columns]
    layout.codes = parsed.codes
    layout.result_line, layout.result_status = parsed.result_line, parsed.result_status
    layout.result_reason = parsed.result_reason
    layout.success_values = ",".join(parsed.success_values)
    layout.active = bool(values.get("active", True))
    layout.save()
    return layout


def _layout_for_run(by, run: PaymentRun, code: str) -> BankLayout:  # noqa: ANN001
    row = layouts_for(by).filter(code=code).first()
    if row is None:
        raise BenefitsError("未知或未启用的银行文件格式")
    return row


def _payment_rows(run: PaymentRun, codes: dict[str, str],
                  unpayable: list[int]) -> Iterator[dict[str, str]]:
    """The file's rows from the lines' frozen payees. A line whose payee cannot be paid (only
    in a run approved before payees were checked at approval) is left out and its id put in
    `unpayable`, for the caller to hold back."""
    # a programme (or a part with a code of its own) the layout predates takes the catalogue's
    codes = {**bank_layouts.default_codes(), **codes}
    names: dict[tuple[str, str], str] = {}
    rows = (run.month_lines().exclude(status=PaymentLine.AWAITING_ACCOUNT).order_by("id")
            .values_list("pk", "area_code", "payee_account", "payee_name", "bank",
                         "account_kind", "total_fen", "enrollment__programme",
                         "enrollment__part")
            .iterator(chunk_size=20_000))  # plain tuples: no model objects for a million lines
    month = f"{run.month:%Y%m}"
    for pk, area_code, account, name, bank, kind, total, programme, part in rows:
        if not payee_is_usable(name, account, bank, kind):
            unpayable.append(pk)
            continue
        if (programme, part) not in names:
            names[programme, part] = catalogue.enrolled_label(programme, part)
        yield {"line": str(pk), "area_code": area_code, "account": account, "name": name,
               "amount": f"{total // 100}.{total % 100:02d}", "amount_fen": str(total),
               "code": catalogue.payment_code(codes, programme, part) or "99",
               "programme_name": names[programme, part], "month": month}


def bank_file(*, by, run: PaymentRun, layout: str = "default") -> tuple[bytes, str, str]:  # noqa: ANN001
    """The bank's file for an approved run: (data, file name, content type). It carries full
    accounts and names (the bank needs them), so only a maker in scope may produce it, and
    it is audited."""
    if run.status not in (PaymentRun.APPROVED, PaymentRun.EXPORTED):
        raise BenefitsError("发放批次审核锁定后才能生成银行文件")
    if not by.can(roles.EXPORT_BANK_FILE) or not in_scope(by, run.area_code,
                                                          roles.VIEW_REGISTRY):
        raise PermissionDenied("无权生成银行文件")
    row = _layout_for_run(by, run, layout)
    spec = row.layout()
    with transaction.atomic():  # the status change and its audit row commit together
        unpayable: list[int] = []
        data = bank_layouts.render(spec, _payment_rows(run, spec.codes, unpayable))
        if unpayable:
            hold(run, unpayable)
            run.totals = totals(run)
            run.save(update_fields=["totals"])
        run.status, run.bank_layout = PaymentRun.EXPORTED, row.code
        run.save(update_fields=["status", "bank_layout"])
        audit.record(AuditEvent.EXPORT, object_type="benefits.paymentrun", object_id=run.pk,
                     object_label=f"生成银行文件 {run}（{row.name}）", area_code=run.area_code)
    return data, spec.file_name(f"银行发放文件_{run.month:%Y%m}_{run.pk}"), spec.content_type


def bank_result(*, by, run: PaymentRun, data: bytes) -> dict[str, int]:  # noqa: ANN001
    """The bank's answer, in the columns of the layout the file was written in. Lines not
    named stay pending; a failed line is owed again in the next run."""
    if run.status != PaymentRun.EXPORTED:
        raise BenefitsError("请先生成银行文件")
    if not by.can(roles.EXPORT_BANK_FILE) or not in_scope(by, run.area_code,
                                                          roles.VIEW_REGISTRY):
        raise PermissionDenied("无权导入银行回盘")
    row = BankLayout.objects.filter(code=run.bank_layout or "default").first()
    spec = row.layout() if row else bank_layouts.make_layout(columns=[["流水号", "line"]])
    try:
        results = bank_layouts.read_result(spec, bank_layouts.result_rows(data))
    except bank_layouts.LayoutError as exc:
        raise BenefitsError(str(exc)) from exc
    counts = {"paid": 0, "failed": 0, "unknown": 0}
    # only the lines the file carried: a held line's number in an answer is 无法对应
    lines = {str(pk): pk for pk in run.month_lines()
             .exclude(status=PaymentLine.AWAITING_ACCOUNT).values_list("pk", flat=True)}
    paid: list[int] = []
    failed: dict[str, list[int]] = defaultdict(list)  # reason → lines
    for r in results:
        pk = lines.get(r.line)
        if pk is None:
            counts["unknown"] += 1
        elif r.paid:
            paid.append(pk)
        else:
            failed[r.reason].append(pk)
    counts["paid"], counts["failed"] = len(paid), sum(len(v) for v in failed.values())
    if lines and not counts["paid"] and not counts["failed"]:
        # another run's answer, or a file of something else: settling on it would leave
        # every line pending with no way to import the right file afterwards
        raise BenefitsError(f"回盘文件的 {counts['unknown']} 行都不是本批次的流水号，"
                            "未作任何改动，请确认是否为本批次的回盘文件")
    with transaction.atomic():
        # one UPDATE per outcome and chunk, not one per line
        for start in range(0, len(paid), 50_000):
            run.month_lines().filter(pk__in=paid[start:start + 50_000]).update(
                status=PaymentLine.PAID, failure="")
        for reason, pks in failed.items():
            for start in range(0, len(pks), 50_000):
                chunk = run.month_lines().filter(pk__in=pks[start:start + 50_000])
                settlement.forget_lines(chunk)  # a balance that counted them paid is untrue
                chunk.update(status=PaymentLine.FAILED, failure=reason)
        run.status = PaymentRun.SETTLED
        run.save(update_fields=["status"])
        # the month is settled: balances carried through it (the next roster sums one month)
        settle_run(run)
        audit.record(AuditEvent.IMPORT, object_type="benefits.paymentrun", object_id=run.pk,
                     object_label=f"导入银行回盘 {run}：成功 {counts['paid']}，失败 "
                                  f"{counts['failed']}", area_code=run.area_code,
                     changes=counts)
    return counts
