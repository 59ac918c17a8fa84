from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "doudi.reports"
    label = "reports"
    verbose_name = "统计报表与监督"
    # exports of the statistics pages (the dashboard and the records behind each figure)
    audit_labels = {"statistics": "统计分析"}

    def ready(self) -> None:
        from doudi.reports import assignments

        assignments.register()
