"""What encryption at rest costs (数据加密存储): AES-SIV encryption and decryption of a million
resident IDs as `doudi.core.crypto` does them, and the registry read the monitoring run and
the import matching do (every person's ID through the ORM), with and without decryption.

    taskset -c 0,1 .venv/bin/python bench/crypto_bench.py                 # 1M IDs, 1M-row read
    taskset -c 0,1 .venv/bin/python bench/crypto_bench.py --ids 200000 --rows 0   # crypto only

Crypto: --ids distinct valid IDs (GB 11643 check digit) made with `idnumber.make`, encrypted
with `KeyRing.encrypt` under one key (what a save does), decrypted with `KeyRing.decrypt` (what
a read does), and encrypted under two keys with `encrypt_all` (what an equality lookup does
while a rotation is under way). The key is generated in memory.

Read: a fresh SQLite file in a temporary directory (DATABASE_URL may name a scratch
PostgreSQL database doudi_bench…, dropped and created), `migrate`, then --rows persons inserted
by multi-row INSERTs with their IDs already encrypted (no ORM); then timed: the raw cursor
fetch of (id, id_number) — ciphertext, no decryption —, `Person.objects.values_list("id",
"id_number")` — the ORM decrypting every ID, as `exchange.imports.persons_frame` and
`registry.rules_input` read them —, and `values_list("id", "name")` as the ORM's cost without
decryption. Each timing is the best of --repeat runs. Then one rotation pass: a new key and
`encryption.reencrypt` of the `id_number` column (what `doudi keys rotate` does per column,
without the audit rows), timed once. Timings are never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

from _common import (  # bench/ is on sys.path when run as a script
    recreate_postgres_database,
    source_state,
)


def ids(n: int) -> list[str]:
    from doudi.core import idnumber

    base = dt.date(1940, 1, 1)  # 1,000 a day (500 sequences × 2 sexes): distinct up to 10M+
    return [idnumber.make("341002", base + dt.timedelta(days=i // 1000), i % 500,
                          "MF"[i // 500 % 2]) for i in range(n)]


def best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def crypto_figures(n: int, repeat: int) -> None:
    from doudi.core import crypto

    t0 = time.perf_counter()
    plain = ids(n)
    print(f"{n:,} IDs made in {time.perf_counter() - t0:.1f} s (not the figure)")
    ring = crypto.KeyRing.generate()
    enc, tokens = best(lambda: [ring.encrypt(v) for v in plain], repeat)
    dec, back = best(lambda: [ring.decrypt(t) for t in tokens], repeat)
    assert back == plain
    rotated = ring.with_new_key()
    both, _ = best(lambda: [rotated.encrypt_all(v) for v in plain], repeat)
    print(f"encrypt  {n:,} IDs: {enc:6.2f} s  ({enc / n * 1e6:.2f} µs each)")
    print(f"decrypt  {n:,} IDs: {dec:6.2f} s  ({dec / n * 1e6:.2f} µs each)")
    print(f"lookup tokens under 2 keys, {n:,} IDs: {both:6.2f} s")
    print(f"token length for an ID: {len(tokens[0])} characters "
          f"(column width {crypto.ciphertext_length(18)})")


def read_figures(rows: int, repeat: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="doudi-crypto-bench-"))
    os.environ.setdefault("DOUDI_HOME", str(home))
    os.environ["DOUDI_KEY_FILE"] = str(home / "keys" / "doudi.keys")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doudi.settings")
    if url := os.environ.get("DATABASE_URL"):
        recreate_postgres_database(url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from doudi.registry.fields import STORE
    from doudi.registry.models import Person

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    plain = ids(rows)
    encrypt = STORE.ring().encrypt
    table = connection.ops.quote_name(Person._meta.db_table)
    columns = ("id_number", "id_tail", "name", "name_initials", "sex", "birth_date",
               "hukou_type", "phone", "disability_category", "serious_illness",
               "labour_capacity", "student_status", "has_supporter", "adl_failed",
               "area_code", "created_at", "updated_at")
    now = dt.datetime.now(dt.UTC).isoformat()
    per = 1_000
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with transaction.atomic(), connection.cursor() as cursor:
        for s in range(0, rows, per):
            part = [(encrypt(v), encrypt(v[-4:]), "张三", "", "M" if v[16] in "13579" else "F",
                     f"{v[6:10]}-{v[10:12]}-{v[12:14]}", "urban", "", "", "", "full", "", True,
                     0, "341002102002", now, now) for v in plain[s:s + per]]
            cursor.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                           + ", ".join([one] * len(part)), [x for r in part for x in r])
    print(f"setup: migrate + {rows:,} persons inserted in {time.perf_counter() - t0:.1f} s "
          f"({connection.vendor})")

    def raw_fetch():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id, id_number FROM {table}")
            return cursor.fetchall()

    raw, got = best(raw_fetch, repeat)
    assert len(got) == rows
    orm_ids, got = best(lambda: list(Person.objects.values_list("id", "id_number")), repeat)
    assert sorted(v for _, v in got[:1000]) == sorted(plain[:1000])
    orm_names, _ = best(lambda: list(Person.objects.values_list("id", "name")), repeat)
    print(f"raw SELECT id, id_number (ciphertext)       {rows:,} rows: {raw:6.2f} s")
    print(f"ORM values_list(id, id_number), decrypting  {rows:,} rows: {orm_ids:6.2f} s")
    print(f"ORM values_list(id, name), nothing to decrypt {rows:,} rows: {orm_names:6.2f} s")
    print(f"decryption's share of the ORM ID read: {orm_ids - orm_names:.2f} s")

    from doudi.registry import encryption

    ring = STORE.ring().with_new_key()
    STORE.save(ring)
    column = next(c for c in encryption.columns()
                  if (c.table, c.column) == (Person._meta.db_table, "id_number"))
    t0 = time.perf_counter()
    done = encryption.reencrypt(connection, column, ring)
    took = time.perf_counter() - t0
    print(f"rotation: re-encrypt registry_person.id_number, {done:,} rows in batches of "
          f"{encryption.BATCH:,}: {took:6.2f} s ({done / took:,.0f} rows/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ids", type=int, default=1_000_000, help="0: skip the cipher timings")
    parser.add_argument("--rows", type=int, default=1_000_000,
                        help="persons in the registry read (0: skip the read)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"crypto_bench — {source_state()}, {dt.datetime.now():%Y-%m-%d %H:%M}, "
          f"{os.cpu_count()} CPUs")
    if args.ids:
        crypto_figures(args.ids, args.repeat)
    if args.rows:
        read_figures(args.rows, args.repeat)


if __name__ == "__main__":
    main()
