import pytest

from doudi.audit.models import AuditEvent
from doudi.registry.models import Household, Person
from tests.conftest import PASSWORD, VILLAGE

pytestmark = pytest.mark.django_db


def token(client, username: str, password: str = PASSWORD) -> str:
    response = client.post("/api/token", {"username": username, "password": password},
                           content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


def auth(tok: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {tok}"}


def test_token_and_bad_password(client, users):
    assert client.post("/api/token", {"username": "village_assistant", "password": "wrong"},
                       content_type="application/json").status_code == 401
    tok = token(client, "village_assistant")
    assert AuditEvent.objects.filter(action=AuditEvent.TOKEN).exists()
    assert client.get("/api/households", **auth("nonsense")).status_code == 401
    assert client.get("/api/households").status_code == 401
    assert client.get("/api/households", **auth(tok)).status_code == 200


def test_village_token_lists_only_its_village(client, world):
    tok = token(client, "village_assistant")
    body = client.get("/api/households?page_size=200", **auth(tok)).json()
    numbers = {item["number"] for item in body["items"]}
    assert numbers == {world.village_hh.number}
    assert body["count"] == 1
    item = body["items"][0]
    assert item["head_name"] == "张*丰" and item["area_code"] == VILLAGE

    district = client.get("/api/households?page_size=200",
                          **auth(token(client, "district_officer"))).json()
    assert district["count"] == 3  # the whole district, not Guangdong


def test_detail_is_masked_and_scoped(client, world):
    tok = token(client, "village_assistant")
    own = client.get(f"/api/households/{world.village_hh.pk}", **auth(tok))
    assert own.status_code == 200
    members = own.json()["members"]
    head = world.village_hh.head()
    assert members[0]["id_number"] == head.masked_id
    assert head.id_number not in own.content.decode()
    other = client.get(f"/api/households/{world.same_town_hh.pk}", **auth(tok))
    assert other.status_code == 404


def _payload(id_number: str, area: str = VILLAGE) -> dict:
    return {"area_code": area, "hukou_type": "urban", "address": "龙山路8号",
            "members": [{"id_number": id_number, "name": "赵四", "relation": "head"}]}


def test_create_household(client, world, new_id):
    tok = token(client, "village_assistant")
    response = client.post("/api/households", _payload(new_id()),
                           content_type="application/json", **auth(tok))
    assert response.status_code == 201, response.content
    assert response.json()["members"][0]["name"] == "赵*"


def test_invalid_id_is_422_naming_field_and_writes_nothing(client, world, new_id):
    tok = token(client, "village_assistant")
    before = (Household.objects.count(), Person.objects.count(), AuditEvent.objects.count())
    good = new_id()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    payload = _payload(good)
    payload["members"].append({"id_number": bad, "name": "钱五", "relation": "child"})
    response = client.post("/api/households", payload, content_type="application/json",
                           **auth(tok))
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"][-3:] == ["members", 1, "id_number"]
    assert detail[0]["msg"].startswith("校验码错误")
    assert (Household.objects.count(), Person.objects.count(),
            AuditEvent.objects.count()) == before


def test_duplicate_and_out_of_area_create(client, world, new_id):
    tok = token(client, "village_assistant")
    existing = world.village_hh.head().id_number
    dup = client.post("/api/households", _payload(existing), content_type="application/json",
                      **auth(tok))
    assert dup.status_code == 422 and "已登记" in dup.json()["detail"][0]["msg"]
    count = Household.objects.count()
    outside = client.post("/api/households", _payload(new_id(), area="341002102006"),
                          content_type="application/json", **auth(tok))
    assert outside.status_code == 403
    readonly = client.post("/api/households", _payload(new_id()),
                           content_type="application/json", **auth(token(client, "supervisor")))
    assert readonly.status_code == 403
    assert Household.objects.count() == count


def test_openapi_schema(client):
    schema = client.get("/api/openapi.json").json()
    assert "/api/households" in schema["paths"] and "/api/token" in schema["paths"]
