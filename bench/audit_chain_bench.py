"""What the audit log's hash chain costs writers (doudi/audit/chain.py): rows inserted unsealed
and sealed after commit.

    taskset -c 0,1 .venv/bin/python bench/audit_chain_bench.py                  # PostgreSQL
    DATABASE_URL=sqlite taskset -c 0,1 .venv/bin/python bench/audit_chain_bench.py
    taskset -c 0,1 .venv/bin/python bench/audit_chain_bench.py --n 2000 --hold 2 # to debug

Database: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/doudi_seal_bench) must name
a scratch PostgreSQL database whose name contains "bench": it is dropped and created at the
start and dropped at the end (unless --keep). `DATABASE_URL=sqlite` uses a SQLite file under
a temporary DOUDI_HOME. Django is set up by this script with a temporary DOUDI_HOME.

Figures (never asserted; a loaded machine shows in them, so repeat a noisy run):
1. --n `services.record` calls, each in its own transaction (each commit seals its row):
   seconds and rows per second.
2. --n calls in one transaction: the inserts, then the commit with its one seal of all rows.
3. `chain.verify` over everything written.
4. Blocking: one thread opens a transaction, writes an audit row and keeps it open for --hold
   seconds; meanwhile another thread runs short audited transactions (one `record` each,
   committed) one after another; their latency p50 / p95 / max and how many ran. With the
   chain sealed after commit, PostgreSQL does not make them wait; SQLite has one writer at a
   time whatever the audit log does, so there they wait for the long transaction.

Run against another checkout's src (PYTHONPATH=that/src) to compare designs: a chain without
`seal_pending` is simply not sealed separately.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import source_state  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/doudi_seal_bench"


def _admin(url: str) -> tuple[str, str]:
    name = urlparse(url).path.lstrip("/")
    if "bench" not in name:
        raise SystemExit("DATABASE_URL must name a scratch database whose name contains bench")
    return name, urlparse(url)._replace(path="/postgres").geturl()


def _pg(url: str, drop_only: bool = False) -> None:
    import psycopg

    name, admin = _admin(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def _setup(url: str) -> None:
    home = tempfile.mkdtemp(prefix="doudi-audit-bench-")
    os.environ["DOUDI_HOME"] = home
    os.environ.setdefault("DOUDI_KEY_FILE", os.path.join(home, "doudi.keys"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "doudi.settings"
    if url == "sqlite":
        os.environ.pop("DATABASE_URL", None)
        os.environ["DOUDI_SQLITE"] = os.path.join(home, "bench.sqlite3")
    else:
        os.environ["DATABASE_URL"] = url
        _pg(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _seal_all() -> None:
    from doudi.audit import chain

    seal = getattr(chain, "seal_pending", None)
    if seal is not None:
        seal()


def each_in_own_transaction(n: int) -> float:
    from django.db import transaction

    from doudi.audit import services
    from doudi.audit.models import AuditEvent

    start = time.perf_counter()
    for i in range(n):
        with transaction.atomic():
            services.record(AuditEvent.VIEW, object_type="bench", object_id=i,
                            object_label=f"own {i}")
    return time.perf_counter() - start


def all_in_one_transaction(n: int) -> tuple[float, float]:
    """(seconds of the inserts, seconds of the commit including its seal)."""
    from django.db import transaction

    from doudi.audit import services
    from doudi.audit.models import AuditEvent

    start = time.perf_counter()
    atomic = transaction.atomic()
    atomic.__enter__()
    try:
        for i in range(n):
            services.record(AuditEvent.VIEW, object_type="bench", object_id=i,
                            object_label=f"one {i}")
        inserted = time.perf_counter()
    finally:
        atomic.__exit__(None, None, None)  # commit; the seal runs in on_commit
    return inserted - start, time.perf_counter() - inserted


def blocking(hold: float) -> tuple[list[float], float]:
    """Latencies of short audited transactions while another holds audited writes open."""
    from django.db import connections, transaction

    from doudi.audit import services
    from doudi.audit.models import AuditEvent

    written, done = threading.Event(), threading.Event()
    latencies: list[float] = []
    errors: list[BaseException] = []

    def long_transaction() -> None:
        try:
            with transaction.atomic():
                services.record(AuditEvent.IMPORT, object_label="long transaction")
                written.set()
                time.sleep(hold)
        except BaseException as exc:  # reported below
            errors.append(exc)
            written.set()
        finally:
            done.set()
            connections.close_all()

    def short_transactions() -> None:
        try:
            while not done.is_set():
                started = time.perf_counter()
                with transaction.atomic():
                    services.record(AuditEvent.VIEW, object_label="short transaction")
                latencies.append(time.perf_counter() - started)
                time.sleep(0.05)  # a user's next click, not a tight loop
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    long_thread = threading.Thread(target=long_transaction)
    long_thread.start()
    written.wait()
    began = time.perf_counter()
    short_thread = threading.Thread(target=short_transactions)
    short_thread.start()
    long_thread.join()
    short_thread.join()
    if errors:
        raise SystemExit(f"blocking scenario failed: {errors!r}")
    return latencies, time.perf_counter() - began


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--hold", type=float, default=5.0,
                        help="seconds the long transaction keeps its audited write open")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{source_state()}  cpus {cpus}  load {load:.2f}  "
          f"database {'sqlite' if url == 'sqlite' else _admin(url)[0]}", flush=True)
    _setup(url)
    try:
        from doudi.audit import chain
        from doudi.audit.models import AuditEvent

        print(f"sealed after commit: {hasattr(chain, 'seal_pending')}")
        seconds = each_in_own_transaction(args.n)
        print(f"{args.n:,} records, each in its own transaction  {seconds:8.2f} s  "
              f"{args.n / seconds:8.0f} rows/s", flush=True)
        inserts, commit = all_in_one_transaction(args.n)
        print(f"{args.n:,} records in one transaction       inserts {inserts:8.2f} s  "
              f"commit+seal {commit:6.2f} s  {args.n / (inserts + commit):8.0f} rows/s",
              flush=True)
        _seal_all()
        start = time.perf_counter()
        result = chain.verify(AuditEvent)
        print(f"verify {result.checked:,} rows  {time.perf_counter() - start:8.2f} s  "
              f"ok {result.ok}", flush=True)
        latencies, span = blocking(args.hold)
        ms = sorted(x * 1000 for x in latencies)
        p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
        print(f"blocking: {len(ms)} short audited transactions during a {args.hold:.1f} s "
              f"open transaction ({span:.1f} s): p50 {statistics.median(ms):.1f} ms  "
              f"p95 {p95:.1f} ms  max {ms[-1]:.1f} ms", flush=True)
        _seal_all()
        result = chain.verify(AuditEvent)
        print(f"chain after the run: {result.checked:,} rows, ok {result.ok}")
    finally:
        from django.db import connections

        connections.close_all()
        if url != "sqlite" and not args.keep:
            _pg(url, drop_only=True)


if __name__ == "__main__":
    main()
