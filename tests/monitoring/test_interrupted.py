"""A monitoring run killed mid-way (SIGKILL, in each phase it reports) leaves either none of
its warnings or all of them — never some — and the next run completes with the same warnings
an uninterrupted run gives. Runs real `doudi` processes on a demo district's embedded
database."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import kill_when

PHASES = ("读取家庭档案", "读取部门数据", "比对与规则测算", "保存预警")


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DOUDI_SQLITE")}
    env.update(DOUDI_HOME=str(home), DJANGO_SETTINGS_MODULE="doudi.settings",
               DOUDI_SQLITE=str(home / "demo.sqlite3"))
    return env


def _doudi(*args: str, home: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-u", "-m", "doudi.cli", *args], env=_env(home),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _warnings(home: Path) -> int:
    with sqlite3.connect(home / "demo.sqlite3") as db:
        return db.execute("select count(*) from monitoring_warning").fetchone()[0]


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, int]:
    """A demo district whose monitoring ran once; its warnings are then removed, so each test
    starts from a district with none."""
    home = tmp_path_factory.mktemp("monitoring") / "template"
    demo = _doudi("demo", "--no-serve", "--households", "3000", home=home)
    out, _ = demo.communicate(timeout=600)
    assert demo.returncode == 0, out
    full = _warnings(home)
    assert full > 0, out
    with sqlite3.connect(home / "demo.sqlite3") as db:
        db.execute("delete from monitoring_warning")
        db.execute("delete from monitoring_monitoringrun")
    return home, full


@pytest.mark.parametrize("phase", PHASES)
def test_a_killed_run_stores_all_or_nothing(template, tmp_path, phase) -> None:
    source, full = template
    home = tmp_path / "home"
    shutil.copytree(source, home)
    printed = kill_when(_doudi("monitor", home=home), phase)
    assert _warnings(home) in (0, full), printed
    rerun = _doudi("monitor", home=home)
    out, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, out
    assert _warnings(home) == full, out
