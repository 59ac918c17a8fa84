"""Going live (上线迁移) in the database: the caseload layouts a district mapped once, every
import (dry run or real) with its row-by-row plan, the old system's household numbers, the
decisions and payments brought in as history, and the reconciliation reports."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from doudi.areas.scoping import AreaOwned
from doudi.audit.audited import Audited
from doudi.programmes import catalogue


class CaseloadLayout(models.Model):
    """An old system's export layout (导出格式): a feed spec (`engine.feeds.feedspec`) whose
    fields are the caseload's columns. Shipped ones are refreshed on migrate; a district's
    confirmed header for a field is remembered as an alias, as a feed type's is."""

    key = models.CharField("格式代码", max_length=40, unique=True)
    name = models.CharField("名称", max_length=100)
    # households | members | combined | payments | decisions | roster | staff
    kind = models.CharField("记录类型", max_length=20)
    spec = models.JSONField("字段定义")
    shipped = models.BooleanField("系统提供", default=False)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "原系统导出格式"
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name


class GoliveImport(AreaOwned, models.Model):
    """One go-live import (在保数据、历史发放、历史决定、工作人员): the files given together,
    dry run (试导入: the plan only) or real (正式导入: all or nothing)."""

    CASELOAD, PAYMENTS, DECISIONS, STAFF, ROSTER = (
        "caseload", "payments", "decisions", "staff", "roster")
    WHAT_CHOICES = [(CASELOAD, "在保数据"), (PAYMENTS, "历史发放"), (DECISIONS, "历史决定"),
                    (STAFF, "工作人员"), (ROSTER, "原系统末次花名册")]
    DRY, REAL = "dry", "real"
    MODE_CHOICES = [(DRY, "试导入"), (REAL, "正式导入")]
    PLANNED, DONE, REFUSED, UNCHANGED = "planned", "done", "refused", "unchanged"
    STATUS_CHOICES = [(PLANNED, "已生成导入计划"), (DONE, "已导入"), (REFUSED, "有错误，未导入"),
                      (UNCHANGED, "与已导入数据相同，未作更改")]

    what = models.CharField("导入内容", max_length=10, choices=WHAT_CHOICES)
    mode = models.CharField("方式", max_length=5, choices=MODE_CHOICES)
    status = models.CharField("结果", max_length=10, choices=STATUS_CHOICES)
    files = models.JSONField("文件", default=list)  # [{name, sha256, layout, sheet, rows}]
    counts = models.JSONField("统计", default=dict)
    # the row-by-row plan and the refused rows (a Parquet file under var/, like a batch's)
    plan_path = models.CharField("导入计划文件", max_length=200, blank=True)
    message = models.CharField("说明", max_length=500, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                           related_name="+")
    at = models.DateTimeField("时间", auto_now_add=True)

    class Meta:
        verbose_name = "上线导入"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_what_display()}{self.get_mode_display()} {self.at:%Y-%m-%d %H:%M}"


class LegacyHousehold(AreaOwned, models.Model):
    """A household as the old system numbered it (原系统家庭编号) → the Doudi household the
    caseload import made or found: what a re-import, the history and the reconciliation
    match by."""

    legacy_number = models.CharField("原系统家庭编号", max_length=40)
    household = models.OneToOneField("registry.Household", on_delete=models.PROTECT,
                                     related_name="legacy")
    source = models.ForeignKey(GoliveImport, on_delete=models.PROTECT, related_name="+")
    # the fingerprint of what the old system said of the household: a re-import with the
    # same content changes nothing, with other content it is refused
    digest = models.CharField("导入内容摘要", max_length=64)

    class Meta:
        verbose_name = "原系统家庭编号"
        constraints = [models.UniqueConstraint(fields=["area_code", "legacy_number"],
                                               name="one_legacy_number_per_district")]

    def __str__(self) -> str:
        return self.legacy_number


class HistoricalDecision(Audited, AreaOwned, models.Model):
    """A decision the old system recorded (历史决定): the approval an imported enrollment rests
    on, or a past change, refusal or exit. History only — no case is opened and nothing is
    decided again; pages show it beside Doudi's own decisions."""

    KIND_CHOICES = [("approve", "批准纳入"), ("increase", "增发"), ("decrease", "减发"),
                    ("suspend", "暂停"), ("resume", "恢复"), ("taper", "渐退"),
                    ("stop", "停保"), ("refuse", "不予批准"), ("review", "复核")]

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT,
                                  related_name="historical_decisions")
    person = models.ForeignKey("registry.Person", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    enrollment = models.ForeignKey("benefits.Enrollment", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="historical_decisions")
    programme = models.CharField("救助项目", max_length=20, choices=catalogue.choices)
    kind = models.CharField("决定", max_length=10, choices=KIND_CHOICES)
    decided_on = models.DateField("决定日期")
    effective_on = models.DateField("生效日期", null=True, blank=True)
    document_number = models.CharField("文号", max_length=60, blank=True)
    amount_fen = models.BigIntegerField("月保障金(分)", null=True, blank=True)
    reason = models.CharField("理由", max_length=200, blank=True)
    decided_by = models.CharField("决定机关", max_length=60, blank=True)
    source = models.ForeignKey(GoliveImport, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = "历史决定"
        ordering = ["decided_on", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.decided_on}"

    def audit_label(self) -> str:
        return f"历史决定 {catalogue.label(self.programme)} {self}"


class Reconciliation(AreaOwned, models.Model):
    """对账 before the first Doudi payment: the imported caseload against the old system's last
    roster and against the rules today, per town and programme (`golive.reconcile`)."""

    roster = models.ForeignKey(GoliveImport, on_delete=models.PROTECT, related_name="+")
    day = models.DateField("对账日")
    summary = models.JSONField("按镇街和项目汇总", default=list)
    differences = models.JSONField("差异清单", default=list)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                           related_name="+")
    at = models.DateTimeField("时间", auto_now_add=True)

    class Meta:
        verbose_name = "上线对账"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"上线对账 {self.day}"
