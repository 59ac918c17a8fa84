from django.apps import AppConfig


class PlatformSyncConfig(AppConfig):
    name = "doudi.platform_sync"
    label = "platform_sync"
    verbose_name = "与上级监测平台同步"
