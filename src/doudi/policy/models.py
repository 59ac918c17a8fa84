"""PolicyParameter (政策参数): one dated value of one key for one area prefix.

A new standard is a new row with its own effective date; a row already in force is never
changed, so the amounts computed for any past month can always be recomputed and explained.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from doudi.accounts import roles
from doudi.areas.scoping import along_chain, chain_prefixes  # noqa: F401 (re-exported)
from doudi.audit.audited import Audited
from doudi.core import clock
from doudi.rules.parameters import UNITS

UNIT_CHOICES = [(code, label) for code, (label, _kind) in UNITS.items()]
SHIPPED, LOCAL = "shipped", "local"
SOURCE_CHOICES = [(SHIPPED, "随系统发布"), (LOCAL, "本地设定")]


class RowInForce(ValueError):
    """已生效的参数取值不能修改."""




class PolicyParameterQuerySet(models.QuerySet):
    def along_chain(self, prefix: str) -> PolicyParameterQuerySet:
        """Rows that apply to the area (its ancestors and itself) and rows set below it."""
        return self.filter(along_chain(prefix))

    def visible_to(self, user) -> PolicyParameterQuerySet:  # noqa: ANN001
        if user is None or not user.is_authenticated or not user.can(roles.VIEW_REGISTRY):
            return self.none()
        return self.along_chain(user.scope_prefix)


class PolicyParameter(Audited):
    """政策参数取值. `area_code` is the significant prefix ("" = 全国默认, "3410" = 黄山市)."""

    key = models.CharField("参数", max_length=80, db_index=True)
    area_code = models.CharField("区划代码", max_length=12, blank=True, db_index=True)
    effective_from = models.DateField("生效日期")
    value = models.JSONField("取值")
    unit = models.CharField("单位", max_length=30, choices=UNIT_CHOICES)
    reference = models.CharField("依据（文号/文件名称）", max_length=300)
    document = models.CharField("文号", max_length=100, blank=True)
    issuer = models.CharField("发文机关", max_length=100, blank=True)
    issued_on = models.DateField(
        "印发日期", null=True, blank=True,
        help_text="与生效日期不同时填写（年中印发、自年初起补发）")
    url = models.URLField("原文链接", max_length=500, blank=True)
    verified = models.BooleanField("已核实", default=False)
    note = models.CharField("备注", max_length=300, blank=True)
    floor = models.BooleanField(
        "上级最低标准", default=False,
        help_text="上级规定的最低标准：本地取值低于它时按它执行")
    retroactive_reason = models.CharField("追溯生效理由", max_length=300, blank=True)
    source = models.CharField("来源", max_length=10, choices=SOURCE_CHOICES, default=LOCAL)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="设定人", null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    created_at = models.DateTimeField("设定时间", auto_now_add=True)

    objects = PolicyParameterQuerySet.as_manager()

    class Meta:
        verbose_name = "政策参数"
        verbose_name_plural = "政策参数"
        ordering = ["key", "area_code", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["key", "area_code", "effective_from"],
                                    name="one_policy_value_per_key_area_day"),
            models.CheckConstraint(condition=Q(source__in=[SHIPPED, LOCAL]),
                                   name="policy_parameter_source_known"),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.area_code or '全国'} {self.effective_from}"

    def audit_label(self) -> str:
        return f"政策参数 {self.key}（{self.area_code or '全国'}，{self.effective_from} 起）"

    @property
    def is_future(self) -> bool:
        return self.effective_from > clock.today()

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A value in force has been used; changing it would rewrite history. New date, new row.
        before = getattr(self, "_audit_snapshot", None)
        if not self._state.adding and before and before["effective_from"] <= str(
                clock.today()):
            raise RowInForce("已生效的参数取值不能修改，请新增一条带生效日期的取值")
        super().save(*args, **kwargs)
