"""Searches and look-ups that would give away what masking or scoping hides (issue 23):

- finding 1: a role that sees IDs and names only masked cannot confirm a guess by searching —
  a full ID (any spelling), a name or pinyin initials is refused on the household list, the
  export and the API alike, and audited; the number and the ID's last four still work;
- finding 12: a number from another area and a number that does not exist get one answer;
- finding 13: the public form takes only the villages the deployment serves.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from doudi.audit.models import AuditEvent
from doudi.casework.models import OnlineRequest
from doudi.core import idnumber
from doudi.monitoring import services as monitoring
from doudi.registry import queries
from doudi.registry.models import Person
from tests.conftest import PASSWORD, VILLAGE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limit")]

MASKED_ROLES = ["supervisor", "district_admin"]
FULL_ROLES = ["village_assistant", "town_officer", "district_approver"]


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


def _candidates(person: Person) -> list[str]:
    """What the tester tried: the masked ID's visible ends with every birth date of the
    person's age, the check digit made valid — the real ID among them."""
    region, seq = person.id_number[:6], int(person.id_number[14:17])
    born = person.birth_date
    out = [idnumber.make(region, born + dt.timedelta(days=d), seq // 10, person.sex)
           for d in range(-15, 16)]
    return [c for c in out if c[-4:] == person.id_number[-4:]] + [person.id_number]


def _api(client, role: str, q: str):
    tok = client.post("/api/token", {"username": role, "password": PASSWORD},
                      content_type="application/json").json()["token"]
    return client.get("/api/households", {"q": q}, HTTP_AUTHORIZATION=f"Bearer {tok}")


@pytest.mark.parametrize("role", MASKED_ROLES)
def test_a_masked_viewer_cannot_search_by_id_or_name(client, world, role: str) -> None:
    head = world.village_hh.head()
    user = getattr(world.users, role)
    client.force_login(user)
    terms = [head.id_number, head.id_number.lower(), _full_width(head.id_number),
             f" {head.id_number} ", head.name, head.name_initials, head.name_initials[:2]]
    refused_before = AuditEvent.objects.filter(action=AuditEvent.REFUSED).count()
    for q in terms:
        page = client.get("/households/", {"q": q}).content.decode()
        assert queries.MASKED_SEARCH_REFUSED in page, q
        assert world.village_hh.number not in page, q
        api = _api(client, role, q)
        assert api.status_code == 422 and "不能按姓名" in api.json()["detail"][0]["msg"], q
    refused = AuditEvent.objects.filter(action=AuditEvent.REFUSED).order_by("id")
    assert refused.count() - refused_before == 2 * len(terms)
    assert all(head.id_number not in str(e.changes) for e in refused)
    assert refused.last().changes["kind"] in ("name", "initials", "id")
    # what they see in clear still finds the household
    client.force_login(user)
    for q in (world.village_hh.number, head.id_number[-4:]):
        assert world.village_hh.number in client.get("/households/", {"q": q}).content.decode()


def test_the_guessing_attack_learns_nothing(client, world) -> None:
    """31 candidate IDs from the masked ID and the age: every answer is the same refusal, and
    17-character prefixes and birth dates match nothing (they are read as household numbers)."""
    head = world.village_hh.head()
    client.force_login(world.users.supervisor)
    answers = set()
    for candidate in _candidates(head):
        for q in (candidate, candidate[:17], candidate[6:14], candidate[:14]):
            page = client.get("/households/", {"q": q}).content.decode()
            answers.add((q == candidate, world.village_hh.number in page,
                         queries.MASKED_SEARCH_REFUSED in page))
    assert answers == {(True, False, True), (False, False, False)}


@pytest.mark.parametrize("role", MASKED_ROLES)
def test_an_export_filtered_by_id_is_refused(client, world, role: str) -> None:
    head = world.village_hh.head()
    user = getattr(world.users, role)
    client.force_login(user)
    response = client.get("/households/export.xlsx", {"q": head.id_number})
    if not user.can("registry.export"):
        assert response.status_code == 403
        return
    assert response.status_code == 400
    assert queries.MASKED_SEARCH_REFUSED in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditEvent.EXPORT).exists()


@pytest.mark.parametrize("role", FULL_ROLES)
def test_roles_that_see_full_ids_search_by_them(client, world, role: str) -> None:
    head = world.village_hh.head()
    client.force_login(getattr(world.users, role))
    for q in (head.id_number, head.id_number.lower(), head.name):
        assert world.village_hh.number in client.get("/households/", {"q": q}).content.decode()
    assert _api(client, role, head.id_number).json()["count"] == 1


def test_the_person_lookup_by_id_is_for_full_viewers_only(world) -> None:
    head = world.village_hh.head()
    everyone = Person.objects.all()
    assert queries.person_by_id_number(world.users.town_officer, everyone,
                                       head.id_number.lower()) == head
    for role in MASKED_ROLES:
        with pytest.raises(queries.SearchRefused):
            queries.person_by_id_number(getattr(world.users, role), everyone, head.id_number)


# --- finding 12: one answer for "not yours" and "no such number" -------------------------------

def _warning(world):
    return monitoring.report(by=world.users.village_assistant, channel="discovery",
                             summary="独居老人无人照料", area_code=VILLAGE, name="某老人")


def test_linking_a_warning_answers_alike_for_other_areas_and_missing_numbers(client,
                                                                              world) -> None:
    w = _warning(world)
    client.force_login(world.users.town_officer)
    url = f"/monitoring/warnings/{w.pk}/act/"
    pages = [client.post(url, {"action": "link", "household_number": number}).content.decode()
             for number in (world.other_town_hh.number, world.guangdong_hh.number,
                            "34100210200299999", "nonsense")]
    for page in pages:
        assert queries.NOT_FOUND_HERE in page
        assert "无权" not in page
    w.refresh_from_db()
    assert w.household_id is None
    client.post(url, {"action": "link", "household_number": world.village_hh.number})
    w.refresh_from_db()
    assert w.household == world.village_hh
    # the service itself answers alike too
    with pytest.raises(monitoring.MonitoringError, match="未找到"):
        monitoring.link_household(by=world.users.town_officer, warning=w,
                                  household=world.other_town_hh)


def test_points_answer_alike_for_other_areas_and_missing_numbers(client, world) -> None:
    from doudi.community.models import PointRule
    from doudi.community.services import add_rule

    add_rule(by=world.users.district_officer, code="clean", name="环境整治", points=5)
    rule = PointRule.objects.get()
    client.force_login(world.users.village_assistant)
    for number in (world.other_town_hh.number, "34100210200299999"):
        page = client.post("/community/points/", {"household_number": number, "rule": rule.pk,
                                                  "day": "2026-03-01"}).content.decode()
        assert queries.NOT_FOUND_HERE in page


# --- finding 13: the public form serves the deployment's areas only ----------------------------

def _apply(client, village: str):
    return client.post("/apply/", {
        "programme": "dibao", "name": "王小明", "phone": "13912345678", "village": village,
        "address": "某路1号", "hukou_type": "urban", "reason": "困难", "consent": "1",
        "id_number": idnumber.make("341002", dt.date(1975, 3, 4), 41, "M")})


def test_the_public_form_refuses_villages_the_deployment_does_not_serve(client, world,
                                                                        settings) -> None:
    gd_village = world.guangdong_hh.area_code
    page = _apply(client, gd_village).content.decode()
    assert "请选择本地区的村（社区）" in page and not OnlineRequest.objects.exists()
    for bad in ("341002", "3410021020020", "' OR 1=1"):
        assert "请选择本地区的村（社区）" in _apply(client, bad).content.decode()
    assert not OnlineRequest.objects.exists()
    assert client.get("/apply/villages/", {"town": gd_village[:9]}).content.decode().count(
        "<option") <= 1
    _apply(client, VILLAGE)
    assert OnlineRequest.objects.get().area_code == VILLAGE
    # a deployment serving two counties lists both
    settings.DOUDI_PUBLIC_AREA = f"341002, {gd_village[:6]}"
    OnlineRequest.objects.all().delete()
    _apply(client, gd_village)
    assert OnlineRequest.objects.get().area_code == gd_village


def test_identity_and_cross_province_need_full_id_access(world) -> None:
    from doudi.care.services import record_cross_province

    with pytest.raises(PermissionDenied):
        record_cross_province(by=world.users.supervisor, direction="in", province="四川",
                              reference="x", child_name="小明", kind="orphan",
                              child_id_number=world.village_hh.head().id_number,
                              received_on=dt.date(2026, 3, 1))
