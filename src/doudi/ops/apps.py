from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Installed for its management commands; it has no models."""

    name = "doudi.ops"
    verbose_name = "运维"
