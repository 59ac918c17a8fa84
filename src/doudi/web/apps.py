from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "doudi.web"
    verbose_name = "界面"

    def ready(self) -> None:
        from doudi.web import household_page, signals

        signals.connect()
        household_page.autodiscover()  # every app's household_panels module registers itself
