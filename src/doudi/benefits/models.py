"""Enrollments (保障对象) with their dated events, and monthly payment runs (发放批次) with
their lines (花名册). Amounts are integer fen; nothing is overwritten — a change is an event."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from doudi.areas.scoping import AreaOwned
from doudi.audit.audited import Audited
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
    status = models.CharField("状态", max_length=10, choices=STATUS_CHOICES, default=ACTIVE)
    amount_fen = models.BigIntegerField("现月保障金(分)")
    start_date = models.DateField("起始日期")
    end_date = models.DateField("终止日期", null=True, blank=True)
    exit_reason = models.CharField("停保原因", max_length=100, blank=True)
    monitor_until = models.DateField("退出后监测至", null=True, blank=True)
    application = models.ForeignKey("casework.Application", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="enrollments")
    explanation = models.JSONField("认定依据", default=dict, blank=True)
    payee_name = models.CharField("收款人", max_length=50, blank=True)
    payee_account = EncryptedCharField("社保卡/一卡通账号", max_length=32, blank=True)
    bank = models.CharField("开户行", max_length=40, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    audit_maskers = {"payee_account": lambda v: v[:4] + "****" + v[-4:] if len(v) > 8 else "****"}

    class Meta:
        verbose_name = "保障对象"
        ordering = ["id"]
        indexes = [models.Index(fields=["area_code", "status"])]

    def __str__(self) -> str:
        return f"{self.get_programme_display()} {self.household.number}"

    def audit_label(self) -> str:
        return f"保障对象 {self}"

    @property
    def masked_account(self) -> str:
        return mask_account(self.payee_account)


def mask_account(v: str) -> str:
    """An account as pages show it: the first and last four digits."""
    return v[:4] + "*" * (len(v) - 8) + v[-4:] if len(v) > 8 else "*" * len(v)


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
    DRAFT, APPROVED, EXPORTED, SETTLED = "draft", "approved", "exported", "settled"
    STATUS_CHOICES = [(DRAFT, "待审核"), (APPROVED, "已审核锁定"), (EXPORTED, "已生成银行文件"),
                      (SETTLED, "已回盘")]

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

    class Meta:
        verbose_name = "发放批次"
        ordering = ["-month", "-id"]
        constraints = [models.UniqueConstraint(
            fields=["area_code", "month"], condition=models.Q(status="draft"),
            name="one_draft_run_per_area_month")]

    def __str__(self) -> str:
        return f"{self.month:%Y年%m月} 发放批次"


class PaymentLine(AreaOwned, models.Model):
    """A line of a month's roster. When its run is approved it keeps the payee as approved
    (收款人, 账号, 开户行): the bank file is written from that snapshot, so a later change of
    the enrollment's payee applies from the next run. A line with no usable account at
    approval is held back (待补账号): never in a bank file, not paid, so its amount is owed
    again in the next month's roster. A change of whether a line moved money (returned,
    held, released) or its deletion goes through `settlement.forget_lines`, which clears the
    carried balances (`SettledBalance`) that counted it."""

    PENDING, PAID, FAILED = "pending", "paid", "failed"
    AWAITING_ACCOUNT = "awaiting_account"
    STATUS_CHOICES = [(PENDING, "待发放"), (PAID, "已发放"), (FAILED, "发放失败"),
                      (AWAITING_ACCOUNT, "待补账号")]
    # lines that moved no money: what they were due is owed again in the next roster
    UNPAID = (FAILED, AWAITING_ACCOUNT)

    run = models.ForeignKey(PaymentRun, on_delete=models.PROTECT, related_name="lines")
    enrollment = models.ForeignKey(Enrollment, on_delete=models.PROTECT, related_name="lines")
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
