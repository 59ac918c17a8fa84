"""doudi adduser USERNAME --area CODE --role ROLE [--role ROLE] [--password PW]"""

from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand, CommandError, CommandParser

from doudi.accounts import services
from doudi.accounts.roles import ROLES
from doudi.audit import context


class Command(BaseCommand):
    help = "新建用户 / create a user in an area with roles"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--area", required=True, help="区划代码, 如 341002")
        parser.add_argument("--role", action="append", required=True, choices=sorted(ROLES))
        parser.add_argument("--password")
        parser.add_argument("--full-name", default="")

    def handle(self, *args, **o) -> None:  # noqa: ANN002, ANN003
        password = o["password"] or getpass.getpass("密码: ")
        try:
            with context.job("adduser"):
                user = services.create_user(username=o["username"], password=password,
                                            area_code=o["area"], roles=o["role"],
                                            full_name=o["full_name"])
        except services.AccountError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"已创建用户 {user.username}（{user.role_labels()}，{user.area.name}）")
