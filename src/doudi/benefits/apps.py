from django.apps import AppConfig


class BenefitsConfig(AppConfig):
    name = "doudi.benefits"
    verbose_name = "保障对象与资金发放"
