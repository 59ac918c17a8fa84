from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "doudi.community"
    label = "community"
    verbose_name = "社会力量与基层治理"
