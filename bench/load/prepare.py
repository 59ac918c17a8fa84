"""Prepare a district-sized PostgreSQL database for the working-morning load scenario
(bench/load/locustfile.py).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/doudi_bench_load \
        python bench/load/prepare.py --households 370000 --out /tmp/doudi-load-data

Everything goes through the project's own code, as `doudi demo` does it: 屯溪区's real division
tree (`areas.importer`), the synthetic district (`doudi.synth.cli.run`: population, the rules'
enrolments, the twelve department feeds with 2 % dirty rows, the planted cases), the registry
loader (`doudi.synth.loader.load`, `doudi.synth.load_enrolments`), the feeds imported
from their CSV files (`exchange.imports.import_file`), applications at every step for the
应保未保 households of every town (`casework.services`), --months past months' payment rosters
(default 2) built, approved and settled by a bank result file (`benefits`), one monitoring run
(`monitoring.services.execute`) and the visit tasks of this month and the next
(`care.services.generate_tasks`). Then ANALYZE. The steps it shares with
prepare_province.py (payments, applications, samples, timing) are in steps.py.

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
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from steps import (
    Step,
    analyze,
    applications,
    care_tasks,
    months_back,
    open_database,
    payment_history,
    round_robin,
    samples,
    sizes,
    write_accounts,
)

VILLAGE_USERS = 28
TOWN_PAIRS = 7
DISTRICT_USERS = 4


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=370_000)
    parser.add_argument("--months", type=int, default=2, help="past months of payments")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="/tmp/doudi-load-data")
    parser.add_argument("--password", default="Load-test-2026")
    args = parser.parse_args()
    out = Path(args.out)
    open_database(out)
    started = time.perf_counter()
    prepare(args.households, args.months, args.seed, out, args.password)
    print(f"total {time.perf_counter() - started:.1f} s", flush=True)


def prepare(households: int, months: int, seed: int, out: Path, password: str) -> None:
    import polars as pl
    from django.conf import settings
    from django.core.management import call_command
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
        spread = [v for row in round_robin([village_of[t.code] for t in towns]) for v in row]
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
    with Step("ANALYZE"):
        analyze()
    with Step("department feeds (CSV import of every feed)"), \
            context.job("load bench department data", user=district):
        rows = demo._import_feeds(inbox, district)
    print(f"  {rows:,} feed rows imported", flush=True)
    with Step("applications"), context.job("load bench applications", user=district):
        made = applications(pl.read_parquet(synth_out / "truth.parquet"), today, towns)
    print(f"  {made} applications", flush=True)
    with Step(f"payment history ({months} months built, approved, bank file and result)"), \
            context.job("load bench payments", user=district):
        maker, checker = User.objects.get(username="do01"), User.objects.get(username="da01")
        payment_history(months_back(today, months), [(district_code, maker, checker)])
    with Step("monitoring run"), context.job("load bench monitoring", user=district):
        from doudi.monitoring import services as monitoring

        watched = monitoring.execute(monitoring.start_run(by=district, trigger="cli"))
    print(f"  {watched.created:,} warnings", flush=True)
    care_tasks(today, district_code, district)
    with Step("ANALYZE"):
        analyze()
    with Step("samples for the locustfile"):
        found = samples(u["area"] for group in users.values() for u in group)
    write_accounts(out, password, users, found)
    sizes()


if __name__ == "__main__":
    main()
