from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "doudi.care"
    label = "care"
    verbose_name = "探访关爱与养老服务"

    def ready(self) -> None:
        from doudi.care import assignments

        assignments.register()
