"""User (用户): one area, one or more roles; API tokens for departments and scripts."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from doudi.accounts import roles as role_table
from doudi.audit.audited import Audited


class User(Audited, AbstractUser):
    audit_maskers = {"password": lambda _: "******", "totp_secret": lambda _: "******"}
    # counters moved on every login attempt; the login itself is its own audit row
    audit_ignore = ("last_login", "failed_logins", "totp_last_step")

    area = models.ForeignKey(
        "areas.Area", verbose_name="所属区划", null=True, on_delete=models.PROTECT,
        related_name="users",
    )
    full_name = models.CharField("姓名", max_length=50, blank=True)
    # For department interface accounts: the department whose feeds it may push (e.g. 乡村振兴).
    department = models.CharField("所属部门", max_length=40, blank=True)
    # 身份鉴别: see accounts.passwords, accounts.lockout and accounts.totp
    password_changed_at = models.DateTimeField("口令修改时间", null=True, blank=True)
    must_change_password = models.BooleanField("须修改口令", default=False)
    failed_logins = models.PositiveIntegerField("连续登录失败次数", default=0)
    locked_until = models.DateTimeField("锁定至", null=True, blank=True)
    totp_secret = models.CharField("双因素密钥", max_length=64, blank=True)
    totp_confirmed_at = models.DateTimeField("双因素启用时间", null=True, blank=True)
    totp_last_step = models.BigIntegerField("最近使用的动态码时段", null=True, blank=True)

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"

    @property
    def role_codes(self) -> list[str]:
        cached = getattr(self, "_role_codes", None)
        if cached is None:
            cached = sorted(r.role for r in self.role_rows.all()) if self.pk else []
            self._role_codes = cached
        return cached

    @property
    def capabilities(self) -> frozenset[str]:
        return role_table.capabilities_of(self.role_codes)

    def can(self, capability: str) -> bool:
        return self.is_active and self.area_id is not None and capability in self.capabilities

    @property
    def scope_prefix(self) -> str | None:
        """The code prefix this user's data is limited to; None means sees nothing."""
        if not self.is_active or self.area is None:
            return None
        return self.area.prefix

    @property
    def area_code(self) -> str:
        return self.area_id or ""

    def audit_label(self) -> str:
        return f"用户 {self.username}"

    def role_labels(self) -> str:
        return "、".join(role_table.ROLES[c].label for c in self.role_codes)


class PasswordHistory(models.Model):
    """Hashes of a user's earlier passwords, so recent ones are not reused (口令历史)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "口令历史"
        verbose_name_plural = "口令历史"

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d}"


class UserRole(Audited, models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_rows")
    role = models.CharField("角色", max_length=30, choices=role_table.ROLE_CHOICES)

    class Meta:
        verbose_name = "用户角色"
        verbose_name_plural = "用户角色"
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="unique_user_role")]

    def __str__(self) -> str:
        return f"{self.user.username}: {self.get_role_display()}"

    @property
    def area_code(self) -> str:
        return self.user.area_id or ""

    def audit_label(self) -> str:
        return f"用户 {self.user.username} 角色 {self.get_role_display()}"


class ApiToken(models.Model):
    """An API token; only its SHA-256 is stored, so a leaked database leaks no token."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = "接口令牌"
        verbose_name_plural = "接口令牌"

    def __str__(self) -> str:
        return f"{self.user.username} 令牌 {self.created_at:%Y-%m-%d %H:%M}"

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, user: User, hours: int = 12) -> str:
        token = secrets.token_urlsafe(32)
        cls.objects.create(
            user=user, digest=cls.hash(token),
            expires_at=timezone.now() + dt.timedelta(hours=hours),
        )
        return token


class CredentialReset(Audited, models.Model):
    """重置管理员凭据的申请: a reset of an administrator's password or second factor, asked by
    one administrator and carried out only when another administrator, of a different role
    from the one who asked, approves it (两人规则). The temporary password goes to the approver,
    so the administrator who asked never holds it."""

    PASSWORD, TOTP = "password", "totp"
    KINDS = [(PASSWORD, "重置口令"), (TOTP, "重置双因素认证")]
    PENDING, DONE, REFUSED = "pending", "done", "refused"
    STATUSES = [(PENDING, "待复核"), (DONE, "已复核办理"), (REFUSED, "已驳回")]

    target = models.ForeignKey(User, verbose_name="账号", on_delete=models.CASCADE,
                               related_name="credential_resets")
    kind = models.CharField("事项", max_length=10, choices=KINDS)
    status = models.CharField("状态", max_length=10, choices=STATUSES, default=PENDING)
    requested_by = models.ForeignKey(User, verbose_name="申请人", on_delete=models.PROTECT,
                                     related_name="+")
    # the role the asker held: the approver must hold another (roles may change meanwhile)
    requested_as = models.CharField("申请人角色", max_length=30,
                                    choices=role_table.ROLE_CHOICES)
    requested_at = models.DateTimeField("申请时间", default=timezone.now)
    decided_by = models.ForeignKey(User, verbose_name="复核人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField("复核时间", null=True, blank=True)

    class Meta:
        verbose_name = "管理员凭据重置申请"
        verbose_name_plural = "管理员凭据重置申请"
        constraints = [models.UniqueConstraint(
            fields=["target", "kind"], condition=models.Q(status="pending"),
            name="one_pending_reset_per_kind")]

    def __str__(self) -> str:
        return self.audit_label()

    @property
    def area_code(self) -> str:
        return self.target.area_id or ""

    def audit_label(self) -> str:
        return f"用户 {self.target.username} {self.get_kind_display()}申请"
