"""Before/after timings of single pages on the load database, without load: the median of
--repeat requests through Django's test client (session auth, templates; no network) and the
number of SQL queries of the last one.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/doudi_bench_load \
    DOUDI_HOME=/tmp/doudi-load-data/home PYTHONPATH=src \
        python bench/load/pages.py do01:/ do01:/reports/ ta01:/applications/

Each argument is USER:PATH (accounts made by bench/load/prepare.py). Run it with PYTHONPATH
pointing at two checkouts (before and after a change) to compare them on the same data.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("pages", nargs="+", help="USER:PATH")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doudi.settings")
    os.environ.setdefault("DOUDI_ALLOWED_HOSTS", "testserver")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    import doudi
    from doudi.accounts.models import User

    print(f"code: {doudi.__file__}", flush=True)
    for spec in args.pages:
        username, path = spec.split(":", 1)
        client = Client()
        client.force_login(User.objects.get(username=username))
        client.get(path)  # warm: the process's first request imports and builds caches
        times = []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{spec}: HTTP {response.status_code}")
        print(f"{username} {path}: median {statistics.median(times):.0f} ms, "
              f"min {min(times):.0f} ms, {len(queries)} queries", flush=True)


if __name__ == "__main__":
    main()
