"""Referrals (转介) in the database: a request to another department's 专项救助 about a
household, and that department's answer; every step is a `ReferralEvent` and an audited save.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from doudi.areas.scoping import AreaOwned
from doudi.audit.audited import Audited
from doudi.referrals import kinds, workflow


def _yuan(fen: int) -> str:
    whole, cents = divmod(fen, 100)
    return f"{whole:,}" + (f".{cents:02d}" if cents else "")


class Referral(Audited, AreaOwned, models.Model):
    STATUS_CHOICES = list(workflow.STATES.items())
    SOURCE_CHOICES = list(workflow.SOURCES.items())

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT,
                                  related_name="referrals")
    person = models.ForeignKey("registry.Person", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="referrals")
    kind = models.CharField("转介类别", max_length=20, choices=kinds.choices)
    # the receiving department as sent (a later change of kinds.yaml does not reroute it)
    department = models.CharField("接收部门", max_length=40, db_index=True)
    source = models.CharField("来源", max_length=12, choices=SOURCE_CHOICES)
    warning = models.ForeignKey("monitoring.Warning", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="referrals")
    application = models.ForeignKey("casework.Application", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="referrals")
    asked = models.TextField("转介事项（请求内容）")
    status = models.CharField("状态", max_length=10, choices=STATUS_CHOICES,
                              default=workflow.SENT, db_index=True)
    sent_on = models.DateField("转介日期")
    due_on = models.DateField("答复期限")
    due_provisional = models.BooleanField("期限待节假日安排确认", default=False)
    escalated_level = models.PositiveSmallIntegerField("逾期升级次数", default=0)
    amount_fen = models.BigIntegerField("给予金额（分）", null=True, blank=True)
    measure = models.CharField("救助措施", max_length=300, blank=True)
    reason = models.CharField("不予救助理由", max_length=300, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    answered_at = models.DateTimeField("答复时间", null=True, blank=True)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField("转介时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True, db_index=True)

    class Meta:
        verbose_name = "转介"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["department", "area_code", "status"])]

    def __str__(self) -> str:
        return f"转介{self.kind_label}（{self.department}）：{self.outcome_text}"

    @property
    def kind_label(self) -> str:
        kind = kinds.get(self.kind)
        return kind.label if kind else self.kind

    @property
    def outcome_text(self) -> str:
        """The state with the answer: 已给予 3,000 元, 不予救助（理由）…"""
        text = workflow.STATES.get(self.status, self.status)
        if self.status == workflow.GRANTED:
            parts = [f"{_yuan(self.amount_fen)} 元"] if self.amount_fen is not None else []
            parts += [self.measure] if self.measure else []
            text += " " + "，".join(parts)
        elif self.status == workflow.REFUSED and self.reason:
            text += f"（{self.reason}）"
        if self.escalated_level and self.status in workflow.OPEN:
            text += f"，{workflow.ESCALATION_LABELS.get(self.escalated_level, '逾期升级')}"
        return text

    @property
    def is_open(self) -> bool:
        return self.status in workflow.OPEN


class ReferralEvent(models.Model):
    """One step of a referral: sent, answered, escalated — who, when, from which state."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    action = models.CharField("操作", max_length=20)
    label = models.CharField("说明", max_length=100)
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10, blank=True)
    note = models.TextField("意见", blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField("时间", auto_now_add=True)

    class Meta:
        verbose_name = "转介处理记录"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.label}（{self.at:%Y-%m-%d %H:%M}）"
