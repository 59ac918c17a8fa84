from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "doudi.referrals"
    label = "referrals"
    verbose_name = "转介"
