"""Export → import into a second, empty Doudi (its own SQLite database and its own encryption
key, in a real `doudi` process) reproduces the district's low-income population; an
incremental package brings the second one up to date; the same package twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import doudi
from doudi.audit import context
from doudi.platform_sync import export
from doudi.registry.models import CategoryAssignment, Membership
from tests.conftest import DISTRICT
from tests.platform_sync.test_package import canonical

pytestmark = [pytest.mark.django_db, pytest.mark.database]

SRC = str(Path(doudi.__file__).resolve().parents[1])
CLEARED = ("DATABASE_URL", "DOUDI_SQLITE", "DOUDI_HOME", "DOUDI_TASKS", "DOUDI_EXCHANGE_DIR",
           "DOUDI_ATTACHMENTS_DIR", "DOUDI_FEEDS_INBOX", "DOUDI_KEY_FILE", "PYTHONPATH",
           "DJANGO_SETTINGS_MODULE")
DUMP = """
import json, django
django.setup()
from doudi.platform_sync import export, layout
rows = export.population(AREA)
print(json.dumps({e: sorted([r[c] for c in layout.BY_ENTITY[e].names] for r in by_pk.values())
                  for e, by_pk in rows.items()}, ensure_ascii=False))
""".replace("AREA", repr(DISTRICT))


def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(DOUDI_HOME=str(home), DOUDI_SQLITE=str(home / "city.sqlite3"),
               DOUDI_KEY_FILE=str(home / "city.keys"), PYTHONPATH=SRC)
    return env


def city(home: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "doudi.cli", *args], cwd=home, env=_env(home),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def city_population(home: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", DUMP], cwd=home,
                          env={**_env(home), "DJANGO_SETTINGS_MODULE": "doudi.settings"},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return {e: [tuple(r) for r in rows] for e, rows in json.loads(done.stdout).items()}


@pytest.fixture(scope="module")
def city_home(tmp_path_factory) -> Path:
    """An empty Doudi for the city: migrated, the division tree loaded, no registry."""
    home = tmp_path_factory.mktemp("city")
    city(home, "migrate", "-v0")
    city(home, "areas", "shipped", "tunxi")
    return home


def test_a_second_empty_instance_reproduces_the_population(district, city_home, tmp_path):
    assert city_population(city_home)["persons"] == []
    full = tmp_path / "full.zip"
    full.write_bytes(export.export(by=None, area_code=DISTRICT).data)
    city(city_home, "sync", "import", str(full))
    assert city_population(city_home) == canonical()

    # again: nothing changes
    assert "已导入过" in city(city_home, "sync", "import", str(full))

    # the district moves on: a member leaves the household, a category ends, one is removed
    hh = district.world.village_hh
    mark = export.make(DISTRICT).package.watermark_to
    with context.job("test change"):
        leaving = hh.current_memberships().exclude(relation="head").get()
        leaving.end_date, leaving.end_reason = dt.date(2026, 2, 1), "迁出"
        leaving.save()
        CategoryAssignment.objects.filter(household=hh).update(end_date=dt.date(2026, 1, 31))
        CategoryAssignment.objects.filter(category="tekun").delete()
    delta = tmp_path / "delta.zip"
    made = export.export(by=None, area_code=DISTRICT, since=mark)
    assert made.package.count("persons") == 0 and made.package.count("deletions") == 1
    delta.write_bytes(made.data)
    city(city_home, "sync", "import", str(delta))
    assert city_population(city_home) == canonical()
    assert Membership.objects.filter(end_date__isnull=False).count() == 1
