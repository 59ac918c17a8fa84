"""How fast one department file is imported (导入部门数据): read → validate → match → store, as
`doudi.exchange.imports.import_bytes` does it, for a file of about a million rows.

    taskset -c 0,1 .venv/bin/python bench/import_bench.py                  # 1M rows, CSV + Parquet
    taskset -c 0,1 .venv/bin/python bench/import_bench.py --households 20000 --rows 50000
    taskset -c 0,1 .venv/bin/python bench/import_bench.py --rows 200000 --xlsx   # Excel too (slow)
    taskset -c 0,1 .venv/bin/python bench/import_bench.py --home /tmp/ib --repeat 3  # reuse setup

Setup (timed, not the figure): Django on a fresh SQLite file under DOUDI_HOME (a temporary
directory unless --home; DATABASE_URL may name a scratch PostgreSQL database doudi_bench…,
which is dropped and created), `migrate` (which loads the shipped feed types), a synthetic
district of --households under --area built with `doudi.synth.district.build`, its persons put
into the registry, and one feed (--feed, default 医保 medical_settlement) written as the
department sends it: CSV in the layout's encoding (GB18030 for 医保) with
`doudi.synth.feeds.files.csv_bytes`, Parquet as `files.write_feed` writes it, and with --xlsx an
.xlsx through `files.write_xlsx`.

Registry: with `--loader sql` (the default) only the `registry_person` rows are inserted, by
multi-row INSERTs of 1,000 persons through Django's cursor in one transaction (about 80,000
persons a second on SQLite); no households, memberships, observations or audit rows, and
`name_initials` left blank (pinyin for a million names is slow and matching does not use it).
Every person of the district is inserted (about 2.7 per household, so the default 400,000
households give a registry of about 1.09M persons, which is what `imports.persons_frame()`
then reads in full). `--loader synth` uses the demo's
`doudi.synth.loader.load` instead (ORM bulk_create of the whole population, after
`areas shipped all`): faithful but slow (about 4,000 persons a second, so minutes for a
million), meant for small districts.

Feed rows: the district's own rows, dirt included (2 % spoiled cells and repeated rows). When
the district has fewer rows than --rows, its rows are replicated and, in copy k ≥ 1, the feed's
record key (e.g. 结算流水号) gets the suffix "-k", so copies are new settlements of the same
persons, not exact repeats; a feed whose record key is the ID is replicated as is (its copies
are then reported as duplicates). With more rows than --rows, the first --rows are kept (the
rows are in a shuffled order already).

Figures: each run of `import_bytes(feed, data, name, user=None, channel="cli", progress=…)`,
split at the progress callback into its phases — start (SHA-256 of the file, the already-
imported check, the tmp sweep), read (read_table + field_cells), validate, match (which includes
`persons_frame()` loading the registry, `match`, the error report and the counts), store (the
batch and report Parquet files and the transaction) — with the counts, rows per second and the
peak RSS during that run (VmHWM, reset before each run through /proc/self/clear_refs; the
process-wide peak is printed last), and the CPU seconds this process used against those every
other process on the machine used meanwhile (from /proc/stat): on a shared 2-core machine a run
with many "other" CPU seconds is noise and should be repeated. Between repeats the batch is
deleted so the same bytes are imported again. Unless --no-breakdown, each format's steps are then
timed once more one by one, outside `import_bytes`, to say where the time inside a phase goes.
Timings are never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import itertools
import json
import math
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import (  # bench/ is on sys.path when run as a script
    recreate_postgres_database,
    source_state,
)

FORMATS = ("csv", "parquet", "xlsx")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--area", default="341002")
    parser.add_argument("--households", type=int, default=400_000)
    parser.add_argument("--rows", type=int, default=1_000_000, help="feed rows (about)")
    parser.add_argument("--feed", default="medical_settlement")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--today", default="2026-11-23")
    parser.add_argument("--xlsx", action="store_true", help="import an .xlsx too (slow)")
    parser.add_argument("--formats", default="csv,parquet",
                        help="comma-separated, in order: csv, parquet (xlsx with --xlsx)")
    parser.add_argument("--repeat", type=int, default=1, help="imports per format")
    parser.add_argument("--loader", choices=("sql", "synth"), default="sql")
    parser.add_argument("--no-breakdown", action="store_true")
    parser.add_argument("--home", default=None,
                        help="DOUDI_HOME to use and keep (a second run with the same arguments "
                             "reuses its registry and feed files); default: a temp dir")
    args = parser.parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    if args.xlsx and "xlsx" not in formats:
        formats.append("xlsx")
    if unknown := [f for f in formats if f not in FORMATS]:
        parser.error(f"unknown format(s): {', '.join(unknown)}")

    keep = args.home is not None
    home = Path(args.home).resolve() if keep else Path(tempfile.mkdtemp(prefix="doudi-ib-"))
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DOUDI_HOME"] = str(home)
    for name in ("DOUDI_SQLITE", "DOUDI_EXCHANGE_DIR"):  # everything under the bench's home
        os.environ.pop(name, None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "doudi.settings"
    if os.environ.get("DATABASE_URL"):
        recreate_postgres_database(os.environ["DATABASE_URL"])
        keep_db = False
    else:
        keep_db = keep
    try:
        run(args, formats, home, keep_db)
    finally:
        if not keep:
            import shutil

            shutil.rmtree(home, ignore_errors=True)


def run(args: argparse.Namespace, formats: list[str], home: Path, keep_db: bool) -> None:
    import django

    started = time.perf_counter()
    django.setup()
    import polars as pl
    from django.core.management import call_command
    from django.db import connection

    from doudi.audit import context
    from doudi.exchange.models import FeedType
    from doudi.registry.models import Person
    from doudi.synth.feeds.layouts import BY_KEY

    call_command("migrate", verbosity=0)
    setup = {"django + migrate": time.perf_counter() - started}
    today = dt.date.fromisoformat(args.today)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"date {dt.datetime.now():%Y-%m-%d %H:%M}  area {args.area}  households "
          f"{args.households:,}  rows {args.rows:,}  feed {args.feed}  seed {args.seed}  "
          f"cpus {cpus}  POLARS_MAX_THREADS {pl.thread_pool_size()}  polars {pl.__version__}  "
          f"db {connection.vendor}  loader {args.loader}", flush=True)
    print(f"source {source_state()}")
    layout = BY_KEY[args.feed]
    feed_type = FeedType.objects.get(key=args.feed)
    spec = feed_type.parsed()
    context.bind(context.Actor(user_id=None, username="bench", job="import_bench"))

    # ---- setup: district, registry, feed files (reused with --home when they match) ----------
    cache = home / "import_bench"
    cache.mkdir(exist_ok=True)
    stamp = {"area": args.area, "households": args.households, "seed": args.seed,
             "today": args.today, "rows": args.rows, "feed": args.feed, "loader": args.loader}
    stamp_file = cache / "stamp.json"
    files = {"csv": cache / f"{layout.file_stem}.csv",
             "parquet": cache / f"{layout.file_stem}.parquet",
             "xlsx": cache / f"{layout.file_stem}.xlsx"}
    reuse = (keep_db and stamp_file.exists() and json.loads(stamp_file.read_text()) == stamp
             and Person.objects.exists() and files["csv"].exists()
             and files["parquet"].exists())
    if reuse:
        feed = pl.read_parquet(files["parquet"])
        persons_count = Person.objects.count()
        print(f"reusing registry ({persons_count:,} persons) and feed files in {cache}")
    else:
        if Person.objects.exists():
            raise SystemExit(f"{home} holds a registry from other arguments; use another --home")
        from doudi.synth import district

        t0 = time.perf_counter()
        built = district.build(args.area, args.households, args.seed, today)
        setup["district build"] = time.perf_counter() - t0
        if args.loader == "synth":  # the demo's loader links households to village areas
            t0 = time.perf_counter()
            call_command("areas", "shipped", "all", stdout=io.StringIO())
            setup["areas shipped all"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        persons_count = load_registry(args.loader, built.population, today)
        setup[f"registry load ({args.loader})"] = time.perf_counter() - t0
        feed = feed_rows(built.feeds[args.feed], spec, args.rows)
        del built
        stamp_file.unlink(missing_ok=True)
        for stale in files.values():
            stale.unlink(missing_ok=True)
    t0 = time.perf_counter()
    write_files(feed, layout, files, formats)
    setup["feed files"] = time.perf_counter() - t0
    if not reuse:
        stamp_file.write_text(json.dumps(stamp))
    for step, seconds in setup.items():
        print(f"{'setup: ' + step:<32} {seconds:9.2f} s")
    print(f"{'registry persons':<32} {persons_count:>11,}")
    print(f"{'feed rows written':<32} {feed.height:>11,}")
    for fmt in formats:
        print(f"{fmt + ' file':<32} {files[fmt].stat().st_size / 1e6:9.1f} MB  {files[fmt].name}")
    del feed
    sys.stdout.flush()

    # ---- the figure: import_bytes per format ---------------------------------------------------
    runs: list[tuple[str, dict]] = []
    for fmt in formats:
        data = files[fmt].read_bytes()
        for n in range(1, args.repeat + 1):
            result = time_import(feed_type, data, files[fmt].name)
            runs.append((f"{fmt}#{n}" if args.repeat > 1 else fmt, result))
            print(f"  {runs[-1][0]}: {result['total']:.2f} s", flush=True)
        del data
    print_runs(runs)
    if args.repeat > 1:
        for fmt in formats:
            totals = [r["total"] for label, r in runs if label.split("#")[0] == fmt]
            print(f"{fmt + ' total, median / best':<32} {statistics.median(totals):9.2f} / "
                  f"{min(totals):.2f} s")
    first = runs[0][1]["counts"]
    same = all(r["counts"] == first for _, r in runs)
    print(f"{'same counts in every run':<32} {'yes' if same else 'NO'}")

    if not args.no_breakdown:
        print("\nbreakdown (each step alone, outside import_bytes, one run per format)")
        for fmt in formats:
            breakdown(fmt, files[fmt], spec)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'process peak RSS':<32} {peak:9.0f} MB")


# ---- setup helpers ----------------------------------------------------------------------------

def load_registry(loader: str, population, today: dt.date) -> int:
    if loader == "synth":
        from doudi.synth.loader import load

        return load(population.households, population.persons, today).persons
    return insert_persons(population)


def insert_persons(population, chunk: int = 100_000) -> int:
    """Only `registry_person` rows, by multi-row INSERTs: what matching reads (ID, name, birth
    date) plus the columns the table requires; the rest at their defaults."""
    import polars as pl
    from django.db import connection, transaction
    from django.utils import timezone

    from doudi.registry.fields import STORE
    from doudi.registry.models import Person

    hh = population.households.select("household_id", "area_code",
                                      pl.col("hukou").alias("hukou_type"))
    people = (population.persons.join(hh, on="household_id", how="left")
              .select("id_number", "name", "sex", "birth_date", "hukou_type", "area_code"))
    # stored encrypted, as the ORM writes them (docs/key-management.md)
    encrypt = STORE.ring().encrypt
    people = people.with_columns(
        pl.col("id_number").map_elements(encrypt, return_dtype=pl.String),
        pl.col("id_number").str.slice(14).map_elements(encrypt, return_dtype=pl.String)
        .alias("id_tail"))
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    fixed = {"name_initials": "", "phone": "", "disability_category": "",
             "disability_grade": None, "serious_illness": "", "labour_capacity": "full",
             "student_status": "", "has_supporter": True, "adl_failed": 0, "death_date": None,
             "created_at": now, "updated_at": now}
    columns = list(people.columns) + list(fixed)
    table = connection.ops.quote_name(Person._meta.db_table)
    names = ", ".join(connection.ops.quote_name(Person._meta.get_field(c).column)
                      for c in columns)
    if connection.vendor == "sqlite":
        people = people.with_columns(pl.col("birth_date").dt.strftime("%Y-%m-%d"))
    tail = tuple(fixed.values())
    # SQLite allows 32,766 parameters per statement (3.32+): 19 columns × 1,000 rows.
    per_statement = 1_000
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, people.height, chunk):
            rows = [r + tail for r in people.slice(start, chunk).iter_rows()]
            for s in range(0, len(rows), per_statement):
                part = rows[s:s + per_statement]
                cursor.execute(f"INSERT INTO {table} ({names}) VALUES "
                               + ", ".join([one] * len(part)),
                               [v for r in part for v in r])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")
    return people.height


def feed_rows(rendered, spec, rows: int):
    """About `rows` rows of the rendered feed (department headers, text cells)."""
    import polars as pl

    rendered = rendered.cast(pl.String)
    if rendered.height >= rows:
        return rendered.head(rows)
    copies = math.ceil(rows / rendered.height)
    labels = {f.key: f.label for f in spec.fields}
    keys = [labels[k] for k in spec.record_key if k != spec.id_field and labels[k] in
            rendered.columns]
    parts = [rendered]
    for k in range(1, copies):
        parts.append(rendered.with_columns(pl.col(c) + pl.lit(f"-{k}") for c in keys[:1]))
    return pl.concat(parts).head(rows)


def write_files(feed, layout, files: dict[str, Path], formats: list[str]) -> None:
    from doudi.synth.feeds import files as feed_files
    from doudi.synth.writer import ROW_GROUP_SIZE

    if not files["csv"].exists():
        files["csv"].write_bytes(feed_files.csv_bytes(feed, layout.encoding))
    if not files["parquet"].exists():
        feed.write_parquet(files["parquet"], compression="zstd", compression_level=3,
                           statistics=True, row_group_size=ROW_GROUP_SIZE)
    if "xlsx" in formats and not files["xlsx"].exists():
        feed_files.write_xlsx(feed, files["xlsx"], layout.sheet)


# ---- measuring --------------------------------------------------------------------------------

def reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> tuple[float, float]:
    """(all CPUs' busy seconds from /proc/stat, this process's user + system seconds, its
    finished children's included: the Parquet reader probes a file in a child process)."""
    t = os.times()
    mine = t.user + t.system + t.children_user + t.children_system
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        # user nice system, (not idle iowait), irq softirq steal
        busy = sum(fields[:3]) + sum(fields[5:8])
        return busy / os.sysconf("SC_CLK_TCK"), mine
    except (OSError, ValueError):
        return float("nan"), mine


def forget(feed_type) -> None:
    """Delete the feed type's batches and jobs, so that a file — or another format of the same
    rows, which the importer refuses as the same content — can be imported again."""
    from doudi.exchange.models import ImportJob

    ImportJob.objects.filter(feed_type=feed_type).delete()
    feed_type.batches.all().delete()


def time_import(feed_type, data: bytes, filename: str) -> dict:
    import gc

    from doudi.exchange.imports import import_bytes

    forget(feed_type)
    gc.collect()
    reset_peak_rss()
    marks: list[tuple[int, str, float]] = []

    def progress(percent: int, phase: str) -> None:
        marks.append((percent, phase, time.perf_counter()))

    busy0, mine0 = cpu_seconds()
    start = time.perf_counter()
    out = import_bytes(feed_type, data, filename, user=None, channel="cli",
                       source="import_bench", progress=progress)
    end = time.perf_counter()
    busy1, mine1 = cpu_seconds()
    if out.status != "done":
        raise SystemExit(f"{filename}: import {out.status}: {out.message}")
    at = {p: t for p, _, t in marks}
    names = {10: "read", 35: "validate", 60: "match", 80: "store"}
    phases = {"start": at[10] - start}
    bounds = sorted(at)
    for a, b in itertools.pairwise(bounds):
        phases[names.get(a, str(a))] = at[b] - at[a]
    return {"phases": phases, "total": end - start, "counts": out.counts,
            "peak": peak_rss_mb(), "bytes": len(data), "cpu": mine1 - mine0,
            "others": max(0.0, (busy1 - busy0) - (mine1 - mine0))}


def print_runs(runs: list[tuple[str, dict]]) -> None:
    width = max(11, *(len(label) + 2 for label, _ in runs))
    line = f"\n{'import_bytes':<32}" + "".join(f"{label:>{width}}" for label, _ in runs)
    print(line)
    print("-" * (len(line) - 1))

    def row(label: str, cells: list[str]) -> None:
        print(f"{label:<32}" + "".join(f"{c:>{width}}" for c in cells))

    row("file MB", [f"{r['bytes'] / 1e6:.1f}" for _, r in runs])
    for key, label in (("rows", "rows"), ("good", "good rows"), ("errors", "error rows"),
                       ("error_cells", "error cells"), ("duplicates", "duplicates"),
                       ("matched_id", "matched by ID"), ("matched_weak", "matched name+birth"),
                       ("unmatched", "unmatched")):
        row(label, [f"{r['counts'].get(key, 0):,}" for _, r in runs])
    for phase in ("start", "read", "validate", "match", "store"):
        row(f"{phase} s", [f"{r['phases'].get(phase, float('nan')):.2f}" for _, r in runs])
    row("total s", [f"{r['total']:.2f}" for _, r in runs])
    row("rows/s", [f"{r['counts']['rows'] / r['total']:,.0f}" for _, r in runs])
    row("peak RSS MB (this run)", [f"{r['peak']:,.0f}" for _, r in runs])
    row("CPU s, this process", [f"{r['cpu']:.1f}" for _, r in runs])
    row("CPU s, other processes", [f"{r['others']:.1f}" for _, r in runs])


def breakdown(fmt: str, path: Path, spec) -> None:
    """The same steps import_bytes takes, each timed alone (one run)."""
    from doudi.engine.feeds.matching import match
    from doudi.engine.feeds.validate import validate
    from doudi.exchange import imports, readers, storage

    data = path.read_bytes()
    busy0, mine0 = cpu_seconds()
    clock = time.perf_counter()
    steps: list[tuple[str, float]] = []

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        steps.append((name, now - clock))
        clock = now

    hashlib.sha256(data).hexdigest()
    lap("sha256")
    if fmt == "csv":
        text, _ = readers.decode_text(data)
        lap("  csv: decode_text")
        utf8 = text.encode("utf-8")
        lap("  csv: re-encode as UTF-8")
        del text, utf8
        clock = time.perf_counter()
    table = readers.read_table(data, path.name, spec)
    lap("read_table")
    cells, _ = readers.field_cells(table, spec)
    lap("field_cells")
    validated = validate(cells, spec)
    lap("validate")
    persons = imports.persons_frame(imports.named_ids(validated.good, spec))
    lap("persons_frame (registry)")
    rows = match(validated.good, spec, persons)
    lap("match")
    report = imports.error_report(validated, spec)
    lap("error_report")
    tmp = storage.write_tmp(rows)
    lap("write batch Parquet")
    tmp.unlink()
    if report.height:
        tmp = storage.write_tmp(report)
        tmp.unlink()
    busy1, mine1 = cpu_seconds()
    print(f"{fmt}: {cells.height:,} rows, registry {persons.height:,} persons, "
          f"{validated.errors.height:,} error cells")
    for name, seconds in steps:
        print(f"  {name:<30} {seconds:9.2f} s")
    print(f"  {'(CPU s of other processes)':<30} {max(0.0, busy1 - busy0 - mine1 + mine0):9.1f}")


if __name__ == "__main__":
    main()
