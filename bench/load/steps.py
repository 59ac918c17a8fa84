"""The steps the load-scenario preparations share: prepare.py (one district) and
prepare_province.py (a province) build their databases with these, through the project's own
services, and time each one.

Timing: `Step` prints the wall time of a step and the CPU time spent on it by this process (all
its threads: Polars, numpy) and by its PostgreSQL backend (read from /proc: the server runs on
the same machine; parallel query workers and autovacuum are not counted). On a shared machine
the CPU seconds say more than the wall time. Steps that repeat (per city, per month) add up
under a key and `Step.summary()` prints the totals.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import recreate_postgres_database, source_state

SAMPLES_PER_AREA = 300
# the bank answers every line paid but one in 200 (账户已销户), so the failed-payments queue has
# work on the morning
FAILED_EVERY = 200


def open_database(out: Path) -> None:
    """The scratch database (DATABASE_URL, doudi_bench…) dropped and created, Django set up
    with its home in `out`/home."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("DATABASE_URL must be a scratch PostgreSQL database (doudi_bench…)")
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DOUDI_HOME", str(out / "home"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "doudi.settings"
    recreate_postgres_database(url)
    import django

    django.setup()
    print(f"source: {source_state()}", flush=True)
    Step.origin = time.perf_counter()


def _backend_cpu() -> float:
    """CPU seconds of this connection's PostgreSQL backend so far (0 when unreadable)."""
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class Step:
    """`with Step("label"):` prints `label: wall s (cpu: python s + postgres s) (at s)`;
    `key` adds the figures to a total printed by `Step.summary()`; `quiet` prints nothing."""

    origin = 0.0
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0])

    def __init__(self, label: str, key: str = "", quiet: bool = False) -> None:
        self.label, self.key, self.quiet = label, key, quiet

    def __enter__(self) -> Step:
        self.t0, self.cpu0, self.db0 = time.perf_counter(), time.process_time(), _backend_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        now = time.perf_counter()
        self.wall = now - self.t0
        self.cpu = time.process_time() - self.cpu0
        self.db = max(_backend_cpu() - self.db0, 0.0)
        if self.key:
            total = Step.totals[self.key]
            total[0] += self.wall
            total[1] += self.cpu
            total[2] += self.db
            total[3] += 1
        if not self.quiet:
            print(f"{self.label}: {self.wall:.1f} s (cpu {self.cpu:.1f} + db {self.db:.1f} s)"
                  f" (at {now - self.origin:.0f} s)", flush=True)

    @classmethod
    def summary(cls) -> None:
        print("steps (totals): wall s, python cpu s, postgres backend cpu s, times", flush=True)
        for key, (wall, cpu, db, n) in cls.totals.items():
            print(f"  {key}: {wall:.1f} s, cpu {cpu:.1f} s, db {db:.1f} s, {n}x", flush=True)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of this process {peak:,.0f} MB", flush=True)


def round_robin(lists: list[list]) -> list[list]:
    """[[a1, b1, c1], [a2, b2, c2], …]: one item of each list per row."""
    longest = max((len(x) for x in lists), default=0)
    return [[x[i] for x in lists if i < len(x)] for i in range(longest)]


def months_back(today: dt.date, count: int) -> list[dt.date]:
    """The first days of the `count` months before today's, oldest first."""
    out, month = [], today.replace(day=1)
    for _ in range(count):
        month = (month - dt.timedelta(days=1)).replace(day=1)
        out.append(month)
    return out[::-1]


def answer(run, maker, data: bytes) -> dict[str, int]:
    """The bank's answer to the bank file `data`, read through the page's service: every line
    paid but one in FAILED_EVERY (账户已销户)."""
    import csv
    import io

    from doudi.benefits import bank_files

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["流水号", "结果", "失败原因"])
    for n, row in enumerate(csv.DictReader(io.StringIO(data.decode("utf-8-sig")))):
        failed = n % FAILED_EVERY == FAILED_EVERY - 1
        writer.writerow([row["流水号"], "失败" if failed else "成功",
                         "账户已销户" if failed else ""])
    return bank_files.bank_result(by=maker, run=run, data=out.getvalue().encode("gb18030"))


def pay_month(month: dt.date, districts: Iterable[tuple[str, Any, Any]]) -> dict[str, Any]:
    """One month's payments in every (district code, maker, checker): the roster built by the
    maker, approved by the checker (双人复核), its bank file written and the bank's answer read
    back (`answer`). Returns lines, yuan, failed lines and the seconds of each of the four parts,
    summed over the districts."""
    from doudi.benefits import bank_files
    from doudi.benefits import services as benefits

    out: dict[str, Any] = defaultdict(float)
    for code, maker, checker in districts:
        t0 = time.perf_counter()
        built = benefits.build_run(by=maker, month=month, area_code=code)
        t1 = time.perf_counter()
        out["districts"] += 1
        if not built.lines:
            out["build"] += t1 - t0
            continue
        benefits.approve_run(by=checker, run=built.run, opinion="经审核，花名册无误，同意发放")
        t2 = time.perf_counter()
        data = bank_files.bank_file(by=maker, run=built.run)[0]
        t3 = time.perf_counter()
        counts = answer(built.run, maker, data)
        t4 = time.perf_counter()
        out["lines"] += built.lines
        out["yuan"] += built.total_fen / 100
        out["failed"] += counts["failed"]
        for part, seconds in (("build", t1 - t0), ("approve", t2 - t1), ("bank_file", t3 - t2),
                              ("bank_result", t4 - t3)):
            out[part] += seconds
    return dict(out)


def payment_history(months: list[dt.date], districts: list[tuple[str, Any, Any]]) -> None:
    """`pay_month` for each month, oldest first, printing a line per month."""
    for month in months:
        with Step(f"  {month:%Y-%m}", key="payments: one month", quiet=True) as step:
            done = pay_month(month, districts)
        print(f"  {month:%Y-%m}: {int(done.get('districts', 0))} districts, "
              f"{int(done.get('lines', 0)):,} lines, {done.get('yuan', 0):,.2f} yuan, "
              f"{int(done.get('failed', 0)):,} failed; {step.wall:.1f} s (cpu {step.cpu:.1f} + "
              f"db {step.db:.1f} s): build {done.get('build', 0):.1f}, approve "
              f"{done.get('approve', 0):.1f}, bank file {done.get('bank_file', 0):.1f}, "
              f"bank result {done.get('bank_result', 0):.1f} s", flush=True)


APPLICATIONS_PER_TOWN = 40


def applications(truth, today: dt.date, towns: list) -> int:
    """As the demo's applications, for each town with a town approver among `towns`: the
    应保未保 households the truth frame names, taken in by the town, at the steps before the
    decision (so the town's reviewers have work to do in the scenario)."""
    import polars as pl

    from doudi.accounts.models import User
    from doudi.casework import services, workflow
    from doudi.ops.management.commands.demo import DEMO_STEPS
    from doudi.programmes import catalogue
    from doudi.registry.models import Household, Person

    truth = truth.filter((pl.col("kind") == "uncovered_eligible")
                         & pl.col("programme").is_in(["dibao", "edge", "hardship", "tekun"]))
    approvers = {u.area.code: u for u in User.objects.filter(
        role_rows__role="town_approver", area__level=4).select_related("area")}
    opinions = {"town_opinion": "经入户调查和核对，家庭收入低于低保标准，符合条件"}
    made = 0
    for town in towns:
        actor = approvers.get(town.code)
        if actor is None:
            continue
        cases = (truth.filter(pl.col("area_code").str.starts_with(town.prefix))
                 .unique("household_number", keep="first", maintain_order=True)
                 .head(APPLICATIONS_PER_TOWN))
        for n, case in enumerate(cases.iter_rows(named=True)):
            household = Household.objects.get(number=case["household_number"])
            steps = DEMO_STEPS[n % 4]  # accepted, verification, town_review, after opinion
            day = today - dt.timedelta(days=4 + n % 20)
            programme = case["programme"]
            # a programme applied for member by member is for the person monitoring found
            app = services.create_application(
                by=actor, household=household, programme=programme, channel="warning",
                applicant=Person.objects.filter(id_number=case["id_number"]).first()
                if catalogue.get(programme).level == catalogue.MEMBER else None,
                reason=f"监测预警：符合{catalogue.label(programme)}条件，尚未纳入",
                submitted_on=day)
            for i, action in enumerate(steps):
                if app.state not in workflow.BY_ACTION[action].source:
                    continue
                day = min(today, day + dt.timedelta(days=1 + i % 3))
                data = {"members_present": "户主及家人", "living_conditions": "住房简陋"} \
                    if action == "record_visit" else {"recommendation": "eligible"}
                app = services.act(by=actor, application=app, action=action, day=day,
                                   data=data, opinion=opinions.get(action, ""))
            made += 1
    return made


def care_tasks(today: dt.date, area: str, actor) -> None:
    """The visit tasks of this month and the next for `area` (as the first-of-month job)."""
    from doudi.audit import context
    from doudi.care import services as care

    with Step("care tasks (this month and the next)"), \
            context.job("load bench care", user=actor):
        tasks = care.generate_tasks(today, area).created
        following = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        tasks += care.generate_tasks(following, area).created
    print(f"  {tasks:,} visit tasks", flush=True)


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def samples(areas: Iterable[str]) -> dict[str, list[list]]:
    """Per area (of a load account that searches): persons (name, full ID) to search for."""
    from django.db import connection

    from doudi.areas.models import Area
    from doudi.registry.fields import STORE

    out: dict[str, list[list]] = {}
    with connection.cursor() as cursor:
        for area in sorted(set(areas)):
            prefix = Area.objects.get(code=area.ljust(12, "0")).prefix
            # raw SQL reads the stored ciphertext (a stable pseudo-random order); the samples
            # are the plain IDs a user types
            cursor.execute(
                "SELECT name, id_number FROM registry_person WHERE area_code LIKE %s "
                "ORDER BY md5(id_number) LIMIT %s", [prefix + "%", SAMPLES_PER_AREA])
            out[area] = [[name, STORE.decrypt(token)] for name, token in cursor.fetchall()]
    return out


def write_accounts(out: Path, password: str, users: dict[str, list[dict]],
                   found: dict[str, list[list]]) -> None:
    """users.json and samples.json for bench/load/locustfile.py."""
    (out / "users.json").write_text(json.dumps({"password": password, **users}, indent=1))
    (out / "samples.json").write_text(json.dumps(found, ensure_ascii=False))


TABLES = ("registry_person", "registry_household", "registry_membership",
          "registry_observation", "registry_categoryassignment", "benefits_enrollment",
          "benefits_paymentline", "monitoring_warning", "care_visittask",
          "exchange_feedbatch", "casework_application", "audit_auditevent")


def sizes() -> None:
    """The database's size and the row counts of its main tables."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        print(f"database size {cursor.fetchone()[0]}", flush=True)
        for table in TABLES:
            try:
                cursor.execute(f"SELECT count(*) FROM {table}")
                print(f"  {table}: {cursor.fetchone()[0]:,} rows", flush=True)
            except Exception as exc:  # a table this release does not have
                print(f"  {table}: {exc}".splitlines()[0], flush=True)
