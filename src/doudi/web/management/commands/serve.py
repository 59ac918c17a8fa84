"""doudi serve [--host H] [--port P] [--threads N] [--no-worker] — the production WSGI server
(waitress, pure Python, so the same command runs on a district's Windows laptop and on Linux),
with a background-job worker (`doudi db_worker`, django-tasks) beside it for imports."""

from __future__ import annotations

import subprocess
import sys

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "启动 Web 服务 / serve the UI and API"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument("--no-worker", action="store_true",
                            help="不启动后台任务进程（另行运行 doudi db_worker 时）")

    def handle(self, *args, **o) -> None:  # noqa: ANN002, ANN003
        from waitress import serve

        from doudi.wsgi import application

        worker = None
        if not o["no_worker"]:
            from doudi.monitoring.jobs import fail_abandoned

            fail_abandoned()  # a run the last worker was killed in stored nothing: say so
            worker = subprocess.Popen([sys.executable, "-m", "doudi.cli", "db_worker"])
        self.stdout.write(f"兜底 Doudi 正在运行: http://{o['host']}:{o['port']}/  (Ctrl+C 停止)")
        try:
            serve(application, host=o["host"], port=o["port"], threads=o["threads"],
                  ident="doudi")
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=10)
