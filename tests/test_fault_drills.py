"""Fault drills: real `doudi` processes killed with SIGKILL, or their PostgreSQL connections
terminated, in the middle of an import, a monitoring run and a payment run (building the roster,
settling the bank's answer), in the command-line, the web server and its background worker;
then started again. Every job either completes or leaves nothing, a rerun gives what an
uninterrupted run gives, and nothing is stored or paid twice.

The drills run on the database the suite runs on: a SQLite file, or, with DATABASE_URL set to
PostgreSQL, databases of their own beside it (`<name>_drill_tpl_<pid>`, `<name>_drill_<pid>`),
made from a small demo district built once for the module.

A drill stops a process at an exact point with a start-up hook (`sitecustomize`, written to a
temporary directory and put on PYTHONPATH, so no test code lives in Doudi itself): with
DOUDI_FAULT_AT set, the first SQL statement matching it, in any process, runs and the process
then reports itself (DOUDI_FAULT_DIR/fired: its pid and its database backend's pid) and waits
there until DOUDI_FAULT_DIR/go appears — killed meanwhile, or left to find its connection gone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import polars as pl
import pytest

from doudi.core import idnumber

pytestmark = pytest.mark.database  # the drills' processes open the suite's database
URL = os.environ.get("DATABASE_URL", "")
PG = URL.startswith(("postgres://", "postgresql://"))
HOUSEHOLDS = 600
VEHICLES = 5_000
TIMEOUT = 120
AUDIT = 'INSERT INTO "audit_auditevent"'  # a payment step's last statement before it commits
FAULTS = ["kill", pytest.param("terminate", marks=pytest.mark.skipif(
    not PG, reason="a database connection to terminate is PostgreSQL's"))]
# A job's process killed or its connection terminated: to PostgreSQL both are a connection gone
# mid-transaction, which it rolls back; the command-line drills cut the connection there, the
# harsher case for the process (it carries on and must fail cleanly), and SIGKILL on SQLite.
CLI_FAULTS = ["terminate"] if PG else ["kill"]

HOOK = '''\
import os

if os.environ.get("DOUDI_FAULT_AT"):
    import re
    import time

    from django.db.backends.signals import connection_created

    _AT = re.compile(os.environ["DOUDI_FAULT_AT"])
    _DIR = os.environ["DOUDI_FAULT_DIR"]

    def _fault(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not _AT.search(sql):
            return result
        try:
            claim = os.open(os.path.join(_DIR, "claimed"), os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            return result  # once, in whichever process gets there first
        os.close(claim)
        raw = context["connection"].connection
        backend = getattr(getattr(raw, "info", None), "backend_pid", 0)
        with open(os.path.join(_DIR, "fired.tmp"), "w") as f:
            f.write(f"{os.getpid()} {backend}")
        os.replace(os.path.join(_DIR, "fired.tmp"), os.path.join(_DIR, "fired"))
        deadline = time.monotonic() + 300
        while not os.path.exists(os.path.join(_DIR, "go")) and time.monotonic() < deadline:
            time.sleep(0.05)
        return result

    def _install(sender, connection, **kwargs):
        if _fault not in connection.execute_wrappers:
            connection.execute_wrappers.append(_fault)

    connection_created.connect(_install, weak=False)
'''

SETUP = '''
import csv, datetime, io, json, os
from django.core.management import call_command
from django.db import transaction
call_command("migrate", verbosity=0, interactive=False)
from doudi.ops.management.commands.demo import Command as Demo
Demo()._build({households}, 1)
from doudi.accounts.models import ApiToken, User
from doudi.accounts.services import create_user
from doudi.audit import context
from doudi.benefits import bank_files, services as benefits
from doudi.benefits.models import PaymentRun
from doudi.monitoring.models import MonitoringRun, Warning
district = User.objects.get(username="district")
with context.job("fault drill setup", user=district):
    checker = create_user(username="checker", password="Fault-drill-2026!x",
                          area_code="341002", roles=["district_approver"])
    run = PaymentRun.objects.get(status=PaymentRun.DRAFT)
    benefits.approve_run(by=checker, run=run, opinion="经审核，同意")
    bank_files.bank_file(by=district, run=run, layout="default")
    warnings = Warning.objects.count()
    Warning.objects.all().delete()
    MonitoringRun.objects.all().delete()
    month = run.month
    following = (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    with transaction.atomic():  # what next month's roster is, built and rolled back
        built = benefits.build_run(by=district, month=following, area_code="341002")
        reference = {{str(e): t for e, t in built.run.lines.values_list("enrollment_id",
                                                                       "total_fen")}}
        transaction.set_rollback(True)
    token = ApiToken.issue(district, hours=24)
pks = list(run.lines.order_by("id").values_list("pk", flat=True))
out = io.StringIO()
writer = csv.writer(out, lineterminator="\\n")
writer.writerow(["流水号", "结果", "失败原因"])
for n, pk in enumerate(pks):
    writer.writerow([pk, "失败", "账户已销户"] if n % 7 == 0 else [pk, "成功", ""])
open(os.environ["DOUDI_HOME"] + "/result.csv", "w", encoding="utf-8").write(out.getvalue())
print("RESULT " + json.dumps({{"warnings": warnings, "run": run.pk, "month": str(month),
                              "following": str(following), "reference": reference,
                              "token": token, "lines": len(pks)}}))
'''

BUILD = '''
import datetime as dt
from doudi.accounts.models import User
from doudi.audit import context
from doudi.benefits.services import build_run
district = User.objects.get(username="district")
with context.job("fault drill", user=district):
    built = build_run(by=district, month=dt.date.fromisoformat("{month}"), area_code="341002")
print("RESULT", built.run.pk, built.lines)
'''

SETTLE = '''
import os
from doudi.accounts.models import User
from doudi.audit import context
from doudi.benefits.bank_files import bank_result
from doudi.benefits.models import PaymentRun
from doudi.benefits.services import BenefitsError
district = User.objects.get(username="district")
data = open(os.environ["DOUDI_HOME"] + "/result.csv", "rb").read()
with context.job("fault drill", user=district):
    try:
        counts = bank_result(by=district, run=PaymentRun.objects.get(pk={run}), data=data)
    except BenefitsError as exc:
        print("REFUSED", exc)
    else:
        print("RESULT", counts["paid"], counts["failed"])
'''

MONITOR_TASK = '''
from doudi.monitoring import jobs, services
run = services.start_run(by=None, area_code="", trigger="ui")
jobs.run_monitoring_job.enqueue(run.pk)
print("RESULT", run.pk)
'''


# -- the database and the processes --------------------------------------------------------------

class Database:
    """The drill's database: a SQLite file in the drill's home, or a PostgreSQL database."""

    def __init__(self, name: str, home: Path) -> None:
        self.name, self.home = name, home
        if PG:
            parts = urllib.parse.urlsplit(URL)
            self.server = parts._replace(path="").geturl()
            # this run's own: two runs against one server do not meet
            self.db = f"{parts.path.lstrip('/') or 'doudi'}_{name}_{os.getpid()}"

    def env(self) -> dict[str, str]:
        return ({"DATABASE_URL": f"{self.server}/{self.db}"} if PG
                else {"DOUDI_SQLITE": str(self.home / "doudi.sqlite3")})

    def rows(self, sql: str) -> list[tuple]:
        if PG:
            import psycopg

            with psycopg.connect(f"{self.server}/{self.db}", autocommit=True) as conn:
                return [tuple(r) for r in conn.execute(sql).fetchall()]
        with sqlite3.connect(self.home / "doudi.sqlite3") as conn:
            return conn.execute(sql).fetchall()

    def one(self, sql: str):
        return self.rows(sql)[0][0]

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(f"{self.server}/postgres", autocommit=True) as conn:
            conn.execute(sql)

    def drop(self) -> None:
        if PG:
            self._admin(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')

    def create(self) -> None:
        self.drop()
        if PG:
            self._admin(f'CREATE DATABASE "{self.db}"')

    def copy(self, name: str, home: Path) -> Database:
        """A copy of this database (and of its home: the imported batches, the secret key)."""
        shutil.copytree(self.home, home, ignore=shutil.ignore_patterns("synthetic", "inbox"))
        other = Database(name, home)
        if PG:
            other.drop()
            self._admin(f'CREATE DATABASE "{other.db}" TEMPLATE "{self.db}"')
        return other

    def terminate_connections(self) -> int:
        """What a database restart or a network cut does to every process using it."""
        return self.one("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()")


def child_env(db: Database, fault: Path | None = None, at: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "DOUDI_SQLITE", "DOUDI_TASKS", "DOUDI_EXCHANGE_DIR",
                        "DOUDI_ATTACHMENTS_DIR", "DOUDI_FEEDS_INBOX", "PYTHONPATH")
           and not k.startswith("DOUDI_FAULT")}
    env.update(DOUDI_HOME=str(db.home), DJANGO_SETTINGS_MODULE="doudi.settings", **db.env())
    if fault is not None:
        env.update(PYTHONPATH=str(fault.parent / "hook"), DOUDI_FAULT_AT=at,
                   DOUDI_FAULT_DIR=str(fault))
    return env


def start(db: Database, log: str, *args: str, fault: Path | None = None,
          at: str = "") -> subprocess.Popen:
    path = db.home / f"{log}-{len(list(db.home.glob(f'{log}-*.log')))}.log"
    with open(path, "x", encoding="utf-8") as out:  # the child has its own copy
        proc = subprocess.Popen([sys.executable, "-u", "-m", "doudi.cli", *args],
                                env=child_env(db, fault, at), stdout=out,
                                stderr=subprocess.STDOUT)
    proc.log = path  # type: ignore[attr-defined]
    return proc


def printed(proc: subprocess.Popen) -> str:
    return proc.log.read_text(encoding="utf-8")  # type: ignore[attr-defined]


def finish(proc: subprocess.Popen, ok: bool = True) -> str:
    proc.wait(timeout=TIMEOUT)
    out = printed(proc)
    if ok:
        assert proc.returncode == 0, out
    return out


def run(db: Database, log: str, *args: str) -> str:
    return finish(start(db, log, *args))


def result(out: str) -> list[str]:
    line = next(ln for ln in out.splitlines() if ln.startswith(("RESULT", "REFUSED")))
    return line.split()


def fault_dir(tmp_path: Path, name: str) -> Path:
    """A fault point's directory; the hook beside it."""
    hook = tmp_path / "faults" / "hook" / "sitecustomize.py"
    if not hook.exists():
        hook.parent.mkdir(parents=True)
        hook.write_text(HOOK, encoding="utf-8")
    path = tmp_path / "faults" / name
    path.mkdir()
    return path


def fired(fault: Path, proc: subprocess.Popen | None = None) -> tuple[int, int]:
    """Wait until a process reached the fault point: (its pid, its database backend's pid)."""
    deadline = time.monotonic() + TIMEOUT
    while not (fault / "fired").exists():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"ended before the fault point:\n{printed(proc)}")
        assert time.monotonic() < deadline, "the fault point was never reached"
        time.sleep(0.05)
    pid, backend = (fault / "fired").read_text().split()
    return int(pid), int(backend)


def strike(db: Database, fault: Path, how: str, proc: subprocess.Popen | None = None) -> int:
    """At the fault point: SIGKILL the process there, or terminate the database connections
    and let it go on. Returns the pid that reached it."""
    pid, _ = fired(fault, proc)
    if how == "kill":
        os.kill(pid, signal.SIGKILL)
    else:
        assert db.terminate_connections() >= 1
    (fault / "go").touch()
    return pid


def gone(pid: int, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat") as f:  # a zombie has ended too
                if f.read().split(")")[-1].split()[0] == "Z":
                    return True
        except (ProcessLookupError, FileNotFoundError):
            return True
        time.sleep(0.1)
    return False


def until(check, what: str, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}")


# -- the demo district every drill starts from ----------------------------------------------------

@pytest.fixture(scope="module")
def template(tmp_path_factory):
    base = tmp_path_factory.mktemp("fault_drills")
    db = Database("drill_tpl", base / "template")
    db.home.mkdir()
    db.create()
    out = run(db, "setup", "shell", "-c", SETUP.format(households=HOUSEHOLDS))
    facts = json.loads(out.split("RESULT ", 1)[1].splitlines()[0])
    assert facts["warnings"] > 0 and facts["lines"] > 0 and facts["reference"], out
    if not PG:
        with sqlite3.connect(db.home / "doudi.sqlite3") as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    csv = base / "车管_机动车登记信息.csv"
    _vehicles(csv)
    facts.update(csv=csv, checksum=hashlib.sha256(csv.read_bytes()).hexdigest())
    yield db, facts
    db.drop()


@pytest.fixture
def drill(template, tmp_path):
    source, facts = template
    db = source.copy("drill", tmp_path / "home")
    yield db, facts
    db.drop()


def _vehicles(path: Path, rows: int = VEHICLES) -> None:
    """A 车管 file of valid, distinct IDs of nobody in the registry (born in another county)."""
    lines = ["号牌号码,车辆类型,机动车所有人,身份证明号码,中文品牌,初次登记日期,机动车状态"]
    born = dt.date(1950, 1, 1)
    for i in range(rows):
        id_number = idnumber.make("340102", born + dt.timedelta(days=i % 18000), 100 + i // 18000,
                                  "M" if i % 2 else "F")
        lines.append(f"皖J{i:06d},小型普通客车,测试人,{id_number},奇瑞,2020/5/6,正常")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _no_payee_twice(db: Database) -> None:
    assert db.rows("SELECT enrollment_id, month, count(*) FROM benefits_paymentline "
                   "GROUP BY enrollment_id, month HAVING count(*) > 1") == []


# -- 1. an import -------------------------------------------------------------------------------

@pytest.mark.parametrize("how", CLI_FAULTS)
def test_import_interrupted_while_storing_leaves_nothing_and_reruns_once(drill, tmp_path,
                                                                           how) -> None:
    """`doudi import` stopped inside its transaction (the batch row written, not committed)."""
    db, facts = drill
    csv, checksum = facts["csv"], facts["checksum"]
    jobs = db.one("SELECT count(*) FROM exchange_importjob")
    stored = db.home / "exchange" / "batches" / "vehicle" / f"{checksum}.parquet"
    fault = fault_dir(tmp_path, "import")
    proc = start(db, "import", "import", "vehicle", str(csv), fault=fault,
                 at='INSERT INTO "exchange_feedbatch"')
    strike(db, fault, how, proc)
    out = finish(proc, ok=False)
    assert proc.returncode != 0, out
    assert db.one(f"SELECT count(*) FROM exchange_feedbatch WHERE checksum = '{checksum}'") == 0
    assert db.one("SELECT count(*) FROM exchange_importjob") == jobs
    assert not stored.exists()

    out = run(db, "import", "import", "vehicle", str(csv))
    assert f"共 {VEHICLES} 行，导入 {VEHICLES} 行" in out
    assert db.one(f"SELECT good_rows FROM exchange_feedbatch WHERE checksum = '{checksum}'") \
        == VEHICLES
    assert pl.read_parquet(stored).height == VEHICLES
    assert [p for p in (db.home / "exchange" / "tmp").iterdir()] == []  # the dead one's swept

    out = run(db, "import", "import", "vehicle", str(csv))  # the same file again: no change
    assert "本次未作更改" in out
    assert db.one(f"SELECT count(*) FROM exchange_feedbatch WHERE checksum = '{checksum}'") == 1
    assert db.one("SELECT count(*) FROM exchange_importjob WHERE status = 'duplicate'") >= 1


# -- 2. a monitoring run ------------------------------------------------------------------------

@pytest.mark.parametrize("how", CLI_FAULTS)
def test_monitoring_interrupted_while_storing_warnings_then_a_new_run_raises_them_all(
        drill, tmp_path, how) -> None:
    db, facts = drill
    fault = fault_dir(tmp_path, "monitor")
    proc = start(db, "monitor", "monitor", fault=fault, at='INSERT INTO "monitoring_warning"')
    strike(db, fault, how, proc)
    out = finish(proc, ok=False)
    assert proc.returncode != 0, out
    assert db.one("SELECT count(*) FROM monitoring_warning") == 0
    out = run(db, "monitor", "monitor")
    assert db.one("SELECT count(*) FROM monitoring_warning") == facts["warnings"], out
    assert db.one("SELECT count(*) FROM monitoring_monitoringrun WHERE status = 'done'") == 1


# -- 3. a payment run ---------------------------------------------------------------------------

def _lines(db: Database, month: str) -> dict[str, int]:
    return {str(e): t for e, t in db.rows(
        "SELECT enrollment_id, total_fen FROM benefits_paymentline "
        f"WHERE month = '{month}' ORDER BY enrollment_id")}


@pytest.mark.parametrize("how", CLI_FAULTS)
def test_roster_interrupted_while_building_then_built_as_a_clean_build(drill, tmp_path,
                                                                         how) -> None:
    db, facts = drill
    month = facts["following"]
    build = BUILD.format(month=month)
    fault = fault_dir(tmp_path, "build")
    proc = start(db, "build", "shell", "-c", build, fault=fault, at=AUDIT)
    strike(db, fault, how, proc)
    out = finish(proc, ok=False)
    assert proc.returncode != 0, out
    assert db.one(f"SELECT count(*) FROM benefits_paymentrun WHERE month = '{month}'") == 0
    assert _lines(db, month) == {}

    run(db, "build", "shell", "-c", build)
    assert _lines(db, month) == facts["reference"]
    _no_payee_twice(db)

    # rebuilding the draft replaces it; interrupted, the draft stays as it was
    fault = fault_dir(tmp_path, "rebuild")
    proc = start(db, "build", "shell", "-c", build, fault=fault, at=AUDIT)
    strike(db, fault, how, proc)
    finish(proc, ok=False)
    assert _lines(db, month) == facts["reference"]
    assert db.one(f"SELECT count(*) FROM benefits_paymentrun WHERE month = '{month}'") == 1
    _no_payee_twice(db)


@pytest.mark.parametrize("how", CLI_FAULTS)
def test_bank_result_interrupted_while_settling_then_applied_once(drill, tmp_path, how) -> None:
    db, facts = drill
    run_id, lines = facts["run"], facts["lines"]
    failed = (lines + 6) // 7  # every 7th line from the first: 失败
    settle = SETTLE.format(run=run_id)

    def statuses() -> dict[str, int]:
        return dict(db.rows("SELECT status, count(*) FROM benefits_paymentline "
                            f"WHERE run_id = {run_id} GROUP BY status"))

    fault = fault_dir(tmp_path, "settle")
    proc = start(db, "settle", "shell", "-c", settle, fault=fault,
                 at=AUDIT)
    strike(db, fault, how, proc)
    out = finish(proc, ok=False)
    assert proc.returncode != 0, out
    assert statuses() == {"pending": lines}
    assert db.one(f"SELECT status FROM benefits_paymentrun WHERE id = {run_id}") == "exported"

    assert result(run(db, "settle", "shell", "-c", settle)) == \
        ["RESULT", str(lines - failed), str(failed)]
    assert statuses() == {"paid": lines - failed, "failed": failed}
    # the same answer again is refused and changes nothing
    assert result(run(db, "settle", "shell", "-c", settle))[0] == "REFUSED"
    assert statuses() == {"paid": lines - failed, "failed": failed}

    # next month pays what the bank returned, once, and nothing it paid
    month, following = facts["month"], facts["following"]
    run(db, "build", "shell", "-c", BUILD.format(month=following))
    returned = {str(e): t for e, t in db.rows(
        "SELECT enrollment_id, total_fen FROM benefits_paymentline "
        f"WHERE month = '{month}' AND status = 'failed'")}
    expected = {e: t + returned.get(e, 0) for e, t in facts["reference"].items()}
    expected.update({e: t for e, t in returned.items() if e not in expected})
    assert _lines(db, following) == expected
    _no_payee_twice(db)


# -- 4. the web server and its worker -----------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(db: Database, port: int, fault: Path | None = None, at: str = "") -> subprocess.Popen:
    proc = start(db, "serve", "serve", "--port", str(port), "--threads", "2", fault=fault, at=at)

    def listening() -> bool:
        if proc.poll() is not None:
            pytest.fail(printed(proc))
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    until(listening, "the server")
    return proc


def _push(port: int, token: str, path: Path) -> dict:
    boundary = "----doudi-fault-drill"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{urllib.parse.quote(path.name)}\"\r\nContent-Type: text/csv\r\n\r\n"
            ).encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/feeds/vehicle/batches", data=body, method="POST",
        headers={"Authorization": f"Bearer {token}",
                 "Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 202
        return json.load(response)


def _half_sent_upload(port: int, token: str) -> socket.socket:
    """An upload whose body is still on its way."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"POST /api/feeds/vehicle/batches HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              f"Authorization: Bearer {token}\r\nContent-Length: 1000000\r\n"
              "Content-Type: multipart/form-data; boundary=x\r\n\r\n--x\r\n".encode())
    return s


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        found |= {int(c) for c in (task / "children").read_text().split()}
    return found


@pytest.mark.parametrize("how", FAULTS)
def test_server_interrupted_during_an_import_finishes_it_once(drill, tmp_path, how) -> None:
    """An upload through the API is kept and recorded as a job at once; then, while the worker
    stores its batch, either the server is killed — its worker ends with it, and the restarted
    server's worker imports the job from the kept upload — or the database connections are
    cut — the job fails, storing nothing, the upload kept, and the same file sent again is
    imported. Either way the file is imported once."""
    db, facts = drill
    csv, checksum, port = facts["csv"], facts["checksum"], _free_port()
    fault = fault_dir(tmp_path, "serve")
    server = _serve(db, port, fault=fault, at='INSERT INTO "exchange_feedbatch"')

    def status(job: int) -> str:
        return db.one(f"SELECT status FROM exchange_importjob WHERE id = {job}")

    def batches() -> int:
        return db.one(f"SELECT count(*) FROM exchange_feedbatch WHERE checksum = '{checksum}'")

    try:
        job = _push(port, facts["token"], csv)["id"]
        worker, _ = fired(fault, server)
        assert worker in _children(server.pid)
        upload = db.home / "exchange" / db.one(
            f"SELECT upload_path FROM exchange_importjob WHERE id = {job}")
        assert upload.is_file()
        if how == "kill":
            half = _half_sent_upload(port, facts["token"])
            time.sleep(0.2)
            server.kill()  # SIGKILL of the server alone, as an OOM killer or a careless hand
            server.wait(timeout=10)
            half.close()
            assert gone(worker), "the worker outlived its server"
            (fault / "go").touch()
            assert status(job) == "running"
            assert batches() == 0
            assert upload.is_file()  # what the user sent is kept
            assert db.one("SELECT count(*) FROM django_tasks_database_dbtaskresult "
                          "WHERE status = 'RUNNING'") == 1  # django-tasks alone: for ever
            server = _serve(db, port)
            until(lambda: status(job) not in ("queued", "running"), "the import to finish")
            # the half-sent upload was never received: no job, no file (the job's is done with)
            assert db.one(f"SELECT count(*) FROM exchange_importjob WHERE id > {job}") == 0
            assert list((db.home / "exchange" / "uploads").iterdir()) == []
        else:
            strike(db, fault, how)
            until(lambda: status(job) not in ("queued", "running"), "the import to end")
            assert status(job) == "failed", printed(server)
            assert batches() == 0
            assert upload.is_file()  # kept
            job = _push(port, facts["token"], csv)["id"]  # sent again
            until(lambda: status(job) not in ("queued", "running"), "the import to finish")
            upload = db.home / "exchange" / "uploads" / "-"
        assert status(job) == "done", printed(server)
        assert db.one(f"SELECT good_rows FROM exchange_feedbatch WHERE checksum = '{checksum}'") \
            == VEHICLES
        assert not upload.exists()  # done: the upload is no longer needed
        assert db.one("SELECT count(*) FROM django_tasks_database_dbtaskresult "
                      "WHERE status IN ('RUNNING', 'READY')") == 0

        again = _push(port, facts["token"], csv)["id"]  # the same file again: no change
        until(lambda: status(again) not in ("queued", "running"), "the second push")
        assert status(again) == "duplicate"
        assert batches() == 1
    finally:
        (fault / "go").touch()
        _stop(server)


@pytest.mark.parametrize("how", FAULTS)
def test_worker_interrupted_during_a_monitoring_run_is_replaced_and_a_new_run_completes(
        drill, tmp_path, how) -> None:
    """A monitoring run started as a task (as the page starts it) while it stores its warnings:
    its worker is killed — the server starts a new one and, first, marks the run and its task
    failed — or loses its database connection — the run fails, the worker carries on. Either
    way no warning is stored, and a new run raises every one."""
    db, facts = drill
    port = _free_port()
    fault = fault_dir(tmp_path, "worker")
    server = _serve(db, port, fault=fault, at='INSERT INTO "monitoring_warning"')
    try:
        first = int(result(run(db, "task", "shell", "-c", MONITOR_TASK))[1])
        worker = strike(db, fault, how, server)
        assert gone(worker) or how == "terminate"
        until(lambda: db.one(f"SELECT status FROM monitoring_monitoringrun WHERE id = {first}")
              == "failed", "the interrupted run to be marked failed")
        if how == "kill":
            assert db.one("SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE "
                          "status = 'FAILED' AND exception_class_path LIKE '%.WorkerLost'") == 1
        assert db.one("SELECT count(*) FROM monitoring_warning") == 0
        second = int(result(run(db, "task", "shell", "-c", MONITOR_TASK))[1])
        until(lambda: db.one(f"SELECT status FROM monitoring_monitoringrun WHERE id = {second}")
              in ("done", "failed"), "the new run")
        assert db.one(f"SELECT status FROM monitoring_monitoringrun WHERE id = {second}") \
            == "done", printed(server)
        assert db.one("SELECT count(*) FROM monitoring_warning") == facts["warnings"]
        assert db.one("SELECT count(*) FROM django_tasks_database_dbtaskresult "
                      "WHERE status = 'RUNNING'") == 0
    finally:
        (fault / "go").touch()
        _stop(server)


# -- what the server recovers before a worker starts -----------------------------------------

@pytest.mark.django_db
def test_recover_fails_dead_tasks_and_queues_an_interrupted_import_once(
        shipped_feed_types, tmp_path) -> None:
    """`doudi serve`'s recovery, in process (tasks run at once here): a task row left running
    is failed; an import left running is imported again from its kept upload; one already
    interrupted once is failed instead, its upload kept."""
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from doudi.exchange import jobs, storage
    from doudi.exchange.models import FeedBatch, FeedType, ImportJob
    from doudi.monitoring.models import MonitoringRun
    from doudi.ops.management.commands.serve import recover

    feed = FeedType.objects.get(key="vehicle")
    csv = tmp_path / "车管.csv"
    _vehicles(csv, rows=3)

    def running(message: str) -> ImportJob:
        upload = storage.upload_path(csv.name)
        upload.write_bytes(csv.read_bytes())
        return ImportJob.objects.create(feed_type=feed, channel="api", file_name=csv.name,
                                        upload_path=storage.relative(upload), message=message,
                                        status=ImportJob.RUNNING, phase="比对人员")

    first, again = running(""), running(jobs.INTERRUPTED)
    run = MonitoringRun.objects.create(area_code="", trigger="ui", status=MonitoringRun.RUNNING,
                                       as_of=dt.date(2026, 11, 1))
    DBTaskResult.objects.create(status="RUNNING", args_kwargs={"args": [first.pk], "kwargs": {}},
                                task_path="doudi.exchange.jobs.run_import_job",
                                backend_name="default", run_after=timezone.now(),
                                exception_class_path="", traceback="")
    assert recover() == {"tasks": 1, "monitoring_runs": 1, "imports": 1}
    assert DBTaskResult.objects.get().status == "FAILED"
    run.refresh_from_db()
    assert run.status == MonitoringRun.FAILED
    first.refresh_from_db()
    assert first.status == ImportJob.DONE and first.upload_path == ""
    assert FeedBatch.objects.get(feed_type=feed).good_rows == 3
    again.refresh_from_db()
    assert again.status == ImportJob.FAILED and "两次" in again.message
    assert storage.absolute(again.upload_path).is_file()
    assert recover() == {"tasks": 0, "monitoring_runs": 0, "imports": 0}
