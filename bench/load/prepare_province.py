"""Prepare a province-sized PostgreSQL database (广东省) for the working-morning load scenario
(bench/load/locustfile.py), with city and province staff besides a district's.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/doudi_bench_province \
        python bench/load/prepare_province.py --persons 5000000 --out /tmp/doudi-province-data

Everything goes through the project's own code, as prepare.py does it for one district (the
steps they share are in steps.py):

1. Guangdong's real division tree, 21 cities down to their villages (`areas.importer`).
2. Per city, in code order: the synthetic city (`doudi.synth.cli.run` over the city's real
   villages: population, the rules' enrolments, the twelve department feeds with 2 % dirty
   rows, the planted cases), loaded by the registry loader (`doudi.synth.loader.load`) and
   enrolled (`doudi.synth.load_enrolments`). One city at a time, so memory stays that of the
   largest city (广州).
3. The feeds of all cities joined into one file per department, as a provincial department
   sends it, imported from CSV by a province account (`exchange.imports.import_file`).
4. Applications at the steps before the decision in the focus towns (`casework.services`).
5. --months past months of payments (default 24), oldest first: in every district the roster
   built by a district officer, approved by a district approver, its bank file written and
   the bank's answer read back (`benefits`; one line per month printed with its four parts).
6. A monitoring run per city (`monitoring.services.execute`) and the visit tasks of this month
   and the next over the province (`care.services.generate_tasks`). Then ANALYZE.

Scale: --persons (default 5,000,000) is turned into households at the synthetic population's
2.72 persons a household, or give --households. The rule that spreads them: each city gets
households in proportion to its villages and communities (村/社区) in the shipped division
table (largest remainder); within a city the generator spreads them over its villages
(log-normal village sizes, communities 1.5 times the villages'), so each county's share
follows its number of villages. --cities limits the cities: a count (the first N by code)
or codes (4401,4403); the households are then spread over those alone. City N's seed is
--seed × 10,000 + its code (14401 for 广州 with seed 1).

Cities without counties (东莞 4419, 中山 4420: towns directly under the city) have no
district level, and district roles exist only at that level, so no account can build their
rosters: they get no payments (the script says so).

Accounts (password --password), for the locustfile: in the focus districts (the county with
the most villages in each of the first --focus cities that have counties) 28 village assistants
(va01…), 7 town officers and 7 town approvers (to01…, ta01…), 4 district officers and 4
district approvers (do01…, da01…), spread round-robin over those districts; city staff for
each focus city (ct01… alternately 上级监督 and 上级经办); 4 province staff (pv01…, the same
two roles); a province business administrator (padmin, 区县业务管理员 at the province) who
imports the feeds and starts the monitoring runs. Every other district gets a maker and a
checker for its rosters (mk440103, ck440103 …): accounts of this script that never log in,
so their passwords are hashed with MD5 as in the tests, not at production strength.
`users.json` and `samples.json` go to --out.

The database must be a scratch one called doudi_bench… (dropped and created here). Prints one
line per step with its wall time and CPU (steps.Step), per city and per month, then totals.
"""

from __future__ import annotations

import argparse
import gc
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

PROVINCE = "44"
PERSONS_PER_HOUSEHOLD = 2.72  # the synthetic population's (2,719,999 persons in 1M households)
VILLAGE_USERS = 28
TOWN_PAIRS = 7
DISTRICT_USERS = 4
CITY_ROLES = ("supervisor", "upper_officer")  # 上级监督, 上级经办: the staff above the district
PROVINCE_USERS = 4


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=5_000_000)
    parser.add_argument("--households", type=int, default=0,
                        help="instead of --persons")
    parser.add_argument("--cities", default="",
                        help="a count (the first N cities by code) or codes: 4401,4403")
    parser.add_argument("--months", type=int, default=24, help="past months of payments")
    parser.add_argument("--focus", type=int, default=3,
                        help="cities with load accounts (district, town, village, city staff)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="/tmp/doudi-province-data")
    parser.add_argument("--password", default="Load-test-2026")
    args = parser.parse_args()
    households = args.households or round(args.persons / PERSONS_PER_HOUSEHOLD)
    cities = chosen_cities(args.cities)
    out = Path(args.out)
    open_database(out)
    started = time.perf_counter()
    prepare(cities, households, args.months, args.focus, args.seed, out, args.password)
    Step.summary()
    print(f"total {time.perf_counter() - started:.1f} s", flush=True)


def chosen_cities(spec: str) -> list[str]:
    """4-digit codes of Guangdong's cities, all or those --cities names."""
    from doudi.synth.villages import city_names

    everyone = sorted(c for c in city_names() if c.startswith(PROVINCE))
    if not spec:
        return everyone
    if spec.isdigit() and len(spec) < 4:
        return everyone[:int(spec)]
    wanted = [c.strip() for c in spec.split(",") if c.strip()]
    unknown = [c for c in wanted if c not in everyone]
    if unknown:
        raise SystemExit(f"not cities of Guangdong: {', '.join(unknown)}")
    return sorted(wanted)


def spread(cities: list[str], households: int) -> dict[str, int]:
    """Households per city, in proportion to its villages and communities (largest
    remainder, so they add up to `households`)."""
    from doudi.synth.villages import villages

    count = {c: len(villages(c)) for c in cities}
    total = sum(count.values())
    exact = {c: households * n / total for c, n in count.items()}
    out = {c: int(x) for c, x in exact.items()}
    for c in sorted(cities, key=lambda c: out[c] - exact[c])[:households - sum(out.values())]:
        out[c] += 1
    return out


def prepare(cities: list[str], households: int, months: int, focus: int, seed: int,
            out: Path, password: str) -> None:
    import polars as pl
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from doudi.areas import importer
    from doudi.audit import context
    from doudi.ops.management.commands import demo
    from doudi.policy.services import parameter_set
    from doudi.synth import cli
    from doudi.synth.load_enrolments import load_enrolments
    from doudi.synth.loader import load
    from doudi.synth.villages import city_names

    names = city_names()
    with Step("migrate"):
        call_command("migrate", verbosity=0, interactive=False)
    with Step("areas (Guangdong: 21 cities, their counties, towns and villages)"), \
            context.job("load bench"):
        report = importer.load_shipped("guangdong")
        if not report.ok:
            raise SystemExit(f"areas: {report.errors[:5]}")
    print(f"  {report.created:,} areas", flush=True)
    with Step("accounts"), context.job("load bench"):
        staff = accounts(cities, focus, password)
    users, padmin = staff.users, staff.padmin
    print(f"  focus districts {', '.join(staff.focus_districts)}; "
          f"{sum(len(g) for g in users.values())} load accounts, "
          f"{len(staff.payers)} districts with a maker and a checker", flush=True)
    today = timezone.localdate()
    synth_root, inbox = settings.HOME / "synthetic", settings.FEEDS_INBOX
    demo._clear(synth_root, inbox)
    params = parameter_set()
    per_city = spread(cities, households)
    persons = 0
    with Step(f"cities ({len(cities)}, {households:,} households: synthetic, registry load, "
              "enrolments)"):
        for city in cities:
            city_out = synth_root / city
            with Step("", key="synthetic city (doudi.synth.cli.run)", quiet=True) as built:
                run = cli.run(city, per_city[city], seed * 10_000 + int(city), city_out, today,
                              xlsx=False, parameters=params, feeds_dir=city_out / "feeds")
            population = run.district.population
            with Step("", key="registry load (doudi.synth.loader.load)", quiet=True) as loading, \
                    context.job("load bench synthetic population", user=padmin):
                loaded = load(population.households, population.persons, today)
            with Step("", key="enrolments (doudi.synth.load_enrolments)",
                      quiet=True) as enrolling, \
                    context.job("load bench synthetic population", user=padmin):
                enrolled = load_enrolments(run.district.enrolments, population.households,
                                           population.persons)
            persons += loaded.persons
            print(f"  {city} {names[city]}: {loaded.households:,} households, "
                  f"{loaded.persons:,} persons, {loaded.observations:,} observations, "
                  f"{enrolled.enrollments:,} enrollments; synthetic {built.wall:.1f} s, "
                  f"load {loading.wall:.1f} s (cpu {loading.cpu:.1f} + db {loading.db:.1f}), "
                  f"enrolments {enrolling.wall:.1f} s", flush=True)
            del run, population
            gc.collect()
    print(f"  {persons:,} persons in all", flush=True)
    with Step("ANALYZE"):
        analyze()
    with Step("department feeds (one file per department for the province, CSV import)"), \
            context.job("load bench department data", user=padmin):
        join_feeds([synth_root / c / "feeds" for c in cities], inbox)
        rows = demo._import_feeds(inbox, padmin)
    print(f"  {rows:,} feed rows imported", flush=True)
    with Step("applications (focus towns)"), \
            context.job("load bench applications", user=padmin):
        truth = pl.concat([pl.read_parquet(synth_root / c / "truth.parquet")
                           for c in staff.focus_cities], how="vertical_relaxed")
        made = applications(truth, today, staff.towns)
    print(f"  {made} applications", flush=True)
    if staff.countyless:
        print(f"  no payments in {', '.join(staff.countyless)}: a city without counties has "
              "no district level, where roster makers and approvers sit", flush=True)
    with Step(f"payment history ({months} months x {len(staff.payers)} districts: built, "
              "approved, bank file and result)"), \
            context.job("load bench payments", user=padmin):
        payment_history(months_back(today, months), staff.payers)
    with Step("monitoring (one run per city)"), \
            context.job("load bench monitoring", user=padmin):
        from doudi.monitoring import services as monitoring

        warned = 0
        for city in cities:
            with Step(f"  monitoring {city}", key="monitoring run (per city)", quiet=True):
                run = monitoring.execute(monitoring.start_run(by=padmin, area_code=city,
                                                              trigger="cli"))
            warned += run.created
    print(f"  {warned:,} warnings", flush=True)
    care_tasks(today, PROVINCE, padmin)
    with Step("ANALYZE"):
        analyze()
    with Step("samples for the locustfile"):
        found = samples(u["area"] for kind in ("village", "town", "district")
                        for u in users[kind])
    write_accounts(out, password, users, found)
    sizes()


class Staff:
    """The accounts made: `users` for users.json, the province administrator, the districts'
    (code, maker, checker), the focus cities, districts and towns."""

    def __init__(self) -> None:
        self.users: dict[str, list[dict]] = {k: [] for k in ("village", "town", "district",
                                                              "city", "province")}
        self.padmin = None
        self.payers: list[tuple] = []
        self.focus_cities: list[str] = []
        self.focus_districts: list[str] = []
        self.towns: list = []
        self.countyless: list[str] = []


def accounts(cities: list[str], focus: int, password: str) -> Staff:
    """Every account the load and the preparation need (see the module's docstring)."""
    from django.db.models import Count
    from django.test.utils import override_settings

    from doudi.accounts.services import create_user
    from doudi.areas.models import Area

    staff = Staff()

    def make(name: str, area: str, role: str, kind: str = "") -> object:
        user = create_user(username=name, password=password, area_code=area, roles=[role])
        if kind:
            staff.users[kind].append({"username": name, "area": area, "role": role})
        return user

    staff.padmin = make("padmin", PROVINCE, "district_admin")
    for i in range(1, PROVINCE_USERS + 1):
        make(f"pv{i:02d}", PROVINCE, CITY_ROLES[(i - 1) % 2], "province")
    districts = {c: list(Area.objects.filter(code__startswith=c, level=3).annotate(
        villages=Count("children__children")).order_by("code")) for c in cities}
    staff.countyless = [c for c in cities if not districts[c]]
    staff.focus_cities = [c for c in cities if districts[c]][:focus]
    n = 0
    for city in staff.focus_cities:
        for role in CITY_ROLES:
            n += 1
            make(f"ct{n:02d}", city, role, "city")
        staff.focus_districts.append(
            max(districts[city], key=lambda d: (d.villages, -int(d.code))).code)
    towns_of = {d: list(Area.objects.filter(code__startswith=d[:6], level=4).order_by("code"))
                for d in staff.focus_districts}
    towns = [t for row in round_robin(list(towns_of.values())) for t in row]
    villages = [v for row in round_robin(
        [list(Area.objects.filter(code__startswith=t.prefix, level=5).order_by("code"))
         for t in towns]) for v in row]
    for i, village in enumerate(villages[:VILLAGE_USERS], 1):
        make(f"va{i:02d}", village.code, "village_assistant", "village")
    staff.towns = towns[:TOWN_PAIRS]
    for i, town in enumerate(staff.towns, 1):
        make(f"to{i:02d}", town.code, "town_officer", "town")
        make(f"ta{i:02d}", town.code, "town_approver", "town")
    payers: dict[str, list] = {d: [] for d in staff.focus_districts}
    for i in range(1, DISTRICT_USERS + 1):
        district = staff.focus_districts[(i - 1) % len(staff.focus_districts)]
        for prefix, role in (("do", "district_officer"), ("da", "district_approver")):
            payers[district].append(make(f"{prefix}{i:02d}", district, role, "district"))
    # the other districts' makers and checkers only serve this script and never log in: their
    # passwords are hashed with MD5, as the tests do, not at production strength (0.3 s each)
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        for city in cities:
            for district in districts[city]:
                code = district.code
                if not payers.get(code):
                    payers[code] = [make(f"mk{code[:6]}", code, "district_officer"),
                                    make(f"ck{code[:6]}", code, "district_approver")]
                staff.payers.append((code, payers[code][0], payers[code][1]))
    return staff


def join_feeds(directories: list[Path], inbox: Path) -> None:
    """Each department's CSV of every city, joined into one file of the same name in `inbox`:
    the first file whole, the others without their header row (all end in a newline)."""
    from doudi.synth.feeds.layouts import LAYOUTS

    inbox.mkdir(parents=True, exist_ok=True)
    for layout in LAYOUTS:
        name = f"{layout.file_stem}.csv"
        with (inbox / name).open("wb") as joined:
            for n, directory in enumerate(directories):
                with (directory / name).open("rb") as part:
                    if n:
                        part.readline()
                    while chunk := part.read(1 << 20):
                        joined.write(chunk)


if __name__ == "__main__":
    main()
