"""Enrollments (保障对象) with their dated events, and monthly payment runs (发放批次) with
their lines (花名册). Amounts are integer fen; nothing is overwritten — a change is an event."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from doudi.areas.scoping import AreaOwned
from doudi.audit.audited import Audited
from doudi.benefits import banks
from doudi.core.masking import mask_id_number, mask_name
from doudi.programmes import catalogue
from doudi.registry.fields import EncryptedCharField


class Enrollment(Audited, AreaOwned, models.Model):
    ACTIVE, SUSPENDED, TAPERING, ENDED = "active", "suspended", "tapering", "ended"
    STATUS_CHOICES = [(ACTIVE, "在保"), (SUSPENDED, "暂停"), (TAPERING, "渐退"), (ENDED, "停保")]

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT,
                                  related_name="enrollments")
    person = models.ForeignKey("registry.Person", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="enrollments")
    programme = models.CharField("救助项目", max_length=20, choices=catalogue.choices)
    # the part it pays (两项补贴: 生活补贴 or 护理补贴); blank for a programme of one part
    part = models.CharField("组成部分", max_length=30, blank=True, default="",
                            choices=catalogue.part_choices)
    status = models.CharField("状态", max_length=10, choices=STATUS_CHOICES, default=ACTIVE)
    amount_fen = models.BigIntegerField("现月保障金(分)")
    start_date = models.DateField("起始日期")
    end_date = models.DateField("终止日期", null=True, blank=True)
    exit_reason = models.CharField("停保原因", max_length=100, blank=True)
    monitor_until = models.DateField("退出后监测至", null=True, blank=True)
    application = models.ForeignKey("casework.Application", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="enrollments")
    explanation = models.JSONField("认定依据", default=dict, blank=True)
    # 收款人 in force. The holder is a member of the household (`payee_person`) or a named
    # agent 代领人 (`payee_agent_id_number` and `payee_agent_reason` set, `payee_person` empty).
    # Set when enrolled (the member concerned or the head, no account yet) and afterwards only
    # by an approved `PayeeChange` (`doudi.benefits.payees`).
    payee_name = models.CharField("收款人", max_length=50, blank=True)
    payee_person = models.ForeignKey("registry.Person", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+",
                                     verbose_name="收款人（本户成员）")
    payee_agent_id_number = EncryptedCharField("代领人身份证号", max_length=18, blank=True,
                                               default="")
    payee_agent_reason = models.CharField("代领原因", max_length=100, blank=True, default="")
    payee_account = EncryptedCharField("社保卡/一卡通账号", max_length=32, blank=True)
    bank = models.CharField("开户行", max_length=40, blank=True)
    # "" for an account registered before accounts had a kind (`banks.payable` reads it)
    account_kind = models.CharField("账户类型", max_length=10, blank=True, default="",
                                    choices=banks.KIND_CHOICES)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    audit_maskers = {"payee_account": lambda v: log_account(v), "payee_name": mask_name,
                     "payee_agent_id_number": mask_id_number}

    class Meta:
        verbose_name = "保障对象"
        ordering = ["id"]
        indexes = [models.Index(fields=["area_code", "status"])]

    def __str__(self) -> str:
        return f"{self.programme_label} {self.household.number}"

    def audit_label(self) -> str:
        return f"保障对象 {self}"

    @property
    def programme_label(self) -> str:
        """What it pays: 低保, or 两项补贴·重度残疾人护理补贴 for a part."""
        return catalogue.enrolled_label(self.programme, self.part)

    @property
    def part_unknown(self) -> bool:
        """A programme paid in parts whose enrollment does not say which (one enrolled before
        parts were told apart, whose records did not allow the split): staff settle it."""
        return not self.part and bool(catalogue.parts(self.programme))

    @property
    def masked_account(self) -> str:
        return mask_account(self.payee_account)

    @property
    def payee_is_agent(self) -> bool:
        return bool(self.payee_agent_id_number)

    @property
    def masked_agent_id(self) -> str:
        return mask_id_number(self.payee_agent_id_number)

    def payee(self) -> dict[str, object]:
        """The payee in force, as a `PayeeChange` records it (its `old_*` fields)."""
        return {"person_id": self.payee_person_id, "name": self.payee_name,
                "agent_id_number": self.payee_agent_id_number,
                "agent_reason": self.payee_agent_reason, "bank": self.bank,
                "account_kind": self.account_kind, "account": self.payee_account}


def mask_account(v: str) -> str:
    """An account as pages show it: the first and last four digits."""
    return v[:4] + "*" * (len(v) - 8) + v[-4:] if len(v) > 8 else "*" * len(v)


def log_account(v: str) -> str:
    """An account as the audit log writes it (its length not given away either)."""
    return v[:4] + "****" + v[-4:] if len(v) > 8 else "****"


class EnrollmentEvent(AreaOwned, models.Model):
    """增发 / 减发 / 停发 / 恢复 …: from `effective_date` the monthly amount is `amount_fen`
    (0 while stopped). Append-only; the amounts in force are read from these rows."""

    KIND_CHOICES = [("start", "新增"), ("increase", "增发"), ("decrease", "减发"),
                    ("stop", "停发"), ("resume", "恢复"), ("taper", "渐退"),
                    ("suspend", "暂停")]

    enrollment = models.ForeignKey(Enrollment, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField("类型", max_length=10, choices=KIND_CHOICES)
    effective_date = models.DateField("生效日期")
    amount_fen = models.BigIntegerField("月保障金(分)")
    previous_fen = models.BigIntegerField("原月保障金(分)", null=True, blank=True)
    reason = models.CharField("原因", max_length=200)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                              related_name="+")
    at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = "保障变更"
        ordering = ["effective_date", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.effective_date}"

    def save(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        adding = self._state.adding
        super().save(*args, **kwargs)
        # an event may change what was owed for months already settled: every path that
        # records one (services, imports, the admin) clears the balances it makes untrue
        from doudi.benefits import settlement

        settlement.forget_for_event(self, edited=not adding)


class PaymentRun(AreaOwned, models.Model):
    """A month's roster for an area. The maker builds it (待审核); the checker, never the
    maker, approves it with an opinion (审核锁定) or sends it back with a reason (已退回), and
    the maker builds it again in place (the same run, its history kept: `PaymentRunEvent`)."""

    DRAFT, APPROVED, EXPORTED, SETTLED = "draft", "approved", "exported", "settled"
    RETURNED = "returned"
    STATUS_CHOICES = [(DRAFT, "待审核"), (RETURNED, "已退回"), (APPROVED, "已审核锁定"),
                      (EXPORTED, "已生成银行文件"), (SETTLED, "已回盘")]
    OPEN = (DRAFT, RETURNED)  # still the maker's or awaiting the checker: lines not frozen

    month = models.DateField("发放月份")
    status = models.CharField("状态", max_length=10, choices=STATUS_CHOICES, default=DRAFT)
    totals = models.JSONField("合计", default=dict)
    built_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                 related_name="+")
    built_at = models.DateTimeField("生成时间", auto_now_add=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField("审核时间", null=True, blank=True)
    bank_layout = models.CharField("银行文件格式", max_length=40, blank=True)
    # a month the old system paid, brought in at go-live (`doudi.golive.history`): settled as
    # it came, never approved, sent to a bank or built again here; its lines count for the
    # rosters after it as paying their regular amount (`settlement.paid_lines`)
    imported = models.BooleanField("原系统导入", default=False)

    class Meta:
        verbose_name = "发放批次"
        ordering = ["-month", "-id"]
        constraints = [models.UniqueConstraint(
            fields=["area_code", "month"], condition=models.Q(status__in=["draft", "returned"]),
            name="one_draft_run_per_area_month")]

    def __str__(self) -> str:
        return f"{self.month:%Y年%m月} 发放批次"

    def month_lines(self) -> models.QuerySet[PaymentLine]:
        """This run's lines, looked for in its month only: on PostgreSQL each month is a
        partition of its own, and a query that names the month reads that one alone."""
        return PaymentLine.objects.filter(month=self.month, run=self)


class PaymentRunEvent(AreaOwned, models.Model):
    """One step of a run's approval: built, rebuilt, approved with the checker's opinion
    (审核意见) or sent back with the reason (退回原因). Written once, never changed (the audit
    log records it too)."""

    BUILD, APPROVE, RETURN = "build", "approve", "return"
    ACTION_CHOICES = [(BUILD, "生成花名册"), (APPROVE, "审核锁定"), (RETURN, "退回修改")]

    run = models.ForeignKey(PaymentRun, on_delete=models.CASCADE, related_name="events")
    action = models.CharField("操作", max_length=10, choices=ACTION_CHOICES)
    note = models.TextField("意见或原因", blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                           related_name="+")
    at = models.DateTimeField("时间", auto_now_add=True)

    class Meta:
        verbose_name = "发放批次办理记录"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.run} {self.get_action_display()}"


class PaymentLine(AreaOwned, models.Model):
    """A line of a month's roster. When its run is approved it keeps the payee as approved
    (收款人, 账号, 开户行): the bank file is written from that snapshot, so a later change of
    the enrollment's payee applies from the next run. A line with no usable account at
    approval is held back (待补账号): never in a bank file, not paid, so its amount is owed
    again in the next month's roster. A change of whether a line moved money (returned,
    held, released) or its deletion goes through `settlement.forget_lines`, which clears the
    carried balances (`SettledBalance`) that counted it.

    On PostgreSQL the table is partitioned by month (migration 0015, `partitions`): a month's
    lines and their indexes are their own, so writing and updating a month costs the same
    after years of history as in the first month."""

    PENDING, PAID, FAILED = "pending", "paid", "failed"
    AWAITING_ACCOUNT = "awaiting_account"
    STATUS_CHOICES = [(PENDING, "待发放"), (PAID, "已发放"), (FAILED, "发放失败"),
                      (AWAITING_ACCOUNT, "待补账号")]
    # lines that moved no money: what they were due is owed again in the next roster
    UNPAID = (FAILED, AWAITING_ACCOUNT)

    run = models.ForeignKey(PaymentRun, on_delete=models.PROTECT, related_name="lines")
    # found by the (enrollment, month) unique key's index: a second index on the enrollment
    # alone would be one more B-tree every month's million lines land all over
    enrollment = models.ForeignKey(Enrollment, on_delete=models.PROTECT, related_name="lines",
                                   db_index=False)
    month = models.DateField("发放月份")
    regular_fen = models.BigIntegerField("当月应发(分)")
    arrears_fen = models.BigIntegerField("补发(分)")
    recovery_fen = models.BigIntegerField("追回(分)")
    total_fen = models.BigIntegerField("实发(分)")
    status = models.CharField("状态", max_length=20, choices=STATUS_CHOICES, default=PENDING)
    failure = models.CharField("失败原因", max_length=100, blank=True)
    payee_name = models.CharField("收款人（审核时）", max_length=50, blank=True, default="")
    payee_account = EncryptedCharField("账号（审核时）", max_length=32, blank=True, default="")
    bank = models.CharField("开户行（审核时）", max_length=40, blank=True, default="")
    account_kind = models.CharField("账户类型（审核时）", max_length=10, blank=True, default="")

    class Meta:
        verbose_name = "花名册明细"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["enrollment", "month"],
                                               name="one_line_per_enrollment_month")]

    def __str__(self) -> str:
        return f"{self.enrollment} {self.month:%Y-%m}"

    @property
    def masked_account(self) -> str:
        return mask_account(self.payee_account)


class PayeeChange(Audited, AreaOwned, models.Model):
    """收款人变更申请: a change of who receives an enrollment's money (holder, bank, account),
    including filling in an account that was never registered. Requested by staff who may
    edit the registry in the area, approved or rejected by a different person with the
    approval capability (`doudi.benefits.payees`). Until approved the payee in force stays;
    an approved change applies to runs approved afterwards (an approved run keeps its
    snapshot). Records the payee in force when requested (`old_*`) and the one requested."""

    PENDING, APPROVED, REJECTED, WITHDRAWN = "pending", "approved", "rejected", "withdrawn"
    STATUS_CHOICES = [(PENDING, "待审批"), (APPROVED, "已批准"), (REJECTED, "已驳回"),
                      (WITHDRAWN, "已撤回")]
    MEMBER, AGENT = "member", "agent"
    HOLDER_CHOICES = [(MEMBER, "本户成员"), (AGENT, "代领人")]

    enrollment = models.ForeignKey(Enrollment, on_delete=models.PROTECT,
                                   related_name="payee_changes")
    status = models.CharField("状态", max_length=10, choices=STATUS_CHOICES, default=PENDING)
    # the payee requested
    holder = models.CharField("收款人身份", max_length=10, choices=HOLDER_CHOICES)
    person = models.ForeignKey("registry.Person", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+",
                               verbose_name="收款人（本户成员）")
    name = models.CharField("收款人", max_length=50)
    agent_id_number = EncryptedCharField("代领人身份证号", max_length=18, blank=True, default="")
    agent_reason = models.CharField("代领原因", max_length=100, blank=True, default="")
    bank = models.CharField("开户行", max_length=40)
    account_kind = models.CharField("账户类型", max_length=10, choices=banks.KIND_CHOICES)
    account = EncryptedCharField("账号", max_length=32)
    # the payee in force when requested
    old_person = models.ForeignKey("registry.Person", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+",
                                   verbose_name="原收款人（本户成员）")
    old_name = models.CharField("原收款人", max_length=50, blank=True, default="")
    old_agent_id_number = EncryptedCharField("原代领人身份证号", max_length=18, blank=True,
                                             default="")
    old_agent_reason = models.CharField("原代领原因", max_length=100, blank=True, default="")
    old_bank = models.CharField("原开户行", max_length=40, blank=True, default="")
    old_account_kind = models.CharField("原账户类型", max_length=10, blank=True, default="")
    old_account = EncryptedCharField("原账号", max_length=32, blank=True, default="")

    reason = models.CharField("申请原因", max_length=200)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+", verbose_name="申请人")
    requested_at = models.DateTimeField("申请时间", auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+",
                                   verbose_name="审批人")
    decided_at = models.DateTimeField("审批时间", null=True, blank=True)
    decision_note = models.CharField("审批意见", max_length=200, blank=True, default="")

    audit_maskers = {"account": lambda v: log_account(v), "old_account": lambda v: log_account(v),
                     "agent_id_number": mask_id_number, "old_agent_id_number": mask_id_number,
                     "name": mask_name, "old_name": mask_name}

    class Meta:
        verbose_name = "收款人变更"
        ordering = ["-requested_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["enrollment"],
                                               condition=models.Q(status="pending"),
                                               name="one_pending_payee_change_per_enrollment")]

    def __str__(self) -> str:
        return f"收款人变更 {self.enrollment}"

    def audit_label(self) -> str:
        """What the household's timeline shows: masked, old → new, and the outcome."""
        old = (f"{mask_name(self.old_name) or '未登记'} "
               f"{mask_account(self.old_account) or '未登记账号'}")
        new = f"{mask_name(self.name)} {self.bank} {mask_account(self.account)}"
        if self.holder == self.AGENT:
            new += f"（代领：{self.agent_reason}）"
        outcome = self.get_status_display()
        if self.decision_note:
            outcome += f"：{self.decision_note}"
        return f"{self} {old} → {new}（{outcome}）"

    @property
    def masked_account(self) -> str:
        return mask_account(self.account)

    @property
    def masked_old_account(self) -> str:
        return mask_account(self.old_account)

    @property
    def masked_agent_id(self) -> str:
        return mask_id_number(self.agent_id_number)

    @property
    def account_kind_label(self) -> str:
        return banks.KINDS.get(self.account_kind, "")


class SettledBalance(models.Model):
    """结转余额: what an enrollment was owed for every month up to and including `month` —
    Σ due of those months since `first_month` − Σ its lines of those months not failed or
    held (negative: an overpayment still to be recovered) — so that the next roster sums
    only the months after it. Derived data, like a run's totals: written by `build_run`
    (audited with the run) and cleared by the acts that make it untrue; the rules below
    are in `doudi.benefits.settlement`. It holds only for the first month and the start and
    stop rules it was computed with; with others the roster sums the whole history again."""

    # no database constraint: a million rows are rewritten each month and their
    # enrollments were read in the same transaction (a deferred check would cost seconds);
    # enrollments are never deleted (their events and lines protect them)
    enrollment = models.OneToOneField(Enrollment, primary_key=True, on_delete=models.CASCADE,
                                      db_constraint=False, related_name="settled_balance")
    month = models.DateField("结算至月份")
    balance_fen = models.BigIntegerField("结转余额(分)")
    first_month = models.DateField("起算月份")
    start_rule = models.CharField("新纳入当月规则", max_length=10)
    stop_rule = models.CharField("停保当月规则", max_length=10)

    class Meta:
        verbose_name = "结转余额"

    def __str__(self) -> str:
        return f"{self.enrollment_id} 至 {self.month:%Y-%m}：{self.balance_fen}"


class Recalculation(AreaOwned, models.Model):
    """调标重算: every active enrollment of a programme recomputed by the rules from a date
    (e.g. a new 低保 standard from 1 July); differences reviewed, then applied as events."""

    PENDING, APPLIED, DISCARDED = "pending", "applied", "discarded"
    STATUS_CHOICES = [(PENDING, "待审核"), (APPLIED, "已执行"), (DISCARDED, "已放弃")]

    programme = models.CharField("救助项目", max_length=20, choices=catalogue.choices)
    effective_date = models.DateField("生效日期")
    reason = models.CharField("原因", max_length=200)
    status = models.CharField("状态", max_length=10, choices=STATUS_CHOICES, default=PENDING)
    summary = models.JSONField("按镇街汇总", default=dict)
    built_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                 related_name="+")
    built_at = models.DateTimeField("测算时间", auto_now_add=True)
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    applied_at = models.DateTimeField("执行时间", null=True, blank=True)

    class Meta:
        verbose_name = "调标重算"
        ordering = ["-built_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_programme_display()} 自 {self.effective_date} 重算"


class RecalculationLine(AreaOwned, models.Model):
    recalculation = models.ForeignKey(Recalculation, on_delete=models.CASCADE,
                                      related_name="lines")
    enrollment = models.ForeignKey(Enrollment, on_delete=models.PROTECT, related_name="+")
    old_fen = models.BigIntegerField("原月保障金(分)")
    new_fen = models.BigIntegerField("重算后(分)")

    class Meta:
        verbose_name = "重算明细"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.enrollment_id}: {self.old_fen} → {self.new_fen}"


class ReviewTask(AreaOwned, models.Model):
    """复核: an enrollment due for its periodic review, for the village/town to record with
    fresh data and an outcome (continue, change the amount, taper, stop)."""

    OPEN, DONE = "open", "done"
    OUTCOMES = [("continue", "继续保障"), ("change", "调整保障金"), ("taper", "渐退"),
                ("stop", "停保")]

    enrollment = models.ForeignKey(Enrollment, on_delete=models.PROTECT, related_name="reviews")
    due_date = models.DateField("复核期限")
    status = models.CharField("状态", max_length=10, default=OPEN,
                              choices=[(OPEN, "待复核"), (DONE, "已复核")])
    outcome = models.CharField("复核结论", max_length=10, blank=True, choices=OUTCOMES)
    findings = models.TextField("复核情况", blank=True)
    amount_fen = models.BigIntegerField("调整后月保障金(分)", null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    done_on = models.DateField("复核日期", null=True, blank=True)
    created_at = models.DateTimeField("生成时间", auto_now_add=True)

    class Meta:
        verbose_name = "复核任务"
        ordering = ["due_date", "id"]
        constraints = [models.UniqueConstraint(fields=["enrollment"],
                                               condition=models.Q(status="open"),
                                               name="one_open_review_per_enrollment")]

    def __str__(self) -> str:
        return f"复核 {self.enrollment} 期限 {self.due_date}"


class Budget(Audited, AreaOwned, models.Model):
    """年度预算: a year's budget for a programme in an area (district or town)."""

    year = models.PositiveIntegerField("年度")
    programme = models.CharField("救助项目", max_length=20, choices=catalogue.choices)
    amount_fen = models.BigIntegerField("预算(分)")
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = "资金预算"
        ordering = ["year", "area_code", "programme"]
        constraints = [models.UniqueConstraint(fields=["year", "area_code", "programme"],
                                               name="one_budget_per_year_area_programme")]

    def __str__(self) -> str:
        return f"{self.year} {self.get_programme_display()} 预算"

    def audit_label(self) -> str:
        return f"{self} {self.area_code}"


class BankLayout(Audited, models.Model):
    """银行文件格式 a district sets for its paying bank (see `doudi.benefits.bank_layouts`).
    `area_code` "" marks a shipped layout every district may use; a district's own carry its
    code and are visible to it and the areas under it."""

    code = models.SlugField("格式代码", max_length=40, unique=True)
    name = models.CharField("名称", max_length=100)
    area_code = models.CharField("区划代码", max_length=12, blank=True, db_index=True)
    encoding = models.CharField("编码", max_length=20, default="utf-8-sig")
    file_format = models.CharField("文件类型", max_length=10, default="csv")
    columns = models.JSONField("列设置")  # [[表头, field key], …]
    codes = models.JSONField("项目代码", default=dict)
    result_line = models.CharField("回盘流水号列", max_length=40, default="流水号")
    result_status = models.CharField("回盘结果列", max_length=40, default="结果")
    result_reason = models.CharField("回盘失败原因列", max_length=40, blank=True,
                                     default="失败原因")
    success_values = models.CharField("成功的结果值", max_length=100, default="成功,已发放,1,S")
    active = models.BooleanField("启用", default=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    class Meta:
        verbose_name = "银行文件格式"
        ordering = ["area_code", "code"]

    def __str__(self) -> str:
        return self.name

    def layout(self):  # noqa: ANN201
        from doudi.benefits.bank_layouts import make_layout

        return make_layout(columns=self.columns, encoding=self.encoding,
                           file_format=self.file_format, codes=self.codes,
                           result_line=self.result_line, result_status=self.result_status,
                           result_reason=self.result_reason,
                           success_values=self.success_values)


class OneOffPayment(Audited, AreaOwned, models.Model):
    """一次性救助发放 (临时救助): what an approved one-off case pays, once. The case's
    approved amount (`granted_fen`) less the 先行救助 already paid from the town's reserve fund
    for it (`advance_fen`) is paid (`amount_fen`, never negative); an advance above the
    approved amount leaves the difference to recover (`recover_fen`) and nothing to pay.

    Paid in cash or in kind (实物, with what was given), recorded as paid by the town; or
    through the bank: the account recorded by one person, approved by a second, then written
    to a bank file and settled by the bank's answer. One row per application: the same case
    is never paid twice. `granted_on` (the decision day) puts the grant in its calendar year
    for the family's yearly cap."""

    DUE, AWAITING_APPROVAL, APPROVED, EXPORTED = "due", "awaiting_approval", "approved", "exported"
    PAID, FAILED, COVERED = "paid", "failed", "covered"
    STATUS_CHOICES = [(DUE, "待发放"), (AWAITING_APPROVAL, "待复核（银行账户）"),
                      (APPROVED, "待银行发放"), (EXPORTED, "已生成银行文件"), (PAID, "已发放"),
                      (FAILED, "银行退回"), (COVERED, "先行救助已抵扣，无需发放")]
    # statuses in which money is on its way or gone (spending counts these)
    PENDING = (AWAITING_APPROVAL, APPROVED, EXPORTED)
    CASH, BANK, IN_KIND = "cash", "bank", "in_kind"
    METHOD_CHOICES = [(CASH, "现金"), (BANK, "银行（社保卡/一卡通）"), (IN_KIND, "实物")]

    application = models.OneToOneField("casework.Application", on_delete=models.PROTECT,
                                       related_name="one_off_payment")
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT,
                                  related_name="one_off_payments")
    programme = models.CharField("救助项目", max_length=20, choices=catalogue.choices)
    aid_type = models.CharField("救助类型", max_length=20, blank=True)
    granted_on = models.DateField("审批日期")
    granted_fen = models.BigIntegerField("核定救助金额(分)")
    advance_fen = models.BigIntegerField("已先行救助(分)", default=0)
    amount_fen = models.BigIntegerField("本次应发(分)")
    recover_fen = models.BigIntegerField("应追回先行救助(分)", default=0)
    status = models.CharField("状态", max_length=20, choices=STATUS_CHOICES, default=DUE)
    method = models.CharField("发放方式", max_length=10, choices=METHOD_CHOICES, blank=True)
    goods = models.CharField("实物内容", max_length=200, blank=True)
    payee_name = models.CharField("领款人/收款人", max_length=50, blank=True)
    payee_account = EncryptedCharField("社保卡/一卡通账号", max_length=32, blank=True)
    bank = models.CharField("开户行", max_length=40, blank=True)
    account_kind = models.CharField("账户类型", max_length=10, blank=True, default="",
                                    choices=banks.KIND_CHOICES)
    paid_on = models.DateField("发放日期", null=True, blank=True)
    note = models.CharField("说明/凭证号", max_length=200, blank=True)
    failure = models.CharField("退回原因", max_length=100, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField("生成时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    audit_maskers = {"payee_account": lambda v: v[:4] + "****" + v[-4:] if len(v) > 8 else "****"}

    class Meta:
        verbose_name = "一次性救助发放"
        ordering = ["-granted_on", "-id"]
        indexes = [models.Index(fields=["household", "granted_on"]),
                   models.Index(fields=["area_code", "status"])]
        constraints = [models.CheckConstraint(
            condition=models.Q(amount_fen__gte=0, recover_fen__gte=0, advance_fen__gte=0,
                               granted_fen__gt=0),
            name="one_off_amounts_not_negative")]

    def __str__(self) -> str:
        return f"{self.get_programme_display()} {self.amount_fen / 100:.2f} 元"

    def audit_label(self) -> str:
        return f"一次性救助发放 {self.application.number}"

    @property
    def masked_account(self) -> str:
        return mask_account(self.payee_account)
