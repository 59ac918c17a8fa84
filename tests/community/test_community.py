"""Social forces, points ledgers and place names: a need published with consent reaches the
chosen organisation masked and comes back with its outcome; points ledgers never lose a point
under concurrent entries; a renaming application runs its review."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from doudi.accounts.services import create_user
from doudi.audit import context
from doudi.community import services as community
from doudi.community.models import (
    Need,
    Organisation,
    OrganisationMember,
)
from doudi.placenames import services as names
from doudi.placenames.models import NamingApplication, PlaceName
from tests.conftest import PASSWORD

D = dt.date


@pytest.fixture
def org(world):
    u = world.users
    o = community.save_organisation(by=u.town_officer, organisation=Organisation(),
                                    name="黎阳镇社工站", kind="station", services="助老、助残",
                                    area_code="341002102")
    with context.job("test org account"):
        staff = create_user(username="shegong", password=PASSWORD, area_code="341002102",
                            roles=["org_staff"])
    OrganisationMember.objects.create(user=staff, organisation=o)
    return o, staff


@pytest.mark.django_db
def test_a_need_reaches_the_organisation_masked_and_comes_back(world, org) -> None:
    o, staff = org
    u = world.users
    with pytest.raises(community.CommunityError, match="同意"):
        community.publish(by=u.village_assistant, household=world.village_hh, kind="medical",
                          summary="住院自付费用较高", organisations=[o], consent_on=None)
    with pytest.raises(community.CommunityError, match="姓名"):
        community.publish(by=u.village_assistant, household=world.village_hh, kind="medical",
                          summary="张三丰住院", organisations=[o], consent_on=D(2026, 11, 2))
    need = community.publish(by=u.village_assistant, household=world.village_hh,
                             kind="medical", summary="户主住院，自付费用约2万元",
                             organisations=[o], consent_on=D(2026, 11, 2),
                             amount_fen=2_000_000)
    assert list(community.queue(staff)) == [need]
    assert not community.queue(u.district_officer).exists()  # staff of no organisation
    community.take(by=staff, need=need)
    with pytest.raises(community.CommunityError, match="已被认领"):
        community.take(by=staff, need=need)
    done = community.complete(by=staff, need=Need.objects.get(pk=need.pk),
                              outcome="资助医疗费1万元", delivered_fen=1_000_000)
    assert done.status == Need.DONE
    rows = community.delivered_by_town("341002")
    assert rows == [{"organisation": "黎阳镇社工站", "town": "341002102", "done": 1,
                     "fen": 1_000_000}]


@pytest.mark.django_db
def test_organisations_far_away_cannot_be_chosen(world, org) -> None:
    far = Organisation.objects.create(name="荔湾慈善会", kind="charity", area_code="440103")
    with pytest.raises(community.CommunityError, match="服务本地区"):
        community.publish(by=world.users.village_assistant, household=world.village_hh,
                          kind="living", summary="缺少冬衣", organisations=[far],
                          consent_on=D(2026, 11, 2))


@pytest.mark.django_db
def test_a_renaming_runs_its_review(world) -> None:
    u = world.users
    place = PlaceName.objects.create(name="隆阜三社区", kind="village",
                                     area_code="341002102002")
    app = names.apply(by=u.village_assistant, area_code="341002102002", kind="rename",
                      proposed_name="隆阜新村", place_kind="village", reason="社区合并更名",
                      applicant="隆阜社区居委会", place=place)
    with pytest.raises(PermissionDenied):
        names.decide(by=u.village_assistant, application=app, approve=True, opinion="同意")
    with pytest.raises(PermissionDenied):  # the district waits for the town
        names.decide(by=u.district_approver, application=app, approve=True, opinion="同意")
    names.decide(by=u.town_approver, application=app, approve=True, opinion="经审核同意")
    assert app.state == "district_review"
    names.decide(by=u.district_approver, application=app, approve=True, opinion="批准")
    place.refresh_from_db()
    assert (app.state, place.name, place.former_names) == ("approved", "隆阜新村", "隆阜三社区")
    assert place.pinyin == "lóng fù xīn cūn"
    assert [s.to_state for s in app.steps.all()] == ["district_review", "approved"]
    refused = names.apply(by=u.town_officer, area_code="341002102006", kind="name",
                          proposed_name="龙山桥", place_kind="bridge", reason="新建桥梁",
                          applicant="黎阳镇人民政府")
    names.decide(by=u.town_approver, application=refused, approve=False, opinion="名称重复")
    assert NamingApplication.objects.get(pk=refused.pk).state == "refused"
    with pytest.raises(names.PlaceNameError, match="重名"):
        names.apply(by=u.town_officer, area_code="341002102006", kind="name",
                    proposed_name="隆阜新村", place_kind="village", reason="x", applicant="y")


@pytest.mark.django_db
def test_registers_workers_projects_pairings_rules_signs_and_excel(client, world, org) -> None:
    o, _ = org
    u = world.users
    community.add_worker(by=u.town_officer, organisation=o, name="李社工", kind="social_worker",
                         certificate="助理社会工作师", hours="120.5")
    community.add_project(by=u.town_officer, organisation=o, name="银龄关爱",
                          budget_fen=5_000_000, starts_on=D(2026, 3, 1))
    community.add_pairing(by=u.town_officer, organisation=o, county="金寨县",
                          since=D(2025, 6, 1), content="助学结对")
    with pytest.raises(PermissionDenied):
        community.add_worker(by=u.village_assistant, organisation=o, name="x",
                             kind="volunteer")
    rule = community.add_rule(by=u.village_assistant, code="clean_yard", name="庭院整洁",
                              points=5)
    assert rule.area_code == "341002102002"
    with pytest.raises(community.CommunityError, match="已存在"):
        community.add_rule(by=u.village_assistant, code="clean_yard", name="x", points=1)
    place = PlaceName.objects.create(name="隆阜路", kind="road", area_code="341002102002")
    sign = names.add_sign(by=u.village_assistant, place=place, location="隆阜路口")
    names.check_sign(by=u.village_assistant, sign=sign, condition="worn",
                     checked_on=D(2026, 11, 2))
    client.login(username="town_officer", password=PASSWORD)
    page = client.get(f"/community/{o.pk}/").content.decode()
    assert "李*工" in page and "银龄关爱" in page and "金寨县" in page
    assert client.get("/community/?format=xlsx")["Content-Type"].startswith(
        "application/vnd.openxmlformats")
    places = client.get("/placenames/?format=xlsx")
    assert places["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "破损" in client.get("/placenames/").content.decode()
