from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Installed for its management commands and the demo clock; it has no models."""

    name = "doudi.ops"
    verbose_name = "运维"
    # audit rows of no one model (doudi.audit.labels): a backup made or restored, the demo's
    # clock moved
    audit_labels = {"backup": "备份与恢复", "demo_clock": "演示时钟"}

    def ready(self) -> None:
        from doudi.core import clock
        from doudi.ops import demo_clock

        clock.use_offset_source(demo_clock.offset_source)
