"""互查 and 第三方评估 (reports.assignments through areas.scoping): town A's officers see exactly
the town B households a campaign assigned them, for the campaign's dates, and record findings
there; an evaluator sees its sample masked, records findings and nothing else; both kinds of
finding count on the towns' performance page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from doudi.accounts import roles
from doudi.accounts.services import create_user
from doudi.areas.scoping import in_scope
from doudi.audit import context
from doudi.core import clock
from doudi.registry.models import Household, Person
from doudi.reports import assignments, campaigns, performance
from doudi.reports.models import Campaign, CampaignFinding, CampaignSample
from tests.conftest import DISTRICT, PASSWORD, TOWN

pytestmark = pytest.mark.django_db
TOWN_B = "341002100"  # 屯光镇


def _campaign(world, *, kind: str = "mutual", days: int = 20) -> Campaign:
    """A running campaign of the district with one sampled household in each world town."""
    today = clock.today()
    campaign = Campaign.objects.create(
        name="2026年镇街互查", kind=kind, programmes=["dibao"], rate_bp=1000, seed=1,
        starts_on=today - dt.timedelta(days=1), due_on=today + dt.timedelta(days=days),
        area_code=DISTRICT)
    for household in (world.village_hh, world.same_town_hh, world.other_town_hh):
        CampaignSample.objects.create(campaign=campaign, household=household,
                                      town=household.area_code[:9], programme="dibao",
                                      area_code=household.area_code)
    return campaign


def _sample(campaign: Campaign, household: Household) -> CampaignSample:
    return campaign.samples.get(household=household)


@pytest.fixture
def peer(world):
    """黎阳镇 (town A) checks 屯光镇's (town B) sample."""
    campaign = _campaign(world)
    with context.job("test assign"):
        row = assignments.assign(by=world.users.district_officer, campaign=campaign,
                                 kind="peer", checked_town=TOWN_B, assignee_town=TOWN)
    return campaign, row


def test_town_a_sees_town_bs_sample_and_nothing_else_of_town_b(world, peer):
    campaign, row = peer
    officer = world.users.town_officer
    assert (row.valid_from, row.valid_to) == (campaign.starts_on, campaign.due_on)
    b_sample = _sample(campaign, world.other_town_hh)
    assert list(CampaignSample.objects.visible_to(officer, assigned=True)
                .filter(town=TOWN_B)) == [b_sample]
    assert Campaign.objects.visible_to(officer, assigned=True, chain=True).filter(
        pk=campaign.pk).exists()
    # nothing else of town B: not the household, its people, nor the sample by area alone
    assert not Household.objects.visible_to(officer).filter(area_code__startswith=TOWN_B)
    assert not Household.objects.visible_to(officer, assigned=True).filter(
        area_code__startswith=TOWN_B)
    assert not Person.objects.visible_to(officer, assigned=True).filter(
        area_code__startswith=TOWN_B)
    assert not CampaignSample.objects.visible_to(officer).filter(town=TOWN_B)
    # assignments admit the read only, never a write's capability
    assert not CampaignSample.objects.visible_to(officer, roles.EDIT_REGISTRY,
                                                 assigned=True).filter(town=TOWN_B)
    # a village assistant of town A, and town B's own officers, get nothing by it
    assert not CampaignSample.objects.visible_to(world.users.village_assistant,
                                                 assigned=True).filter(town=TOWN_B)
    client = Client()
    client.force_login(officer)
    page = client.get(reverse("campaign_sample", kwargs={"campaign_id": campaign.pk,
                                                         "sample_id": b_sample.pk}))
    text = page.content.decode()
    assert page.status_code == 200 and world.other_town_hh.number in text
    head = world.other_town_hh.head()
    assert head.masked_name in text and head.name not in text and head.id_number not in text
    assert client.get(reverse("household_detail", kwargs={
        "household_id": world.other_town_hh.pk})).status_code == 404


def test_the_assignment_feeds_findings_and_the_performance_page(world, peer):
    campaign, _ = peer
    officer = world.users.town_officer
    b_sample = _sample(campaign, world.other_town_hh)
    today = clock.today()
    with context.job("test check"):
        # town B's own officers check first; town A's 互查 does not erase their finding
        own = campaigns.check(by=world.users.district_officer, sample=b_sample,
                              problems={"file": "缺少入户调查表"}, checked_on=today)
        found = campaigns.check(by=officer, sample=b_sample,
                                problems={"income": "务工收入未计入"}, checked_on=today)
    assert [f.source for f in own] == ["own"]
    assert [(f.source, f.recorded_by) for f in found] == [("peer", officer)]
    assert CampaignFinding.objects.filter(sample=b_sample).count() == 2
    # 互查 corrects nothing: the checked town does
    with pytest.raises(PermissionDenied):
        campaigns.correct(by=officer, finding=found[0], correction="已补", corrected_on=today)
    rows = {r.town: r for r in performance.towns(DISTRICT, today, today)}
    assert rows[TOWN_B].figures["findings_peer_households"] == 1
    assert rows[TOWN_B].figures.get("findings_evaluator_households", 0) == 0
    # a reader who checks nothing records nothing, assigned or not
    with pytest.raises(PermissionDenied):
        campaigns.check(by=world.users.supervisor, sample=b_sample, problems={},
                        checked_on=today)


def test_after_the_campaign_ends_nothing_is_visible(world, peer, monkeypatch):
    campaign, _ = peer
    officer = world.users.town_officer
    b_sample = _sample(campaign, world.other_town_hh)
    later = campaign.due_on + dt.timedelta(days=1)
    monkeypatch.setattr(clock, "today", lambda: later)
    assert not CampaignSample.objects.visible_to(officer, assigned=True).filter(town=TOWN_B)
    assert not Campaign.objects.visible_to(officer, assigned=True, chain=True).filter(
        pk=campaign.pk, area_code__startswith=TOWN_B)
    with pytest.raises(PermissionDenied):
        campaigns.check(by=officer, sample=b_sample, problems={}, checked_on=later)
    # a closed campaign admits nothing either, even within its dates
    monkeypatch.undo()
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.CLOSED)
    assert not CampaignSample.objects.visible_to(officer, assigned=True).filter(town=TOWN_B)


def test_an_ended_assignment_admits_nothing_from_the_next_day(world, peer):
    _, row = peer
    with context.job("test end"):
        assignments.end(by=world.users.district_officer, assignment=row)
    assert not CampaignSample.objects.visible_to(world.users.town_officer, assigned=True) \
        .filter(town=TOWN_B)


def test_the_scoping_door_asks_one_query(world, peer):
    officer = world.users.town_officer
    officer.role_codes  # noqa: B018 — the roles are read once per request, not per row
    with CaptureQueriesContext(connection) as queries:
        list(CampaignSample.objects.visible_to(officer, assigned=True))
    assert len(queries) == 1


def test_an_evaluator_sees_its_sample_masked_and_records_findings(world):
    campaign = _campaign(world, kind="spot_check")
    evaluator = world.users.evaluator
    assert roles.VIEW_FULL_PII not in evaluator.capabilities
    assert not evaluator.can(roles.VIEW_REGISTRY)
    # its account's area gives it nothing: it checks assigned samples only
    assert not in_scope(evaluator, world.village_hh.area_code, roles.CHECK_SAMPLE)
    with context.job("test assign"):
        assignments.assign(by=world.users.district_approver, campaign=campaign,
                           kind="evaluator", checked_town=TOWN, assignee=evaluator)
    mine = CampaignSample.objects.visible_to(evaluator, assigned=True)
    assert {s.household_id for s in mine} == {world.village_hh.pk, world.same_town_hh.pk}
    assert not Household.objects.visible_to(evaluator, assigned=True).exists()
    assert not Person.objects.visible_to(evaluator, assigned=True).exists()
    today = clock.today()
    sample = _sample(campaign, world.village_hh)
    with context.job("test evaluate"):
        found = campaigns.check(by=evaluator, sample=sample,
                                problems={"publicity": "未见公示照片"}, checked_on=today)
    assert [(f.source, f.recorded_by) for f in found] == [("evaluator", evaluator)]
    with pytest.raises(PermissionDenied):
        campaigns.check(by=evaluator, sample=_sample(campaign, world.other_town_hh),
                        problems={}, checked_on=today)
    rows = {r.town: r for r in performance.towns(DISTRICT, today, today)}
    assert rows[TOWN].figures["findings_evaluator_households"] == 1
    assert rows[TOWN].figures.get("findings_peer_households", 0) == 0
    client = Client()
    client.force_login(evaluator)
    page = client.get(reverse("campaign_sample", kwargs={"campaign_id": campaign.pk,
                                                         "sample_id": sample.pk}))
    text = page.content.decode()
    head = world.village_hh.head()
    assert page.status_code == 200 and head.masked_name in text
    assert head.name not in text and head.id_number not in text
    assert 'value="correct"' not in text and "person_reveal" not in text
    for name, kwargs in (("household_detail", {"household_id": world.village_hh.pk}),
                         ("household_list", {}), ("performance", {})):
        assert client.get(reverse(name, kwargs=kwargs)).status_code == 403


def test_who_may_assign_and_to_whom(world):
    campaign = _campaign(world)
    u = world.users
    with pytest.raises(PermissionDenied):
        assignments.assign(by=u.town_officer, campaign=campaign, kind="peer",
                           checked_town=TOWN_B, assignee_town=TOWN)
    with pytest.raises(campaigns.CampaignError):  # a town does not check itself
        assignments.assign(by=u.district_officer, campaign=campaign, kind="peer",
                           checked_town=TOWN, assignee_town=TOWN)
    with pytest.raises(campaigns.CampaignError):  # an officer is no evaluator
        assignments.assign(by=u.district_officer, campaign=campaign, kind="evaluator",
                           assignee=u.town_officer)
    other = create_user(username="eval2", password=PASSWORD, area_code="440103",
                        roles=["evaluator"])
    with pytest.raises(campaigns.CampaignError):  # another county's assessor
        assignments.assign(by=u.district_officer, campaign=campaign, kind="evaluator",
                           assignee=other)
