"""A programme added as docs/adding-a-programme.md says — a catalogue entry, a rules module, a
scenario file and its parameters — is picked up by casework, enrolment, payments, statistics and
monitoring with no other edit, and so is one declared in parts (each part enrolled, paid, coded
and monitored on its own). The made-up 冬季取暖补贴 lives in `tests/programmes/made_up/`."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from pathlib import Path

import pytest

from doudi.benefits import bank_files
from doudi.benefits import services as benefits
from doudi.benefits.models import PaymentLine
from doudi.casework import services as casework
from doudi.monitoring import services as monitoring
from doudi.monitoring import workflow as warning_workflow
from doudi.monitoring.models import Warning
from doudi.policy import services as policy
from doudi.programmes import catalogue
from doudi.registry.models import Membership, Observation
from doudi.reports import statistics
from doudi.rules import scenarios
from doudi.rules.parameters import ParameterSet
from doudi.rules.programmes import PROGRAMMES
from doudi.rules.shipped import load_file, shipped
from tests.casework.flow import approve_through
from tests.payees import card, give_payee

HERE = Path(__file__).parent / "made_up"
DAY = dt.date(2026, 11, 2)  # a Monday
MONTH = dt.date(2026, 12, 1)

# the entry a newcomer adds to SHIPPED in src/doudi/programmes/catalogue.py
HEATING = catalogue.Programme(
    "heating", "冬季取暖补贴（测试用虚构项目）", "取暖补贴", catalogue.HOUSEHOLD,
    "tests.programmes.made_up.heating", 95, public_intake=True, payment_code="09",
    case_label="发放取暖补贴")


@pytest.fixture
def heating():
    catalogue.register(HEATING)
    try:
        yield HEATING
    finally:
        catalogue.unregister(HEATING.code)


def test_the_rules_and_the_scenarios_pick_it_up(heating) -> None:
    assert list(PROGRAMMES)[-1] == "heating"  # evaluated after 低保 and 边缘, which it reads
    params = ParameterSet([*shipped(), *load_file(HERE / "parameters.yaml")])
    outcomes = [scenarios.check(case, params)
                for case in scenarios.load_cases(HERE / "heating.yaml")]
    assert len(outcomes) == 5
    assert all(o.passed for o in outcomes), [o for o in outcomes if not o.passed]


def test_without_the_entry_the_programme_does_not_exist() -> None:
    assert "heating" not in PROGRAMMES and not catalogue.is_programme("heating")


@pytest.mark.django_db
def test_casework_payments_statistics_and_monitoring_pick_it_up(
        heating, world, shipped_parameters, shipped_bank_layouts) -> None:
    policy.load_shipped(ParameterSet(load_file(HERE / "parameters.yaml")))
    u = world.users
    for hh in (world.village_hh, world.same_town_hh):  # no income: 低保 eligible
        Observation.objects.filter(household=hh).delete()
        Membership.objects.filter(household=hh).update(start_date=dt.date(2020, 1, 1))

    # casework: applied for, decided by the rules' amount, enrolled
    app = casework.create_application(by=u.village_assistant, household=world.village_hh,
                                      programme="heating", channel="village",
                                      reason="冬季取暖困难", submitted_on=DAY)
    assert app.get_programme_display() == HEATING.label
    app = approve_through(u, app, DAY)
    assert app.publicity_ends_on is None  # not published: no 公示
    assert (app.state, app.amount_fen) == ("approved", 15_000)
    enrollment = app.enrollments.get()
    assert (enrollment.programme, enrollment.amount_fen, enrollment.person) == \
        ("heating", 15_000, None)

    # payments: on the roster and in the bank file under the catalogue's code (a line without
    # a payee account would be held back, so the account is registered first)
    give_payee(u, enrollment, card("621700000000000"))
    built = benefits.build_run(by=u.district_officer, month=MONTH, area_code="341002")
    line = PaymentLine.objects.get(run=built.run, enrollment=enrollment)
    assert line.total_fen == 15_000
    benefits.approve_run(by=u.district_approver, run=built.run, opinion="经审核，同意")
    data = bank_files.bank_file(by=u.district_officer, run=built.run)[0].decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(data)))
    assert [(r["项目代码"], r["金额"]) for r in rows] == [("09", "150.00")]

    # statistics: a household programme covers every co-resident member
    total = statistics.month_table("341002", MONTH).total
    members = Membership.objects.filter(household=world.village_hh, end_date__isnull=True)
    assert total["covered_households"] == 1 and total["covered_persons"] == members.count()

    # monitoring: the other qualifying household is 应保未保 for it; the enrolled one is not
    run = monitoring.start_run(by=None, area_code="341002", trigger="cli", as_of=MONTH)
    monitoring.execute(run)
    found = Warning.objects.filter(programme="heating", kind="uncovered_eligible")
    assert set(found.values_list("household_id", flat=True)) == {world.same_town_hh.pk}
    assert HEATING.label in found.get().summary
    assert "case_heating" in warning_workflow.dispositions()


# the same programme declared in two parts: the allowance and the supplement for two or more
# elders, enrolled, paid, coded and monitored each on its own, with no other edit
HEATING_IN_PARTS = dataclasses.replace(HEATING, parts=(
    catalogue.Part("heating_base", "取暖补贴（基本）", "heating.eligible", "heating.amount"),
    catalogue.Part("heating_extra", "取暖补贴（多老人加发）", "heating.extra_eligible",
                   "heating.extra_amount", payment_code="091")))


@pytest.fixture
def heating_in_parts():
    catalogue.register(HEATING_IN_PARTS)
    try:
        yield HEATING_IN_PARTS
    finally:
        catalogue.unregister(HEATING_IN_PARTS.code)


@pytest.mark.django_db
def test_a_programme_in_parts_is_picked_up_part_by_part(
        heating_in_parts, world, shipped_parameters, shipped_bank_layouts) -> None:
    policy.load_shipped(ParameterSet(load_file(HERE / "parameters.yaml")))
    u = world.users
    base, extra = HEATING_IN_PARTS.parts
    for hh in (world.village_hh, world.same_town_hh):  # no income, two adults: both parts
        Observation.objects.filter(household=hh).delete()
        Membership.objects.filter(household=hh).update(start_date=dt.date(2020, 1, 1))
    app = casework.create_application(by=u.village_assistant, household=world.village_hh,
                                      programme="heating", channel="village",
                                      reason="冬季取暖困难", submitted_on=DAY)
    app = approve_through(u, app, DAY)
    assert app.amount_fen == 20_000
    assert {(e.part, e.amount_fen, e.person) for e in app.enrollments.all()} == {
        (base.code, 15_000, None), (extra.code, 5_000, None)}
    for e in app.enrollments.all():
        give_payee(u, e, card(f"62170000000{e.pk:04d}"))
    built = benefits.build_run(by=u.district_officer, month=MONTH, area_code="341002")
    benefits.approve_run(by=u.district_approver, run=built.run, opinion="经审核，同意")
    data = bank_files.bank_file(by=u.district_officer, run=built.run)[0].decode("utf-8-sig")
    assert sorted((r["项目代码"], r["金额"]) for r in csv.DictReader(io.StringIO(data))) == [
        ("09", "150.00"), ("091", "50.00")]  # the supplement under its own code
    # the supplement stops (one elder moved away); the allowance is still paid
    stopped = app.enrollments.get(part=extra.code)
    benefits.change(by=u.district_approver, enrollment=stopped, kind="stop",
                    effective_date=dt.date(2027, 1, 1), reason="一名老人迁出")
    january = benefits.build_run(by=u.district_officer, month=dt.date(2027, 1, 1),
                                 area_code="341002").run
    assert [line.enrollment.part for line in PaymentLine.objects.filter(run=january)] == \
        [base.code]
    # monitoring: the household that stopped the supplement but still qualifies lacks it; the
    # other household lacks both parts
    run = monitoring.start_run(by=None, area_code="341002", trigger="cli", as_of=MONTH)
    monitoring.execute(run)
    found = {(w.household_id, w.programme) for w in Warning.objects.filter(
        kind="uncovered_eligible", programme__in=[base.code, extra.code])}
    assert found == {(world.village_hh.pk, extra.code), (world.same_town_hh.pk, base.code),
                     (world.same_town_hh.pk, extra.code)}
