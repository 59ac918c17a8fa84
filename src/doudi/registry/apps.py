from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "doudi.registry"
    verbose_name = "低收入人口信息库"
    # audit rows of no one model (doudi.audit.labels): `doudi keys` adding or retiring a key
    audit_labels = {"keys": "加密密钥"}
