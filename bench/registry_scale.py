"""How fast the registry pages answer on a district-sized registry.

    python bench/registry_scale.py --households 50000            # SQLite file in a temp dir
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/doudi_bench \
        python bench/registry_scale.py --households 50000        # scratch PostgreSQL database

Builds 屯溪区's real division tree and N households (1–5 members each, valid IDs, 5 % 低保),
inserted in bulk (this script measures reads, not the audited write path), then times the
pages staff use most as a district user and as a village user. Prints one line per figure:
the median of --repeat runs, in milliseconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time

from _common import recreate_postgres_database  # bench/ is on sys.path when run as a script


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="doudi-bench-")
    os.environ.setdefault("DOUDI_HOME", home)
    os.environ["DJANGO_SETTINGS_MODULE"] = "doudi.settings"
    os.environ.setdefault("DOUDI_ALLOWED_HOSTS", "testserver")
    if os.environ.get("DATABASE_URL"):
        recreate_postgres_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    engine = connection.vendor
    started = time.perf_counter()
    people = build(args.households, args.seed)
    with connection.cursor() as cursor:  # fresh statistics, as autovacuum would give them
        cursor.execute("ANALYZE")
    print(f"build {engine}: {args.households} households, {people} persons in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    measure(args.repeat)


def build(count: int, seed: int) -> int:
    from django.db import transaction

    from doudi.accounts.services import create_user
    from doudi.areas import importer
    from doudi.areas.models import Area
    from doudi.core import idnumber
    from doudi.registry.models import CategoryAssignment, Household, Membership, Person
    from doudi.registry.services import name_initials
    from doudi.synth.names import person_name

    importer.load_shipped("tunxi")
    villages = list(Area.objects.filter(code__startswith="341002", level=5).order_by("code"))
    create_user(username="bench_district", password="bench-pass-1", area_code="341002",
                roles=["district_officer"])
    create_user(username="bench_village", password="bench-pass-1", area_code=villages[0].code,
                roles=["village_assistant"])
    rng = random.Random(seed)
    today = dt.date(2026, 11, 1)
    seq: dict[tuple, int] = {}
    persons_total = 0
    batch = 5_000
    for start in range(0, count, batch):
        households, persons, links = [], [], []
        for i in range(start, min(start + batch, count)):
            village = villages[i % len(villages)]
            households.append(Household(
                number=f"{village.code}{i:07d}", area=village, area_code=village.code,
                address=f"{village.name}{i % 200}号", hukou_type="urban" if village.is_urban
                else "rural"))
            for k in range(rng.choice((1, 2, 2, 3, 3, 4, 5))):
                sex = rng.choice("MF")
                born = today - dt.timedelta(days=rng.randint(365, 90 * 365))
                key = (born, sex)
                seq[key] = seq.get(key, 0) + 1
                name = person_name(rng, sex)
                persons.append(Person(
                    id_number=idnumber.make("341002", born, seq[key], sex), name=name,
                    name_initials=name_initials(name), sex=sex, birth_date=born,
                    hukou_type=households[-1].hukou_type, area_code=village.code))
                links.append((len(households) - 1, len(persons) - 1, "head" if k == 0
                              else "child"))
        with transaction.atomic():
            Household.objects.bulk_create(households, batch_size=2000)
            Person.objects.bulk_create(persons, batch_size=2000)
            if not households[0].pk:  # SQLite before 3.35 returns no ids
                raise SystemExit("bulk_create returned no primary keys")
            Membership.objects.bulk_create([
                Membership(household=households[h], person=persons[p], relation=rel,
                           start_date=today, area_code=households[h].area_code)
                for h, p, rel in links], batch_size=2000)
            CategoryAssignment.objects.bulk_create([
                CategoryAssignment(household=hh, category="dibao", start_date=today,
                                   area_code=hh.area_code)
                for hh in households if rng.random() < 0.05], batch_size=2000)
        persons_total += len(persons)
    return persons_total


def measure(repeat: int) -> None:
    from django.test import Client

    from doudi.accounts.models import User
    from doudi.registry.models import Person

    sample = Person.objects.order_by("id")[Person.objects.count() // 2]
    district = Client()
    district.force_login(User.objects.get(username="bench_district"))
    village = Client()
    village.force_login(User.objects.get(username="bench_village"))
    token = village.post("/api/token", {"username": "bench_village", "password": "bench-pass-1"},
                         content_type="application/json").json()["token"]
    cases = [
        ("district list page 1", district, "/households/", {}),
        ("district list page 100", district, "/households/", {"page": 100}),
        ("district search by name", district, "/households/", {"q": sample.name}),
        ("district search by pinyin initials", district, "/households/",
         {"q": sample.name_initials}),
        ("district search by full ID", district, "/households/", {"q": sample.id_number}),
        ("district search by last 6 of ID", district, "/households/",
         {"q": sample.id_number[-6:]}),
        ("district filter 低保", district, "/households/", {"category": "dibao"}),
        ("district home page", district, "/", {}),
        ("village list page 1", village, "/households/", {}),
        ("village API list (50)", village, "/api/households", {"page_size": 50}),
    ]
    for label, client, url, params in cases:
        extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if url.startswith("/api/") else {}
        timings = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            response = client.get(url, params, **extra)
            timings.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                sys.exit(f"{label}: HTTP {response.status_code}")
        print(f"{label}: {statistics.median(timings):.0f} ms", flush=True)


if __name__ == "__main__":
    main()
