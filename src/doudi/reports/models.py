"""Supervision in the database: campaigns (摸底排查, 回头看, 互查, 随机抽查) with their seeded
samples and findings (each problem a corrective task with a deadline), and the reports a
district owes upward (a template filled for a period, reviewed, submitted, received)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from doudi.areas.scoping import AreaOwned
from doudi.audit.audited import Audited

CAMPAIGN_KINDS = [("survey", "摸底排查"), ("look_back", "回头看"), ("mutual", "互查"),
                  ("spot_check", "随机抽查（明察暗访）")]
# the checklist each sampled household is checked against (the same for every kind)
CHECKLIST = {
    "members": "家庭人口、户籍与共同生活情况属实",
    "income": "家庭收入核算准确",
    "assets": "家庭财产符合规定",
    "amount": "保障金额计算正确",
    "payment": "保障金按时足额发放到户",
    "file": "档案材料齐全规范",
    "favouritism": "不存在优亲厚友、人情保、关系保",
    "publicity": "按规定公示",
}


# who recorded a finding: the campaign's own checkers (by area), a town's officers checking
# another town's sample (互查), an outside assessor (第三方评估)
FINDING_SOURCES = [("own", "本级检查"), ("peer", "互查"), ("evaluator", "第三方评估")]
ASSIGNMENT_KINDS = FINDING_SOURCES[1:]
# why a household is in a campaign's population (reports.campaigns.population)
SAMPLE_BASES = {"enrolled": "在保", "exited": "退出保障", "refused": "申请未获批准"}


class Campaign(Audited, AreaOwned, models.Model):
    DRAFT, RUNNING, CLOSED = "draft", "running", "closed"
    # the campaigns an active assignment names are admitted to the assignee (areas.scoping)
    assignment_keys = {"campaign": "pk"}

    name = models.CharField("名称", max_length=100)
    kind = models.CharField("类型", max_length=20, choices=CAMPAIGN_KINDS)
    programmes = models.JSONField("范围（救助项目）", default=list)
    rate_bp = models.PositiveIntegerField("抽样比例（万分比）")
    seed = models.BigIntegerField("随机种子")
    starts_on = models.DateField("开始日期")
    due_on = models.DateField("完成期限")
    correction_days = models.PositiveSmallIntegerField("整改期限（天）", default=30)
    # 抽样范围 beyond the covered: refused applications and ended enrollments of the year before
    include_refused = models.BooleanField("含申请未获批准的家庭", default=False)
    include_exited = models.BooleanField("含退出保障的家庭", default=False)
    status = models.CharField("状态", max_length=10, default=RUNNING,
                              choices=[(DRAFT, "草稿"), (RUNNING, "进行中"), (CLOSED, "已结束")])
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "检查活动"
        ordering = ["-starts_on", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}：{self.name}"


class CampaignSample(AreaOwned, models.Model):
    """A household drawn for a campaign, in its stratum (town × programme)."""

    assignment_keys = {"sample": "pk"}

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="samples")
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT,
                                  related_name="campaign_samples")
    town = models.CharField("镇街", max_length=9)
    programme = models.CharField("项目", max_length=20)
    basis = models.CharField("抽样范围", max_length=10, default="enrolled",
                             choices=list(SAMPLE_BASES.items()))
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    checked_on = models.DateField("检查日期", null=True, blank=True)

    class Meta:
        verbose_name = "抽样家庭"
        ordering = ["town", "programme", "household_id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "household", "programme"],
                                               name="one_sample_per_household_programme")]

    def __str__(self) -> str:
        return f"抽样 {self.household}（{self.programme}）"


class CampaignFinding(Audited, AreaOwned, models.Model):
    """One checklist item found wanting: a corrective task for the town, with a deadline."""

    sample = models.ForeignKey(CampaignSample, on_delete=models.CASCADE,
                               related_name="findings")
    item = models.CharField("检查项", max_length=20, choices=list(CHECKLIST.items()))
    note = models.CharField("问题描述", max_length=300)
    due_on = models.DateField("整改期限")
    corrected_on = models.DateField("整改完成日期", null=True, blank=True)
    correction = models.CharField("整改情况", max_length=300, blank=True)
    source = models.CharField("发现方式", max_length=10, choices=FINDING_SOURCES, default="own")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="登记人", null=True,
                                    blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = "检查问题"
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return f"问题：{self.get_item_display()}"


class CampaignAssignment(Audited, AreaOwned, models.Model):
    """互查 / 第三方评估: a campaign gives sampled households to someone who does not own them —
    every officer of another town who checks samples (`assignee_town`), or an evaluator's
    account (`assignee`) — for the campaign's dates. While it runs, they see those households
    (masked) and record findings on them; nothing else of the checked town, and nothing once
    it ends (areas.scoping, reports.assignments)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="assignments")
    kind = models.CharField("类型", max_length=10, choices=ASSIGNMENT_KINDS)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="评估机构账号",
                                 null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="campaign_assignments")
    assignee_town = models.CharField("互查镇街", max_length=9, blank=True, db_index=True)
    checked_town = models.CharField("被检查镇街", max_length=9, blank=True,
                                    help_text="空为活动的全部抽样家庭")
    samples = models.ManyToManyField(CampaignSample, related_name="assignments")
    valid_from = models.DateField("开始日期")
    valid_to = models.DateField("结束日期")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField("分配时间", auto_now_add=True)

    class Meta:
        verbose_name = "检查分配"
        ordering = ["campaign", "id"]
        constraints = [models.CheckConstraint(
            condition=(models.Q(assignee__isnull=True) & ~models.Q(assignee_town=""))
            | (models.Q(assignee__isnull=False) & models.Q(assignee_town="")),
            name="campaign_assignment_one_assignee")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}分配（{self.campaign.name}）"


class ReportInstance(Audited, AreaOwned, models.Model):
    """A report an area owes for a period: filled from the statistics, reviewed, submitted
    upward, received by the upper level."""

    DRAFT, SUBMITTED, RECEIVED = "draft", "submitted", "received"

    template = models.CharField("报表", max_length=40)
    period = models.CharField("报告期", max_length=10)  # 2026-10, 2026-Q3 or 2026
    due_on = models.DateField("报送期限")
    status = models.CharField("状态", max_length=10, default=DRAFT,
                              choices=[(DRAFT, "待报送"), (SUBMITTED, "已报送"),
                                       (RECEIVED, "上级已接收")])
    data = models.JSONField("报表数据", default=dict)
    note = models.CharField("说明", max_length=300, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField("报送时间", null=True, blank=True)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField("接收时间", null=True, blank=True)
    # 双线报送: a report whose template names the 乡村振兴 line is also received by it
    rural_received_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                          on_delete=models.SET_NULL, related_name="+")
    rural_received_at = models.DateTimeField("乡村振兴部门接收时间", null=True, blank=True)

    audit_ignore = ("data",)

    class Meta:
        verbose_name = "报表"
        ordering = ["due_on", "template"]
        constraints = [models.UniqueConstraint(fields=["template", "period", "area_code"],
                                               name="one_report_per_template_period_area")]

    def __str__(self) -> str:
        return f"{self.template} {self.period}"


class MonthClose(Audited, models.Model):
    """月结: a month whose statistics were frozen (`reports.snapshots`). From then on every
    page and report reads the month's `MonthSnapshot`s; records changed later, backdated ones
    included, no longer move the month's figures."""

    month = models.DateField("统计月份", unique=True)  # the month's first day
    closed_at = models.DateTimeField("月结时间", auto_now_add=True)
    areas = models.PositiveIntegerField("区划数", default=0)

    class Meta:
        verbose_name = "月结"
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} 月结"


class MonthSnapshot(AreaOwned, models.Model):
    """One area's statistics table for a closed month, as `statistics.month_table` gives it:
    a row per area one level below and the total. Written only by the month's close, all
    areas at once, so a city's table and its districts' tables come from the same count."""

    month = models.DateField("统计月份")
    rows = models.JSONField("下一级区划数据", default=dict)
    total = models.JSONField("合计", default=dict)

    class Meta:
        verbose_name = "月度统计快照"
        constraints = [models.UniqueConstraint(fields=["month", "area_code"],
                                               name="one_snapshot_per_month_area")]

    def __str__(self) -> str:
        return f"{self.area_code} {self.month:%Y-%m}"
