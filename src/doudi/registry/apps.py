from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "doudi.registry"
    verbose_name = "低收入人口信息库"
