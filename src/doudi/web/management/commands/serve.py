"""doudi serve [--host H] [--port P] [--threads N] — the production WSGI server (waitress,
pure Python, so the same command runs on a district's Windows laptop and on Linux)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "启动 Web 服务 / serve the UI and API"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)

    def handle(self, *args, **o) -> None:  # noqa: ANN002, ANN003
        from waitress import serve

        from doudi.wsgi import application

        self.stdout.write(f"兜底 Doudi 正在运行: http://{o['host']}:{o['port']}/  (Ctrl+C 停止)")
        serve(application, host=o["host"], port=o["port"], threads=o["threads"],
              ident="doudi")
