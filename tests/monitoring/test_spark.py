"""The Spark runner gives exactly the local engine's warnings (Spark local mode, as CI runs
it): in memory, through the directory `spark-submit` reads, and from the database through
`doudi monitor --engine spark`."""

from __future__ import annotations

import datetime as dt
import shutil
from io import StringIO

import polars as pl
import pytest

# ./dev test installs the spark extra: a missing pyspark fails here rather than skipping
from doudi.engine.monitoring import indicators
from doudi.engine.monitoring import spark as spark_runner
from doudi.engine.monitoring.run import digest, run
from doudi.rules.shipped import shipped
from doudi.synth.district import build
from doudi.synth.monitoring_inputs import inputs

TODAY = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def spark():
    if shutil.which("java") is None:
        pytest.fail("the Spark runner needs Java 17+ (.ci/run installs openjdk-17-jre-headless)")
    session = spark_runner.session("local[2]")
    yield session
    session.stop()


def test_spark_gives_the_local_warnings(spark, tmp_path) -> None:
    params = shipped()
    district = build("341002", 2500, seed=12, today=TODAY, parameters=params)
    local = run(inputs(district, params), indicators.shipped())
    assert local.warnings.height > 50
    distributed = spark_runner.run_spark(inputs(district, params), indicators.shipped(),
                                         spark=spark, buckets=5)
    assert digest(distributed.warnings) == digest(local.warnings)
    assert distributed.counts == local.counts
    # the directory a cluster job reads, and its entry point
    spark_runner.write_inputs(inputs(district, params), tmp_path / "in")
    spark_runner.main([str(tmp_path / "in"), str(tmp_path / "out.parquet")])
    assert digest(pl.read_parquet(tmp_path / "out.parquet")) == digest(local.warnings)


@pytest.mark.django_db
def test_monitor_engine_spark_matches_the_local_run(spark, areas, shipped_parameters,
                                                     shipped_feed_types, tmp_path) -> None:
    from django.core.management import call_command

    from doudi.audit import context
    from doudi.exchange.imports import import_file
    from doudi.exchange.models import FeedType
    from doudi.monitoring.models import MonitoringRun
    from doudi.synth.feeds.layouts import LAYOUTS

    call_command("synth", "--area", "341002", "--households", "600", "--seed", "9",
                 "--into-db", "--out", str(tmp_path), "--today", "2026-11-01",
                 stdout=StringIO())
    with context.job("test feeds"):
        for layout in LAYOUTS:
            import_file(FeedType.objects.get(key=layout.key),
                        tmp_path / "feeds" / f"{layout.file_stem}.csv", user=None,
                        channel="cli")
    call_command("monitor", "--as-of", "2026-11-01", stdout=StringIO())
    out = StringIO()
    call_command("monitor", "--as-of", "2026-11-01", "--engine", "spark", stdout=out)
    local, distributed = MonitoringRun.objects.order_by("id")
    assert distributed.inputs["engine"] == "spark" and local.created > 0
    assert distributed.digest == local.digest and distributed.counts == local.counts
    assert distributed.created == 0 and distributed.kept == local.created
    exported = tmp_path / "export"
    call_command("monitor", "--as-of", "2026-11-01", "--export-inputs", str(exported),
                 stdout=StringIO())
    spark_runner.main([str(exported), str(tmp_path / "cluster.parquet")])
    assert digest(pl.read_parquet(tmp_path / "cluster.parquet")) == local.digest
