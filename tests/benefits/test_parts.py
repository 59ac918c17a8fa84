"""两项补贴 are two entitlements: an approval enrols each subsidy the rules find applying, with its
own amount and start event; each is paid on its own roster line (and under its own 项目代码
where a bank layout gives one), changed, reviewed and stopped on its own; monitoring warns of
the part that is missing; pages name the part. Persons: living subsidy only (a grade-3 member
of a 低保 family), care subsidy only (grade 2 in a family that earns well), both (grade 1 in a
低保 family). The care subsidy is set to 120 元 for the district, so every amount says which
subsidy it is (the living subsidy stays at 90 元)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from types import SimpleNamespace

import pytest
from django.test import Client

from doudi.benefits import bank_files, bank_layouts, reviews
from doudi.benefits import services as benefits
from doudi.benefits.models import BankLayout, Enrollment, PaymentLine, ReviewTask
from doudi.casework import services as casework
from doudi.monitoring import services as monitoring
from doudi.monitoring.models import Warning
from doudi.policy.services import add_value
from doudi.programmes import catalogue
from doudi.registry import services as registry
from doudi.registry.models import Membership, Observation, Person
from tests.casework.flow import approve_through
from tests.conftest import PASSWORD, VILLAGE, make_household
from tests.payees import card, give_payee

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 11, 2)  # a Monday
DECEMBER, JANUARY = dt.date(2026, 12, 1), dt.date(2027, 1, 1)
PROGRAMME = next(p for p in catalogue.programmes() if len(p.parts) == 2)
LIVING, CARE = PROGRAMME.parts
LIVING_FEN, CARE_FEN = 9_000, 12_000


def _disabled(person: Person, grade: int, kind: str = "physical") -> Person:
    Person.objects.filter(pk=person.pk).update(disability_category=kind, disability_grade=grade)
    person.refresh_from_db()
    return person


@pytest.fixture
def people(world, shipped_parameters, new_id):
    u = world.users
    add_value(u.district_admin, CARE.amount.replace("_amount", "_subsidy"), "341002",
              dt.date(2026, 1, 1), "120", reference="测试：区护理补贴标准",
              retroactive_reason="测试追溯")
    poor = make_household(u.district_approver, VILLAGE, new_id, members=3)
    earning = make_household(u.district_approver, VILLAGE, new_id)
    for hh in (poor, earning):
        Observation.objects.filter(household=hh).delete()
        Membership.objects.filter(household=hh).update(start_date=dt.date(2020, 1, 1))
    registry.record_observation(by=u.district_approver, household=earning, kind="income",
                                item="wage", amount_fen=1_200_000, observed_on=dt.date(2026, 1, 1),
                                person=earning.head())
    members = [m.person for m in poor.memberships.order_by("id")]
    return SimpleNamespace(
        users=u, poor=poor, earning=earning,
        living_only=_disabled(members[0], 3),
        both=_disabled(members[1], 1),
        care_only=_disabled(earning.head(), 2),
        not_disabled=members[2])


def _apply(people, person: Person, parts: tuple = ()):
    app = casework.create_application(
        by=people.users.village_assistant, household=person.current_membership().household,
        programme=PROGRAMME.code, channel="village", reason="持证残疾人申请补贴",
        applicant=person, submitted_on=DAY, parts=[p.code for p in parts])
    return approve_through(people.users, app, DAY)


def _enrolled(person: Person) -> dict[str, int]:
    return {e.part: e.amount_fen for e in Enrollment.objects.filter(
        person=person, programme=PROGRAMME.code).exclude(status=Enrollment.ENDED)}


def test_approval_enrols_each_part_that_applies_with_its_own_amount(people) -> None:
    both = _apply(people, people.both)
    assert (both.state, both.amount_fen) == ("approved", LIVING_FEN + CARE_FEN)
    assert _enrolled(people.both) == {LIVING.code: LIVING_FEN, CARE.code: CARE_FEN}
    for e in both.enrollments.all():
        assert [(ev.kind, ev.amount_fen) for ev in e.events.all()] == [("start", e.amount_fen)]
        assert (e.start_date, e.explanation["part"]) == (DAY, e.part)
    living = _apply(people, people.living_only)
    assert (living.amount_fen, _enrolled(people.living_only)) == \
        (LIVING_FEN, {LIVING.code: LIVING_FEN})
    assert [(p["part"], p["eligible"]) for p in living.decided_parts] == \
        [(LIVING.code, True), (CARE.code, False)]
    care = _apply(people, people.care_only)
    assert (care.amount_fen, _enrolled(people.care_only)) == (CARE_FEN, {CARE.code: CARE_FEN})
    # applying again enrols nothing twice: what is already received is left as it is
    again = _apply(people, people.both)
    assert again.amount_fen == 0 and not again.enrollments.exists()
    assert all(p["receiving"] for p in again.decided_parts)
    assert Enrollment.objects.filter(person=people.both).count() == 2


def test_an_application_may_ask_for_one_part(people) -> None:
    app = _apply(people, people.both, parts=(CARE,))
    assert app.parts == [CARE.code] and app.parts_label == CARE.label
    assert (app.amount_fen, _enrolled(people.both)) == (CARE_FEN, {CARE.code: CARE_FEN})
    later = _apply(people, people.both, parts=(LIVING,))
    assert later.amount_fen == LIVING_FEN
    assert _enrolled(people.both) == {LIVING.code: LIVING_FEN, CARE.code: CARE_FEN}
    with pytest.raises(casework.CaseworkError, match="组成部分"):
        casework.create_application(
            by=people.users.village_assistant, household=people.poor, programme=PROGRAMME.code,
            channel="village", reason="x", applicant=people.both, parts=["no_such_part"])
    with pytest.raises(casework.CaseworkError, match="不分组成部分"):
        casework.create_application(
            by=people.users.village_assistant, household=people.poor,
            programme=catalogue.DIBAO, channel="village", reason="x", parts=[CARE.code])


def test_enrolment_names_its_part_once(people) -> None:
    u = people.users
    with pytest.raises(benefits.BenefitsError, match="组成部分"):
        benefits.enroll(by=u.district_approver, household=people.poor, person=people.both,
                        programme=PROGRAMME.code, amount_fen=1, start_date=DAY)
    benefits.enroll(by=u.district_approver, household=people.poor, person=people.both,
                    programme=PROGRAMME.code, part=CARE.code, amount_fen=CARE_FEN,
                    start_date=DAY)
    with pytest.raises(benefits.BenefitsError, match="不能重复"):
        benefits.enroll(by=u.district_approver, household=people.poor, person=people.both,
                        programme=PROGRAMME.code, part=CARE.code, amount_fen=CARE_FEN,
                        start_date=DAY)
    with pytest.raises(benefits.BenefitsError, match="没有组成部分"):
        benefits.enroll(by=u.district_approver, household=people.poor,
                        programme=catalogue.DIBAO, part=CARE.code, amount_fen=1, start_date=DAY)


def _pay(people, month: dt.date):
    u = people.users
    for e in Enrollment.objects.filter(payee_account=""):
        give_payee(u, e, card(f"6217000{e.pk:08d}"))
    built = benefits.build_run(by=u.district_officer, month=month, area_code="341002")
    benefits.approve_run(by=u.district_approver, run=built.run, opinion="经审核，同意")
    return built.run


def _lines(run, person: Person) -> dict[str, int]:
    return {line.enrollment.part: line.total_fen for line in
            PaymentLine.objects.filter(run=run, enrollment__person=person)
            .select_related("enrollment")}


def _bank_rows(people, run, layout: str) -> list[dict[str, str]]:
    data = bank_files.bank_file(by=people.users.district_officer, run=run, layout=layout)[0]
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_each_part_is_its_own_line_and_code_and_stops_alone(people, shipped_bank_layouts) -> None:
    u = people.users
    _apply(people, people.both)
    _apply(people, people.living_only)
    december = _pay(people, DECEMBER)
    assert _lines(december, people.both) == {LIVING.code: LIVING_FEN, CARE.code: CARE_FEN}
    assert _lines(december, people.living_only) == {LIVING.code: LIVING_FEN}
    # the default layout pays both under the programme's code; a district's layout may give a
    # part its own, the other keeps the programme's
    default = _bank_rows(people, december, "default")
    assert sorted(r["金额"] for r in default if r["项目代码"] == PROGRAMME.payment_code) == \
        ["120.00", "90.00", "90.00"]
    bank_files.save_layout(
        by=u.district_admin, layout=BankLayout(), code="parts", name="分项代码",
        columns=bank_layouts.columns_text([["流水号", "line"], ["账号", "account"],
                                           ["户名", "name"], ["金额", "amount"],
                                           ["项目代码", "code"],
                                           ["项目名称", "programme_name"]]),
        encoding="utf-8-sig", file_format="csv", result_line="流水号", result_status="结果",
        result_reason="失败原因", success_values="成功",
        codes=bank_layouts.parse_codes(f"{CARE.label}=061"))
    january = _pay(people, JANUARY)
    rows = _bank_rows(people, january, "parts")
    assert sorted((r["项目代码"], r["金额"], r["项目名称"]) for r in rows) == [
        ("06", "90.00", f"{PROGRAMME.short_label}·{LIVING.label}"),
        ("06", "90.00", f"{PROGRAMME.short_label}·{LIVING.label}"),
        ("061", "120.00", f"{PROGRAMME.short_label}·{CARE.label}")]
    # the care subsidy stops; the living subsidy goes on being paid
    care = Enrollment.objects.get(person=people.both, part=CARE.code)
    benefits.change(by=u.district_approver, enrollment=care, kind="stop",
                    effective_date=dt.date(2027, 2, 1), reason="护理补贴停发")
    february = _pay(people, dt.date(2027, 2, 1))
    assert _lines(february, people.both) == {LIVING.code: LIVING_FEN}
    assert _enrolled(people.both) == {LIVING.code: LIVING_FEN}


def _monitor(day: dt.date = DAY) -> set[tuple[int, str]]:
    run = monitoring.start_run(by=None, area_code="341002", trigger="cli", as_of=day)
    monitoring.execute(run)
    parts = {u.code for u in PROGRAMME.parts} | {PROGRAMME.code}
    return {(w.person_id, w.programme) for w in Warning.objects.filter(
        kind="uncovered_eligible", status="open", programme__in=parts)}


def test_a_grade_change_warns_of_the_missing_part_and_a_case_closes_it(people) -> None:
    u = people.users
    for person in (people.both, people.living_only, people.care_only):
        _apply(people, person)
    assert _monitor() == set()
    _disabled(people.living_only, 1)  # 三级 → 一级: the care subsidy now applies as well
    assert _monitor() == {(people.living_only.pk, CARE.code)}
    warning = Warning.objects.get(kind="uncovered_eligible", person=people.living_only,
                                  programme=CARE.code)
    assert warning.summary.endswith(CARE.label) and PROGRAMME.label not in warning.summary
    monitoring.verify(by=u.town_approver, warning=warning, finding="残联证已换发一级",
                      confirmed=True)
    warning = monitoring.dispose(by=u.town_approver, warning=warning,
                                 disposition=f"case_{PROGRAMME.code}")
    app = warning.application
    assert app.parts == [CARE.code]  # the case asks for the missing part only
    approve_through(u, app, DAY)
    warning.refresh_from_db()
    assert _enrolled(people.living_only) == {LIVING.code: LIVING_FEN, CARE.code: CARE_FEN}
    assert warning.status == "closed"


def test_stopping_one_part_warns_of_that_part_only(people) -> None:
    _apply(people, people.both)
    living = Enrollment.objects.get(person=people.both, part=LIVING.code)
    benefits.change(by=people.users.district_approver, enrollment=living, kind="stop",
                    effective_date=DAY, reason="误停")
    assert {w for w in _monitor() if w[0] == people.both.pk} == {(people.both.pk, LIVING.code)}


def test_a_case_closes_only_the_warnings_of_parts_it_enrolled(people) -> None:
    """Asked for both, found eligible for one: the other part's warning stays open."""
    hh = people.poor
    opened = {part.code: Warning.objects.create(
        indicator="uncovered_eligible", kind="uncovered_eligible", level=2,
        channel="monitoring", household=hh, person=people.living_only, programme=part.code,
        area_code=hh.area_code, due_on=DAY, handler_level="village",
        summary=f"应保未保：{part.label}", open_key=f"test-{part.code}")
        for part in PROGRAMME.parts}
    _apply(people, people.living_only)
    statuses = {code: Warning.objects.get(pk=w.pk).status for code, w in opened.items()}
    assert statuses == {LIVING.code: "closed", CARE.code: "open"}


def test_each_part_is_reviewed_on_its_own(people) -> None:
    _apply(people, people.both)
    assert reviews.schedule(dt.date(2028, 1, 1)) >= 2
    tasks = {t.enrollment.part: t for t in ReviewTask.objects.filter(
        enrollment__person=people.both).select_related("enrollment")}
    assert set(tasks) == {LIVING.code, CARE.code}
    reviews.record(by=people.users.district_approver, task=tasks[CARE.code], outcome="stop",
                   findings="护理需求消失", day=dt.date(2027, 12, 20))
    assert _enrolled(people.both) == {LIVING.code: LIVING_FEN}
    assert ReviewTask.objects.get(pk=tasks[LIVING.code].pk).status == ReviewTask.OPEN
    reviews.record(by=people.users.district_approver, task=tasks[LIVING.code],
                   outcome="change", amount_fen=10_000, findings="新标准",
                   day=dt.date(2027, 12, 20))
    assert _enrolled(people.both) == {LIVING.code: 10_000}


def test_pages_name_the_part(people, client: Client) -> None:
    _apply(people, people.both)
    client.login(username="district_approver", password=PASSWORD)
    page = client.get(f"/households/{people.poor.pk}/").content.decode()
    for part in PROGRAMME.parts:
        assert f"{PROGRAMME.short_label}·{part.label}" in page
    care = Enrollment.objects.get(person=people.both, part=CARE.code)
    detail = client.get(f"/enrollments/{care.pk}/").content.decode()
    assert f"<h1>{PROGRAMME.short_label}·{CARE.label}" in detail
    assert 'id="part-unknown"' not in detail


def test_the_intake_form_asks_which_parts(people, client: Client) -> None:
    client.login(username="village_assistant", password=PASSWORD)
    page = client.get(f"/households/{people.poor.pk}/").content.decode()
    assert f'name="parts_{PROGRAMME.code}" value="{CARE.code}"' in page
    client.post(f"/households/{people.poor.pk}/applications/", {
        "programme": PROGRAMME.code, "channel": "village", "reason": "申请护理补贴",
        f"parts_{PROGRAMME.code}": [CARE.code], f"applicant_{PROGRAMME.code}": people.both.pk})
    app = people.poor.applications.get()
    assert (app.programme, app.parts, app.applicant) == (PROGRAMME.code, [CARE.code], people.both)
    detail = client.get(f"/applications/{app.pk}/").content.decode()
    assert f'id="asked-parts">{CARE.label}<' in detail


@pytest.mark.parametrize("approved_fen", [LIVING_FEN + CARE_FEN, 20_000])
def test_an_application_approved_before_parts_takes_them_from_its_decision_day(
        people, approved_fen: int) -> None:
    """Approved before an upgrade, noticed after: its approval recorded no parts. The rules on
    its decision day split it when they add up to the amount approved; otherwise it is enrolled
    whole, as before, and marked — never split by a guess."""
    from doudi.casework.models import ApplicationEvent
    from tests.casework.flow import approve, to_decision

    u = people.users
    app = casework.create_application(
        by=u.village_assistant, household=people.poor, programme=PROGRAMME.code,
        channel="village", reason="持证残疾人申请补贴", applicant=people.both, submitted_on=DAY)
    app = approve(u, to_decision(u, app, DAY))
    event = app.events.get(action="approve")
    rules = {k: v for k, v in event.data["rules"].items() if k != "parts"}
    ApplicationEvent.objects.filter(pk=event.pk).update(data={**event.data, "rules": rules})
    type(app).objects.filter(pk=app.pk).update(amount_fen=approved_fen)
    app.refresh_from_db()
    casework.act(by=u.town_officer, application=app, action="issue_notice", day=app.decided_on)
    made = {e.part: (e.amount_fen, e.part_unknown) for e in app.enrollments.all()}
    if approved_fen == LIVING_FEN + CARE_FEN:
        assert made == {LIVING.code: (LIVING_FEN, False), CARE.code: (CARE_FEN, False)}
    else:
        assert made == {"": (approved_fen, True)}
