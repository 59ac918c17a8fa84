"""/api/feeds: departments push their own feeds (202 → background job), read their jobs and
error reports, read the outcomes they are entitled to; every call is audited and rate-limited."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import polars as pl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from doudi.accounts.services import create_user
from doudi.audit import context
from doudi.audit.models import AuditEvent
from doudi.benefits.models import Enrollment
from doudi.benefits.services import enroll
from doudi.core.masking import mask_id_number
from doudi.exchange.department_api import issue_department_token
from doudi.exchange.imports import batch_rows
from doudi.exchange.models import FeedBatch, ImportJob
from doudi.registry.services import assign_category
from tests.conftest import DISTRICT, PASSWORD, VILLAGE, make_household
from tests.exchange.helpers import VEHICLE_HEADER, bad_check_digit, outsider_id

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limit")]

RELAPSE_HEADER = ("户主姓名,户主证件号码,所在村,家庭人口数,监测对象类别,主要风险类型,"
                  "识别纳入时间,风险是否消除")






def vehicle_csv(rows: list[tuple[str, str, str]]) -> bytes:
    """rows: (plate, owner, id_number)."""
    lines = [VEHICLE_HEADER] + [f"{plate},小型轿车,{owner},{idn},比亚迪,2020-03-01,正常"
                                for plate, owner, idn in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def department_account(username: str, department: str):
    with context.job("test department account"):
        user = create_user(username=username, password=PASSWORD, area_code=DISTRICT,
                           roles=["department"])
        user.department = department
        user.save()
    return user


def staff_token(client, username: str) -> str:
    response = client.post("/api/token", {"username": username, "password": PASSWORD},
                           content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


def auth(tok: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {tok}"}


def push(client, capture, tok: str, feed_key: str, data: bytes, name: str = "data.csv",
         **form: str):
    with capture(execute=True):
        return client.post(f"/api/feeds/{feed_key}/batches",
                           {"file": SimpleUploadedFile(name, data), **form}, **auth(tok))


@pytest.fixture
def setup(users, new_id):
    with context.job("test households"):
        hh = make_household(users.district_approver, VILLAGE, new_id)
    head = hh.head()
    cheguan = department_account("cheguan", "车管")
    return SimpleNamespace(users=users, hh=hh, head=head, cheguan=cheguan,
                           tok=issue_department_token("cheguan"))


def test_department_pushes_its_feed_and_the_same_file_twice_changes_nothing(
        client, setup, django_capture_on_commit_callbacks):
    data = vehicle_csv([("皖B12345", "张三丰", setup.head.id_number),
                        ("皖B22222", "王大力", outsider_id(1)),
                        ("皖B33333", "赵小六", outsider_id(2))])
    response = push(client, django_capture_on_commit_callbacks, setup.tok, "vehicle", data,
                    name="车管_10月.csv", period="2026-10", source="市车管所")
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]

    status = client.get(f"/api/feeds/jobs/{job_id}", **auth(setup.tok))
    assert status.status_code == 200
    body = status.json()
    assert body["status"] == "done", body
    assert body["status_label"] == "已完成"
    assert body["feed_type"] == "vehicle" and body["file_name"] == "车管_10月.csv"
    assert body["errors_url"] is None
    counts = body["counts"]
    assert (counts["rows"], counts["good"], counts["errors"], counts["duplicates"]) == (3, 3, 0, 0)
    assert (counts["matched_id"], counts["matched_weak"], counts["unmatched"]) == (1, 0, 2)

    batch = FeedBatch.objects.get()
    assert body["batch_id"] == batch.pk and body["batch_version"] == batch.version == 1
    assert batch.feed_type.key == "vehicle" and batch.period == "2026-10"
    assert batch.source == "市车管所" and batch.imported_by == setup.cheguan
    assert (batch.rows, batch.good_rows, batch.matched_id, batch.unmatched) == (3, 3, 1, 2)
    job = ImportJob.objects.get(pk=job_id)
    assert job.channel == "api" and job.created_by == setup.cheguan
    assert job.upload_path == ""  # the upload is removed once imported
    stored = batch_rows(batch)
    assert sorted(stored["plate"]) == ["皖B12345", "皖B22222", "皖B33333"]
    assert stored.filter(pl.col("plate") == "皖B12345")["person_id"].to_list() == [setup.head.pk]

    again = push(client, django_capture_on_commit_callbacks, setup.tok, "vehicle", data,
                 name="车管_10月_重发.csv")
    assert again.status_code == 202
    second = client.get(f"/api/feeds/jobs/{again.json()['id']}", **auth(setup.tok)).json()
    assert second["status"] == "duplicate", second
    assert second["batch_id"] == batch.pk
    assert FeedBatch.objects.count() == 1


def test_push_is_limited_to_the_own_department_and_to_importing_staff(
        client, setup, django_capture_on_commit_callbacks):
    data = vehicle_csv([("皖B12345", "张三丰", setup.head.id_number)])
    other = push(client, django_capture_on_commit_callbacks, setup.tok, "medical_settlement",
                 data)
    assert other.status_code == 403, other.content
    assert "无权推送" in other.json()["detail"]

    village = push(client, django_capture_on_commit_callbacks,
                   staff_token(client, "village_assistant"), "vehicle", data)
    assert village.status_code == 403
    assert not ImportJob.objects.exists() and not FeedBatch.objects.exists()

    officer = push(client, django_capture_on_commit_callbacks,
                   staff_token(client, "district_officer"), "vehicle", data)
    assert officer.status_code == 202, officer.content
    job = ImportJob.objects.get()
    assert job.status == ImportJob.DONE and job.created_by == setup.users.district_officer
    assert FeedBatch.objects.count() == 1

    unknown = push(client, django_capture_on_commit_callbacks, setup.tok, "no_such_feed", data)
    assert unknown.status_code == 404


def test_job_and_error_report_are_the_pushers_with_masked_ids(
        client, setup, django_capture_on_commit_callbacks):
    bad = bad_check_digit(outsider_id(3))
    data = vehicle_csv([("皖B12345", "张三丰", setup.head.id_number),
                        ("皖B44444", "钱七", bad)])
    job_id = push(client, django_capture_on_commit_callbacks, setup.tok, "vehicle",
                  data).json()["id"]
    mine = client.get(f"/api/feeds/jobs/{job_id}", **auth(setup.tok)).json()
    assert mine["status"] == "done" and mine["counts"]["errors"] == 1
    assert mine["errors_url"] == f"/api/feeds/jobs/{job_id}/errors"

    errors = client.get(mine["errors_url"], **auth(setup.tok))
    assert errors.status_code == 200
    assert errors.json() == [{"row": 3, "column": "身份证明号码", "value": mask_id_number(bad),
                              "reason": "身份证号校验码错误"}]
    assert bad not in errors.content.decode()

    department_account("yibao", "医保")
    other = issue_department_token("yibao")
    # another's job answers as no job does (no existence oracle)
    assert client.get(f"/api/feeds/jobs/{job_id}", **auth(other)).status_code == 404
    assert client.get(f"/api/feeds/jobs/{job_id}/errors", **auth(other)).status_code == 404
    assert (client.get(f"/api/feeds/jobs/{job_id}", **auth(other)).json()
            == client.get("/api/feeds/jobs/999999", **auth(other)).json())
    # district staff who import may follow the jobs of their area
    officer = staff_token(client, "district_officer")
    assert client.get(f"/api/feeds/jobs/{job_id}", **auth(officer)).status_code == 200
    assert client.get("/api/feeds/jobs/999999", **auth(setup.tok)).status_code == 404


def test_every_call_is_audited_as_api(client, setup, django_capture_on_commit_callbacks):
    def api_rows() -> int:
        return AuditEvent.objects.filter(action=AuditEvent.API, actor_name="cheguan").count()

    data = vehicle_csv([("皖B12345", "张三丰", setup.head.id_number)])
    before = api_rows()
    job_id = push(client, django_capture_on_commit_callbacks, setup.tok, "vehicle",
                  data).json()["id"]
    assert api_rows() == before + 1
    row = AuditEvent.objects.filter(action=AuditEvent.API, actor_name="cheguan").first()
    assert row.object_type == "api" and "vehicle" in row.object_label
    assert row.actor_id == setup.cheguan.pk
    client.get(f"/api/feeds/jobs/{job_id}", **auth(setup.tok))
    assert api_rows() == before + 2
    client.get(f"/api/feeds/jobs/{job_id}/errors", **auth(setup.tok))
    assert api_rows() == before + 3
    client.get("/api/feeds/outcomes", **auth(setup.tok))
    assert api_rows() == before + 4
    refused = push(client, django_capture_on_commit_callbacks, setup.tok, "medical_settlement",
                   data)
    assert refused.status_code == 403
    assert api_rows() == before + 5  # a refused call is recorded too


def test_rate_limit_is_429_and_audited(client, setup, settings, monkeypatch):
    settings.DOUDI_API_RATE_PER_MINUTE = 3
    # One fixed minute, so the test cannot straddle two rate windows.
    from doudi.accounts import lockout

    monkeypatch.setattr(lockout, "time", SimpleNamespace(time=lambda: 1_900_000_000.0))
    for _ in range(3):
        assert client.get("/api/feeds/outcomes", **auth(setup.tok)).status_code == 200
    refused_before = AuditEvent.objects.filter(action=AuditEvent.REFUSED).count()
    fourth = client.get("/api/feeds/outcomes", **auth(setup.tok))
    assert fourth.status_code == 429
    assert "频繁" in fourth.json()["detail"]
    refused = AuditEvent.objects.filter(action=AuditEvent.REFUSED)
    assert refused.count() == refused_before + 1
    row = refused.first()
    assert row.actor_name == "cheguan" and "超过频率限制" in row.object_label
    # the limit is per account: another account is not affected
    department_account("xiangcun", "乡村振兴")
    assert client.get("/api/feeds/outcomes",
                      **auth(issue_department_token("xiangcun"))).status_code == 200


def test_outcomes_for_the_department_entitled_to_them(
        client, setup, new_id, django_capture_on_commit_callbacks):
    """What a person receives is read from the enrollments in force, as 在保 is counted
    everywhere; a 低保 or 特困 category alone is not assistance; a recognition (低保边缘) and
    a fact (留守老人) the registry records are passed on as they are."""
    users = setup.users
    approver = users.district_approver
    with context.job("test outcomes"):
        dibao_hh = setup.hh
        enroll(by=approver, household=dibao_hh, programme="dibao", amount_fen=50_000,
               start_date=dt.date(2025, 1, 1))
        assign_category(by=approver, category="dibao", start_date=dt.date(2025, 1, 1),
                        household=dibao_hh, decided_by="测试数据")
        plain_hh = make_household(approver, VILLAGE, new_id, members=1)
        # a 低保 category with no enrollment behind it (typed before the one door) and an
        # enrollment that has ended: neither is assistance today
        typed_hh = make_household(approver, VILLAGE, new_id, members=2)
        assign_category(by=approver, category="dibao", start_date=dt.date(2025, 2, 1),
                        household=typed_hh, decided_by="测试数据")
        old = enroll(by=approver, household=typed_hh, programme="single_person",
                     amount_fen=20_000, start_date=dt.date(2024, 1, 1), person=typed_hh.head())
        Enrollment.objects.filter(pk=old.pk).update(end_date=dt.date(2024, 12, 1),
                                                    status="ended")
        # 特困 of one member covers that member only; 单人保 counts as 低保
        tekun_hh = make_household(approver, VILLAGE, new_id, members=2)
        enroll(by=approver, household=tekun_hh, programme="tekun", amount_fen=90_000,
               start_date=dt.date(2025, 3, 1), person=tekun_hh.head())
        single_hh = make_household(approver, VILLAGE, new_id, members=2)
        enroll(by=approver, household=single_hh, programme="single_person",
               amount_fen=30_000, start_date=dt.date(2025, 4, 1), person=single_hh.head())
        assign_category(by=approver, category="edge", start_date=dt.date(2025, 4, 1),
                        household=single_hh, decided_by="测试数据")
        assign_category(by=approver, category="left_behind_elderly",
                        start_date=dt.date(2025, 5, 1), person=plain_hh.head())
    spouse = dibao_hh.memberships.exclude(person=setup.head).get().person
    plain = plain_hh.head()
    people = {"head": setup.head, "spouse": spouse, "plain": plain,
              "typed": typed_hh.head(), "tekun": tekun_hh.head(),
              "tekun_spouse": tekun_hh.memberships.exclude(person=tekun_hh.head()).get().person,
              "single": single_hh.head(),
              "single_spouse": single_hh.memberships.exclude(person=single_hh.head())
              .get().person}
    department_account("xiangcun", "乡村振兴")
    tok = issue_department_token("xiangcun")
    data = (RELAPSE_HEADER + "\n"
            + "".join(f"{p.name},{p.id_number},隆阜村,2,脱贫不稳定户,因病,2024-05-01,否\n"
                      for p in people.values())
            + f"周八,{outsider_id(4)},隆阜村,3,突发严重困难户,因灾,2024-07-01,否\n").encode()
    pushed = push(client, django_capture_on_commit_callbacks, tok, "relapse_watch", data)
    assert pushed.status_code == 202
    assert ImportJob.objects.get().status == ImportJob.DONE, ImportJob.objects.get().message

    got = client.get("/api/feeds/outcomes", **auth(tok))
    assert got.status_code == 200, got.content
    by_id = {o["id_number"]: o for o in got.json()}
    assert set(by_id) == {p.id_number for p in people.values()}
    head = by_id[setup.head.id_number]
    assert head["name"] == "张*丰" and head["feed_type"] == "relapse_watch"
    assert head["batch_version"] == 1
    assert head["assistance"] == [{"programme": "dibao", "category": "dibao", "label": "低保",
                                   "since": "2025-01-01"}]

    def held(who: str) -> list[tuple[str, str, str]]:
        return [(a["programme"], a["category"], a["label"])
                for a in by_id[people[who].id_number]["assistance"]]

    # a household programme covers every member
    assert held("spouse") == [("dibao", "dibao", "低保")]
    assert held("plain") == [("", "left_behind_elderly", "留守老人")]
    assert held("typed") == []
    assert held("tekun") == [("tekun", "tekun", "特困")] and held("tekun_spouse") == []
    assert held("single") == [("single_person", "dibao", "单人保"),
                              ("", "edge", "低保边缘")]
    assert held("single_spouse") == [("", "edge", "低保边缘")]
    # on a day before: what was in force then
    then = client.get("/api/feeds/outcomes?day=2024-06-01", **auth(tok)).json()
    assert [a["programme"] for o in then for a in o["assistance"]] == ["single_person"]
    assert next(o for o in then if o["assistance"])["id_number"] == people["typed"].id_number

    # 车管 pushed the same person, but its feed grants no outcomes
    car = vehicle_csv([("皖B12345", "张三丰", setup.head.id_number)])
    assert push(client, django_capture_on_commit_callbacks, setup.tok, "vehicle",
                car).status_code == 202
    assert FeedBatch.objects.filter(feed_type__key="vehicle").exists()
    vehicle = client.get("/api/feeds/outcomes", **auth(setup.tok))
    assert vehicle.status_code == 200 and vehicle.json() == []
    officer = client.get("/api/feeds/outcomes", **auth(staff_token(client, "district_officer")))
    assert officer.status_code == 403


def test_token_only_for_department_accounts(setup):
    with pytest.raises(ValueError, match="不是部门数据接口账号"):
        issue_department_token("district_officer")
    department_account("nodept", "")
    with pytest.raises(ValueError):
        issue_department_token("nodept")
    assert AuditEvent.objects.filter(action=AuditEvent.TOKEN, object_id=str(setup.cheguan.pk))
