from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AuditConfig(AppConfig):
    name = "doudi.audit"
    verbose_name = "审计日志"

    def ready(self) -> None:
        # connects handlers only: ready() must not touch the database
        from doudi.audit import signals

        signals.connect()
        post_migrate.connect(_seal_after_migrate, sender=self,
                             dispatch_uid="doudi.audit.seal_after_migrate")


def _seal_after_migrate(sender: AppConfig, using: str = "default", apps: Any = None,
                        **kwargs: Any) -> None:
    """Data migrations write audit rows through historical models, which have no seal hook:
    seal them when `migrate` ends, not at the first audited commit after it. Skipped when the
    database was migrated back to before the chain (0005)."""
    from django.apps import apps as global_apps

    from doudi.audit import chain

    apps = apps or global_apps  # `flush` sends the signal without the migrated state
    try:
        model = apps.get_model("audit", "AuditEvent")
    except LookupError:
        return
    if "chain_seq" in {f.name for f in model._meta.get_fields()}:
        chain.seal_pending(using, model=model)
