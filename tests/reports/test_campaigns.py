"""Campaigns: the sample is identical for the same seed and holds each town's share; findings
become corrective tasks with deadlines and the summary comes from them; the towns'
performance page counts what happened."""

from __future__ import annotations

import datetime as dt
import io
from io import StringIO

import polars as pl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from python_calamine import CalamineWorkbook

from doudi.reports import campaigns, performance, sampling
from doudi.reports.models import CampaignFinding, CampaignSample
from tests.conftest import PASSWORD

D = dt.date


def _population(n_towns: int = 5) -> pl.DataFrame:
    rows = []
    for t in range(n_towns):
        for i in range(40 + 17 * t):
            rows.append((t * 1000 + i, f"34100210{t}", "dibao" if i % 3 else "tekun"))
    return pl.DataFrame(rows, schema={"household_id": pl.Int64, "town": pl.String,
                                      "programme": pl.String}, orient="row")


def test_the_same_seed_draws_the_same_sample_with_each_towns_share() -> None:
    population = _population()
    first = sampling.sample(population, seed=20261130, rate_bp=1000)
    again = sampling.sample(population.sample(fraction=1.0, shuffle=True, seed=5),
                            seed=20261130, rate_bp=1000)
    assert first.equals(again)
    assert not first.equals(sampling.sample(population, seed=7, rate_bp=1000))
    for (town, programme), part in population.group_by(["town", "programme"]):
        drawn = first.filter((pl.col("town") == town) & (pl.col("programme") == programme))
        assert drawn.height == sampling.stratum_size(part.height, 1000)
        assert set(drawn["household_id"]) <= set(part["household_id"])
    # another town's growth does not move this town's draw
    grown = pl.concat([population, pl.DataFrame(
        {"household_id": [99_001, 99_002], "town": ["341002104", "341002104"],
         "programme": ["dibao", "dibao"]})])
    mine = pl.col("town") == "341002100"
    assert sampling.sample(grown, 20261130, 1000).filter(mine).equals(first.filter(mine))
    with pytest.raises(ValueError):
        sampling.sample(population, 1, 0)


@pytest.fixture
def loaded(users, areas, shipped_parameters, tmp_path):
    call_command("synth", "--area", "341002", "--households", "900", "--seed", "17",
                 "--into-db", "--out", str(tmp_path), "--today", "2026-09-15",
                 stdout=StringIO())
    return users


@pytest.mark.django_db
def test_a_campaign_samples_checks_and_summarises(loaded) -> None:
    u = loaded
    c = campaigns.start(by=u.district_officer, name="2026年低保回头看", kind="look_back",
                        programmes=["dibao"], rate_bp=2000, seed=42, starts_on=D(2026, 10, 1),
                        due_on=D(2026, 11, 30))
    population = campaigns.population("341002", ["dibao"], D(2026, 10, 1))
    assert CampaignSample.objects.filter(campaign=c).count() == sampling.sample(
        population, 42, 2000).height
    for (town,), part in population.group_by(["town"]):
        assert CampaignSample.objects.filter(campaign=c, town=town).count() == \
            sampling.stratum_size(part.height, 2000)
    same = campaigns.start(by=u.district_officer, name="复核", kind="look_back",
                           programmes=["dibao"], rate_bp=2000, seed=42,
                           starts_on=D(2026, 10, 1), due_on=D(2026, 11, 30))
    assert list(same.samples.values_list("household_id", flat=True)) == list(
        c.samples.values_list("household_id", flat=True))
    sample = c.samples.filter(town="341002102").first() or c.samples.first()
    with pytest.raises(PermissionDenied):
        campaigns.check(by=u.village_assistant, sample=sample, problems={},
                        checked_on=D(2026, 10, 20))
    checker = u.town_officer if sample.town == "341002102" else u.district_officer
    found = campaigns.check(by=checker, sample=sample,
                            problems={"income": "未计入子女赡养费", "file": "缺少授权书"},
                            checked_on=D(2026, 10, 20))
    assert [f.due_on for f in found] == [D(2026, 11, 19)] * 2
    other = c.samples.exclude(pk=sample.pk).first()
    campaigns.check(by=u.district_officer, sample=other, problems={},
                    checked_on=D(2026, 10, 21))
    campaigns.correct(by=checker, finding=found[0], correction="已重新核算",
                      corrected_on=D(2026, 11, 1))
    rows = {r.town: r for r in campaigns.summary(c, today=D(2026, 11, 25))}
    mine = rows[sample.town]
    assert (mine.problems, mine.corrected, mine.overdue) == (2, 1, 1)
    assert sum(r.checked for r in rows.values()) == 2
    assert sum(r.with_problems for r in rows.values()) == 1
    book = CalamineWorkbook.from_filelike(io.BytesIO(campaigns.summary_xlsx(c, {})))
    sheet = book.get_sheet_by_index(0).to_python()
    assert sheet[2][:4] == ["镇街", "抽查户数", "已检查", "发现问题户数"]
    assert sum(int(r[1]) for r in sheet[3:]) == c.samples.count()
    # 问题整改 in the towns' performance: the findings due in November, one corrected in time
    perf = {r.town: r for r in performance.towns("341002", D(2026, 11, 1), D(2026, 11, 30))}
    corrections = next(i for i in performance.INDICATORS if i.key == "corrections")
    assert (perf[sample.town].part(corrections), perf[sample.town].whole(corrections)) == (1, 2)
    assert perf[sample.town].rate_bp(corrections) == 5000


@pytest.mark.django_db
def test_only_the_district_starts_a_campaign(loaded) -> None:
    with pytest.raises(PermissionDenied):
        campaigns.start(by=loaded.town_officer, name="x", kind="mutual", programmes=["dibao"],
                        rate_bp=1000, seed=1, starts_on=D(2026, 10, 1), due_on=D(2026, 10, 2))
    with pytest.raises(campaigns.CampaignError, match="抽样比例"):
        campaigns.start(by=loaded.district_officer, name="x", kind="mutual",
                        programmes=["dibao"], rate_bp=0, seed=1, starts_on=D(2026, 10, 1),
                        due_on=D(2026, 10, 2))
    assert not CampaignFinding.objects.exists()


@pytest.mark.django_db
def test_campaign_and_performance_pages(client, loaded) -> None:
    client.login(username="district_officer", password=PASSWORD)
    made = client.post("/reports/campaigns/", {
        "name": "互查", "kind": "mutual", "programmes": ["dibao"], "rate": "10",
        "seed": "99", "starts_on": "2026-10-01", "due_on": "2026-10-31",
        "correction_days": "15"})
    assert made.status_code == 302
    page = client.get(made["Location"]).content.decode()
    assert "随机种子" in page and "99" in page and "campaign-summary" in page
    xlsx = client.get(made["Location"] + "?format=xlsx")
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    perf = client.get("/reports/performance/?month=2026-10")
    assert perf.status_code == 200 and "镇街绩效评价" in perf.content.decode()
    assert client.get("/reports/performance/?month=2026-10&format=xlsx")[
        "Content-Type"].startswith("application/vnd.openxmlformats")
