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


def test_registry_gives_the_eligibility_the_synthetic_rules_gave(areas, shipped_parameters,
                                                                  tmp_path):
    """The pure mapping (synth.rules_frames) and the registry's (rules_input) agree on every
    programme once the population is loaded; the covered enrolments become categories."""
    from doudi.registry.models import CategoryAssignment
    from doudi.synth.district import build

    call_command("synth", "--area", "341002", "--households", "400", "--seed", "5",
                 "--into-db", "--out", str(tmp_path), "--today", TODAY, stdout=StringIO())
    day = dt.date.fromisoformat(TODAY)
    h, m = build_frames(Household.objects.all(), day)
    result = evaluate(h, m, shipped_parameters, day)
    numbers = dict(Household.objects.values_list("id", "number"))
    ids = {str(k): v for k, v in Person.objects.values_list("id", "id_number")}
    district = build("341002", 400, 5, day, parameters=shipped_parameters)
    synthetic = district.enrolments.join(
        district.population.households.select("household_id", "number"), on="household_id"
    ).join(district.population.persons.select("person_id", "id_number"), on="person_id",
           how="left")
    for programme, flag in (("dibao", "dibao.eligible"), ("edge", "edge.eligible"),
                            ("hardship", "hardship.eligible")):
        registry = {numbers[i] for i in result.households.filter(flag)["household_id"]}
        assert registry == set(synthetic.filter(programme=programme)["number"]), programme
    for programme, flag in (("tekun", "tekun.eligible"), ("child", "child.eligible"),
                            ("disability_care", "disability.care_eligible")):
        registry = {ids[i] for i in result.members.filter(flag)["member_id"]}
        assert registry == set(synthetic.filter(programme=programme)["id_number"]), programme
    assert synthetic.filter(programme="dibao").height > 5, "the district has 低保 households"
    covered = synthetic.filter(pl.col("covered") & (pl.col("programme") == "dibao"))
    assert set(CategoryAssignment.objects.filter(category="dibao").values_list(
        "household__number", flat=True)) == set(covered["number"])
    assert covered.height < synthetic.filter(programme="dibao").height  # 应保未保 remain
    assert AuditEvent.objects.filter(object_type="registry.categoryassignment",
                                     action=AuditEvent.IMPORT).count() == 1


def test_loader_writes_rows_as_the_models_would(areas):
    """The loader writes in bulk (COPY on PostgreSQL): every field as saving the model would
    give it — the ID and its last four encrypted and searchable, pinyin initials, defaults,
    timestamps — and memberships, observations and categories linked to the right rows."""
    from doudi.registry.models import CategoryAssignment
    from doudi.registry.services import name_initials
    from doudi.synth import loader, population

    today = dt.date.fromisoformat(TODAY)
    pop = population.generate("341002", 120, seed=4, today=today)
    report = loader.load(pop.households, pop.persons, today, batch=50)
    assert (report.households, report.persons) == (120, pop.persons.height)
    synthetic = {r["id_number"]: r for r in pop.persons.join(
        pop.households.select("household_id", "number", "area_code", "hukou"),
        on="household_id").to_dicts()}
    for person in Person.objects.all():
        row = synthetic[person.id_number]
        assert Person.objects.get(id_number=row["id_number"]) == person
        assert person in Person.objects.filter(id_tail=row["id_number"][-4:])
        assert (person.name, person.sex, person.birth_date) == (
            row["name"], row["sex"], row["birth_date"])
        assert person.name_initials == name_initials(row["name"])
        assert (person.area_code, person.hukou_type) == (row["area_code"], row["hukou"])
        assert person.phone == "" and person.death_date is None
        assert person.created_at is not None and person.updated_at is not None
        membership = Membership.objects.get(person=person)
        assert membership.household.number == row["number"]
        assert membership.relation == row["relation"] and membership.end_date is None
        incomes = dict(Observation.objects.filter(person=person, kind="income")
                       .values_list("item", "amount_fen"))
        assert incomes == {item: row[column] for column, item in loader.INCOME_ITEMS.items()
                           if row[column]}
        if row["orphan"]:
            assert CategoryAssignment.objects.filter(person=person, category="orphan").exists()
    household = pop.households.row(0, named=True)
    saved = Household.objects.get(number=household["number"])
    assert (saved.area_id, saved.address, saved.is_active) == (
        household["area_code"], household["address"], True)
    deposit = Observation.objects.filter(household=saved, person=None, item="deposit")
    assert [o.amount_fen for o in deposit] == ([household["financial_assets"]]
                                               if household["financial_assets"] else [])
    assert AuditEvent.objects.filter(object_type="registry.household",
                                     action=AuditEvent.IMPORT).count() == 3  # a row a batch
