"""An import killed mid-way leaves no batch, no job and no stored file; a re-run completes.

The import runs as a real `doudi import` process on its own embedded database and is killed
with SIGKILL as soon as it reports the phase under test.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from doudi.engine.feeds.cells import id_check_char
from tests.conftest import kill_when

ROWS = 200_000
PHASES = ("读取文件", "逐行校验", "比对人员", "保存批次")


def _vehicle_csv(path: Path) -> None:
    """A 车管 file of valid, distinct IDs (nobody in the registry: all rows unmatched)."""
    # i → a distinct (birth year, month, day, 顺序码) for every row
    frame = pl.DataFrame({"i": range(ROWS)}).with_columns(
        ("341002" + (1950 + pl.col("i") % 50).cast(pl.String)
         + (1 + pl.col("i") // 50 % 12).cast(pl.String).str.pad_start(2, "0")
         + (1 + pl.col("i") // 600 % 28).cast(pl.String).str.pad_start(2, "0")
         + (pl.col("i") // 16800).cast(pl.String).str.pad_start(3, "0")).alias("first17"))
    frame = frame.with_columns((pl.col("first17") + id_check_char(pl.col("first17")))
                               .alias("身份证明号码"))
    frame.select(
        ("皖J" + pl.col("i").cast(pl.String).str.pad_start(6, "0")).alias("号牌号码"),
        pl.lit("小型普通客车").alias("车辆类型"),
        pl.lit("测试人").alias("机动车所有人"),
        "身份证明号码",
        pl.lit("奇瑞").alias("中文品牌"),
        pl.lit("2020/5/6").alias("初次登记日期"),
        pl.lit("正常").alias("机动车状态"),
    ).write_csv(path)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DOUDI_HOME=str(home), DJANGO_SETTINGS_MODULE="doudi.settings")
    return env


def _doudi(*args: str, home: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-u", "-m", "doudi.cli", *args], env=_env(home),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _counts(home: Path) -> tuple[int, int]:
    with sqlite3.connect(home / "doudi.sqlite3") as db:
        return (db.execute("select count(*) from exchange_feedbatch").fetchone()[0],
                db.execute("select count(*) from exchange_importjob").fetchone()[0])


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("interrupted")
    csv = base / "车管_机动车登记信息.csv"
    _vehicle_csv(csv)
    home = base / "template"
    proc = _doudi("migrate", "-v0", home=home)
    assert proc.wait(timeout=300) == 0, proc.stdout.read() if proc.stdout else ""
    return csv, home


@pytest.mark.parametrize("phase", PHASES)
def test_killed_import_leaves_nothing_and_a_rerun_completes(prepared, tmp_path, phase) -> None:
    csv, template = prepared
    home = tmp_path / "home"
    home.mkdir()
    (home / "doudi.sqlite3").write_bytes((template / "doudi.sqlite3").read_bytes())
    (home / "secret_key").write_bytes((template / "secret_key").read_bytes())
    proc = _doudi("import", "vehicle", str(csv), home=home)
    printed = kill_when(proc, phase)
    assert proc.returncode == -signal.SIGKILL, printed
    assert _counts(home) == (0, 0)
    exchange = home / "exchange"
    stored = [p for p in exchange.rglob("*") if p.is_file() and p.parent.name != "tmp"]
    assert stored == [], stored  # at most a tmp file of the dead process, swept next time
    rerun = _doudi("import", "vehicle", str(csv), home=home)
    out, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, out
    assert f"共 {ROWS} 行，导入 {ROWS} 行" in out
    assert _counts(home) == (1, 1)
    assert list((exchange / "tmp").glob("*")) == []
    assert len(list((exchange / "batches" / "vehicle").glob("*.parquet"))) == 1
