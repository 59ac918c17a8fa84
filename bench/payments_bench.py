"""How long a month's payment roster (发放花名册) and its bank file take for a district with a
million enrollments: `doudi.benefits.services.build_run`, `approve_run`, and
`doudi.benefits.bank_files.bank_file`.

    taskset -c 0,1 .venv/bin/python bench/payments_bench.py                        # 1M, one month
    taskset -c 0,1 .venv/bin/python bench/payments_bench.py --enrollments 20000    # to debug
    taskset -c 0,1 .venv/bin/python bench/payments_bench.py --months 2             # + next month
    taskset -c 0,1 .venv/bin/python bench/payments_bench.py --months 24 --bank-result  # 2 years
    taskset -c 0,1 .venv/bin/python bench/payments_bench.py --enrollments 100000 --bank-result
    taskset -c 0,1 .venv/bin/python bench/payments_bench.py --keep       # keep the database …
    taskset -c 0,1 .venv/bin/python bench/payments_bench.py --reuse      # … and skip the setup
    DATABASE_URL=sqlite .venv/bin/python bench/payments_bench.py --enrollments 20000  # SQLite

The issue's target: 1M enrollments, building a month's roster and its bank file ≤ 60 s on
2 cores with PostgreSQL.

Database: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/doudi_bench_payments) must
name a scratch PostgreSQL database called doudi_bench…: it is dropped and created at the start
and dropped at the end (unless --keep or --reuse). `DATABASE_URL=sqlite` uses a SQLite file under
the temporary DOUDI_HOME instead. Django is set up by this script with a temporary DOUDI_HOME.

Setup (timed apart, not the figure): `migrate` (which loads the shipped parameters:
benefits.start_rule "none", stop_rule "full"), `areas shipped all`, an officer (district_officer,
the maker) and an approver (district_approver, the checker) at --area, then by COPY (PostgreSQL)
or executemany (SQLite), with explicit ids and the sequences reset afterwards, then ANALYZE:
households (one per --per-household enrollments, in random villages under --area; no persons or
memberships), the enrollments (programme mix mostly 低保, 300–1,199 yuan a month, start dates
spread from 2019-01-01 to the end of the first built month, 40 % on a 1st, a payee name and a
19-digit account) and one "start" event each; --increase-share of those started before 1 July
of the month's year get a second "increase" event (+5 %) dated that 1 July (a 15 July for one in
ten of them), as a standard rise does. No stops: every enrollment is owed something.

Figures, per built month (--months K builds K consecutive months from --month, each approved,
its bank file written and, with --bank-result, answered, so the months are settled as a
district's are; the k-th month has the k−1 before it behind it, so comparing the first and the
last shows whether the roster's cost grows with history — with carried balances (结转余额,
`doudi.benefits.settlement`) it should not. With more than two months the table shows the
first and the last side by side, and each month gets one progress line): seconds of
`build_run`, `approve_run` and `bank_file` (default layout), lines, total yuan, lines per second,
the bank file's size, the peak RSS during each step (VmHWM, reset before it through
/proc/self/clear_refs) and CPU seconds during each step: this process's, its PostgreSQL
backend's, the other postgres processes' (WAL writer, checkpointer, autovacuum) and every other
process's (from /proc; many of the last mean a noisy run, to be repeated). With --bank-result,
the bank's answer (all 成功 but --fail-share 失败) is read back by `bank_result` and timed too;
the lines it fails are owed again in the next month.

Inside each call, unchanged code is timed by wrapping what it calls for the duration of the
call: `services.periods`, `settlement.openings` (the carried balances read),
`settlement.paid_lines` (the lines since them), `roster.roster_with_balances` (the engine),
`settlement.store` (the balances written), `PaymentRun.objects.create`,
`PaymentLine.objects.bulk_create`, `services.totals`, and every SQL statement (a Django
execute_wrapper: the time of cursor.execute, i.e. psycopg's client-side binding, the server and
the transfer of the result; compiling the query in Django and turning rows into Python objects
are outside it). The gaps between the wrapped calls are printed as what build_run does there
(e.g. "done query, its filter" = compiling and running the query of lines already in the month,
and the Polars filter). Unless --no-breakdown, after the first month the steps of `periods()`,
the engine, building the PaymentLine objects, `totals()` and the bank file's loop are timed
once more one by one, outside the services. --profile DIR writes cProfile files of the first
month's build_run and bank_file there (cProfile roughly doubles those two figures). Timings are
never asserted.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import math
import os
import re
import resource
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

from _common import (  # bench/ is on sys.path when run as a script
    database_exists,
    drop_postgres_database,
    recreate_postgres_database,
    source_state,
)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/doudi_bench_payments"
TARGET_S = 60.0
PROGRAMME_MIX = {"dibao": 0.70, "tekun": 0.08, "disability": 0.12, "edge": 0.04,
                 "child": 0.02, "single_person": 0.04}
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
            "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
            "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕梅建国建华文"
         "军志强海波春兰")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--area", default="341002", help="district (6 digits)")
    parser.add_argument("--enrollments", type=int, default=1_000_000)
    parser.add_argument("--per-household", type=int, default=1,
                        help="enrollments per household (default 1)")
    parser.add_argument("--increase-share", type=float, default=0.3,
                        help="share of enrollments with a mid-year 'increase' event")
    parser.add_argument("--month", default="2026-12-01", help="the first month built")
    parser.add_argument("--months", type=int, default=1, help="consecutive months to build")
    parser.add_argument("--layout", default="default", help="bank file layout")
    parser.add_argument("--bank-result", action="store_true",
                        help="also read a bank answer back with bank_result (slow)")
    parser.add_argument("--fail-share", type=float, default=0.01,
                        help="share of lines the bank answer fails (with --bank-result)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the database a --keep run left when it matches (implies "
                             "--keep); its payment runs are deleted first")
    parser.add_argument("--no-breakdown", action="store_true")
    parser.add_argument("--profile", default=None, metavar="DIR",
                        help="write cProfile files of build_run and bank_file into DIR")
    args = parser.parse_args(argv)
    if args.months < 1 or args.enrollments < 1 or args.per_household < 1:
        parser.error("--months, --enrollments and --per-household must be at least 1")

    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    keep = args.keep or args.reuse
    # a kept database keeps its key file: its accounts are encrypted with it
    home = (Path(tempfile.gettempdir()) / "doudi-payments-bench" if keep
            else Path(tempfile.mkdtemp(prefix="doudi-pb-")))
    home.mkdir(exist_ok=True)
    os.environ["DOUDI_HOME"] = str(home)
    for name in ("DOUDI_SQLITE", "DOUDI_EXCHANGE_DIR"):
        os.environ.pop(name, None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "doudi.settings"
    postgres = url != "sqlite"
    if postgres:
        os.environ["DATABASE_URL"] = url
        fresh = not (args.reuse and database_exists(url))
        if fresh:
            recreate_postgres_database(url)
    else:
        os.environ.pop("DATABASE_URL", None)
        fresh = True
    try:
        run(args, fresh)
    finally:
        from django.db import connections

        connections.close_all()
        if postgres and not keep:
            drop_postgres_database(url)
        if not keep:
            import shutil

            shutil.rmtree(home, ignore_errors=True)


def run(args: argparse.Namespace, fresh: bool) -> None:
    import django

    started = time.perf_counter()
    django.setup()
    import polars as pl
    from django.core.management import call_command
    from django.db import connection

    from doudi.benefits.models import Enrollment, PaymentLine, PaymentRun
    from doudi.engine.payments.roster import months_between

    setup: dict[str, float] = {}
    call_command("migrate", verbosity=0)
    setup["django + migrate"] = time.perf_counter() - started
    first_month = dt.date.fromisoformat(args.month).replace(day=1)
    months = months_between(first_month, next_month_n(first_month, args.months - 1))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    db = connection.vendor
    if db == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            db += " " + cursor.fetchone()[0]
    print(f"date {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC  area {args.area}  enrollments "
          f"{args.enrollments:,}  per household {args.per_household}  increase share "
          f"{args.increase_share}  months {months[0]:%Y-%m}…{months[-1]:%Y-%m}  seed "
          f"{args.seed}  cpus {cpus}  POLARS_MAX_THREADS {pl.thread_pool_size()}  polars "
          f"{pl.__version__}  django {django.__version__}  python "
          f"{sys.version.split()[0]}  db {db}", flush=True)
    print(f"source {source_state()}")

    stamp = (f"{args.area} {args.enrollments} {args.per_household} {args.increase_share} "
             f"{first_month} {args.seed}")
    reuse = not fresh and read_stamp() == stamp and Enrollment.objects.exists()
    if reuse:
        t0 = time.perf_counter()
        with connection.cursor() as cursor:  # forget the runs a previous run built
            cursor.execute("TRUNCATE benefits_paymentline, benefits_paymentrun, "
                           "benefits_settledbalance")
        officer, approver = users(args.area, create=False)
        counts = {"households": -1, "enrollments": Enrollment.objects.count(), "events": -1}
        setup["reuse: delete old runs"] = time.perf_counter() - t0
        print("reusing the kept database (old payment runs deleted)")
    else:
        if PaymentRun.objects.exists() or Enrollment.objects.exists():
            raise SystemExit("the kept database was filled with other arguments: run without "
                             "--reuse to start afresh")
        t0 = time.perf_counter()
        call_command("areas", "shipped", "all", stdout=io.StringIO())
        setup["areas shipped all"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        officer, approver = users(args.area, create=True)
        setup["two users"] = time.perf_counter() - t0
        counts = populate(args, first_month, setup)
        write_stamp(stamp)
    for step, seconds in setup.items():
        print(f"{'setup: ' + step:<34} {seconds:9.2f} s")
    for name, count in counts.items():
        if count >= 0:
            print(f"{name:<34} {count:>12,}")
    sys.stdout.flush()

    # ---- the figures ------------------------------------------------------------------------
    results: list[dict] = []
    profile_dir = Path(args.profile) if args.profile else None
    if profile_dir:
        profile_dir.mkdir(parents=True, exist_ok=True)
    for k, month in enumerate(months):
        result = one_month(args, month, officer, approver, profile_dir if k == 0 else None)
        results.append(result)
        print(f"  {month:%Y-%m}: build {result['build']['s']:.2f} s ({result['carried']:,} "
              f"carried), approve {result['approve']['s']:.2f} s, bank file "
              f"{result['bank']['s']:.2f} s"
              + (f", bank result {result['result']['s']:.2f} s" if args.bank_result else ""),
              flush=True)
        if k == 0 and not args.no_breakdown:
            breakdown(result["run"])
    # side by side: the first month and the last (every month when there are two)
    print_results([results[0], results[-1]] if len(results) > 2 else results,
                  args.bank_result)
    if len(results) > 1:
        first, last = results[0]["build"]["s"], results[-1]["build"]["s"]
        print(f"{'build_run, last month / first':<34} {last / first:9.3f}  "
              f"({(last - first) / first:+.1%})")
    print(f"{'lines in the database':<34} {PaymentLine.objects.count():>12,}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'process peak RSS':<34} {peak:9.0f} MB")


def next_month_n(month: dt.date, n: int) -> dt.date:
    y, m = divmod(month.year * 12 + month.month - 1 + n, 12)
    return dt.date(y, m + 1, 1)


# ---- setup ------------------------------------------------------------------------------------

def users(area: str, *, create: bool):
    from doudi.accounts.models import User
    from doudi.accounts.services import create_user

    if not create:
        return (User.objects.get(username="bench_officer"),
                User.objects.get(username="bench_approver"))
    officer = create_user(username="bench_officer", password="Qz7-roster-maker-4821",
                          area_code=area, roles=["district_officer"])
    approver = create_user(username="bench_approver", password="Qz7-roster-checker-9613",
                           area_code=area, roles=["district_approver"])
    return officer, approver


def populate(args: argparse.Namespace, first_month: dt.date, setup: dict) -> dict[str, int]:
    """Households, enrollments and events, written straight into the tables."""
    import numpy as np
    import polars as pl
    from django.core.management.color import no_style
    from django.db import connection, transaction
    from django.utils import timezone

    from doudi.areas.models import Area
    from doudi.benefits.models import Enrollment, EnrollmentEvent
    from doudi.core.areacode import VILLAGE
    from doudi.registry.fields import STORE
    from doudi.registry.models import Household

    t0 = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    villages = list(Area.objects.filter(code__startswith=args.area, level=VILLAGE)
                    .values_list("code", flat=True))
    if not villages:
        raise SystemExit(f"no villages under {args.area}")
    n = args.enrollments
    h = math.ceil(n / args.per_household)
    now = timezone.now().isoformat(sep=" ")
    hh_village = pl.Series("area_code", villages).gather(rng.integers(0, len(villages), h))
    households = pl.DataFrame({
        "id": np.arange(1, h + 1, dtype=np.int64),
        "number": [f"PB{args.area}{i:010d}" for i in range(1, h + 1)],
        "area_id": hh_village, "area_code": hh_village,
        "address": pl.Series([f"{i % 200 + 1}号" for i in range(h)]),
        "hukou_type": pl.Series(["rural", "urban"]).gather(rng.integers(0, 2, h)),
        "is_active": True, "created_at": now, "updated_at": now})
    household = np.arange(n, dtype=np.int64) // args.per_household  # 0-based
    codes = list(PROGRAMME_MIX)
    programme = pl.Series(codes).gather(
        rng.choice(len(codes), n, p=np.array(list(PROGRAMME_MIX.values()))))
    amount = rng.integers(300, 1200, n, dtype=np.int64) * 100
    base = dt.date(2019, 1, 1)
    last_day = next_month_n(first_month, 1) - dt.timedelta(days=1)
    offsets = rng.integers(0, (last_day - base).days + 1, n)
    start = (pl.Series("start_date", offsets, dtype=pl.Int64).cast(pl.Int32)
             + (base - dt.date(1970, 1, 1)).days).cast(pl.Date)
    on_first = rng.random(n) < 0.4
    start = pl.select(pl.when(pl.Series(on_first)).then(start.dt.truncate("1mo"))
                      .otherwise(start)).to_series().alias("start_date")
    names = (pl.Series(list(SURNAMES)).gather(rng.integers(0, len(SURNAMES), n))
             + pl.Series(list(GIVEN)).gather(rng.integers(0, len(GIVEN), n))
             + pl.Series(["", *GIVEN]).gather(rng.integers(0, len(GIVEN) + 1, n)))
    account = pl.Series(rng.integers(10**14, 10**15, n, dtype=np.int64)).cast(pl.String)
    ids = np.arange(1, n + 1, dtype=np.int64)

    def nulls(dtype):
        return pl.repeat(None, n, dtype=dtype, eager=True)

    area_code = hh_village.gather(household)
    enrollments = pl.DataFrame({
        "id": ids, "household_id": household + 1, "person_id": nulls(pl.Int64),
        "programme": programme, "part": "", "status": "active", "amount_fen": amount,
        "start_date": start,
        "end_date": nulls(pl.Date), "exit_reason": "",
        "monitor_until": nulls(pl.Date),
        "application_id": nulls(pl.Int64), "explanation": "{}",
        "payee_name": names, "bank": "徽商银行", "account_kind": "passbook",  # 一卡通: no Luhn
        "payee_person_id": nulls(pl.Int64), "payee_agent_reason": "",
        "payee_agent_id_number": STORE.ring().encrypt(""),  # no agent (deterministic token)
        # stored encrypted, as the ORM writes it (docs/key-management.md)
        "payee_account": ("6217" + account).map_elements(STORE.ring().encrypt,
                                                          return_dtype=pl.String),
        "created_at": now, "updated_at": now, "area_code": area_code})
    rise = dt.date(first_month.year if first_month.month >= 7 else first_month.year - 1, 7, 1)
    starts = pl.DataFrame({"id": ids, "enrollment_id": ids, "kind": "start",
                           "effective_date": start, "amount_fen": amount,
                           "previous_fen": nulls(pl.Int64),
                           "reason": "审批纳入", "actor_id": None, "at": now,
                           "area_code": area_code})
    pick = (rng.random(n) < args.increase_share) & (start < rise).to_numpy()
    mid = rng.random(n) < 0.1
    rises = (pl.DataFrame({"enrollment_id": ids, "amount": amount, "pick": pick,
                           "mid": mid, "area_code": area_code})
             .filter("pick")
             .select("enrollment_id", pl.lit("increase").alias("kind"),
                     pl.when("mid").then(pl.lit(rise + dt.timedelta(days=14)))
                     .otherwise(pl.lit(rise)).alias("effective_date"),
                     ((pl.col("amount") * 105 + 5000) // 10000 * 100).alias("amount_fen"),
                     pl.col("amount").alias("previous_fen"), pl.lit("低保标准提高").alias("reason"),
                     pl.lit(None, dtype=pl.Int64).alias("actor_id"), pl.lit(now).alias("at"),
                     "area_code"))
    rises = rises.with_columns(pl.int_range(n + 1, n + 1 + rises.height, dtype=pl.Int64)
                               .alias("id")).select(starts.columns)
    events = pl.concat([starts, rises], how="vertical_relaxed").with_columns(
        pl.col("actor_id").cast(pl.Int64))
    setup["generate (numpy + polars)"] = time.perf_counter() - t0

    with transaction.atomic():
        for model, frame, label in ((Household, households, "households"),
                                    (Enrollment, enrollments, "enrollments"),
                                    (EnrollmentEvent, events, "events")):
            t0 = time.perf_counter()
            insert_frame(model, frame)
            setup[f"insert {label}"] = time.perf_counter() - t0
        # the latest amount in force on the enrollment row, as change() leaves it
        t0 = time.perf_counter()
        table = Enrollment._meta.db_table
        events_table = EnrollmentEvent._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET amount_fen = e.amount_fen FROM {events_table} e "
                           f"WHERE e.enrollment_id = {table}.id AND e.kind = 'increase'")
            for sql in connection.ops.sequence_reset_sql(
                    no_style(), [Household, Enrollment, EnrollmentEvent]):
                cursor.execute(sql)
        setup["update amounts, reset sequences"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    setup["ANALYZE"] = time.perf_counter() - t0
    return {"households": households.height, "enrollments": enrollments.height,
            "events": events.height, "  of which increase": rises.height}


def insert_frame(model, frame) -> None:
    """The frame's rows into the model's table: COPY on PostgreSQL, executemany on SQLite."""
    import polars as pl
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in frame.columns)
    if connection.vendor == "postgresql":
        text = [c for c, t in frame.schema.items() if t == pl.String and frame[c].null_count() == 0]
        options = "FORMAT csv" + (f", FORCE_NOT_NULL ({', '.join(text)})" if text else "")
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            with raw.copy(f"COPY {table} ({names}) FROM STDIN ({options})") as copy:
                for start in range(0, frame.height, 200_000):
                    copy.write(frame.slice(start, 200_000).write_csv(include_header=False))
        return
    frame = frame.with_columns(pl.col(c).cast(pl.String) for c, t in frame.schema.items()
                               if t == pl.Date)
    marks = ", ".join(["%s"] * frame.width)
    with connection.cursor() as cursor:
        for start in range(0, frame.height, 50_000):
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})",
                               frame.slice(start, 50_000).rows())


def read_stamp() -> str | None:
    from django.db import connection

    with connection.cursor() as cursor:
        try:
            cursor.execute("SELECT stamp FROM payments_bench_stamp")
        except Exception:
            return None
        row = cursor.fetchone()
    return row[0] if row else None


def write_stamp(stamp: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS payments_bench_stamp (stamp text)")
        cursor.execute("DELETE FROM payments_bench_stamp")
        cursor.execute("INSERT INTO payments_bench_stamp VALUES (%s)", [stamp])


# ---- one month --------------------------------------------------------------------------------

def one_month(args: argparse.Namespace, month: dt.date, officer, approver,
              profile_dir: Path | None) -> dict:
    import csv

    from doudi.audit import context
    from doudi.benefits import bank_files, services
    from doudi.benefits.models import BankLayout

    out: dict = {"month": month}
    with context.acting(context.as_user(officer, job="payments_bench")):
        built, out["build"] = measured(
            lambda: services.build_run(by=officer, month=month, area_code=args.area),
            trace=True, profile=profile_dir and profile_dir / "build_run.prof")
    out["run"] = built.run
    out["lines"], out["total_fen"] = built.lines, built.total_fen
    out["carried"] = built.carried
    with context.acting(context.as_user(approver, job="payments_bench")):
        _, out["approve"] = measured(lambda: services.approve_run(by=approver, run=built.run),
                                     trace=True)
    with context.acting(context.as_user(officer, job="payments_bench")):
        (data, _, _), out["bank"] = measured(
            lambda: bank_files.bank_file(by=officer, run=built.run, layout=args.layout),
            trace=True, profile=profile_dir and profile_dir / "bank_file.prof")
    out["bank_bytes"] = len(data)
    out["bank_rows"] = data.count(b"\n") - 1
    if args.bank_result:
        text = data.decode(BankLayout.objects.get(code=args.layout).encoding)
        reader = csv.reader(io.StringIO(text))
        next(reader)
        answer = io.StringIO()
        writer = csv.writer(answer, lineterminator="\n")
        writer.writerow(["流水号", "结果", "失败原因"])
        every = max(1, round(1 / args.fail_share)) if args.fail_share > 0 else 0
        for i, row in enumerate(reader):
            failed = every and i % every == every - 1
            writer.writerow([row[0], "失败" if failed else "成功", "账户已销户" if failed else ""])
        del text
        payload = answer.getvalue().encode("gb18030")
        with context.acting(context.as_user(officer, job="payments_bench")):
            out["result_counts"], out["result"] = measured(
                lambda: bank_files.bank_result(by=officer, run=built.run, data=payload),
                trace=True)
    del data
    return out


class Tracer:
    """Wraps what build_run and bank_file call, for the duration of one call: the wrapped
    functions' (start, end) and every SQL statement's execute time."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float, float]] = []
        self.sql: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0])  # n, s, params

    @contextmanager
    def active(self):
        from django.db import connection

        from doudi.benefits import services, settlement
        from doudi.benefits.models import PaymentLine, PaymentRun
        from doudi.engine.payments import roster

        lines, runs = PaymentLine.objects, PaymentRun.objects  # the same instances every time
        patched = [(services, "periods"), (services, "totals"), (settlement, "openings"),
                   (settlement, "paid_lines"), (roster, "roster_with_balances"),
                   (settlement, "store"), (services, "freeze_payees"),
                   (services, "hold_unpayable")]
        saved = [(obj, name, getattr(obj, name)) for obj, name in patched]
        for obj, name, fn in saved:
            setattr(obj, name, self.wrap(name, fn))
        lines.bulk_create = self.wrap("bulk_create", lines.bulk_create)
        runs.create = self.wrap("run create", runs.create)
        try:
            with connection.execute_wrapper(self.on_sql):
                yield self
        finally:
            for obj, name, fn in saved:
                setattr(obj, name, fn)
            del lines.bulk_create, runs.create  # back to the class's methods

    def wrap(self, name: str, fn):
        def timed(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.calls.append((name, t0, time.perf_counter()))
        return timed

    def on_sql(self, execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            entry = self.sql[sql_label(sql)]
            entry[0] += 1
            entry[1] += time.perf_counter() - t0
            entry[2] += len(params) if params and not many else 0


def sql_label(sql: str) -> str:
    """'SELECT paymentline(enrollment_id,total_fen) IN(…)': the table, the columns read and
    whether it has a literal IN list."""
    verb = sql.lstrip().split(None, 1)[0].upper()
    if verb == "SELECT":
        m = re.search(r'^\s*SELECT\s+(.*?)\s+FROM\s+"?(\w+)"?', sql, re.S)
        if not m:
            return "SELECT ?"
        selected = re.sub(r'\s+AS\s+"?\w+"?', "", m.group(1))
        columns = ",".join(c.split(".")[-1].strip('" ') for c in selected.split(","))
        if len(columns) > 30:
            columns = columns[:28] + "…"
        table = m.group(2).removeprefix("benefits_")
        joins = "".join(f"⋈{j.split('_', 1)[-1]}" for j in
                        re.findall(r'\bJOIN\s+"?(\w+)"?', sql))
        where = " IN(…)" if re.search(r"\bIN \((%s|\d)", sql) else ""
        return f"SELECT {table}{joins}({columns}){where}"
    m = re.search(r'(?:INTO|UPDATE|FROM)\s+"?(\w+)"?', sql)
    return f"{verb} {m.group(1) if m else '?'}"


def measured(fn, *, trace: bool = False, profile: Path | None = None):
    import gc

    gc.collect()
    reset_peak_rss()
    tracer = Tracer()
    backend0, server0 = backend_cpu_seconds(), postgres_cpu_seconds()
    busy0, mine0 = cpu_seconds()
    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    if trace:
        with tracer.active():
            if profiler:
                profiler.enable()
            value = fn()
    else:
        value = fn()
    end = time.perf_counter()
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    busy1, mine1 = cpu_seconds()
    backend, server = backend_cpu_seconds() - backend0, postgres_cpu_seconds() - server0
    return value, {"s": end - start, "start": start, "end": end, "peak": peak_rss_mb(),
                   "cpu": mine1 - mine0, "backend": backend, "server": server - backend,
                   "others": max(0.0, busy1 - busy0 - (mine1 - mine0) - server),
                   "calls": tracer.calls, "sql": dict(tracer.sql)}


def phases(m: dict, steps: list[tuple[str, str]], tail: str) -> list[tuple[str, float]]:
    """Seconds between the wrapped calls: [(label of the gap before `call`, "call")…]."""
    at: dict[str, tuple[float, float]] = {}
    for name, t0, t1 in m["calls"]:
        at.setdefault(name, (t0, t1))
    out, clock = [], m["start"]
    for gap, name in steps:
        if name not in at:
            continue
        t0, t1 = at[name]
        out.append((gap, t0 - clock))
        out.append((name, t1 - t0))
        clock = t1
    out.append((tail, m["end"] - clock))
    return out


BUILD_STEPS = [("  rules, old run, first month (ORM)", "periods"),
               ("  (periods() → openings())", "openings"),
               ("  (openings() → paid_lines())", "paid_lines"),
               ("  (paid_lines() → engine)", "roster_with_balances"),
               ("  (engine → store())", "store"),
               ("  done query, its filter", "run create"),
               ("  PaymentLine objects (iter_rows, __init__)", "bulk_create"),
               ("  lines written (COPY; SQLite: objects freed)", "totals")]
BUILD_TAIL = "  save totals, audit, commit (deferred FKs)"
APPROVE_STEPS = [("  lock, checks, status", "freeze_payees"), ("  (gap)", "hold_unpayable")]
APPROVE_TAIL = "  audit, commit"


def print_results(results: list[dict], bank_result: bool) -> None:
    width = 14
    line = f"\n{'payments':<46}" + "".join(f"{r['month']:%Y-%m}".rjust(width) for r in results)
    print(line)
    print("-" * (len(line) - 1))

    def row(label: str, cells: list[str]) -> None:
        print(f"{label:<46}" + "".join(f"{c:>{width}}" for c in cells))

    row("lines", [f"{r['lines']:,}" for r in results])
    row("total yuan", [f"{r['total_fen'] / 100:,.0f}" for r in results])
    row("build_run s", [f"{r['build']['s']:.2f}" for r in results])
    split = [dict(phases(r["build"], BUILD_STEPS, BUILD_TAIL)) for r in results]
    for label in [x for step in BUILD_STEPS for x in step] + [BUILD_TAIL]:
        shown = label if label.startswith(" ") else f"  {label}" + ("()" if " " not in label
                                                                   else "")
        row(shown, [f"{s.get(label, float('nan')):.2f}" for s in split])
    row("approve_run s", [f"{r['approve']['s']:.2f}" for r in results])
    split = [dict(phases(r["approve"], APPROVE_STEPS, APPROVE_TAIL)) for r in results]
    for label in [x for step in APPROVE_STEPS for x in step] + [APPROVE_TAIL]:
        shown = label if label.startswith(" ") else f"  {label}()"
        row(shown, [f"{s.get(label, float('nan')):.2f}" for s in split])
    row("bank_file s", [f"{r['bank']['s']:.2f}" for r in results])
    row("bank file MB", [f"{r['bank_bytes'] / 1e6:.1f}" for r in results])
    row("bank file rows", [f"{r['bank_rows']:,}" for r in results])
    if bank_result:
        row("bank_result s", [f"{r['result']['s']:.2f}" for r in results])
        row("  paid / failed", [f"{r['result_counts']['paid']:,}/{r['result_counts']['failed']:,}"
                                for r in results])
    figure = [r["build"]["s"] + r["approve"]["s"] + r["bank"]["s"] for r in results]
    row(f"build + approve + bank file s (target {TARGET_S:.0f})", [f"{s:.2f}" for s in figure])
    row("lines/s (build + approve + bank file)",
        [f"{r['lines'] / s:,.0f}" for r, s in zip(results, figure, strict=True)])
    row("lines/s build_run", [f"{r['lines'] / r['build']['s']:,.0f}" for r in results])
    row("lines/s bank_file", [f"{r['lines'] / r['bank']['s']:,.0f}" for r in results])
    steps = ["build", "approve", "bank"] + (["result"] if bank_result else [])
    for key in steps:
        row(f"peak RSS MB, {key}", [f"{r[key]['peak']:,.0f}" for r in results])
    for key in steps:
        row(f"CPU s, {key}: this process", [f"{r[key]['cpu']:.1f}" for r in results])
        row("    its PostgreSQL backend", [f"{r[key]['backend']:.1f}" for r in results])
        row("    other postgres processes", [f"{r[key]['server']:.1f}" for r in results])
        row("    every other process", [f"{r[key]['others']:.1f}" for r in results])
    for key, title in (("build", "build_run"), ("approve", "approve_run"),
                       ("bank", "bank_file")) + (
            (("result", "bank_result"),) if bank_result else ()):
        labels = sorted({lbl for r in results for lbl in r[key]["sql"]},
                        key=lambda lbl: -max(r[key]["sql"].get(lbl, [0, 0.0])[1] for r in results))
        print(f"SQL execute inside {title}: statements × seconds (bound parameters)")
        for lbl in labels:
            cells = []
            for r in results:
                n, s, p = r[key]["sql"].get(lbl, [0, 0.0, 0])
                cells.append(f"{n}× {s:.2f} ({p:,})" if n else "-")
            print(f"  {lbl[:62]:<62}" + "".join(f"{c:>22}" for c in cells))


# ---- breakdown --------------------------------------------------------------------------------

def breakdown(run) -> None:
    """The steps of periods() and of bank_file's loop, each timed alone, outside the services."""
    import polars as pl

    from doudi.benefits import services
    from doudi.benefits.models import Enrollment, EnrollmentEvent
    from doudi.engine.payments import roster

    print("\nbreakdown (each step alone, outside the services, for the first month)")
    steps: list[tuple[str, float]] = []
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        steps.append((name, now - clock))
        clock = now

    prefix = run.area_code[:6]
    ids = list(Enrollment.objects.filter(area_code__startswith=prefix)
               .exclude(end_date__lt=run.month).values_list("id", flat=True))
    lap("enrollment ids (values_list)")
    rows = list(EnrollmentEvent.objects.filter(enrollment_id__in=ids)
                .order_by("enrollment_id", "effective_date", "id")
                .values_list("enrollment_id", "kind", "effective_date", "amount_fen"))
    lap("periods: events, ORM values_list IN(ids)")
    frame = services.periods_frame(rows)
    lap("periods: grouping into periods and the frame (services.periods_frame)")
    del rows
    paid = pl.DataFrame(schema=roster.PAID_SCHEMA)
    lines = roster.roster(frame, paid, run.month, run.month, "none", "full")
    lap("roster engine (one month, nothing paid)")
    objects = [services.PaymentLine(run=run, enrollment_id=r["enrollment_id"], month=run.month,
                                    regular_fen=r["regular_fen"], arrears_fen=r["arrears_fen"],
                                    recovery_fen=r["recovery_fen"], total_fen=r["total_fen"],
                                    area_code="341002000000")
               for r in lines.iter_rows(named=True) if r["total_fen"] > 0]
    lap("PaymentLine objects from iter_rows(named)")
    del objects
    services.totals(run)
    lap("totals(run) (values_list ⋈ enrollment)")
    count = 0
    for line in run.lines.select_related("enrollment").order_by("id"):
        count += line.total_fen > 0
    lap("bank_file: select_related iteration")
    count = 0
    for _ in run.lines.select_related("enrollment").order_by("id").iterator(chunk_size=5000):
        count += 1
    lap("  same with .iterator(5000)")
    for step, seconds in steps:
        print(f"  {step:<44} {seconds:9.2f} s")
    print(f"  ({len(ids):,} enrollments, {frame.height:,} periods, {lines.height:,} lines)")


# ---- database and measuring helpers -----------------------------------------------------------

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


def backend_cpu_seconds() -> float:
    """User + system seconds of the PostgreSQL backend serving this process's connection (it
    runs on this machine), or nan."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def postgres_cpu_seconds() -> float:
    """User + system seconds of every process called postgres on this machine (the server:
    backends, WAL writer, checkpointer, autovacuum …)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.find("(") + 1:text.rfind(")")]
        if name == "postgres":
            fields = text.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def cpu_seconds() -> tuple[float, float]:
    """(all CPUs' busy seconds from /proc/stat, this process's user + system seconds)."""
    t = os.times()
    mine = t.user + t.system + t.children_user + t.children_system
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        busy = sum(fields[:3]) + sum(fields[5:8])
        return busy / os.sysconf("SC_CLK_TCK"), mine
    except (OSError, ValueError):
        return float("nan"), mine


if __name__ == "__main__":
    main()
