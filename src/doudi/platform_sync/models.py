"""与上级监测平台同步: what left for the level above (SyncExport) and what came up from a
district (SyncImport). The audit log records each exchange as well (who, to whom, how many
persons); these rows are what the next package is computed against and what makes a second
import of the same package change nothing."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SyncExport(models.Model):
    """A package made for the level above. `watermark_to` is the population's digest
    (`layout.state_digest`); `state` (zlib-compressed JSON, local row id → [row digest, the
    row's key sealed with the registry's key]) is what a later package `since` this watermark
    is compared with — kept once per area and watermark, and holding no readable ID."""

    area_code = models.CharField("导出区划", max_length=12, db_index=True)
    recipient = models.CharField("接收方", max_length=150)
    watermark_from = models.CharField("起始水位", max_length=64, blank=True)
    watermark_to = models.CharField("截止水位", max_length=64, db_index=True)
    counts = models.JSONField("行数", default=dict)
    persons = models.PositiveIntegerField("人员数", default=0)
    sha256 = models.CharField("数据包SHA-256", max_length=64)
    state = models.BinaryField("行摘要", null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField("导出时间", auto_now_add=True)

    class Meta:
        verbose_name = "上报数据包"
        verbose_name_plural = "上报数据包"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"上报数据包 {self.area_code} {self.watermark_to[:12]}"


class SyncImport(models.Model):
    """A district's package imported here, all or nothing. One row per package (its
    SHA-256): the same package again is reported as already imported and changes nothing."""

    source_area_code = models.CharField("来源区划", max_length=12, db_index=True)
    sha256 = models.CharField("数据包SHA-256", max_length=64, unique=True)
    watermark_from = models.CharField("起始水位", max_length=64, blank=True)
    watermark_to = models.CharField("截止水位", max_length=64)
    counts = models.JSONField("导入结果", default=dict)
    persons = models.PositiveIntegerField("人员数", default=0)
    channel = models.CharField("方式", max_length=10,
                               choices=[("cli", "命令行"), ("api", "接口")])
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField("导入时间", auto_now_add=True)

    class Meta:
        verbose_name = "下级数据包导入"
        verbose_name_plural = "下级数据包导入"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"下级数据包 {self.source_area_code} {self.watermark_to[:12]}"
