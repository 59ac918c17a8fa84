"""慈善资金/物资: funds and goods received from social forces and given to households — the
services refuse what cannot be recorded and audit what they record, the page records and lists
them per organisation, the household's page and timeline show a gift, another district sees
nothing, and 统计分析's figures equal counts made here."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest
from django.core.exceptions import PermissionDenied

from doudi.audit.models import AuditEvent
from doudi.community import services as community
from doudi.community.models import Donation, Organisation
from doudi.core import clock
from doudi.reports import statistics
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
D = dt.date
TODAY = D(2026, 11, 20)


@pytest.fixture
def orgs(world, monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: TODAY)
    u = world.users
    town = community.save_organisation(by=u.town_officer, organisation=Organisation(),
                                       name="黎阳镇慈善会", kind="charity", area_code="341002102")
    district = community.save_organisation(by=u.district_officer, organisation=Organisation(),
                                           name="屯溪区慈善协会", kind="charity",
                                           area_code="341002")
    gd = community.save_organisation(by=world.gd_user, organisation=Organisation(),
                                     name="荔湾区慈善会", kind="charity", area_code="440103")
    return town, district, gd


def test_the_services_record_and_refuse(world, orgs) -> None:
    town, district, gd = orgs
    u = world.users
    got = community.record_received(by=u.town_officer, organisation=town, kind="funds",
                                    amount_fen=500_000, donated_on=D(2026, 11, 3),
                                    note="重阳节捐款")
    assert (got.direction, got.area_code, got.amount_fen, got.household) == \
        ("received", "341002102", 500_000, None)
    goods = community.record_received(by=u.district_officer, organisation=district,
                                      kind="goods", goods="棉被 200 床", value_fen=4_000_000,
                                      donated_on=D(2026, 11, 5), amount_fen=99)
    assert (goods.area_code, goods.amount_fen, goods.value_fen) == ("341002", None, 4_000_000)
    given = community.record_given(by=u.town_officer, organisation=town,
                                   household=world.village_hh, kind="funds",
                                   amount_fen=30_000, donated_on=D(2026, 11, 6))
    assert (given.direction, given.area_code) == ("given", world.village_hh.area_code)
    # every write audited, in the area it belongs to
    events = AuditEvent.objects.filter(object_type="community.donation")
    assert {e.object_id for e in events} == {str(got.pk), str(goods.pk), str(given.pk)}
    assert events.get(object_id=str(given.pk)).area_code == world.village_hh.area_code
    refusals = [
        (community.CommunityError, "金额", dict(kind="funds", amount_fen=None)),
        (community.CommunityError, "金额", dict(kind="funds", amount_fen=0)),
        (community.CommunityError, "物资", dict(kind="goods", goods=" ", value_fen=100)),
        (community.CommunityError, "估值", dict(kind="goods", goods="大米", value_fen=None)),
        (community.CommunityError, "慈善资金或慈善物资", dict(kind="shares", amount_fen=100)),
        (community.CommunityError, "日期", dict(kind="funds", amount_fen=100,
                                               donated_on=TODAY + dt.timedelta(days=1))),
        (community.CommunityError, "日期", dict(kind="funds", amount_fen=100, donated_on=None)),
    ]
    for error, match, values in refusals:
        with pytest.raises(error, match=match):
            community.record_given(by=u.town_officer, organisation=town,
                                   household=world.village_hh,
                                   **{"donated_on": D(2026, 11, 6), **values})
    with pytest.raises(PermissionDenied):  # a village assistant does not record donations
        community.record_given(by=u.village_assistant, organisation=town,
                               household=world.village_hh, kind="funds", amount_fen=100,
                               donated_on=D(2026, 11, 6))
    with pytest.raises(PermissionDenied):  # another town's household
        community.record_given(by=u.town_officer, organisation=town,
                               household=world.other_town_hh, kind="funds", amount_fen=100,
                               donated_on=D(2026, 11, 6))
    with pytest.raises(PermissionDenied):  # another district's household
        community.record_given(by=world.gd_user, organisation=gd,
                               household=world.village_hh, kind="funds", amount_fen=100,
                               donated_on=D(2026, 11, 6))
    with pytest.raises(community.CommunityError, match="社会力量"):  # serves elsewhere
        community.record_given(by=u.district_officer, organisation=gd,
                               household=world.village_hh, kind="funds", amount_fen=100,
                               donated_on=D(2026, 11, 6))
    with pytest.raises(community.CommunityError, match="社会力量"):  # another town's own
        community.record_given(by=u.district_officer, organisation=town,
                               household=world.other_town_hh, kind="funds", amount_fen=100,
                               donated_on=D(2026, 11, 6))
    assert Donation.objects.count() == 3


def test_the_page_records_lists_and_the_household_shows_it(world, orgs, client) -> None:
    town, _, _ = orgs
    client.login(username="town_officer", password=PASSWORD)
    page = client.get("/community/donations/")
    assert page.status_code == 200 and "登记接收" in page.content.decode()
    made = client.post("/community/donations/", {
        "direction": "received", "organisation": town.pk, "kind": "funds",
        "amount": "1,234.56", "donated_on": "2026-11-10", "note": "企业捐赠"})
    assert made.status_code == 302
    assert Donation.objects.get().amount_fen == 123_456
    made = client.post("/community/donations/", {
        "direction": "given", "household": world.village_hh.number,
        "organisation": town.pk, "kind": "goods", "goods": "大米 50 斤、食用油 2 桶",
        "value": "300", "donated_on": "2026-11-12"})
    assert made.status_code == 302
    gift = Donation.objects.get(direction="given")
    assert (gift.household, gift.value_fen, gift.area_code) == \
        (world.village_hh, 30_000, world.village_hh.area_code)
    refused = client.post("/community/donations/", {
        "direction": "given", "household": world.other_town_hh.number,
        "organisation": town.pk, "kind": "funds", "amount": "10", "donated_on": "2026-11-12"})
    assert refused.status_code == 200 and "不在您的管辖范围内" in refused.content.decode()
    listed = client.get("/community/donations/?month=2026-11").content.decode()
    assert "大米 50 斤" in listed and "1,234.56" in listed and "黎阳镇慈善会" in listed
    by_org = listed.split('id="donations-by-organisation"')[1].split("</table>")[0]
    assert "1,234.56" in by_org and "300.00" in by_org
    assert "大米" not in client.get("/community/donations/?month=2026-10").content.decode()
    household = client.get(f"/households/{world.village_hh.pk}/").content.decode()
    panel = household.split('id="donations"')[1].split("</section>")[0]
    assert "大米 50 斤" in panel and "黎阳镇慈善会" in panel
    timeline = household.split('id="timeline"')[1]
    assert gift.audit_label() == "发放慈善物资 估值 300.00 元（黎阳镇慈善会）"
    assert gift.audit_label() in timeline
    # a village assistant sees the list but records nothing
    client.logout()
    client.login(username="village_assistant", password=PASSWORD)
    page = client.get("/community/donations/").content.decode()
    assert "登记接收" not in page
    client.post("/community/donations/", {
        "direction": "given", "household": world.village_hh.number, "organisation": town.pk,
        "kind": "funds", "amount": "10", "donated_on": "2026-11-12"})
    assert Donation.objects.count() == 2


def test_another_district_sees_nothing(world, orgs, client) -> None:
    town, district, gd = orgs
    u = world.users
    community.record_received(by=u.district_officer, organisation=district, kind="funds",
                              amount_fen=800_000, donated_on=D(2026, 11, 1))
    community.record_given(by=u.town_officer, organisation=town, household=world.village_hh,
                           kind="funds", amount_fen=20_000, donated_on=D(2026, 11, 2))
    community.record_given(by=u.district_officer, organisation=district,
                           household=world.other_town_hh, kind="goods", goods="轮椅 1 台",
                           value_fen=90_000, donated_on=D(2026, 11, 2))
    mine = community.record_received(by=world.gd_user, organisation=gd, kind="funds",
                                     amount_fen=1_000, donated_on=D(2026, 11, 2))
    assert list(Donation.objects.visible_to(world.gd_user)) == [mine]
    assert {d.household for d in Donation.objects.visible_to(u.town_officer)} == \
        {world.village_hh}
    client.login(username="gd_district", password=PASSWORD)
    page = client.get("/community/donations/").content.decode()
    for secret in ("屯溪区慈善协会", "黎阳镇慈善会", "轮椅", world.village_hh.number,
                   world.other_town_hh.number, "8,000.00"):
        assert secret not in page
    assert "荔湾区慈善会" in page
    assert statistics.month_table("440103", D(2026, 11, 1)).total["donations_given"] == 0
    listed = client.get("/reports/list/?figure=donations_given&month=2026-11")
    assert listed.status_code == 200 and "轮椅" not in listed.content.decode()


def test_statistics_equal_an_independent_count(world, orgs) -> None:
    town, district, _ = orgs
    u = world.users
    plan = [  # (by, organisation, household or None, kind, fen, day)
        (u.town_officer, town, None, "funds", 100_000, D(2026, 10, 30)),
        (u.town_officer, town, None, "goods", 50_000, D(2026, 11, 1)),
        (u.district_officer, district, None, "funds", 700_001, D(2026, 11, 19)),
        (u.town_officer, town, world.village_hh, "funds", 20_000, D(2026, 11, 2)),
        (u.town_officer, town, world.same_town_hh, "funds", 35_050, D(2026, 11, 15)),
        (u.district_officer, district, world.other_town_hh, "goods", 90_000, D(2026, 11, 2)),
        (u.district_officer, district, world.other_town_hh, "funds", 12_345, D(2026, 10, 2)),
    ]
    for by, org, household, kind, fen, day in plan:
        values = dict(organisation=org, kind=kind, donated_on=day,
                      **({"amount_fen": fen} if kind == "funds" else
                         {"goods": "物资", "value_fen": fen}))
        if household is None:
            community.record_received(by=by, **values)
        else:
            community.record_given(by=by, household=household, **values)
    for month in (D(2026, 10, 1), D(2026, 11, 1)):
        for area in ("341002", "341002102"):
            table = statistics.month_table(area, month)
            width = table.width
            truth: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            for _, _, household, kind, fen, day in plan:
                code = household.area_code if household else (
                    "341002102" if fen in (100_000, 50_000) else "341002")
                if (day.year, day.month) != (month.year, month.month) or \
                        not code.startswith(area):
                    continue
                way = "given" if household else "received"
                for key in (code[:width], "*"):
                    truth[key][f"donations_{way}"] += 1
                    truth[key][f"donations_{way}_fen"] += fen if kind == "funds" else 0
                    truth[key][f"donations_{way}_fen_lines"] += kind == "funds"
            for figure in statistics.DONATIONS:
                assert table.total[figure] == truth["*"][figure], (area, month, figure)
                for child, row in table.rows.items():
                    assert row[figure] == truth[child][figure], (area, month, child, figure)
                listed = truth["*"][f"donations_{figure.split('_')[1]}"] if \
                    not figure.endswith("_fen") else truth["*"][f"{figure}_lines"]
                assert statistics.records(figure, area, month).count() == listed
    assert statistics.month_table("341002", D(2026, 11, 1)).total[
        "donations_received_fen"] == 700_001
