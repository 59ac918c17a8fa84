from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "doudi.exchange"
    verbose_name = "部门数据与家庭经济状况核对"
