"""doudi golive <step> …: going live (上线迁移, docs/going-live.md).

Each step is a module of `doudi.golive.commands` with `HELP`, `add_arguments(parser)` and
`run(options, out)`; this command only dispatches, so a new step is one new module.
"""

from __future__ import annotations

import importlib
import pkgutil

from django.core.management.base import BaseCommand, CommandError, CommandParser

from doudi.audit import context
from doudi.core.errors import ServiceError
from doudi.golive import commands


def _steps() -> dict[str, object]:
    found = {}
    for info in pkgutil.iter_modules(commands.__path__):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        found[info.name.replace("_", "-")] = module
    return dict(sorted(found.items()))


class Command(BaseCommand):
    help = "上线迁移：导入原系统在保数据、历史、工作人员，对账，上线检查"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="step", required=True, metavar="步骤")
        for name, module in _steps().items():
            p = sub.add_parser(name, help=module.HELP, description=module.HELP)
            module.add_arguments(p)

    def handle(self, *args, **o) -> None:  # noqa: ANN002, ANN003
        module = _steps()[o["step"]]
        context.bind(context.Actor(user_id=None, username="cli", job=f"golive {o['step']}"))
        try:
            code = module.run(o, self.stdout)
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        if code:
            raise SystemExit(code)
