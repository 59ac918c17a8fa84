"""The monitoring run against the database: a synthetic district loaded into the registry with
its department files imported is scored by `doudi monitor --score`; a second run adds nothing;
a run that fails midway stores nothing."""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO

import pytest
from django.core.management import call_command

from doudi.audit import context
from doudi.exchange.imports import import_file
from doudi.exchange.models import FeedType
from doudi.monitoring import services
from doudi.monitoring.models import MonitoringRun, Warning
from doudi.synth.feeds.layouts import LAYOUTS

pytestmark = pytest.mark.django_db
TODAY = "2026-11-01"


@pytest.fixture
def loaded(areas, shipped_parameters, shipped_feed_types, tmp_path):
    call_command("synth", "--area", "341002", "--households", "1500", "--seed", "7",
                 "--into-db", "--out", str(tmp_path / "synth"), "--today", TODAY,
                 stdout=StringIO())
    with context.job("test feeds"):
        for layout in LAYOUTS:
            out = import_file(FeedType.objects.get(key=layout.key),
                              tmp_path / "synth" / "feeds" / f"{layout.file_stem}.csv",
                              user=None, channel="cli")
            assert out.counts.get("good", 0) > 0, (layout.key, out.message)
    return tmp_path / "synth"


def _monitor(*args: str) -> str:
    out = StringIO()
    call_command("monitor", "--as-of", TODAY, *args, stdout=out)
    return out.getvalue()


def test_monitor_scores_a_loaded_district_and_repeats_nothing(loaded) -> None:
    text = _monitor("--score", str(loaded / "truth.parquet"))
    found = re.search(r"召回率 ([0-9.]+)（最低 ([0-9.]+)） 准确率 ([0-9.]+)", text)
    assert found, text
    _, lowest, precision = (float(g) for g in found.groups())
    assert lowest >= 0.95 and precision >= 0.9, text
    first = Warning.objects.count()
    assert first > 0
    runs = list(MonitoringRun.objects.order_by("id"))
    assert runs[0].status == MonitoringRun.DONE and runs[0].created == first
    again = _monitor()
    assert "新增 0" in again and Warning.objects.count() == first
    second = MonitoringRun.objects.order_by("-id").first()
    assert second.digest == runs[0].digest and second.kept == first


def test_a_run_that_fails_midway_stores_no_warnings(loaded, monkeypatch) -> None:
    from doudi.monitoring import services as svc

    def broken(*args, **kwargs):
        raise RuntimeError("磁盘已满")

    monkeypatch.setattr(svc.audit, "record", broken)  # fails after the warnings were written
    run = services.start_run(by=None, area_code="341002", trigger="cli",
                             as_of=dt.date.fromisoformat(TODAY))
    with pytest.raises(RuntimeError):
        services.execute(run)
    run.refresh_from_db()
    assert run.status == MonitoringRun.FAILED and "磁盘已满" in run.message
    assert Warning.objects.count() == 0
