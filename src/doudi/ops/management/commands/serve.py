"""doudi serve [--host H] [--port P] [--threads N] [--no-worker] — the production WSGI server
(waitress, pure Python, so the same command runs on a district's Windows laptop and on Linux),
with a background-job worker (`doudi db_worker`, django-tasks) beside it for imports and
monitoring runs.

The server keeps its worker running: before each worker start (and again when a worker died,
e.g. killed) it recovers what a dead worker left (`recover`) — django-tasks would show its task
as running for ever — then starts a new one. The worker ends with the server
(`doudi.ops.worker`), so a killed server leaves no worker behind to race the next one.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading

from django.core.management.base import BaseCommand, CommandParser
from django.db import connections
from django.utils import timezone

log = logging.getLogger(__name__)
RESTART_DELAY = 2.0  # seconds between a worker's death and its successor


class WorkerLost(Exception):
    """The worker process running a task ended before the task did."""


def recover() -> dict[str, int]:
    """What a dead worker left, while no worker runs: its task rows (django-tasks leaves them
    "running" for ever) are failed; a monitoring run it was doing, which stored nothing, is
    marked failed; an import it was doing, which stored nothing, is queued again from its kept
    upload."""
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from doudi.exchange.jobs import resume_abandoned
    from doudi.monitoring.jobs import fail_abandoned

    tasks = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).update(
        status=TaskResultStatus.FAILED, finished_at=timezone.now(),
        exception_class_path=f"{__name__}.WorkerLost", traceback="后台任务进程在运行中被终止")
    return {"tasks": tasks, "monitoring_runs": fail_abandoned(), "imports": resume_abandoned()}


class Worker:
    """The worker process, started again whenever it dies while the server runs."""

    def __init__(self, stdout) -> None:  # noqa: ANN001
        self.stdout = stdout
        self.stopping = threading.Event()
        self.proc: subprocess.Popen | None = None
        self.lock = threading.Lock()

    def start(self) -> None:
        self._recover()
        self._spawn()
        threading.Thread(target=self._watch, name="doudi-worker", daemon=True).start()

    def _recover(self) -> None:
        try:
            found = recover()
        finally:
            connections.close_all()
        if any(found.values()):
            self.stdout.write(
                f"上次后台任务进程中断：中断的任务 {found['tasks']} 个，监测比对标记为失败 "
                f"{found['monitoring_runs']} 次，导入重新排队 {found['imports']} 个")

    def _spawn(self) -> None:
        with self.lock:
            if not self.stopping.is_set():
                # stdin is a pipe only this server holds: the worker ends when the server does
                self.proc = subprocess.Popen([sys.executable, "-m", "doudi.ops.worker"],
                                             stdin=subprocess.PIPE)

    def _watch(self) -> None:
        while not self.stopping.is_set():
            proc = self.proc
            if proc is None:
                return
            code = proc.wait()
            if self.stopping.wait(RESTART_DELAY):
                return
            self.stdout.write(f"后台任务进程已退出（代码 {code}），正在重新启动")
            try:
                self._recover()
            except Exception:  # the database away for a moment: try again after the delay
                log.exception("recovering after the worker's exit failed")
                continue
            self._spawn()

    def stop(self) -> None:
        with self.lock:
            self.stopping.set()
            proc = self.proc
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()  # cut short, its job stores nothing and is recovered next start


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
            worker = Worker(self.stdout)
            worker.start()
        self.stdout.write(f"兜底 Doudi 正在运行: http://{o['host']}:{o['port']}/  (Ctrl+C 停止)")
        try:
            serve(application, host=o["host"], port=o["port"], threads=o["threads"],
                  ident="doudi")
        finally:
            if worker is not None:
                worker.stop()
