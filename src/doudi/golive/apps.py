from django.apps import AppConfig


class GoliveConfig(AppConfig):
    name = "doudi.golive"
    label = "golive"
    verbose_name = "上线迁移"
