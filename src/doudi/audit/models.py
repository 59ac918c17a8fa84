"""AuditEvent (审计记录): append-only. The application refuses to change or delete a row and
the database does too (triggers, doudi/audit/triggers.py, which allow only the seal). Every
row becomes a link of a hash chain shortly after its commit (see chain.py), so a change made
behind the application's back is found by `doudi audit verify`."""

from __future__ import annotations

from django.db import models, router
from django.utils import timezone

from doudi.audit import chain


class AuditImmutable(Exception):
    """审计日志不可修改或删除."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):  # noqa: ANN003, ANN201
        raise AuditImmutable("审计日志不可修改")

    def delete(self):  # noqa: ANN201
        raise AuditImmutable("审计日志不可删除")

    def bulk_create(self, objs, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
        """In bulk: rows are chained by the seal after the commit, not as they are inserted."""
        objs = list(objs)
        for obj in objs:
            if obj.pk is not None:
                raise AuditImmutable("审计日志不可修改")
            chain.normalise(obj)
            obj.prev_hash = obj.row_hash = ""
            obj.chain_seq = None
        created = super().bulk_create(objs, *args, **kwargs)
        chain.schedule_seal(self.db)
        return created

    def visible_to(self, user) -> AuditQuerySet:  # noqa: ANN001
        from doudi.accounts.roles import VIEW_AUDIT

        if not user.can(VIEW_AUDIT):
            return self.none()
        # Events without an area (logins, system work) are seen only by auditors at the top
        # of the tree they were configured at, i.e. any auditor: they carry no personal data.
        prefix = user.scope_prefix
        return self.filter(models.Q(area_code__startswith=prefix) | models.Q(area_code=""))


class AuditEvent(models.Model):
    CREATE, UPDATE, DELETE = "create", "update", "delete"
    VIEW_FULL, EXPORT, IMPORT = "view_full", "export", "import"
    LOGIN, LOGIN_FAILED, LOGOUT, TOKEN = "login", "login_failed", "logout", "token"
    REFUSED, VIEW, API = "refused", "view", "api"
    ACTION_CHOICES = [
        (CREATE, "新增"), (UPDATE, "修改"), (DELETE, "删除"), (VIEW_FULL, "查看完整信息"),
        (EXPORT, "导出"), (IMPORT, "导入"), (LOGIN, "登录"), (LOGIN_FAILED, "登录失败"),
        (LOGOUT, "退出"), (TOKEN, "签发令牌"), (REFUSED, "拒绝登记"),
        (VIEW, "查阅"), (API, "接口调用"),
    ]

    at = models.DateTimeField("时间", default=timezone.now, db_index=True)
    actor_id = models.BigIntegerField("操作人ID", null=True, blank=True, db_index=True)
    actor_name = models.CharField("操作人", max_length=150)
    action = models.CharField("操作", max_length=20, choices=ACTION_CHOICES, db_index=True)
    object_type = models.CharField("对象类型", max_length=60, blank=True, db_index=True)
    object_id = models.CharField("对象ID", max_length=64, blank=True)
    object_label = models.CharField("对象", max_length=200, blank=True)
    area_code = models.CharField("区划代码", max_length=12, blank=True, db_index=True)
    changes = models.JSONField("变更内容", default=dict, blank=True)
    request_id = models.CharField("请求ID", max_length=32, blank=True)
    job = models.CharField("任务", max_length=100, blank=True)
    ip = models.CharField("IP", max_length=45, blank=True)
    # Filled by the seal after commit (chain.py); empty/null until then.
    prev_hash = models.CharField("上一条哈希", max_length=64, blank=True, editable=False)
    row_hash = models.CharField("本条哈希", max_length=64, blank=True, editable=False)
    chain_seq = models.BigIntegerField("链序号", null=True, blank=True, unique=True,
                                       editable=False)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = "审计记录"
        verbose_name_plural = "审计记录"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.object_label}"

    def save(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        if self.pk is not None:
            raise AuditImmutable("审计日志不可修改")
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        chain.normalise(self)
        # inserted unsealed and without a lock: the chain is extended after the commit
        self.prev_hash = self.row_hash = ""
        self.chain_seq = None
        super().save(*args, **kwargs)
        chain.schedule_seal(using)

    def delete(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        raise AuditImmutable("审计日志不可删除")

    def change_rows(self) -> list[tuple[str, str, str]]:
        """(字段中文名, 旧值, 新值) for display; unknown keys are shown as they are."""
        from django.apps import apps

        try:
            model = apps.get_model(self.object_type) if "." in self.object_type else None
        except LookupError:
            model = None
        fields = {f.name: f for f in model._meta.fields} if model else {}

        def show(key: str, value: object) -> str:
            if value in (None, ""):
                return "—"
            field = fields.get(key)
            if field is not None and field.choices:
                return str(dict(field.flatchoices).get(value, value))
            return str(value)

        rows = []
        for key, value in (self.changes or {}).items():
            if key in ("id", "created_at", "updated_at", "recorded_at"):
                continue
            old, new = value if isinstance(value, list) and len(value) == 2 else (None, value)
            label = str(fields[key].verbose_name) if key in fields else key
            rows.append((label, show(key, old), show(key, new)))
        return rows
