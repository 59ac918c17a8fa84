from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "doudi.reports"
    label = "reports"
    verbose_name = "统计报表与监督"
