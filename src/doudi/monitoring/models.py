"""Monitoring in the database: a district's tuning of the indicators, the runs, and the
warnings (预警) with every step of their handling (核实 → 处置 → 反馈).

"One open warning per subject and indicator" is a unique constraint on `open_key`, which is
set while a warning is open and cleared when it closes.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from doudi.areas.scoping import AreaOwned
from doudi.audit.audited import Audited
from doudi.core.masking import mask_phone
from doudi.engine.monitoring.indicators import KINDS, LEVELS
from doudi.monitoring import workflow
from doudi.registry.fields import EncryptedCharField


class IndicatorSetting(Audited, models.Model):
    """An area's tuning of an indicator: parameter values and whether it runs there. The
    deepest setting along an area's chain applies ("" is the national default)."""

    indicator = models.CharField("指标", max_length=40)
    area_code = models.CharField("区划代码", max_length=12, blank=True)
    params = models.JSONField("参数", default=dict)
    active = models.BooleanField("启用", default=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    class Meta:
        verbose_name = "预警指标设置"
        constraints = [models.UniqueConstraint(fields=["indicator", "area_code"],
                                               name="one_setting_per_indicator_area")]

    def __str__(self) -> str:
        return f"{self.indicator}@{self.area_code or '全国'}"


class MonitoringRun(AreaOwned, models.Model):
    QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
    STATUS_CHOICES = [(QUEUED, "排队中"), (RUNNING, "运行中"), (DONE, "已完成"), (FAILED, "失败")]
    TRIGGER_CHOICES = [("ui", "界面"), ("cli", "命令行"), ("schedule", "定时")]

    status = models.CharField("状态", max_length=10, choices=STATUS_CHOICES, default=QUEUED)
    trigger = models.CharField("发起方式", max_length=10, choices=TRIGGER_CHOICES)
    as_of = models.DateField("监测日期")
    progress = models.PositiveSmallIntegerField("进度(%)", default=0)
    phase = models.CharField("阶段", max_length=40, blank=True)
    counts = models.JSONField("各指标预警数", default=dict, blank=True)
    created = models.PositiveIntegerField("新增预警", default=0)
    kept = models.PositiveIntegerField("已有未办结", default=0)
    skipped = models.JSONField("未运行的指标", default=dict, blank=True)
    inputs = models.JSONField("数据来源", default=dict, blank=True)
    digest = models.CharField("结果摘要(SHA-256)", max_length=64, blank=True)
    message = models.TextField("说明", blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField("发起时间", auto_now_add=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = "监测运行"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.as_of:%Y-%m-%d} 监测（{self.get_status_display()}）"

    @property
    def finished(self) -> bool:
        return self.status in (self.DONE, self.FAILED)


class Warning(Audited, AreaOwned, models.Model):
    CHANNEL_CHOICES = [("monitoring", "监测比对"), ("discovery", "主动发现"),
                       ("hotline", "12345热线"), ("upstream", "上级下发")]
    STATUS_CHOICES = list(workflow.STATES.items())
    LEVEL_CHOICES = [(k, f"{k}级（{v}）") for k, v in LEVELS.items()]
    HANDLER_CHOICES = list(workflow.LEVEL_LABELS.items())

    indicator = models.CharField("预警指标", max_length=40, db_index=True)
    kind = models.CharField("类型", max_length=20, choices=list(KINDS.items()))
    level = models.PositiveSmallIntegerField("预警等级", choices=LEVEL_CHOICES)
    channel = models.CharField("来源渠道", max_length=12, choices=CHANNEL_CHOICES)
    household = models.ForeignKey("registry.Household", null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="warnings")
    person = models.ForeignKey("registry.Person", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="warnings")
    programme = models.CharField("救助项目", max_length=30, blank=True)
    event_date = models.DateField("发生日期", null=True, blank=True)
    source = models.CharField("数据来源", max_length=40, blank=True)
    evidence = models.JSONField("依据", default=dict, blank=True)
    fingerprint = models.CharField("依据指纹", max_length=200, blank=True)
    summary = models.CharField("摘要", max_length=300, blank=True)
    # who reported it (主动发现 / 12345) and about whom, when the person is not yet registered
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    ticket_no = models.CharField("工单号", max_length=40, blank=True)
    # a warning the platform above pushed down: its id there, which the answer-back names
    # (docs/platform-sync.md); one warning here per upstream id
    upstream_ref = models.CharField("上级预警编号", max_length=64, blank=True, default="")
    reported_name = models.CharField("求助人姓名", max_length=50, blank=True)
    reported_phone = EncryptedCharField("联系电话", max_length=30, blank=True)
    reported_address = models.CharField("地址", max_length=200, blank=True)
    status = models.CharField("状态", max_length=10, choices=STATUS_CHOICES,
                              default=workflow.OPEN, db_index=True)
    handler_level = models.CharField("处置层级", max_length=10, choices=HANDLER_CHOICES)
    owner_code = models.CharField("处置单位区划", max_length=12, db_index=True)
    due_on = models.DateField("核实期限")
    due_provisional = models.BooleanField("期限待节假日安排确认", default=False)
    escalations = models.PositiveSmallIntegerField("升级次数", default=0)
    subject_key = models.CharField(max_length=200, db_index=True)  # indicator|户|人|项目
    open_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    run = models.ForeignKey(MonitoringRun, null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="warnings")
    verification = models.TextField("核实情况", blank=True)
    verified_true = models.BooleanField("核实属实", null=True, blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    verified_at = models.DateTimeField("核实时间", null=True, blank=True)
    disposition = models.CharField("处置", max_length=20, choices=workflow.disposition_choices,
                                   blank=True)
    disposition_note = models.CharField("处置说明", max_length=300, blank=True)
    application = models.ForeignKey("casework.Application", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="warnings")
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    closed_at = models.DateTimeField("办结时间", null=True, blank=True)
    created_at = models.DateTimeField("预警时间", auto_now_add=True)

    audit_ignore = ("updated_at", "evidence")
    audit_maskers = {"reported_phone": mask_phone}

    class Meta:
        verbose_name = "预警"
        ordering = ["level", "due_on", "id"]
        indexes = [models.Index(fields=["owner_code", "status", "due_on"]),
                   models.Index(fields=["indicator", "status"])]
        constraints = [models.UniqueConstraint(fields=["upstream_ref"],
                                               condition=~models.Q(upstream_ref=""),
                                               name="one_warning_per_upstream_ref")]

    def __str__(self) -> str:
        return f"预警 #{self.pk} {self.summary or self.indicator}"


class WarningEvent(models.Model):
    """One step of a warning's handling: who, when, what, from which state to which."""

    warning = models.ForeignKey(Warning, on_delete=models.CASCADE, related_name="events")
    action = models.CharField("操作", max_length=20)
    label = models.CharField("说明", max_length=100)
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10, blank=True)
    note = models.TextField("意见", blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField("时间", auto_now_add=True)

    class Meta:
        verbose_name = "预警处置记录"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.label}（{self.at:%Y-%m-%d %H:%M}）"
