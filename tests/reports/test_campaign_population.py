"""A campaign's population may include the households refused (不予批准) and those whose
assistance ended (退出) over the year before, each a stratum of its own beside the covered: the
population agrees with an independent walk over the records, the covered households' draw does
not move when the others are added, and the samples say why each household is in them."""

from __future__ import annotations

import datetime as dt

import pytest

from doudi.benefits.models import Enrollment
from doudi.casework.models import Application
from doudi.reports import campaigns, sampling
from doudi.reports.models import Campaign
from tests.conftest import make_household

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 10, 1)


def _enrol(hh, start: dt.date, end: dt.date | None = None, programme="dibao") -> None:
    Enrollment.objects.create(household=hh, programme=programme, amount_fen=50_000,
                              start_date=start, end_date=end,
                              status=Enrollment.ENDED if end else Enrollment.ACTIVE,
                              area_code=hh.area_code)


def _refused(hh, decided: dt.date, programme="dibao") -> None:
    n = Application.objects.count()
    Application.objects.create(
        number=f"SQ2026POP{n:05d}", programme=programme, channel="village", state="refused",
        household=hh, reason="测试", submitted_on=decided, step_started_on=decided,
        decision="refused", decided_on=decided, area_code=hh.area_code)


@pytest.fixture
def district(world, new_id):
    u = world.users
    more = [make_household(u.district_approver, world.village_hh.area_code, new_id)
            for _ in range(4)]
    _enrol(world.village_hh, dt.date(2025, 1, 1))  # covered
    _enrol(world.same_town_hh, dt.date(2024, 1, 1), dt.date(2026, 8, 31))  # exited
    _refused(world.other_town_hh, dt.date(2026, 9, 1))  # refused
    _refused(more[0], dt.date(2024, 9, 1))  # refused too long ago
    _enrol(more[1], dt.date(2020, 1, 1), dt.date(2025, 6, 30))  # exited too long ago
    _enrol(more[2], dt.date(2026, 9, 20))  # covered after a refusal: counted as covered
    _refused(more[2], dt.date(2026, 3, 1))
    _refused(more[3], dt.date(2026, 9, 5), programme="tekun")  # another programme
    _enrol(more[3], dt.date(2026, 10, 2))  # starts after the day: not covered
    return world, more


def _independent(programmes: set[str], refused: bool, exited: bool) -> dict:
    """(household, programme) → basis, from the rows one by one."""
    since = DAY - dt.timedelta(days=365)
    found: dict = {}
    for e in Enrollment.objects.all():
        if e.programme in programmes and e.start_date <= DAY and (
                e.end_date is None or e.end_date > DAY):
            found[(e.household_id, e.programme)] = "enrolled"
    for e in Enrollment.objects.all():
        if exited and e.programme in programmes and e.end_date and since < e.end_date <= DAY:
            found.setdefault((e.household_id, e.programme), "exited")
    for a in Application.objects.all():
        if refused and a.programme in programmes and a.decision == "refused" and \
                since < a.decided_on <= DAY:
            found.setdefault((a.household_id, a.programme), "refused")
    return found


@pytest.mark.parametrize(("refused", "exited"), [(False, False), (True, False), (False, True),
                                                 (True, True)])
def test_the_population_agrees_with_an_independent_walk(district, refused, exited) -> None:
    world, _more = district
    frame = campaigns.population("341002", ["dibao", "tekun"], DAY, refused=refused,
                                 exited=exited)
    got = {(r["household_id"], r["programme"]): r["basis"] for r in frame.to_dicts()}
    assert got == _independent({"dibao", "tekun"}, refused, exited)
    assert frame.filter(frame["household_id"] == world.village_hh.pk)["basis"].to_list() == [
        "enrolled"]
    assert all(t == c[:9] for t, c in zip(
        frame["town"], [type(world.village_hh).objects.get(pk=h).area_code
                        for h in frame["household_id"]], strict=True))


def test_a_campaign_with_both_options_samples_each_basis(district) -> None:
    world, _more = district
    c = campaigns.start(by=world.users.district_officer, name="回头看（含未获批准与退出）",
                        kind="look_back", programmes=["dibao"], rate_bp=10_000, seed=3,
                        starts_on=DAY, due_on=DAY + dt.timedelta(days=30),
                        include_refused=True, include_exited=True)
    c = Campaign.objects.get(pk=c.pk)
    assert c.include_refused and c.include_exited
    bases = dict(c.samples.values_list("household_id", "basis"))
    assert bases[world.village_hh.pk] == "enrolled"
    assert bases[world.same_town_hh.pk] == "exited"
    assert bases[world.other_town_hh.pk] == "refused"
    plain = campaigns.start(by=world.users.district_officer, name="回头看", kind="look_back",
                            programmes=["dibao"], rate_bp=10_000, seed=3, starts_on=DAY,
                            due_on=DAY + dt.timedelta(days=30))
    assert set(plain.samples.values_list("basis", flat=True)) == {"enrolled"}


def test_adding_the_refused_and_exited_does_not_move_the_covered_draw() -> None:
    import polars as pl

    covered = pl.DataFrame({"household_id": list(range(1, 41)), "town": ["341002102"] * 40,
                            "programme": ["dibao"] * 40, "basis": ["enrolled"] * 40})
    others = pl.DataFrame({"household_id": list(range(100, 130)),
                           "town": ["341002102"] * 30, "programme": ["dibao"] * 30,
                           "basis": ["refused"] * 15 + ["exited"] * 15})
    alone = sampling.sample(covered, 11, 1000)
    both = sampling.sample(pl.concat([covered, others]), 11, 1000)
    assert both.filter(pl.col("basis") == "enrolled").equals(alone)
    # without the column the covered draw is the same as before the option existed
    assert sampling.sample(covered.drop("basis"), 11, 1000)["household_id"].equals(
        alone["household_id"])
    assert both.filter(pl.col("basis") == "refused").height == sampling.stratum_size(15, 1000)
    assert both.filter(pl.col("basis") == "exited").height == sampling.stratum_size(15, 1000)


def test_the_campaign_form_offers_the_options(client, district) -> None:
    from tests.conftest import PASSWORD

    del district
    client.login(username="district_officer", password=PASSWORD)
    assert "近一年申请未获批准的家庭" in client.get("/reports/campaigns/").content.decode()
    response = client.post("/reports/campaigns/", {
        "name": "含退出", "kind": "look_back", "programmes": ["dibao"], "rate": "100",
        "seed": "5", "starts_on": DAY.isoformat(), "due_on": "2026-10-31",
        "correction_days": "30", "include_exited": "1"})
    assert response.status_code == 302
    c = Campaign.objects.get(name="含退出")
    assert c.include_exited and not c.include_refused
    assert set(c.samples.values_list("basis", flat=True)) == {"enrolled", "exited"}
    page = client.get(f"/reports/campaigns/{c.pk}/").content.decode()
    assert "退出保障" in page
