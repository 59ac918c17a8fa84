"""The demo and the command line agree: `doudi demo` builds into the database every `doudi`
command uses by default, so after it `doudi audit verify` and `doudi monitor` act on the demo
with no DATABASE_URL or DOUDI_SQLITE set; a missing or unbuilt database is one sentence saying
what to run; `--today` makes the demo the same whatever the calendar says; the demo's clock
moves only in a demo. Real `doudi` processes in temporary homes (never ./var)."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import doudi

SRC = str(Path(doudi.__file__).resolve().parents[1])
HOUSEHOLDS = "200"  # the smallest demo whose village assistant has visits, warnings and a roster
TODAY = "2026-03-10"
# what the environment of the test run may set that the child must not inherit
CLEARED = ("DATABASE_URL", "DOUDI_SQLITE", "DOUDI_HOME", "DOUDI_TASKS", "DOUDI_EXCHANGE_DIR",
           "DOUDI_ATTACHMENTS_DIR", "DOUDI_FEEDS_INBOX", "DOUDI_KEY_FILE", "PYTHONPATH",
           "DJANGO_SETTINGS_MODULE")


def doudi_cli(home: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(DOUDI_HOME=str(home), PYTHONPATH=SRC)
    home.mkdir(parents=True, exist_ok=True)
    return subprocess.run([sys.executable, "-m", "doudi.cli", *args], cwd=home, env=env,
                          capture_output=True, text=True, timeout=timeout)


def build(home: Path) -> subprocess.CompletedProcess:
    done = doudi_cli(home, "demo", "--no-serve", "--households", HOUSEHOLDS, "--today", TODAY)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


DUMP = """
import json, django
django.setup()
from doudi.registry.models import CategoryAssignment, Household, Membership, Person
from doudi.care.models import VisitTask
from doudi.casework.models import Application
print(json.dumps({
    "households": [[h.number, h.area_code, h.hukou_type, h.address]
                   for h in Household.objects.order_by("number")],
    "persons": [[p.id_number, p.name, p.sex, str(p.birth_date), p.disability_grade]
                for p in Person.objects.order_by("id")],
    "memberships": [[m.household.number, m.person.id_number, m.relation, str(m.start_date)]
                    for m in Membership.objects.select_related("household", "person")
                    .order_by("id")],
    "categories": [[c.category, c.area_code, str(c.start_date), c.person_id, c.household_id]
                   for c in CategoryAssignment.objects.order_by("id")],
    "visit_tasks": [[t.group, t.person_id, str(t.due_on)]
                    for t in VisitTask.objects.order_by("id")],
    "applications": [[a.household_id, a.programme, a.state, str(a.submitted_on)]
                     for a in Application.objects.order_by("id")],
}, ensure_ascii=False))
"""


def registry(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(DOUDI_HOME=str(home), PYTHONPATH=SRC, DJANGO_SETTINGS_MODULE="doudi.settings")
    done = subprocess.run([sys.executable, "-c", DUMP], cwd=home, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("demo")
    out = build(home).stdout
    assert (home / "doudi.sqlite3").exists(), out
    assert "district2" in out and "村协理员所在村探访对象" in out
    return home


def test_after_the_demo_audit_verify_and_monitor_act_on_it(demo_home) -> None:
    verified = doudi_cli(demo_home, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "哈希链完整" in verified.stdout
    with sqlite3.connect(demo_home / "doudi.sqlite3") as db:
        runs = db.execute("select count(*) from monitoring_monitoringrun").fetchone()[0]
    monitored = doudi_cli(demo_home, "monitor")
    assert monitored.returncode == 0, monitored.stdout + monitored.stderr
    with sqlite3.connect(demo_home / "doudi.sqlite3") as db:
        assert db.execute("select count(*) from monitoring_monitoringrun").fetchone()[0] \
            == runs + 1
    assert not (demo_home / "demo.sqlite3").exists()


def test_the_demo_has_what_every_role_needs(demo_home) -> None:
    with sqlite3.connect(demo_home / "doudi.sqlite3") as db:
        approvers = db.execute(
            "select count(*) from accounts_userrole where role = 'district_approver'"
        ).fetchone()[0]
        village = db.execute(
            "select area_id from accounts_user where username = 'village'").fetchone()[0]
        groups = {g for (g,) in db.execute(
            "select distinct \"group\" from care_visittask where area_code = ?", (village,))}
    assert approvers == 2
    # every care group that is a fact has its people — and visit tasks — in the village
    assert {"orphan", "de_facto_unsupported", "child_in_hardship", "left_behind_child",
            "left_behind_elderly", "left_behind_woman"} <= groups


def test_the_demo_clock_starts_at_today_and_advances(demo_home) -> None:
    moved = doudi_cli(demo_home, "demo", "advance", "--days", "15")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    day = dt.date.fromisoformat(TODAY) + dt.timedelta(days=15)
    assert str(day) in moved.stdout
    with sqlite3.connect(demo_home / "doudi.sqlite3") as db:
        label = db.execute("select object_label from audit_auditevent "
                           "where object_type = 'demo_clock' order by id desc").fetchone()[0]
    assert str(day) in label
    refused = doudi_cli(demo_home, "demo", "advance")
    assert refused.returncode != 0 and "--days" in refused.stderr


def test_the_same_seed_and_today_give_the_same_demo(demo_home, tmp_path) -> None:
    other = tmp_path / "again"
    build(other)
    first, second = registry(demo_home), registry(other)
    assert first["persons"] and first["visit_tasks"]
    # born on or before the demo's day, whatever today's date is
    assert max(p[3] for p in first["persons"]) <= TODAY
    for part in first:
        assert first[part] == second[part], part


def test_a_missing_database_is_one_sentence(tmp_path) -> None:
    for command in (("monitor",), ("audit", "verify"), ("import",)):
        done = doudi_cli(tmp_path, *command)
        assert done.returncode == 1
        assert "不存在" in done.stderr and "doudi demo" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "doudi.sqlite3").exists()  # asking did not create it
    sqlite3.connect(tmp_path / "doudi.sqlite3").close()  # an empty file, as old crashes left
    done = doudi_cli(tmp_path, "audit", "verify")
    assert done.returncode == 1 and "尚未建表" in done.stderr and "Traceback" not in done.stderr


def test_outside_a_demo_the_clock_and_the_data_are_left_alone(tmp_path) -> None:
    assert doudi_cli(tmp_path, "migrate", "--verbosity", "0").returncode == 0
    made = doudi_cli(tmp_path, "adduser", "officer", "--area", "341002", "--role",
                     "district_officer", "--password", "Officer-pass-2026")
    assert made.returncode != 0 and "区划 341002 不存在" in made.stderr  # no areas yet: refused
    with sqlite3.connect(tmp_path / "doudi.sqlite3") as db:  # a real database's first account
        db.execute("insert into accounts_user (password, is_superuser, username, first_name, "
                   "last_name, email, is_staff, is_active, date_joined, full_name, department, "
                   "must_change_password, failed_logins, totp_secret) values ('!', 0, 'real', "
                   "'', '', '', 0, 1, '2026-01-01', '', '', 0, 0, '')")
    advanced = doudi_cli(tmp_path, "demo", "advance", "--days", "3")
    assert advanced.returncode != 0 and "不是演示数据库" in advanced.stderr
    for build_args in (("demo", "--no-serve"), ("demo", "--no-serve", "--reset")):
        refused = doudi_cli(tmp_path, *build_args)
        assert refused.returncode != 0 and "不是演示数据库" in refused.stderr, refused.stderr
    with sqlite3.connect(tmp_path / "doudi.sqlite3") as db:
        assert db.execute("select username from accounts_user").fetchall() == [("real",)]
        assert db.execute("pragma user_version").fetchone() == (0,)
