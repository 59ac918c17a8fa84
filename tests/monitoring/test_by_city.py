"""A province's monitoring city by city (`doudi monitor --by-city`): one run per city, none
holding another city's registry or feed rows, raising exactly the warnings one run over
everything raises."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from doudi.audit import context
from doudi.exchange.imports import import_file
from doudi.exchange.models import FeedType
from doudi.monitoring.models import MonitoringRun, Warning
from doudi.synth.feeds.layouts import LAYOUTS

pytestmark = pytest.mark.django_db
TODAY = "2026-11-01"
COUNTIES = {"341002": 7, "440103": 8}  # 屯溪区 (黄山市), 荔湾区 (广州市): two cities → seed


@pytest.fixture
def two_cities(areas, shipped_parameters, shipped_feed_types, tmp_path):
    for county, seed in COUNTIES.items():
        out = tmp_path / county
        call_command("synth", "--area", county, "--households", "400", "--seed", str(seed),
                     "--into-db", "--out", str(out), "--today", TODAY, stdout=StringIO())
        with context.job("test feeds"):
            for layout in LAYOUTS:
                import_file(FeedType.objects.get(key=layout.key),
                            out / "feeds" / f"{layout.file_stem}.csv", user=None, channel="cli")


def _monitor(*args: str) -> str:
    out = StringIO()
    call_command("monitor", "--as-of", TODAY, *args, stdout=out)
    return out.getvalue()


def test_city_by_city_raises_what_one_run_raises(two_cities) -> None:
    text = _monitor("--by-city")
    assert "地市 3410：" in text and "地市 4401：" in text
    runs = list(MonitoringRun.objects.order_by("id"))
    assert [r.area_code for r in runs] == ["3410", "4401"]
    assert all(r.status == MonitoringRun.DONE and r.created > 0 for r in runs)
    # each city's run read its own households and persons only
    assert sum(r.inputs["households"] for r in runs) == 800
    by_city = Warning.objects.count()
    assert by_city == sum(r.created for r in runs)
    assert not Warning.objects.filter(run=runs[0], area_code__startswith="4401").exists()
    # one run over both cities finds the same warnings: every one already open, none new
    _monitor()
    whole = MonitoringRun.objects.order_by("-id").first()
    assert (whole.created, whole.kept) == (0, by_city)
    assert whole.inputs["households"] == 800


def test_by_city_exports_each_city_apart(two_cities, tmp_path) -> None:
    _monitor("--by-city", "--area", "", "--export-inputs", str(tmp_path / "export"))
    for city in ("3410", "4401"):
        assert (tmp_path / "export" / city / "households.parquet").is_file()
        assert (tmp_path / "export" / city / "indicators.yaml").is_file()


def test_by_city_refuses_a_score(two_cities, tmp_path) -> None:
    with pytest.raises(CommandError, match="按地市运行时不能与合成数据真值比对"):
        _monitor("--by-city", "--score", str(tmp_path / "341002" / "truth.parquet"))
    assert not MonitoringRun.objects.exists()
