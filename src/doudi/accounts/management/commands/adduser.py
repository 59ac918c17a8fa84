"""doudi adduser USERNAME --area CODE --role ROLE [--role ROLE] [--password PW]
    [--department 部门] [--organisation 社会力量名称或编号]

A department account (--role department) names its department (one of the known departments:
those of the feed types); a 社会力量 account (--role org_staff) its organisation, registered in
or above the account's area."""

from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from doudi.accounts import services
from doudi.accounts.roles import ROLES
from doudi.audit import context


def _organisation(value: str):  # noqa: ANN202
    from doudi.community.models import Organisation

    found = list(Organisation.objects.filter(pk=int(value)) if value.isdigit()
                 else Organisation.objects.filter(name=value.strip(), active=True))
    if len(found) != 1:
        raise CommandError(f"社会力量“{value}”{'不存在' if not found else '有重名，请用编号'}"
                           "（社会力量页可查名称与编号）")
    return found[0]


class Command(BaseCommand):
    help = "新建用户 / create a user in an area with roles"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--area", required=True, help="区划代码, 如 341002")
        parser.add_argument("--role", action="append", required=True, choices=sorted(ROLES))
        parser.add_argument("--password")
        parser.add_argument("--full-name", default="")
        parser.add_argument("--department", default="",
                            help="部门数据接口账号的所属部门，如 医保")
        parser.add_argument("--organisation", default="",
                            help="社会力量账号的所属组织（名称或编号）")

    def handle(self, *args, **o) -> None:  # noqa: ANN002, ANN003
        organisation = _organisation(o["organisation"]) if o["organisation"] else None
        password = o["password"] or getpass.getpass("密码: ")
        try:
            with context.job("adduser"), transaction.atomic():
                user = services.create_user(username=o["username"], password=password,
                                            area_code=o["area"], roles=o["role"],
                                            full_name=o["full_name"])
                if o["department"]:
                    services.set_department(user, o["department"])
                if organisation is not None:
                    services.set_organisation(user, organisation)
        except services.AccountError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        bodies = "".join(f"，{b}" for b in (user.department, organisation) if b)
        self.stdout.write(f"已创建用户 {user.username}（{user.role_labels()}，{user.area.name}"
                          f"{bodies}）")
