from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "doudi.accounts"
    verbose_name = "账号与角色"

    def ready(self) -> None:
        # connects handlers only: ready() must not touch the database
        from doudi.accounts import revocation

        revocation.connect()
