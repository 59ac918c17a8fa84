"""Feed types (数据接口类型), import jobs (导入任务), batches (数据批次), consents (授权书) and
verification reports (核对报告).

A batch's good rows live in a Parquet file under `settings.EXCHANGE_DIR` (named by the file's
checksum, written before the batch row commits), so the monitoring engine reads them as they
are; the database keeps what a batch is, where it came from and what it held.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from doudi.areas.scoping import AreaOwned
from doudi.audit.audited import Audited
from doudi.core.masking import mask_name
from doudi.engine.feeds.feedspec import FeedSpec, parse_spec


class FeedType(Audited, models.Model):
    key = models.CharField("标识", max_length=40, unique=True)
    department = models.CharField("部门", max_length=40)
    name = models.CharField("名称", max_length=80)
    spec = models.JSONField("定义")
    shipped = models.BooleanField("系统提供", default=False)
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "数据接口类型"
        ordering = ["department", "key"]

    def __str__(self) -> str:
        return f"{self.department}·{self.name}"

    def audit_label(self) -> str:
        return f"数据接口类型 {self}"

    @property
    def area_code(self) -> str:
        return ""

    def parsed(self) -> FeedSpec:
        return parse_spec(self.spec, origin=self.key)


class ImportJob(AreaOwned, models.Model):
    """One attempt to import one file (from the UI, the API or the command line)."""

    QUEUED, RUNNING, DONE, DUPLICATE, FAILED = "queued", "running", "done", "duplicate", "failed"
    STATUS_CHOICES = [(QUEUED, "排队中"), (RUNNING, "导入中"), (DONE, "已完成"),
                      (DUPLICATE, "重复文件，未作更改"), (FAILED, "失败")]
    CHANNEL_CHOICES = [("ui", "界面上传"), ("api", "部门接口"), ("cli", "命令行")]

    feed_type = models.ForeignKey(FeedType, on_delete=models.PROTECT, related_name="jobs")
    status = models.CharField("状态", max_length=12, choices=STATUS_CHOICES, default=QUEUED)
    channel = models.CharField("渠道", max_length=8, choices=CHANNEL_CHOICES)
    file_name = models.CharField("文件名", max_length=200)
    upload_path = models.CharField("上传文件", max_length=300, blank=True)
    checksum = models.CharField("SHA-256", max_length=64, blank=True)
    source = models.CharField("来源", max_length=100, blank=True)
    period = models.CharField("数据期间", max_length=20, blank=True)
    mapping = models.JSONField("列对应", default=dict, blank=True)
    progress = models.PositiveSmallIntegerField("进度(%)", default=0)
    phase = models.CharField("阶段", max_length=40, blank=True)
    counts = models.JSONField("统计", default=dict, blank=True)
    message = models.TextField("说明", blank=True)
    errors_path = models.CharField("错误报告", max_length=300, blank=True)
    batch = models.ForeignKey("FeedBatch", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField("提交时间", auto_now_add=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = "导入任务"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"导入 {self.file_name}（{self.get_status_display()}）"

    @property
    def finished(self) -> bool:
        return self.status in (self.DONE, self.DUPLICATE, self.FAILED)


class FeedBatch(Audited, AreaOwned, models.Model):
    """The good rows of one imported file: versioned per feed type, never changed after."""

    feed_type = models.ForeignKey(FeedType, on_delete=models.PROTECT, related_name="batches")
    version = models.PositiveIntegerField("版本")
    checksum = models.CharField("SHA-256", max_length=64)
    # the parsed rows' fingerprint (imports.content_digest): the same rows in another file
    # (the Excel copy of a CSV) are refused, naming this batch; "" for batches imported
    # before it was kept
    content_digest = models.CharField("数据内容指纹", max_length=64, blank=True)
    file_name = models.CharField("文件名", max_length=200)
    source = models.CharField("来源", max_length=100, blank=True)
    period = models.CharField("数据期间", max_length=20, blank=True)
    sheet = models.CharField("工作表", max_length=100, blank=True)
    path = models.CharField("数据文件", max_length=300)
    rows = models.PositiveIntegerField("数据行")
    good_rows = models.PositiveIntegerField("有效行")
    error_rows = models.PositiveIntegerField("错误行")
    duplicate_rows = models.PositiveIntegerField("重复行")
    matched_id = models.PositiveIntegerField("身份证号匹配")
    matched_weak = models.PositiveIntegerField("姓名+出生日期匹配")
    unmatched = models.PositiveIntegerField("未匹配")
    unmatched_purged_at = models.DateTimeField("未匹配数据清除时间", null=True, blank=True)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField("接收时间", auto_now_add=True)

    class Meta:
        verbose_name = "数据批次"
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["feed_type", "checksum"], name="batch_unique_file"),
            models.UniqueConstraint(fields=["feed_type", "version"], name="batch_unique_version"),
        ]
        indexes = [models.Index(fields=["feed_type", "period", "content_digest"],
                                name="batch_content")]

    def __str__(self) -> str:
        return f"{self.feed_type} 第{self.version}批"

    def audit_label(self) -> str:
        return f"数据批次 {self}（{self.file_name}）"


class Consent(Audited, AreaOwned, models.Model):
    """授权书: the household's written consent to have its economic status checked."""

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT,
                                  related_name="consents")
    signed_on = models.DateField("签署日期")
    signed_by = models.CharField("签署人", max_length=50)
    note = models.CharField("说明", max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = "核对授权书"
        ordering = ["-signed_on", "-id"]

    def __str__(self) -> str:
        return f"授权书（{mask_name(self.signed_by)}，{self.signed_on}）"

    def audit_label(self) -> str:
        return f"授权书 {self.household.number} {self.signed_on}"


class VerificationReport(Audited, AreaOwned, models.Model):
    """核对报告: what the departments' data said about a household on a day, as it was seen."""

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT,
                                  related_name="verification_reports")
    day = models.DateField("核对基准日")
    consent = models.ForeignKey(Consent, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="reports")
    batches = models.ManyToManyField(FeedBatch, related_name="reports", blank=True)
    content = models.JSONField("报告内容")
    differences = models.PositiveIntegerField("差异项")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                     on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField("生成时间", auto_now_add=True)

    class Meta:
        verbose_name = "核对报告"
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"核对报告 {self.household.number} {self.day}"

    def audit_label(self) -> str:
        return str(self)


class OutboundDelivery(AreaOwned, models.Model):
    """One delivery of a 推送名单 (outbound list) to its department: what left, when, by which
    channel and for whom, how many persons it named, and the list as it then stood (`state`:
    each person's id → a keyed digest of the row's values, never the values), against which
    the next delivery's changes (新增/变更/退出) are taken. `area_code` is the area the list
    covers (the producer's or the pulling account's scope)."""

    FILE, API, SCHEDULE = "file", "api", "schedule"
    CHANNEL_CHOICES = [(FILE, "界面下载"), (API, "部门接口"), (SCHEDULE, "定时生成")]
    FULL, CHANGES = "full", "changes"
    KIND_CHOICES = [(FULL, "全量"), (CHANGES, "变动")]

    list_key = models.CharField("推送名单", max_length=40)
    department = models.CharField("接收部门", max_length=40)
    channel = models.CharField("渠道", max_length=10, choices=CHANNEL_CHOICES)
    kind = models.CharField("内容", max_length=10, choices=KIND_CHOICES)
    day = models.DateField("名单日期")
    since = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", verbose_name="相对于")
    total = models.PositiveIntegerField("名单人数")
    added = models.PositiveIntegerField("新增")
    changed = models.PositiveIntegerField("变更")
    removed = models.PositiveIntegerField("退出")
    persons = models.PositiveIntegerField("本次发送人数")
    state = models.JSONField("名单状态（行摘要）", default=dict)
    file_path = models.CharField("文件", max_length=300, blank=True)
    digest = models.CharField("SHA-256", max_length=64)
    produced_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    watermark = models.DateTimeField("生成时间", auto_now_add=True)

    class Meta:
        verbose_name = "推送名单发送记录"
        ordering = ["-watermark", "-id"]
        indexes = [models.Index(fields=["list_key", "area_code", "channel"],
                                name="outbound_stream")]

    def __str__(self) -> str:
        return f"推送名单 {self.list_key} 第{self.pk}次（{self.get_kind_display()}）"
