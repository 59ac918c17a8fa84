"""Prepare a district-sized PostgreSQL database for the working-morning load scenario
(bench/load/locustfile.py).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/doudi_bench_load \
        python bench/load/prepare.py --households 370000 --out /tmp/doudi-load-data

Everything goes through the project's own code, as `doudi demo` does it: 屯溪区's real division
tree (`areas.importer`), the synthetic district (`doudi.synth.cli.run`: population, the rules'
enrolments, the twelve department feeds with 2 % dirty rows, the planted cases), the registry
loader (`doudi.synth.loader.load`, `doudi.synth.load_enrolments`), the feeds imported
from their CSV files (`exchange.imports.import_file`), applications at every step for the
应保未保 households of every town (`casework.services`), two past months' payment rosters built,
approved and settled by a bank result file (`benefits`), one monitoring run
(`monitoring.services.execute`) and the visit tasks of this month and the next
(`care.services.generate_tasks`). Then ANALYZE.

The load accounts (password --password): 28 village assistants (va01…, one per village, spread
over the towns), 7 town officers (to01…) and 7 town approvers (ta01…), one of each per town
for the first 7 towns, 4 district officers (do01…) and 4 district approvers (da01…); the demo's
own accounts (district, town, village …) as well. `users.json` and `samples.json` in --out
tell the locustfile who logs in where and which names and IDs to search for.

The database must be a scratch one called doudi_bench… (dropped and created here).
Prints one line per step with its time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import recreate_postgres_database, source_state

VILLAGE_USERS = 28
TOWN_PAIRS = 7
DISTRICT_USERS = 4
APPLICATIONS_PER_TOWN = 40
SAMPLES_PER_VILLAGE = 300


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=370_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="/tmp/doudi-load-data")
    parser.add_argument("--password", default="Load-test-2026")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("DATABASE_URL must be a scratch PostgreSQL database (doudi_bench…)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DOUDI_HOME", str(out / "home"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "doudi.settings"
    recreate_postgres_database(url)
    import django

    django.setup()
    print(f"source: {source_state()}", flush=True)
    started = time.perf_counter()
    Step.origin = started
    prepare(args.households, args.seed, out, args.password)
    print(f"total {time.perf_counter() - started:.1f} s", flush=True)


class Step:
    origin = 0.0

    def __init__(self, label: str) -> None:
        self.label = label

    def __enter__(self) -> Step:
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        now = time.perf_counter()
        print(f"{self.label}: {now - self.t0:.1f} s (at {now - self.origin:.0f} s)", flush=True)


def prepare(households: int, seed: int, out: Path, password: str) -> None:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from doudi.accounts.models import User
    from doudi.accounts.services import create_user
    from doudi.areas import importer
    from doudi.areas.models import Area
    from doudi.audit import context
    from doudi.ops.management.commands import demo
    from doudi.policy.services import parameter_set
    from doudi.synth import cli
    from doudi.synth.load_enrolments import load_enrolments
    from doudi.synth.loader import load

    with Step("migrate"):
        call_command("migrate", verbosity=0, interactive=False)
    district_code = demo.DEMO_DISTRICT
    with Step("areas and users"), context.job("load bench"):
        report = importer.load_shipped("tunxi")
        if not report.ok:
            raise SystemExit(f"areas: {report.errors[:5]}")
        towns = list(Area.objects.filter(code__startswith=district_code, level=4)
                     .order_by("code"))
        village_of = {t.code: list(Area.objects.filter(code__startswith=t.prefix, level=5)
                                   .order_by("code")) for t in towns}
        first = village_of[demo.DEMO_TOWN.ljust(12, "0")][0]
        for username, area, roles, _ in demo.DEMO_USERS:
            create_user(username=username, password=demo.DEMO_PASSWORD,
                        area_code=area or first.code, roles=roles)
        users: dict[str, list[dict]] = {"village": [], "town": [], "district": []}
        spread = [v for row in _round_robin([village_of[t.code] for t in towns]) for v in row]
        for i, village in enumerate(spread[:VILLAGE_USERS], 1):
            name = f"va{i:02d}"
            create_user(username=name, password=password, area_code=village.code,
                        roles=["village_assistant"])
            users["village"].append({"username": name, "area": village.code})
        for i, town in enumerate(towns[:TOWN_PAIRS], 1):
            for prefix, role in (("to", "town_officer"), ("ta", "town_approver")):
                name = f"{prefix}{i:02d}"
                create_user(username=name, password=password, area_code=town.code, roles=[role])
                users["town"].append({"username": name, "area": town.code, "role": role})
        for i in range(1, DISTRICT_USERS + 1):
            for prefix, role in (("do", "district_officer"), ("da", "district_approver")):
                name = f"{prefix}{i:02d}"
                create_user(username=name, password=password, area_code=district_code,
                            roles=[role])
                users["district"].append({"username": name, "area": district_code,
                                          "role": role})
        district = User.objects.get(username="district")
    today = timezone.localdate()
    synth_out, inbox = settings.HOME / "synthetic", settings.FEEDS_INBOX
    with Step(f"synthetic district ({households:,} households, build and write Parquet/CSV)"):
        demo._clear(synth_out, inbox)
        run = cli.run(district_code, households, seed, synth_out, today, xlsx=False,
                      parameters=parameter_set(), feeds_dir=inbox)
    population = run.district.population
    with Step("registry load (doudi.synth.loader.load)"), \
            context.job("load bench synthetic population", user=district):
        loaded = load(population.households, population.persons, today)
    print(f"  {loaded.households:,} households, {loaded.persons:,} persons, "
          f"{loaded.observations:,} observations, {loaded.categories:,} categories", flush=True)
    with Step("enrolments (doudi.synth.load_enrolments.load_enrolments)"), \
            context.job("load bench synthetic population", user=district):
        enrolled = load_enrolments(run.district.enrolments, population.households,
                                   population.persons)
    print(f"  categories {enrolled.counts}, enrollments {enrolled.enrollments:,}", flush=True)
    del run, population
    with Step("ANALYZE"), connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    with Step("department feeds (CSV import of every feed)"), \
            context.job("load bench department data", user=district):
        rows = demo._import_feeds(inbox, district)
    print(f"  {rows:,} feed rows imported", flush=True)
    with Step("applications"), context.job("load bench applications", user=district):
        made = _applications(synth_out / "truth.parquet", today, towns)
    print(f"  {made} applications", flush=True)
    with Step("payment history (two months built, approved, bank file and result)"), \
            context.job("load bench payments", user=district):
        from doudi.benefits import services as benefits

        checker = User.objects.get(username="da01")
        maker = User.objects.get(username="do01")
        month = today.replace(day=1)
        for back in (2, 1):
            m = (month - dt.timedelta(days=28 * back)).replace(day=1)
            built = benefits.build_run(by=maker, month=m, area_code=district_code)
            benefits.approve_run(by=checker, run=built.run)
            counts = settle(built.run, maker)
            print(f"  {m:%Y-%m}: {built.lines:,} lines, {built.total_fen / 100:,.2f} yuan, "
                  f"bank result {counts}", flush=True)
    with Step("monitoring run"), context.job("load bench monitoring", user=district):
        from doudi.monitoring import services as monitoring

        watched = monitoring.execute(monitoring.start_run(by=district, trigger="cli"))
    print(f"  {watched.created:,} warnings", flush=True)
    with Step("care tasks (this month and the next)"), \
            context.job("load bench care", user=district):
        from doudi.care import services as care

        tasks = care.generate_tasks(today, district_code).created
        following = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        tasks += care.generate_tasks(following, district_code).created
    print(f"  {tasks:,} visit tasks", flush=True)
    with Step("ANALYZE"), connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    with Step("samples for the locustfile"):
        samples = _samples(users)
    (out / "users.json").write_text(json.dumps({"password": password, **users}, indent=1))
    (out / "samples.json").write_text(json.dumps(samples, ensure_ascii=False))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        print(f"database size {cursor.fetchone()[0]}", flush=True)
        for table in ("registry_person", "registry_household", "registry_membership",
                      "registry_observation", "benefits_enrollment", "benefits_paymentline",
                      "monitoring_warning", "care_visittask", "exchange_feedrecord",
                      "casework_application", "audit_auditevent"):
            try:
                cursor.execute(f"SELECT count(*) FROM {table}")
                print(f"  {table}: {cursor.fetchone()[0]:,} rows", flush=True)
            except Exception as exc:
                print(f"  {table}: {exc}".splitlines()[0], flush=True)


def settle(run, maker) -> dict[str, int]:
    """The bank file of an approved run, and the bank's answer read back through the page's
    service: every line paid but one in 200 (账户已销户), so the failed-payments queue has work."""
    import csv
    import io

    from doudi.benefits import bank_files

    data = bank_files.bank_file(by=maker, run=run)[0].decode("utf-8-sig")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["流水号", "结果", "失败原因"])
    for n, row in enumerate(csv.DictReader(io.StringIO(data))):
        failed = n % 200 == 199
        writer.writerow([row["流水号"], "失败" if failed else "成功",
                         "账户已销户" if failed else ""])
    return bank_files.bank_result(by=maker, run=run, data=out.getvalue().encode("gb18030"))


def _round_robin(lists: list[list]) -> list[list]:
    """[[a1, b1, c1], [a2, b2, c2], …]: one village of each town per row."""
    longest = max(len(x) for x in lists)
    return [[x[i] for x in lists if i < len(x)] for i in range(longest)]


def _applications(truth_file: Path, today: dt.date, towns: list) -> int:
    """As the demo's `_applications`, for every town: the 应保未保 households the truth file
    names, taken in by the town, at the steps before the decision (so the town's reviewers
    have work to do in the scenario)."""
    import polars as pl

    from doudi.accounts.models import User
    from doudi.casework import services, workflow
    from doudi.ops.management.commands.demo import DEMO_STEPS
    from doudi.programmes import catalogue
    from doudi.registry.models import Household

    truth = pl.read_parquet(truth_file).filter(
        (pl.col("kind") == "uncovered_eligible")
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
            app = services.create_application(
                by=actor, household=household, programme=programme, channel="warning",
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


def _samples(users: dict[str, list[dict]]) -> dict[str, list[list]]:
    """Per area of a load account: persons (name, full ID) to search for."""
    from django.db import connection

    from doudi.areas.models import Area
    from doudi.registry.fields import STORE

    areas = sorted({u["area"] for group in users.values() for u in group})
    out: dict[str, list[list]] = {}
    with connection.cursor() as cursor:
        for area in areas:
            prefix = Area.objects.get(code=area.ljust(12, "0")).prefix
            # raw SQL reads the stored ciphertext (a stable pseudo-random order); the samples
            # are the plain IDs a user types
            cursor.execute(
                "SELECT name, id_number FROM registry_person WHERE area_code LIKE %s "
                "ORDER BY md5(id_number) LIMIT %s", [prefix + "%", SAMPLES_PER_VILLAGE])
            out[area] = [[name, STORE.decrypt(token)] for name, token in cursor.fetchall()]
    return out


if __name__ == "__main__":
    main()
