"""Economic facts (经济状况) belong to a member or the household; a correction supersedes the
wrong value with a reason (both kept, audited, on the timeline); a fact can be ended; the rules,
the household page and the API read only the facts `registry.facts.current` names."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from doudi.audit import context
from doudi.audit.models import AuditEvent
from doudi.registry import facts, services
from doudi.registry.models import Household, Observation
from doudi.registry.rules_input import build_frames
from doudi.registry.services import RegistryError
from tests.test_api import auth, token

pytestmark = pytest.mark.django_db
TODAY = dt.date.today()  # memberships start on the day the household was registered
MONTH = TODAY.replace(day=1)


def _income(household: Household, day: dt.date) -> dict[int, int]:
    _, members = build_frames(Household.objects.filter(pk=household.pk), day)
    return {int(r["member_id"]): r["income"] for r in members.to_dicts()}


def _wage(world, amount_fen: int, person=None, on: dt.date = MONTH) -> Observation:
    hh = world.village_hh
    with context.job("test facts"):
        return services.record_observation(
            by=world.users.village_assistant, household=hh, kind="income", item="wage",
            amount_fen=amount_fen, observed_on=on, person=person or hh.head())


def test_correcting_a_wage_down_lowers_the_income_and_keeps_both(world):
    hh, head = world.village_hh, world.village_hh.head()
    wrong = _wage(world, 99_981)
    assert _income(hh, TODAY)[head.pk] == 99_981
    with context.job("test correction"):
        right = services.correct_observation(
            by=world.users.village_assistant, observation=wrong, amount_fen=79_981,
            person=head, reason="申报时多填了加班费")
    assert _income(hh, TODAY)[head.pk] == 79_981  # falls: the wrong value no longer counts
    assert _income(hh, TODAY + dt.timedelta(days=40))[head.pk] == 79_981
    wrong.refresh_from_db()
    assert wrong.superseded_by == right and wrong.correction_reason == "申报时多填了加班费"
    assert Observation.objects.filter(household=hh).count() == 2  # nothing overwritten
    assert right.observed_on == wrong.observed_on and right.person == head
    assert facts.current(hh.observations.all(), TODAY) == [right]
    # audited: the new value created, the old one marked with the reason
    update = AuditEvent.objects.get(object_type="registry.observation",
                                    object_id=str(wrong.pk), action=AuditEvent.UPDATE)
    assert update.changes["superseded_by"] == [None, right.pk]
    assert update.changes["correction_reason"][1] == "申******费"  # free text: masked
    assert update.object_label.endswith(f"工资性收入 {head.masked_name}（已被更正）")
    assert "999.81" not in update.object_label  # a household's means stay out of the log
    assert AuditEvent.objects.filter(object_type="registry.observation",
                                     object_id=str(right.pk), action=AuditEvent.CREATE).exists()
    with pytest.raises(RegistryError, match="已被更正"):  # correct the newest row, not this
        services.correct_observation(by=world.users.village_assistant, observation=wrong,
                                     amount_fen=1, person=head, reason="再改")


def test_a_correction_needs_a_reason_and_writes_nothing_without_one(world):
    wrong = _wage(world, 50_000)
    for reason in ("", "   "):
        with pytest.raises(RegistryError, match="原因"):
            services.correct_observation(by=world.users.village_assistant, observation=wrong,
                                         amount_fen=40_000, person=wrong.person, reason=reason)
    wrong.refresh_from_db()
    assert wrong.superseded_by is None and Observation.objects.count() == 1


def test_an_ended_fact_stops_counting_from_its_end_date(world):
    hh, head = world.village_hh, world.village_hh.head()
    _wage(world, 30_000, on=TODAY - dt.timedelta(days=400))
    job = _wage(world, 120_000, on=TODAY - dt.timedelta(days=100))
    end = TODAY + dt.timedelta(days=30)
    with pytest.raises(RegistryError, match="原因"):
        services.end_observation(by=world.users.village_assistant, observation=job,
                                 ended_on=end, reason="")
    with pytest.raises(RegistryError, match="早于"):
        services.end_observation(by=world.users.village_assistant, observation=job,
                                 ended_on=TODAY - dt.timedelta(days=101), reason="失业")
    services.end_observation(by=world.users.village_assistant, observation=job,
                             ended_on=end, reason="工厂关闭失业")
    assert _income(hh, end - dt.timedelta(days=1))[head.pk] == 120_000
    # ended: nothing counts from the end date — the older wage does not come back
    assert _income(hh, end)[head.pk] == 0
    event = AuditEvent.objects.filter(object_type="registry.observation",
                                      object_id=str(job.pk), action=AuditEvent.UPDATE).get()
    assert event.changes["ended_on"] == [None, str(end)] and event.changes["end_reason"]
    assert event.object_label.endswith(f"（{end:%Y-%m-%d} 终止）")
    with pytest.raises(RegistryError, match="已终止"):
        services.end_observation(by=world.users.village_assistant, observation=job,
                                 ended_on=end, reason="再次")


def test_a_fact_belongs_to_a_current_member_of_its_household(world):
    stranger = world.same_town_hh.head()
    with pytest.raises(RegistryError, match="现有成员"):
        services.record_observation(by=world.users.district_approver,
                                    household=world.village_hh, kind="income", item="wage",
                                    amount_fen=1000, observed_on=MONTH, person=stranger)
    row = _wage(world, 1000)
    with pytest.raises(RegistryError, match="现有成员"):
        services.correct_observation(by=world.users.district_approver, observation=row,
                                     amount_fen=900, person=stranger, reason="归属有误")


def test_corrections_are_area_scoped(world):
    row = _wage(world, 1000)
    with pytest.raises(PermissionDenied):  # an officer of another county
        services.correct_observation(by=world.gd_user, observation=row, amount_fen=10,
                                     person=row.person, reason="越权")
    with pytest.raises(PermissionDenied):
        services.end_observation(by=world.gd_user, observation=row, ended_on=MONTH,
                                 reason="越权")
    row.refresh_from_db()
    assert row.superseded_by is None and row.ended_on is None


def test_the_household_page_corrects_per_member_and_shows_history_and_timeline(client, world):
    hh, head = world.village_hh, world.village_hh.head()
    spouse = hh.current_memberships().exclude(person=head).get().person
    client.force_login(world.users.village_assistant)
    url = f"/households/{hh.pk}/"
    page = client.get(url).content.decode()
    offered = page.split('id="fact_person_id"', 1)[1].split("</select>", 1)[0]
    assert f'value="{spouse.pk}"' in offered
    assert f'value="{world.same_town_hh.head().pk}"' not in offered
    # a member of another household is not a choice
    refused = client.post(f"{url}observations/", {
        "person_id": world.same_town_hh.head().pk, "kind_item": "income:wage",
        "amount_yuan": "999.81", "observed_on": MONTH.isoformat(), "source": "declared"})
    assert refused.status_code == 200 and not Observation.objects.exists()
    assert client.post(f"{url}observations/", {
        "person_id": spouse.pk, "kind_item": "income:wage", "amount_yuan": "999.81",
        "observed_on": MONTH.isoformat(), "source": "declared"}).status_code == 302
    row = Observation.objects.get()
    assert row.person == spouse
    # no reason: refused, nothing changed, the reason asked for on the page
    again = client.post(f"{url}observations/correct/", {
        "observation_id": row.pk, "person_id": spouse.pk, "amount_yuan": "799.81"})
    assert again.status_code == 200 and "更正原因：" in again.content.decode()
    assert Observation.objects.count() == 1
    assert client.post(f"{url}observations/correct/", {
        "observation_id": row.pk, "person_id": spouse.pk, "amount_yuan": "799.81",
        "reason": "工资条核实为799.81元"}).status_code == 302
    assert _income(hh, TODAY)[spouse.pk] == 79_981
    page = client.get(url).content.decode()
    panel = page.split('id="observations"', 1)[1].split("</section>", 1)[0]
    now, history = panel.split('class="fact-history"', 1)
    assert spouse.masked_name in now and "799.81" in now and "999.81" not in now
    assert "999.81" in history and "已更正（工资条核实为799.81元）" in history
    timeline = page.split('id="timeline"', 1)[1]
    fact = f"家庭 {hh.number} 收入 工资性收入 {spouse.masked_name}"
    assert f"修改 · {fact}（已被更正）" in timeline  # the superseded row
    assert f"新增 · {fact}（更正原记录）" in timeline  # the correction
    assert "999.81" not in timeline and "799.81" not in timeline  # means stay masked
    # ended from the page; another household's fact is not found from this one
    current = Observation.objects.get(superseded_by__isnull=True)
    assert client.post(f"{url}observations/end/", {
        "observation_id": current.pk, "ended_on": MONTH.isoformat(),
        "reason": "合同到期"}).status_code == 302
    current.refresh_from_db()
    assert current.ended_on == MONTH and current.end_reason == "合同到期"
    assert _income(hh, TODAY)[spouse.pk] == 0
    other = world.other_town_hh
    assert client.post(f"/households/{other.pk}/observations/end/", {
        "observation_id": current.pk, "ended_on": MONTH.isoformat(),
        "reason": "x"}).status_code in (403, 404)


def test_the_api_lists_the_current_facts_with_their_member(client, world):
    row = _wage(world, 99_981)
    services.correct_observation(by=world.users.village_assistant, observation=row,
                                 amount_fen=79_981, person=row.person, reason="核实")
    tok = token(client, "village_assistant")
    data = client.get(f"/api/households/{world.village_hh.pk}", **auth(tok)).json()
    assert [(o["amount_fen"], o["person_id"]) for o in data["observations"]] == [
        (79_981, row.person_id)]
