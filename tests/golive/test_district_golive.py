"""A synthetic district exported as an old provincial system writes it (merged two-row headers,
one row per member, GBK CSV and xls), imported into an empty Doudi: counts, amounts and payees
equal the source; the reconciliation lists exactly the planted differences; the first roster
Doudi builds equals the source's last roster; re-importing changes nothing; a file with bad
rows writes nothing and its dry run lists every bad row."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import polars as pl
import pytest
from django.core.management import call_command

from doudi.audit import context
from doudi.benefits import services as benefits
from doudi.benefits.models import Enrollment
from doudi.golive import caseload, history, reconcile
from doudi.golive.models import GoliveImport, LegacyHousehold
from doudi.registry.models import CategoryAssignment, Household, Person
from doudi.synth import district, old_system

TODAY = dt.date(2026, 11, 23)
LAST_MONTH = dt.date(2026, 11, 1)
DISTRICT = "341002"
# the writer's plants → the reconciliation's kinds of difference
PLANTED_AS = {"amount_differs_from_rules": "rules", "missing_from_roster": "missing_in_roster",
              "roster_amount_differs": "amount"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    town = district.build(DISTRICT, 700, seed=13, today=TODAY)
    return old_system.export(town, seed=17, out_dir=tmp_path_factory.mktemp("old"),
                             month=LAST_MONTH, formats=("xls", "csv", "xlsx"))


@pytest.fixture(scope="module")
def unplanted(tmp_path_factory):
    town = district.build(DISTRICT, 500, seed=29, today=TODAY)
    return old_system.export(town, seed=31, out_dir=tmp_path_factory.mktemp("clean"),
                             month=LAST_MONTH, formats=("csv",), plant=False)


@pytest.fixture
def admin(areas, shipped_parameters, users):
    with context.job("test golive district"):
        yield users.district_admin


def _file(exported, kind: str, fmt: str) -> tuple[str, bytes]:
    path = exported.paths[kind][fmt]
    return path.name, path.read_bytes()


@pytest.mark.parametrize("fmt", ["csv", "xls"])
def test_the_old_systems_caseload_comes_in_whole_and_reconciles_to_the_plants(
        exported, admin, users, fmt):
    truth = exported.households
    files = [_file(exported, "caseload", fmt)]
    p = caseload.plan(files, district_code=DISTRICT, day=TODAY)
    assert p.ok, p.sources.report_frame().head(10).to_dicts()
    applied = caseload.apply(p, by=admin)
    assert applied.record.status == GoliveImport.DONE

    # counts, amounts and payees equal the source
    assert Household.objects.count() == truth.height
    assert Person.objects.count() == exported.members.height
    paying = truth.filter(pl.col("amount_fen") > 0)
    assert Enrollment.objects.count() == paying.height
    legacy = dict(LegacyHousehold.objects.values_list("legacy_number", "household_id"))
    for h in paying.iter_rows(named=True):
        e = Enrollment.objects.get(household_id=legacy[h["legacy_number"]])
        assert (e.programme, e.amount_fen, e.start_date) == (
            h["programme"], h["amount_fen"], h["start_date"]), h["legacy_number"]
        assert (e.payee_name, e.bank, e.payee_account) == (
            h["payee_name"], h["bank"], h["account"]), h["legacy_number"]
        assert e.status == (Enrollment.TAPERING if h["taper_until"] else Enrollment.ACTIVE)
    recognised = truth.filter(pl.col("amount_fen") == 0)
    for h in recognised.iter_rows(named=True):
        assert CategoryAssignment.objects.filter(household_id=legacy[h["legacy_number"]],
                                                 category=h["programme"]).exists()

    # the reconciliation lists exactly the planted differences
    name, data = _file(exported, "roster", fmt)
    record, got = reconcile.import_roster(name, data, district_code=DISTRICT, by=admin)
    assert record.status == GoliveImport.DONE
    assert got.ok, got.report.to_dicts()
    made = reconcile.reconcile(district_code=DISTRICT, by=admin, day=TODAY)
    found = {(d["legacy_number"], d["kind"]) for d in made.differences}
    assert found == {(n, PLANTED_AS[kind]) for n, kind in exported.plants}
    summary_fen = sum(s["roster_fen"] for s in made.summary)
    assert summary_fen == exported.roster["amount_fen"].sum()

    # the first roster Doudi builds pays what the old system last paid, case by case
    built = benefits.build_run(by=users.district_officer, month=dt.date(2026, 12, 1),
                               area_code=DISTRICT)
    paid = {ln.enrollment.household.legacy.legacy_number: ln.total_fen
            for ln in built.run.lines.select_related("enrollment__household__legacy")}
    changed = {n for n, kind in exported.plants if kind != "amount_differs_from_rules"}
    ended = {h["legacy_number"] for h in truth.iter_rows(named=True)
             if h["taper_until"] and h["taper_until"] < dt.date(2026, 12, 1)}
    last = {r["legacy_number"]: r["amount_fen"] for r in exported.roster.iter_rows(named=True)}
    assert {n: f for n, f in paid.items() if n not in changed} == {
        n: f for n, f in last.items() if n not in changed and n not in ended}

    # the same files again: nothing changes
    again = caseload.apply(caseload.plan(files, district_code=DISTRICT, day=TODAY), by=admin)
    assert again.record.status == GoliveImport.UNCHANGED
    assert Household.objects.count() == truth.height
    assert Enrollment.objects.count() == paying.height


def test_bad_rows_write_nothing_and_the_dry_run_lists_every_one(exported, admin, tmp_path):
    bad = old_system.bad_rows_variant(exported, fmt="xlsx", out_dir=tmp_path)
    files = [(bad.path.name, bad.path.read_bytes())]
    out = StringIO()
    with pytest.raises(SystemExit) as stopped:
        call_command("golive", "import-caseload", str(bad.path), "--district", DISTRICT,
                     "--day", TODAY.isoformat(), stdout=out)
    assert stopped.value.code == 1
    p = caseload.plan(files, district_code=DISTRICT, day=TODAY)
    report = p.sources.report_frame()
    listed = set(zip(report["row"].to_list(), report["legacy_number"].to_list(), strict=True))
    for fault in bad.faults:
        assert (fault.row, fault.legacy_number) in listed, (fault, report.to_dicts())
        assert f"第 {fault.row} 行" in out.getvalue()
    refused = {h.legacy_number for h in p.households if h.action == caseload.REFUSED}
    assert refused == {f.legacy_number for f in bad.faults}
    with pytest.raises(caseload.CaseloadError):
        caseload.apply(p, by=admin)
    assert not Household.objects.exists() and not Person.objects.exists()
    assert not Enrollment.objects.exists()


def test_a_years_history_comes_in_and_the_first_roster_pays_only_the_month(unplanted, admin,
                                                                          users):
    """With the old system's payments of the past year and its decisions imported, Doudi's
    first roster pays each household its amount for that month: nothing owed again, nothing
    recovered — and the reconciliation finds nothing to review."""
    p = caseload.plan([_file(unplanted, "caseload", "csv")], district_code=DISTRICT, day=TODAY)
    assert p.ok, p.sources.report_frame().head(5).to_dicts()
    caseload.apply(p, by=admin)
    name, data = _file(unplanted, "payments", "csv")
    paid = history.import_payments(data, name, district=DISTRICT, by=admin, real=True,
                                   today=TODAY)
    assert paid.ok, [r.reason for r in paid.plan.refused][:5]
    name, data = _file(unplanted, "decisions", "csv")
    decided = history.import_decisions(data, name, district=DISTRICT, by=admin, real=True,
                                       today=TODAY)
    assert decided.ok, [r.reason for r in decided.plan.refused][:5]
    name, data = _file(unplanted, "roster", "csv")
    reconcile.import_roster(name, data, district_code=DISTRICT, by=admin)
    assert reconcile.reconcile(district_code=DISTRICT, by=admin, day=TODAY).differences == []

    built = benefits.build_run(by=users.district_officer, month=dt.date(2026, 12, 1),
                               area_code=DISTRICT)
    lines = list(built.run.lines.select_related("enrollment__household__legacy"))
    assert all(ln.arrears_fen == 0 and ln.recovery_fen == 0 for ln in lines)
    ended = {h["legacy_number"] for h in unplanted.households.iter_rows(named=True)
             if h["taper_until"] and h["taper_until"] < dt.date(2026, 12, 1)}
    last = {r["legacy_number"]: r["amount_fen"] for r in unplanted.roster.iter_rows(named=True)
            if r["legacy_number"] not in ended}
    assert {ln.enrollment.household.legacy.legacy_number: ln.total_fen for ln in lines} == last
