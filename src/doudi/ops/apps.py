from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Installed for its management commands; it has no models."""

    name = "doudi.ops"
    verbose_name = "运维"
    # audit rows of no one model (doudi.audit.labels): a backup made or restored
    audit_labels = {"backup": "备份与恢复"}
