"""放权后监管 (备案审查): every decision a town takes under delegated power is filed in the same
transaction as the decision — approvals and refusals, and only those — with why it is selected
for review; a district reviewer confirms it or opens a correction the town then records; towns
cannot review, nobody reviews outside their area or their own decision; the page's summary
agrees with counts made independently from the rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from doudi.audit import context
from doudi.audit.models import AuditEvent
from doudi.casework import filing, services
from doudi.casework.models import Application, FilingRecord
from doudi.core import clock
from doudi.policy.services import add_value
from doudi.registry.models import Membership, Observation
from tests.casework import flow
from tests.conftest import DISTRICT, PASSWORD, TOWN

pytestmark = pytest.mark.django_db


def _set(world, key: str, value, back: int = 1) -> None:
    """The district's value of `key` from `back` days ago (a later one overrides)."""
    with context.job("test: a district's 备案审查 parameter"):
        add_value(world.users.district_admin, key, DISTRICT,
                  clock.today() - dt.timedelta(days=back), value,
                  reference="区民政局通知（测试）", retroactive_reason="测试")


@pytest.fixture
def district(world, shipped_parameters):
    """No filing drawn at the rate unless a test says so: selection comes from the rules."""
    _set(world, "casework.filing.sample_rate", "0%", back=2)
    return world


def _eligible(hh) -> None:
    Observation.objects.filter(household=hh).delete()  # no income: 低保 eligible
    Membership.objects.filter(household=hh).update(start_date=dt.date(2020, 1, 1))


def _apply(world, hh, by=None) -> Application:
    _eligible(hh)
    return services.create_application(by=by or world.users.town_officer, household=hh,
                                       programme="dibao", channel="town_window",
                                       reason="无收入来源")


def _refuse(world, app: Application, by=None) -> Application:
    u = world.users
    app = services.act(by=u.village_assistant if app.area_code.startswith(
        u.village_assistant.scope_prefix) else u.town_officer, application=app,
        action="record_visit", data={"members_present": "户主", "living_conditions": "平房"})
    app = services.act(by=u.town_officer, application=app, action="complete_verification")
    app = services.act(by=u.town_officer, application=app, action="town_opinion",
                       opinion="不符合", data={"recommendation": "ineligible"})
    return services.act(by=by or u.town_approver, application=app, action="refuse",
                        opinion="不符合条件")


def test_a_town_approval_is_filed_with_its_decision(district) -> None:
    app = flow.approve(district.users, flow.to_decision(
        district.users, _apply(district, district.village_hh), clock.today()))
    record = FilingRecord.objects.get(application=app)
    assert (record.decision, record.amount_fen, record.decided_on) == (
        "approved", app.amount_fen, app.decided_on)
    assert record.decider == district.users.town_approver and record.town == TOWN
    assert record.household == district.village_hh and record.status == FilingRecord.PENDING
    assert not record.sampled and record.risks == [] and not record.selected
    assert AuditEvent.objects.filter(object_type="casework.filingrecord",
                                     object_id=str(record.pk), action="create").exists()


def test_a_refusal_the_rules_find_eligible_is_selected(district) -> None:
    app = _refuse(district, _apply(district, district.village_hh))
    record = app.filing
    assert record.decision == "refused" and record.amount_fen is None
    assert record.rules_eligible is True and record.risks == ["refused_but_eligible"]
    assert record.selected


def test_the_decider_who_took_in_and_visited_is_a_risk(district) -> None:
    approver = district.users.town_approver
    app = _apply(district, district.same_town_hh, by=approver)
    app = services.act(by=approver, application=app, action="record_visit",
                       data={"members_present": "户主", "living_conditions": "平房"})
    app = services.act(by=approver, application=app, action="complete_verification")
    app = services.act(by=approver, application=app, action="town_opinion", opinion="符合",
                       data={"recommendation": "eligible"})
    day = app.publicity_ends_on
    app = services.act(by=approver, application=app, action="close_publicity", day=day)
    app = services.act(by=approver, application=app, action="approve", opinion="同意", day=day)
    assert app.filing.risks == ["decider_visited", "decider_took_in"]


def _past(hh, amount_fen: int, n: int, day: dt.date, **fields) -> None:
    """`n` earlier delegated 低保 approvals of `amount_fen` in the household's county."""
    for _ in range(n):
        past = Application.objects.create(
            number=f"SQ2026PAST{Application.objects.count():05d}", programme="dibao",
            channel="village",
            state="approved", household=hh, reason="往年", submitted_on=day, step_started_on=day,
            decision="approved", decided_on=day, amount_fen=amount_fen, area_code=hh.area_code)
        FilingRecord.objects.create(
            application=past, household=hh, programme="dibao", town=hh.area_code[:9],
            decision="approved", amount_fen=amount_fen, decided_on=day, decider_name="past",
            area_code=hh.area_code, **fields)


def test_an_amount_well_above_the_county_median_is_selected(district) -> None:
    today = clock.today()
    hh = district.other_town_hh
    _past(hh, 10_000, 4, today - dt.timedelta(days=30))
    _past(hh, 99_999_999, 3, today - dt.timedelta(days=400))  # older than a year: not counted
    app = flow.to_decision(district.users, _apply(district, district.village_hh), today)
    assert filing.comparable_median(app, app.decision_day) is None  # 4 < 5 decisions
    _past(hh, 10_000, 1, today - dt.timedelta(days=30))
    assert filing.comparable_median(app, app.decision_day) == 10_000
    app = flow.approve(district.users, app)
    assert app.amount_fen > 15_000  # 760 元 × 2 members is far above 1.5 × 100 元
    assert app.filing.median_fen == 10_000 and app.filing.risks == ["amount_above_median"]


def test_the_sample_rate_draws_from_the_application_number(district) -> None:
    _set(district, "casework.filing.sample_rate", "100%")
    app = _refuse(district, _apply(district, district.village_hh))
    assert app.filing.sampled and app.filing.reasons[0] == "sampled"


def test_a_district_decision_is_not_filed(district) -> None:
    _set(district, "casework.approval_delegated", False)
    app = _refuse(district, _apply(district, district.village_hh),
                  by=district.users.district_approver)
    assert app.decision == "refused" and not FilingRecord.objects.filter(
        application=app).exists()


@pytest.fixture
def record(district) -> FilingRecord:
    return _refuse(district, _apply(district, district.village_hh)).filing


def test_a_district_reviewer_confirms(district, record) -> None:
    done = filing.review(by=district.users.district_officer, record=record, outcome="confirm",
                         note="", day=clock.today())
    assert done.status == FilingRecord.CONFIRMED and done.reviewed_by_id
    change = AuditEvent.objects.filter(object_type="casework.filingrecord",
                                       object_id=str(record.pk), action="update").get()
    assert "status" in change.changes
    with pytest.raises(filing.FilingError, match="已审查"):
        filing.review(by=district.users.district_approver, record=done, outcome="correct",
                      note="再看", day=clock.today())


def test_a_correction_needs_a_reason_and_the_town_records_it(district, record) -> None:
    u, today = district.users, clock.today()
    with pytest.raises(filing.FilingError, match="理由"):
        filing.review(by=u.district_approver, record=record, outcome="correct", note=" ",
                      day=today)
    done = filing.review(by=u.district_approver, record=record, outcome="correct",
                         note="家庭无收入，应予批准，请重新审核", day=today)
    assert done.status == FilingRecord.CORRECTION
    assert done.correction_due_on == today + dt.timedelta(days=30) and done.correction_open
    with pytest.raises(PermissionDenied):  # another county's officer
        filing.record_correction(by=district.gd_user, record=done, correction="已改",
                                 day=today)
    with pytest.raises(filing.FilingError, match="纠正情况"):
        filing.record_correction(by=u.town_officer, record=done, correction="", day=today)
    fixed = filing.record_correction(by=u.town_officer, record=done,
                                     correction="已重新受理并批准", day=today)
    assert fixed.corrected_on == today and not fixed.correction_open
    with pytest.raises(filing.FilingError, match="没有待完成"):
        filing.record_correction(by=u.town_officer, record=fixed, correction="再改",
                                 day=today)


def test_towns_and_other_counties_cannot_review_nor_the_decider(district, record) -> None:
    u, today = district.users, clock.today()
    for user in (u.town_approver, u.town_officer, u.village_assistant, u.supervisor,
                 district.gd_user, u.district_admin):
        with pytest.raises(PermissionDenied):
            filing.review(by=user, record=record, outcome="confirm", note="", day=today)
    record.decider = u.district_approver  # a reviewer never reviews their own decision
    assert not filing.may_review(u.district_approver, record)
    assert filing.may_review(u.district_officer, record)


def test_the_summary_agrees_with_independent_counts(district) -> None:
    u, today = district.users, clock.today()
    _set(district, "casework.filing.sample_rate", "50%")
    records = [_refuse(district, _apply(district, hh)).filing
               for hh in (district.village_hh, district.same_town_hh)]
    other = district.other_town_hh  # 屯光镇: filings as its approver's decisions left them
    _past(other, 30_000, 2, today, sampled=True, selected=True)
    _past(other, 40_000, 1, today, risks=["decider_visited"], selected=True,
          status="confirmed")
    _past(other, 50_000, 1, today - dt.timedelta(days=3), status="correction",
          correction_due_on=today + dt.timedelta(days=1))
    filing.review(by=u.district_officer, record=records[0], outcome="confirm", note="",
                  day=today)
    filing.review(by=u.district_officer, record=records[1], outcome="correct", note="重审",
                  day=today - dt.timedelta(days=40))  # its due date has passed
    rows = FilingRecord.objects.filter(area_code__startswith=DISTRICT)
    got = {s.town: s for s in filing.summary(rows, today)}
    towns = set(rows.values_list("town", flat=True))
    assert set(got) == towns and len(towns) == 2
    for town in towns:
        mine = list(FilingRecord.objects.filter(area_code__startswith=town).values())
        s = got[town]
        assert s.filed == len(mine)
        assert s.approved == sum(r["decision"] == "approved" for r in mine)
        assert s.refused == sum(r["decision"] == "refused" for r in mine)
        assert s.selected == sum(bool(r["sampled"] or r["risks"]) for r in mine)
        assert s.sampled == sum(r["sampled"] for r in mine)
        assert s.risky == sum(bool(r["risks"]) for r in mine)
        assert s.pending_selected == sum(r["status"] == "pending" and bool(
            r["sampled"] or r["risks"]) for r in mine)
        assert s.confirmed == sum(r["status"] == "confirmed" for r in mine)
        assert s.corrections == sum(r["status"] == "correction" for r in mine)
        assert s.overdue == sum(r["status"] == "correction" and r["corrected_on"] is None
                                and r["correction_due_on"] < today for r in mine)
    assert got[TOWN].overdue == 1 and got[TOWN].confirmed == 1


# -- pages --------------------------------------------------------------------------------------

def test_the_district_lists_reviews_and_filters(client, district, record) -> None:
    client.login(username="district_approver", password=PASSWORD)
    page = client.get("/applications/filings/").content.decode()
    assert record.application.number in page and "不予批准，但规则测算符合条件" in page
    page = client.get("/applications/filings/?reason=decider_visited").content.decode()
    assert record.application.number not in page
    page = client.get("/applications/filings/?reason=refused_but_eligible").content.decode()
    assert record.application.number in page
    response = client.post(f"/applications/filings/{record.pk}/",
                           {"outcome": "correct", "note": ""})
    assert response.status_code == 200 and "须写明理由" in response.content.decode()
    response = client.post(f"/applications/filings/{record.pk}/",
                           {"outcome": "correct", "note": "应予批准"})
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.status == FilingRecord.CORRECTION
    page = client.get("/applications/filings/?status=correction").content.decode()
    assert record.application.number in page


def test_a_town_sees_its_filings_without_reasons_and_records_the_correction(
        client, district, record) -> None:
    filing.review(by=district.users.district_approver, record=record, outcome="correct",
                  note="应予批准", day=clock.today())
    client.login(username="town_officer", password=PASSWORD)
    page = client.get("/applications/filings/").content.decode()
    assert record.application.number in page and "规则测算符合条件" not in page
    assert client.get(f"/applications/filings/{record.pk}/").status_code == 403
    household = client.get(f"/households/{record.household_id}/").content.decode()
    assert "备案审查" in household and "应予批准" in household and "登记纠正情况" in household
    response = client.post(f"/applications/filings/{record.pk}/correct/",
                           {"correction": "已重新审核并批准"})
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.corrected_on == clock.today() and record.correction == "已重新审核并批准"
