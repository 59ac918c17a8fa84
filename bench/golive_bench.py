"""How long a district takes to go live (上线迁移): the old system's caseload planned (dry run)
and imported (real run), its last roster imported and reconciled, on a synthetic district
exported by `doudi.synth.old_system` (one row per member, merged two-row header).

    taskset -c 0,1 .venv/bin/python bench/golive_bench.py                      # 20,000 households
    taskset -c 0,1 .venv/bin/python bench/golive_bench.py --households 5000 --format xlsx

Setup (not the figure): Django on a fresh SQLite file under a temporary DOUDI_HOME (or a
scratch PostgreSQL database doudi_bench… named by DATABASE_URL, dropped and created),
`migrate`, the division tree of the area's county, the synthetic district and its export.
Figures: each step's wall time, with the households, persons and rows it handled.
Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import tempfile
import time
from pathlib import Path

from _common import recreate_postgres_database, source_state


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--area", default="341002")
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--today", default="2026-11-23")
    parser.add_argument("--format", choices=("csv", "xlsx", "xls"), default="csv")
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="doudi-golive-bench-"))
    os.environ["DOUDI_HOME"] = str(home)
    for name in ("DOUDI_SQLITE", "DOUDI_EXCHANGE_DIR"):
        os.environ.pop(name, None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "doudi.settings"
    if os.environ.get("DATABASE_URL"):
        recreate_postgres_database(os.environ["DATABASE_URL"])
    try:
        run(args, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def run(args: argparse.Namespace, home: Path) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from doudi.audit import context
    from doudi.golive import caseload, reconcile
    from doudi.synth import district, old_system

    call_command("migrate", verbosity=0)
    call_command("areas", "shipped", "all", verbosity=0)
    context.bind(context.Actor(user_id=None, username="bench", job="golive_bench"))
    today = dt.date.fromisoformat(args.today)
    print(f"date {dt.datetime.now():%Y-%m-%d %H:%M}  area {args.area}  households "
          f"{args.households:,}  format {args.format}  db {connection.vendor}")
    print(f"source {source_state()}")
    t0 = time.perf_counter()
    town = district.build(args.area, args.households, args.seed, today)
    done = old_system.export(town, seed=args.seed, out_dir=home / "old",
                             month=today.replace(day=1), formats=(args.format,))
    print(f"setup: district and export {time.perf_counter() - t0:.1f} s — "
          f"{done.households.height:,} covered households, {done.members.height:,} members")
    path = done.paths["caseload"][args.format]
    files = [(path.name, path.read_bytes())]

    def timed(label: str, fn):
        start = time.perf_counter()
        result = fn()
        print(f"{label:<28} {time.perf_counter() - start:8.2f} s", flush=True)
        return result

    plan = timed("plan (dry run)", lambda: caseload.plan(files, district_code=args.area,
                                                         day=today))
    assert plan.ok, plan.sources.report_frame().head(5).to_dicts()
    timed("record the dry run", lambda: caseload.record_dry_run(plan, by=None))
    timed("plan + apply (real run)", lambda: caseload.apply(
        caseload.plan(files, district_code=args.area, day=today), by=None))
    timed("re-import (无变化)", lambda: caseload.apply(
        caseload.plan(files, district_code=args.area, day=today), by=None))
    roster = done.paths["roster"][args.format]
    timed("import the last roster", lambda: reconcile.import_roster(
        roster.name, roster.read_bytes(), district_code=args.area, by=None))
    made = timed("reconcile", lambda: reconcile.reconcile(district_code=args.area, by=None,
                                                         day=today))
    print(f"households {plan.counts()['households']:,}  persons {plan.counts()['persons']:,}  "
          f"differences {len(made.differences)} (planted {len(done.plants)})")
    planted = {n for n, _ in done.plants}
    for d in made.differences:
        if d["legacy_number"] not in planted:
            print(f"  not planted: {d['legacy_number']} {d['programme']} {d['label']} "
                  f"{d['recorded']} / {d['other']} {d.get('reason', '')}")


if __name__ == "__main__":
    main()
