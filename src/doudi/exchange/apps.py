from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "doudi.exchange"
    verbose_name = "部门数据与家庭经济状况核对"
    # audit rows of no one model (doudi.audit.labels): a call of the department API
    audit_labels = {"api": "数据接口调用"}
