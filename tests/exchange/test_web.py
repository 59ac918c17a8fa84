"""部门数据 pages: upload → job page, error report (page and Excel), column mapping remembered
as an alias, the inbox, feed-type definitions; 授权书 and 核对报告 on the household page."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from python_calamine import CalamineWorkbook

from doudi.accounts.services import create_user
from doudi.audit import context
from doudi.audit.models import AuditEvent
from doudi.core.masking import mask_id_number
from doudi.exchange.imports import import_bytes
from doudi.exchange.models import Consent, FeedBatch, FeedType, ImportJob, VerificationReport
from tests.conftest import PASSWORD, VILLAGE, make_household
from tests.exchange.helpers import bad_check_digit, outsider_id

pytestmark = pytest.mark.django_db

COLUMNS = ["号牌号码", "车辆类型", "机动车所有人", "身份证明号码", "中文品牌", "初次登记日期",
           "机动车状态"]





def vehicle_csv(rows: list[tuple[str, str, str]], plate_header: str = "号牌号码") -> bytes:
    header = ",".join([plate_header, *COLUMNS[1:]])
    lines = [header] + [f"{plate},小型轿车,{owner},{idn},比亚迪,2020-03-01,正常"
                        for plate, owner, idn in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def upload(client, capture, data: bytes, name: str = "车管.csv", feed: str = "vehicle"):
    with capture(execute=True):
        response = client.post(f"/exchange/{feed}/upload/",
                               {"file": SimpleUploadedFile(name, data), "period": "2026-10"})
    assert response.status_code == 302, response.content.decode()[:500]
    return response


def job_of(response) -> ImportJob:
    match = re.fullmatch(r"/exchange/jobs/(\d+)/", response["Location"])
    assert match, response["Location"]
    return ImportJob.objects.get(pk=int(match.group(1)))


def test_upload_shows_the_finished_job_with_counts(client, users, new_id,
                                                   django_capture_on_commit_callbacks):
    with context.job("test"):
        hh = make_household(users.district_approver, VILLAGE, new_id)
    client.force_login(users.district_officer)
    assert client.get("/exchange/vehicle/upload/").status_code == 200
    data = vehicle_csv([("皖B12345", "张三丰", hh.head().id_number),
                        ("皖B22222", "王大力", outsider_id(1)),
                        ("皖B33333", "赵小六", outsider_id(2))])
    response = upload(client, django_capture_on_commit_callbacks, data)
    job = job_of(response)
    html = client.get(response["Location"]).content.decode()
    assert '<strong id="job-state">已完成</strong>' in html
    for label, value in (("数据行", 3), ("导入", 3), ("错误行", 0), ("身份证号匹配", 1),
                         ("未匹配（保留）", 2)):
        assert f'<th>{label}</th><td class="num">{value}</td>' in html, label
    assert 'id="error-report"' not in html and "hx-get" not in html  # finished: no polling
    batch = FeedBatch.objects.get()
    assert job.batch == batch and job.channel == "ui" and batch.period == "2026-10"
    assert f'href="/exchange/batches/{batch.pk}/"' in html
    assert client.get(f"/exchange/batches/{batch.pk}/").status_code == 200


def test_bad_check_digit_error_table_and_excel_report(client, users,
                                                      django_capture_on_commit_callbacks):
    bad = bad_check_digit(outsider_id(3))
    data = vehicle_csv([("皖B11111", "王大力", outsider_id(1)), ("皖B44444", "钱七", bad),
                        ("皖B55555", "赵小六", outsider_id(2))])
    client.force_login(users.district_officer)
    response = upload(client, django_capture_on_commit_callbacks, data)
    job = job_of(response)
    assert job.status == ImportJob.DONE and job.counts["errors"] == 1
    html = client.get(response["Location"]).content.decode()
    assert 'id="error-report"' in html
    assert "身份证号校验码错误" in html and mask_id_number(bad) in html
    assert bad not in html

    exports = AuditEvent.objects.filter(action=AuditEvent.EXPORT).count()
    xlsx = client.get(f"/exchange/jobs/{job.pk}/errors.xlsx")
    assert xlsx.status_code == 200
    assert "spreadsheetml" in xlsx["Content-Type"]
    rows = CalamineWorkbook.from_filelike(io.BytesIO(xlsx.content)).get_sheet_by_name(
        "错误报告").to_python()
    assert rows[1][:6] == ["工作表", "行号", "列名", "原值", "原因", "处理"]
    assert [int(rows[2][1]), *rows[2][2:6]] == [3, "身份证明号码", mask_id_number(bad),
                                                "身份证号校验码错误", "拒收"]
    assert bad not in str(rows)
    assert AuditEvent.objects.filter(action=AuditEvent.EXPORT).count() == exports + 1
    row = AuditEvent.objects.filter(action=AuditEvent.EXPORT).first()
    assert row.object_type == "exchange.importjob" and row.object_id == str(job.pk)
    assert row.actor_name == "district_officer"


def test_mapping_rescues_the_job_and_is_remembered(client, users,
                                                   django_capture_on_commit_callbacks):
    client.force_login(users.district_officer)
    first = vehicle_csv([("皖B11111", "王大力", outsider_id(1))], plate_header="车牌")
    response = upload(client, django_capture_on_commit_callbacks, first)
    job = job_of(response)
    assert job.status == ImportJob.FAILED and not FeedBatch.objects.exists()
    html = client.get(response["Location"]).content.decode()
    assert "缺少必填列：号牌号码" in html
    assert f'action="/exchange/jobs/{job.pk}/mapping/"' in html
    for header in ["车牌", *COLUMNS[1:]]:
        assert f'<option value="{header}"' in html, header

    with django_capture_on_commit_callbacks(execute=True):
        mapped = client.post(f"/exchange/jobs/{job.pk}/mapping/",
                             {"map_plate": "车牌", "remember": "1"})
    assert mapped.status_code == 302 and mapped["Location"] == f"/exchange/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.status == ImportJob.DONE, job.message
    assert job.mapping == {"plate": "车牌"} and job.batch is not None
    assert "已完成" in client.get(mapped["Location"]).content.decode()
    vehicle = FeedType.objects.get(key="vehicle")
    assert "车牌" in vehicle.parsed().field("plate").aliases

    second = vehicle_csv([("皖B22222", "赵小六", outsider_id(2))], plate_header="车牌")
    again = job_of(upload(client, django_capture_on_commit_callbacks, second, name="车管2.csv"))
    assert again.status == ImportJob.DONE and again.mapping == {}, again.message
    assert FeedBatch.objects.count() == 2


def test_village_assistant_cannot_open_exchange(client, users):
    client.force_login(users.village_assistant)
    assert client.get("/exchange/").status_code == 403
    assert client.get("/exchange/vehicle/upload/").status_code == 403


def test_inbox_file_is_listed_and_imported(client, users, settings,
                                           django_capture_on_commit_callbacks):
    settings.FEEDS_INBOX.mkdir(parents=True)
    name = "车管_机动车登记信息.csv"
    (settings.FEEDS_INBOX / name).write_bytes(
        vehicle_csv([("皖B11111", "王大力", outsider_id(1))]))
    (settings.FEEDS_INBOX / "说明.docx").write_bytes(b"not a table")
    client.force_login(users.district_officer)
    html = client.get("/exchange/").content.decode()
    assert name in html and "说明.docx" not in html
    assert '<option value="vehicle" selected>' in html  # guessed from the file name

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/exchange/inbox/import/", {"name": name, "feed": "vehicle"})
    assert response.status_code == 302
    job = job_of(response)
    assert job.status == ImportJob.DONE, job.message
    assert FeedBatch.objects.get().feed_type.key == "vehicle"
    missing = client.post("/exchange/inbox/import/", {"name": "../secret.csv", "feed": "vehicle"})
    assert missing.status_code == 404


VALID_TYPE = """key: fiscal_salary
department: 财政
name: 财政供养人员工资
mode: events
record_key: [id_number, month]
person: {id_number: id_number, name: name}
verification: wage
fields:
  - {key: id_number, label: 身份证号, type: id_number}
  - {key: name, label: 姓名, type: text}
  - {key: month, label: 发放年月, type: text}
  - {key: base, label: 应发工资, type: money}
"""


def test_new_feed_type(client, users):
    client.force_login(users.district_officer)
    assert client.get("/exchange/types/new/").status_code == 403
    assert client.post("/exchange/types/new/", {"spec": VALID_TYPE}).status_code == 403
    assert not FeedType.objects.filter(key="fiscal_salary").exists()

    client.force_login(users.district_admin)
    assert client.get("/exchange/types/new/").status_code == 200
    bad = VALID_TYPE.replace("type: money", "type: float")
    page = client.post("/exchange/types/new/", {"spec": bad})
    assert page.status_code == 200
    html = page.content.decode()
    assert "类型“float”无效" in html and 'class="error"' in html
    assert not FeedType.objects.filter(key="fiscal_salary").exists()

    saved = client.post("/exchange/types/new/", {"spec": VALID_TYPE})
    assert saved.status_code == 302 and saved["Location"] == "/exchange/"
    feed = FeedType.objects.get(key="fiscal_salary")
    assert feed.department == "财政" and not feed.shipped
    assert feed.parsed().field("base").type == "money"
    assert "财政供养人员工资" in client.get("/exchange/").content.decode()


def test_consent_then_verification_report(client, users, new_id, shipped_parameters,
                                          django_capture_on_commit_callbacks):
    with context.job("test"):
        hh = make_household(users.district_approver, VILLAGE, new_id)
        other_town = create_user(username="other_town", password=PASSWORD,
                                 area_code="341002100", roles=["town_officer"])
    head = hh.head()
    out = import_bytes(FeedType.objects.get(key="vehicle"),
                       vehicle_csv([("皖B12345", "张三丰", head.id_number),
                                    ("皖B99999", "王大力", outsider_id(1))]),
                       "车管_机动车登记信息.csv", user=None, channel="cli")
    assert out.status == ImportJob.DONE
    today = timezone.localdate().isoformat()

    client.force_login(users.town_officer)
    page = client.get(f"/households/{hh.pk}/").content.decode()
    assert 'id="verification"' in page and "本地区要求先登记授权书才能核对" in page
    refused = client.post(f"/households/{hh.pk}/verification/", {"day": today})
    assert refused.status_code == 200
    assert "本地区要求先登记有效的授权书" in refused.content.decode()
    assert not VerificationReport.objects.exists()

    consent = client.post(f"/households/{hh.pk}/consents/",
                          {"signed_on": today, "signer": head.pk, "evidence": "in_person",
                           "attested": "1", "note": "书面授权"})
    assert consent.status_code == 302
    assert Consent.objects.get(household=hh).signed_by == "张三丰"

    made = client.post(f"/households/{hh.pk}/verification/", {"day": today})
    assert made.status_code == 302, made.content.decode()[:500]
    report = VerificationReport.objects.get()
    assert made["Location"] == f"/verification/{report.pk}/"
    assert report.consent is not None and report.differences == 1
    assert list(report.batches.all()) == [out.batch]

    views = AuditEvent.objects.filter(action=AuditEvent.VIEW,
                                      object_type="exchange.verificationreport")
    assert not views.exists()
    html = client.get(made["Location"]).content.decode()
    assert "皖B12345" in html and "皖B99999" not in html
    line = re.search(r'<tr class="difference">(.*?)</tr>', html, re.S)
    assert line, html
    assert "<td>全户</td><td>机动车 <span class=\"badge warn\">差异</span></td>" in line.group(1)
    assert "<td>0 项</td>" in line.group(1) and "皖B12345" in line.group(1)
    assert '<strong id="difference-count">1</strong>' in html
    assert head.id_number not in html and mask_id_number(head.id_number) in html
    assert views.filter(object_id=str(report.pk), actor_name="town_officer").count() == 1

    client.force_login(other_town)
    assert client.get(made["Location"]).status_code == 404
    assert views.count() == 1
