from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "doudi.monitoring"
    label = "monitoring"
    verbose_name = "动态监测预警"
