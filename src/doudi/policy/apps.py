from django.apps import AppConfig


class PolicyConfig(AppConfig):
    name = "doudi.policy"
    verbose_name = "政策参数"
    default_auto_field = "django.db.models.BigAutoField"
    audit_labels = {"simulation": "调标测算"}
