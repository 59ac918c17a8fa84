from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "doudi.audit"
    verbose_name = "审计日志"

    def ready(self) -> None:
        from doudi.audit import signals

        signals.connect()
