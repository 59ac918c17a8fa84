"""`doudi synth`: the synthetic population written as files and loaded into the registry."""

import datetime as dt
from io import StringIO

import polars as pl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from doudi.audit.models import AuditEvent
from doudi.core import idnumber
from doudi.registry.models import Household, Membership, Observation, Person
from doudi.registry.rules_input import build_frames
from doudi.rules.engine import evaluate

TODAY = "2026-11-01"


def test_synth_into_db_loads_a_scoped_audited_registry(areas, shipped_parameters, tmp_path):
    out = StringIO()
    call_command("synth", "--area", "341002", "--households", "60", "--seed", "3",
                 "--into-db", "--out", str(tmp_path), "--today", TODAY, stdout=out)
    assert "已导入登记库" in out.getvalue()
    households = pl.read_parquet(tmp_path / "households.parquet")
    persons = pl.read_parquet(tmp_path / "persons.parquet")
    assert Household.objects.count() == households.height == 60
    assert Person.objects.count() == persons.height
    assert Membership.objects.count() == persons.height
    assert set(Household.objects.values_list("area_code", flat=True)) <= {
        c for c in households["area_code"].unique().to_list()}
    assert all(code.startswith("341002") for code in Household.objects.values_list(
        "area_code", flat=True))
    assert all(idnumber.is_valid(i) for i in Person.objects.values_list("id_number", flat=True))
    # a member's area is the household's: scoping by village works for persons too
    for m in Membership.objects.select_related("person", "household")[:50]:
        assert m.person.area_code == m.household.area_code == m.area_code
    assert Observation.objects.filter(kind="income").exists()
    imports = AuditEvent.objects.filter(action=AuditEvent.IMPORT,
                                        object_type="registry.household")
    assert imports.count() >= 1 and imports.first().changes["households"] == 60
    h, m = build_frames(Household.objects.all(), dt.date.fromisoformat(TODAY))
    result = evaluate(h, m, shipped_parameters, dt.date.fromisoformat(TODAY))
    assert result.households.height == 60


def test_synth_needs_an_output(areas):
    with pytest.raises(CommandError, match="--out"):
        call_command("synth", "--area", "341002", "--households", "5")


def test_enrolments_follow_the_rules_and_leave_some_uncovered(areas, shipped_parameters):
    from doudi.registry.models import CategoryAssignment
    from doudi.synth.enrol import chosen_share, enrol_from_rules

    call_command("synth", "--area", "341002", "--households", "400", "--seed", "5",
                 "--into-db", "--today", TODAY, stdout=StringIO())
    day = dt.date.fromisoformat(TODAY)
    h, m = build_frames(Household.objects.all(), day)
    result = evaluate(h, m, shipped_parameters, day)
    eligible = set(result.households.filter("dibao.eligible")["household_id"].to_list())
    report = enrol_from_rules(Household.objects.all(), day, shipped_parameters, seed=5)
    enrolled = set(CategoryAssignment.objects.filter(category="dibao")
                   .values_list("household_id", flat=True))
    assert eligible, "the synthetic district has 低保 households"
    picked = pl.Series("id", sorted(eligible)).to_frame().filter(
        chosen_share(pl.col("id"), 5, 9_000))["id"].to_list()
    assert enrolled == set(picked)  # exactly the eligible households the stable hash picks
    assert report.counts["dibao"] == len(enrolled)
    # and that pick covers about 90 %, leaving 应保未保 for the monitoring to find
    share = pl.select(chosen_share(pl.int_range(1, 100_001), 5, 9_000).mean()).item()
    assert 0.88 < share < 0.92
    assert AuditEvent.objects.filter(object_type="registry.categoryassignment",
                                     action=AuditEvent.IMPORT).count() == 1
