"""Importing every synthetic feed yields exactly the expected error rows; a re-import changes
nothing; a verification report shows what a planted household's declaration left out."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from django.core.management import call_command

from doudi.engine.feeds.cells import DATE_SERIAL
from doudi.exchange.imports import import_file, report_rows
from doudi.exchange.models import FeedBatch, FeedType, ImportJob
from doudi.exchange.verification import build
from doudi.registry.models import Household
from doudi.synth.feeds.layouts import LAYOUTS

TODAY = dt.date(2026, 11, 23)


@pytest.fixture
def district(db, tmp_path, settings, areas):
    settings.EXCHANGE_DIR = tmp_path / "exchange"
    out = tmp_path / "district"
    call_command("synth", "--area", "341002", "--households", "600", "--seed", "5",
                 "--out", str(out), "--into-db", "--today", TODAY.isoformat(), "--xlsx")
    return out


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_every_feed_gives_exactly_the_expected_errors(district, fmt) -> None:
    truth = pl.read_parquet(district / "dirty_rows.parquet")
    offset = 0 if fmt == "parquet" else 1  # a sheet's header is row 1
    for layout in LAYOUTS:
        feed = FeedType.objects.get(key=layout.key)
        out = import_file(feed, district / "feeds" / f"{layout.file_stem}.{fmt}", user=None,
                          channel="cli")
        assert out.status == ImportJob.DONE, out.message
        report = report_rows(out.job)
        mine = truth.filter(pl.col("feed") == layout.key)
        want_errors = set(mine.filter(pl.col("expected") == "rejected")["row"] + offset)
        want_dups = set(mine.filter(pl.col("expected") == "deduplicated")["row"] + offset)
        assert set(report.filter(pl.col("field") != "")["row"]) == want_errors, layout.key
        assert set(report.filter(pl.col("field") == "")["row"]) == want_dups, layout.key
        assert out.counts["good"] + out.counts["errors"] + out.counts["duplicates"] \
            == out.counts["rows"]
        reasons = set(report.filter(pl.col("field") != "")["reason"])
        assert reasons <= {"身份证号校验码错误", "必填项为空", DATE_SERIAL}, reasons
        # An ID nobody holds (only its 顺序码 differs) is not an ID match: the row stays
        # unmatched or is matched, flagged weaker, by name + birth date.
        unknown = mine.filter(pl.col("expected") == "unmatched").height
        assert out.counts["unmatched"] + out.counts["matched_weak"] >= unknown


def test_same_file_twice_changes_nothing(district) -> None:
    feed = FeedType.objects.get(key="vehicle")
    path = district / "feeds" / "车管_机动车登记信息.csv"
    first = import_file(feed, path, user=None, channel="cli")
    batches = list(FeedBatch.objects.values_list("pk", "version", "checksum"))
    again = import_file(feed, path, user=None, channel="cli")
    assert again.status == ImportJob.DUPLICATE and again.batch.pk == first.batch.pk
    assert list(FeedBatch.objects.values_list("pk", "version", "checksum")) == batches


def test_report_shows_the_vehicle_the_declaration_left_out(district) -> None:
    for layout in LAYOUTS:
        import_file(FeedType.objects.get(key=layout.key),
                    district / "feeds" / f"{layout.file_stem}.csv", user=None, channel="cli")
    truth = pl.read_parquet(district / "truth.parquet").filter(
        (pl.col("kind") == "covered_ineligible") & (pl.col("source") == "vehicle"))
    assert truth.height > 0
    for case in truth.iter_rows(named=True):
        household = Household.objects.get(number=case["household_number"])
        content, batches = build(household, TODAY)
        vehicle = [ln for s in content["sections"] if s["key"] == "vehicle" for ln in s["lines"]]
        assert vehicle and vehicle[0]["difference"], content
        assert vehicle[0]["declared"] == "0 项"
        assert vehicle[0]["sources"][0]["file_name"] == "车管_机动车登记信息.csv"
        assert any(b.feed_type.key == "vehicle" for b in batches)
