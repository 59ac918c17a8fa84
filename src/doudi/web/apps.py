from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "doudi.web"
    verbose_name = "界面"

    def ready(self) -> None:
        from doudi.web import signals

        signals.connect()
