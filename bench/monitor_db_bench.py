"""`doudi monitor` through the database, end to end: read the registry, the enrollments and
the department feeds, evaluate, store the warnings — what `monitoring.services.execute` does.

    taskset -c 0,1 .venv/bin/python bench/monitor_db_bench.py --households 100000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/doudi_bench_monitor \
        taskset -c 0,1 .venv/bin/python bench/monitor_db_bench.py --households 100000

Step 1 (once per --work, --households and --seed; PostgreSQL: when the scratch database
doudi_bench… does not exist yet) builds a district database through the project's own code,
as `doudi demo` does: 屯溪区's division tree, the synthetic district (`doudi.synth.cli.run`),
the registry loader and the enrolments (`doudi.synth.loader`, `load_enrolments`), and every
department feed imported from its CSV file (`exchange.imports.import_file`). Without
DATABASE_URL the database is a SQLite file under --work.

Step 2 runs the monitoring in a fresh process (earlier runs' warnings are deleted first, so
every measured run stores all of its own) and prints the time of each phase the run reports
— registry, enrollments, feeds (and reviews), evaluate, store — the number of ciphertexts
decrypted, the warnings by indicator, their digest and the peak RSS; then how long encrypting
every distinct typed ID of the feeds takes (what rows the import did not match cost). The code
measured is the `doudi` on PYTHONPATH, so the same database can be timed under two checkouts.
Timings are never asserted; docs/benchmarks.md records what a run printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import database_exists, recreate_postgres_database  # noqa: E402


def doudi_source() -> str:
    """The commit of the `doudi` package being measured (the one on PYTHONPATH)."""
    import doudi

    root = Path(doudi.__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "-C", str(root), "log", "-1", "--format=%h %s"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "src"],
                               capture_output=True, text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    return f"commit {head[:72]}" + (f", {len(dirty)} uncommitted file(s) in src/"
                                    if dirty else "")


def prepare(households: int, seed: int, home: Path) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from doudi.accounts.models import User
    from doudi.accounts.services import create_user
    from doudi.areas import importer
    from doudi.audit import context
    from doudi.core import clock
    from doudi.ops.management.commands import demo
    from doudi.policy.services import parameter_set
    from doudi.synth import cli
    from doudi.synth.load_enrolments import load_enrolments
    from doudi.synth.loader import load

    def lap(label: str, since: float) -> float:
        now = time.perf_counter()
        print(f"  {label:<40} {now - since:8.1f} s", flush=True)
        return now

    t = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    with context.job("monitor bench"):
        report = importer.load_shipped("tunxi")
        if not report.ok:
            raise SystemExit(f"areas: {report.errors[:5]}")
        create_user(username="district", password=demo.DEMO_PASSWORD,
                    area_code=demo.DEMO_DISTRICT, roles=["district_approver"])
    district = User.objects.get(username="district")
    t = lap("migrate, areas", t)
    today = clock.today()
    synth_out, inbox = settings.HOME / "synthetic", settings.FEEDS_INBOX
    built = cli.run(demo.DEMO_DISTRICT, households, seed, synth_out, today, xlsx=False,
                    parameters=parameter_set(), feeds_dir=inbox)
    t = lap("synthetic district", t)
    population = built.district.population
    with context.job("monitor bench population", user=district):
        loaded = load(population.households, population.persons, today)
        t = lap("registry load", t)
        enrolled = load_enrolments(built.district.enrolments, population.households,
                                   population.persons)
        t = lap("enrolments", t)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    with context.job("monitor bench feeds", user=district):
        rows = demo._import_feeds(inbox, district)
    t = lap("department feeds imported", t)
    meta = {"today": today.isoformat(), "households": loaded.households,
            "persons": loaded.persons, "enrollments": enrolled.enrollments, "feed_rows": rows}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    (home / "meta.json").write_text(json.dumps(meta))
    print(f"  {meta}", flush=True)


def measure(home: Path) -> None:
    import django

    django.setup()
    from django.db import connection

    from doudi.audit import context
    from doudi.core import crypto
    from doudi.monitoring import services
    from doudi.monitoring.models import MonitoringRun, Warning, WarningEvent

    meta = json.loads((home / "meta.json").read_text())
    WarningEvent.objects.all().delete()
    Warning.objects.all().delete()
    MonitoringRun.objects.all().delete()
    decrypted = 0
    original = crypto.KeyRing.decrypt

    def counted(self: crypto.KeyRing, token: str) -> str:
        nonlocal decrypted
        decrypted += 1
        return original(self, token)

    crypto.KeyRing.decrypt = counted  # type: ignore[method-assign]
    marks: list[tuple[str, float]] = []

    def progress(percent: int, phase: str) -> None:
        marks.append((phase, time.perf_counter()))

    import datetime as dt

    with context.job("monitor bench run"):
        run = services.start_run(by=None, area_code="", trigger="cli",
                                 as_of=dt.date.fromisoformat(meta["today"]))
        start = time.perf_counter()
        run = services.execute(run, progress)
        end = time.perf_counter()
    names = {"读取家庭档案": "read registry", "读取保障对象": "read enrollments",
             "读取部门数据": "read feeds, reviews", "比对与规则测算": "evaluate",
             "保存预警": "store warnings"}
    print(f"{doudi_source()}  database {connection.vendor}")
    print(f"households {meta['households']:,}  persons {meta['persons']:,}  "
          f"feed rows {meta['feed_rows']:,}  as of {meta['today']}")
    for (phase, at), (_, following) in zip(marks, [*marks[1:], ("", end)], strict=True):
        print(f"  {names.get(phase, phase):<26} {following - at:8.2f} s")
    print(f"  {'total':<26} {end - start:8.2f} s")
    print(f"ciphertexts decrypted     {decrypted:,}")
    print(f"warnings                  {sum(run.counts.values()):,} (stored {run.created:,})")
    for key, n in sorted(run.counts.items()):
        print(f"  {key:<24} {n:>10,}")
    print(f"digest {run.digest[:16]}")
    with open("/proc/self/status") as f:
        peak = next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
    print(f"peak RSS                  {peak / 1024 / 1024:8.2f} GB")
    typed_ids()


def typed_ids() -> None:
    """What the feeds' rows would cost if the import had matched none of them: every distinct
    typed ID encrypted under every key (`tokens_of`), as the run does for unmatched rows."""
    from doudi.engine.feeds.feedspec import parse_spec
    from doudi.exchange.current import current_rows
    from doudi.exchange.models import FeedType
    from doudi.registry import fields

    if not hasattr(fields, "tokens_of"):
        return  # code from before the run compared ciphertext
    typed: set[str] = set()
    for feed in FeedType.objects.all():
        field = parse_spec(feed.spec).id_field
        rows, _ = current_rows(feed)
        if field and field in rows.columns:
            typed.update(rows.get_column(field).drop_nulls().to_list())
    start = time.perf_counter()
    tokens = fields.tokens_of(typed)
    print(f"unmatched-row worst case  {len(typed):,} distinct typed IDs under "
          f"{len(fields.STORE.ring().keys)} key(s): {time.perf_counter() - start:.2f} s "
          f"({len(tokens):,} tokens)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", default="/tmp/doudi-monitor-db-bench")
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    label = "postgres" if url else "sqlite"
    home = Path(args.work) / f"{label}-{args.households}-{args.seed}"
    os.environ["DOUDI_HOME"] = str(home)
    os.environ["DJANGO_SETTINGS_MODULE"] = "doudi.settings"
    if not url:
        os.environ["DOUDI_SQLITE"] = str(home / "district.sqlite3")
    if args.measure_only:
        measure(home)
        return
    ready = (home / "meta.json").exists() and (database_exists(url) if url else True)
    if not ready:
        print(f"building the district database ({args.households:,} households)", flush=True)
        home.mkdir(parents=True, exist_ok=True)
        if url:
            recreate_postgres_database(url)
        else:
            (home / "district.sqlite3").unlink(missing_ok=True)
        prepare(args.households, args.seed, home)
    subprocess.run([sys.executable, __file__, "--measure-only", "--work", args.work,
                    "--households", str(args.households), "--seed", str(args.seed)],
                   check=True)


if __name__ == "__main__":
    main()
