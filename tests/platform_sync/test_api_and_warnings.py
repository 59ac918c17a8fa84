"""The sync API and pushed-down warnings: a warning from the platform above is matched by ID,
routed to the person's village, handled with the monitoring services, and its disposition
comes back; who may call what (the 民政 machine account, not another department's)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.management import call_command
from django.test import Client

from doudi.accounts.models import ApiToken
from doudi.accounts.services import create_user
from doudi.audit.models import AuditEvent
from doudi.monitoring import services, workflow
from doudi.monitoring.models import Warning
from doudi.platform_sync import access, export, warnings
from tests.conftest import DISTRICT, PASSWORD, VILLAGE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limit")]


def bearer(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(user)}"}


def test_a_pushed_down_warning_round_trips_with_its_disposition(district):
    platform = district.platform
    client = Client()
    head = district.world.village_hh.head()
    rows = [{"upstream_id": "HS-2026-0001", "id_number": head.id_number,
             "indicator": "大额医疗费用", "summary": "近12个月自付医疗费用 4.2 万元",
             "raised_on": "2026-03-01"},
            {"upstream_id": "HS-2026-0002", "id_number": district.world.guangdong_hh.head()
             .id_number, "indicator": "死亡", "summary": "公安死亡信息"},
            {"upstream_id": "HS-2026-0003", "id_number": "341002198001010000",
             "summary": "坏号码"}]
    auth = bearer(platform)
    response = client.post("/api/sync/warnings", json.dumps({"rows": rows}),
                           content_type="application/json", **auth)
    assert response.status_code == 200, response.content
    got = {r["upstream_id"]: r for r in response.json()}
    assert got["HS-2026-0001"]["result"] == "created"
    # another province's person is nobody here; a bad ID is refused; neither is stored
    assert got["HS-2026-0002"]["result"] == "unmatched"
    assert got["HS-2026-0003"]["result"] == "refused"
    w = Warning.objects.get(upstream_ref="HS-2026-0001")
    assert (w.channel, w.indicator, w.person, w.household) == (
        "upstream", "upstream", head, district.world.village_hh)
    assert w.handler_level == "village" and w.owner_code == VILLAGE
    assert w.event_date.isoformat() == "2026-03-01" and "大额医疗费用" in w.summary
    # a retry is the same warning
    again = client.post("/api/sync/warnings", json.dumps({"rows": rows[:1]}),
                        content_type="application/json", **auth).json()
    assert again[0] == {**got["HS-2026-0001"], "result": "existing"}
    assert Warning.objects.filter(channel="upstream").count() == 1

    answer = client.get("/api/sync/warnings/dispositions", **auth).json()
    assert answer == [{"upstream_id": "HS-2026-0001", "status": "open",
                       "status_label": "待核实", "verified_true": None, "disposition": "",
                       "disposition_label": "", "note": "", "closed_on": None}]

    # the village handles it like any warning
    assistant = district.users.village_assistant
    services.verify(by=assistant, warning=w, finding="入户核实：住院属实", confirmed=True)
    services.dispose(by=assistant, warning=w, disposition="refer_medical", note="已转医保")
    answer = client.get("/api/sync/warnings/dispositions", **auth).json()
    assert answer[0]["status"] == workflow.CLOSED and answer[0]["disposition"] == "refer_medical"
    assert answer[0]["note"] == "已转医保" and answer[0]["verified_true"] is True
    assert answer[0]["closed_on"] is not None
    # since a moment after the last step: nothing new
    later = client.get("/api/sync/warnings/dispositions",
                       {"since": "2999-01-01T00:00:00+08:00"}, **auth).json()
    assert later == []
    assert AuditEvent.objects.filter(object_label__contains="反馈上级下发预警处置结果").exists()


def test_cli_push_and_answer(district, tmp_path):
    head = district.world.same_town_hh.head()
    pushed = tmp_path / "push.csv"
    pushed.write_text("upstream_id,id_number,indicator,summary,raised_on\n"
                      f"P-1,{head.id_number},失业,失业登记,2026-02-02\n", encoding="utf-8")
    call_command("sync", "push-warnings", str(pushed), "--area", DISTRICT)
    w = Warning.objects.get(upstream_ref="P-1")
    assert w.area_code == head.area_code and w.reporter is None
    out = tmp_path / "answer.csv"
    call_command("sync", "answer-warnings", "--out", str(out), "--area", DISTRICT)
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(warnings.ANSWER_COLUMNS)
    assert text.splitlines()[1].startswith("P-1,open,待核实")


def test_export_over_the_api_and_who_may_call_what(district):
    client = Client()
    users = district.users
    response = client.get("/api/sync/export", **bearer(district.platform))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response.content == export.make(DISTRICT).data
    mark = response["X-Doudi-Watermark"]
    empty = client.get("/api/sync/export", {"since": mark}, **bearer(users.district_admin))
    names = zipfile.ZipFile(io.BytesIO(empty.content)).read("persons.csv").decode()
    assert names.strip() == ",".join(n for n, _ in export.layout.PERSONS.columns)
    # the package goes up (here, into the same database: every row unchanged)
    up = client.post("/api/sync/packages",
                     {"file": io.BytesIO(response.content)}, **bearer(users.upper_officer))
    assert up.status_code == 201, up.content
    assert up.json()["counts"]["persons"]["unchanged"] == 6
    repeat = client.post("/api/sync/packages",
                         {"file": io.BytesIO(response.content)}, **bearer(users.upper_officer))
    assert repeat.status_code == 200 and repeat.json()["duplicate"] is True
    # the platform's account reads the registry, never writes it; a district's system may
    assert client.post("/api/sync/packages", {"file": io.BytesIO(response.content)},
                       **bearer(district.platform)).status_code == 403
    lower = create_user(username="district_system", password=PASSWORD, area_code=DISTRICT,
                        roles=["department"])
    lower.department = access.LOWER_DEPARTMENT
    lower.save()
    sent = client.post("/api/sync/packages", {"file": io.BytesIO(response.content)},
                       **bearer(lower))
    assert sent.status_code == 200 and sent.json()["duplicate"] is True
    assert client.get("/api/sync/export", **bearer(lower)).status_code == 403

    # another department's account holds the role, not the sync: refused, and audited
    with_role = users.department
    with_role.department = "车管"
    with_role.save()
    token = bearer(with_role)
    for answered in (client.get("/api/sync/export", **token),
                     client.get("/api/sync/warnings/dispositions", **token),
                     client.post("/api/sync/warnings", json.dumps({"rows": []}),
                                 content_type="application/json", **token),
                     client.post("/api/sync/packages", {}, **token)):
        assert answered.status_code == 403, answered.content
    for user, ok in ((users.district_officer, False), (users.supervisor, False),
                     (users.district_admin, True), (users.village_assistant, False)):
        got = client.get("/api/sync/export", **bearer(user)).status_code
        assert got == (200 if ok else 403), (user.username, got)
    assert client.post("/api/sync/warnings", json.dumps({"rows": []}),
                       content_type="application/json",
                       **bearer(users.district_admin)).status_code == 403
