import datetime as dt
import io

import pytest
from django.core.management import call_command
from python_calamine import CalamineWorkbook

from doudi.accounts.roles import ROLES
from doudi.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", list(ROLES))
def test_every_role_has_a_home_page(client, world, role):
    client.force_login(getattr(world.users, role))
    page = client.get("/")
    assert page.status_code == 200
    html = page.content.decode()
    assert ROLES[role].label in html
    if "registry.view" in ROLES[role].capabilities:
        assert "登记家庭" in html
    else:
        assert "登记家庭" not in html


def test_search_by_name_initials_id_and_number(client, world):
    client.force_login(world.users.town_officer)
    head = world.village_hh.head()
    for q in ("张三丰", "zsf", head.id_number, head.id_number[-4:], world.village_hh.number):
        html = client.get("/households/", {"q": q}).content.decode()
        assert world.village_hh.number in html, q
    # fragments that would let a user uncover masked characters one by one match nothing
    for q in ("不存在的名字", "张三", "三丰", head.id_number[-6:], head.id_number[:10]):
        html = client.get("/households/", {"q": q}).content.decode()
        assert "没有符合条件的家庭" in html, q


def test_htmx_search_returns_rows_only(client, world):
    client.force_login(world.users.town_officer)
    html = client.get("/households/", {"q": "zsf"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<table" in html and "<html" not in html


def test_export_is_masked_and_audited(client, world):
    client.force_login(world.users.district_officer)
    response = client.get("/households/export.xlsx")
    assert response.status_code == 200
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    rows = book.get_sheet_by_name("家庭名单").to_python()
    assert rows[0][0] == "家庭编号"
    numbers = {str(r[0]) for r in rows[1:]}
    assert world.village_hh.number in numbers and world.guangdong_hh.number not in numbers
    head = world.village_hh.head()
    flat = str(rows)
    assert head.masked_id in flat and head.id_number not in flat and head.name not in flat
    assert AuditEvent.objects.filter(action=AuditEvent.EXPORT, actor_name="district_officer")


def test_reveal_shows_full_id_once_and_audits(client, world):
    client.force_login(world.users.town_approver)
    head = world.village_hh.head()
    detail = client.get(f"/households/{world.village_hh.pk}/").content.decode()
    assert head.masked_id in detail and head.id_number not in detail
    revealed = client.post(f"/persons/{head.pk}/reveal/").content.decode()
    assert head.id_number in revealed
    assert AuditEvent.objects.filter(action="view_full", object_id=str(head.pk)).count() == 1


def test_demo_command_builds_users_and_households(capsys, settings, tmp_path, client):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("the demo is SQLite by design; its command refuses other databases")
    settings.HOME, settings.FEEDS_INBOX = tmp_path, tmp_path / "inbox"
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "其他部门来文.xlsx").write_bytes(b"kept")
    # The demo normally uses its own SQLite file; in the test it builds into the test database.
    call_command("demo", "--no-serve", "--households", "300")
    out = capsys.readouterr().out
    for name in ("district", "town", "village", "auditor"):
        assert name in out
    from doudi.accounts.models import User
    from doudi.registry.models import Household

    village = User.objects.get(username="village")
    assert village.area.code.startswith("341002102") and village.area.level == 5
    assert User.objects.get(username="town").area.name == "黎阳镇"
    assert Household.objects.count() == 300
    assert village.check_password("Doudi-demo-2026")
    # the feeds wait in the import inbox (a user's own file there is left alone); the truth of
    # the planted cases sits beside the synthetic files
    inbox = sorted(p.name for p in (tmp_path / "inbox").iterdir())
    assert "医保_医疗费用结算明细.xlsx" in inbox and "公安_死亡人员信息.csv" in inbox
    assert "其他部门来文.xlsx" in inbox
    assert (tmp_path / "synthetic" / "truth.parquet").exists()
    from doudi.registry.models import CategoryAssignment

    assert CategoryAssignment.objects.filter(category="dibao").exists()
    # every feed's CSV was imported as the first batch of its feed type
    from doudi.exchange.models import FeedBatch, FeedType

    assert FeedBatch.objects.count() == FeedType.objects.count() == 15
    assert all(b.version == 1 and b.good_rows > 0 for b in FeedBatch.objects.exclude(rows=0))
    # the enrolled are benefits enrollments, and this month's roster waits for review
    from doudi.benefits.models import Enrollment, PaymentRun

    run = PaymentRun.objects.get(status="draft")
    assert Enrollment.objects.count() == run.lines.count() > 0
    # the village assistant sees households of the own village only
    client.force_login(village)
    page = client.get("/households/").content.decode()
    own = Household.objects.filter(area_code=village.area.code)
    other = Household.objects.exclude(area_code=village.area.code).first()
    assert own.exists() and own.first().number in page and other.number not in page


def _form(village: str, rows: list[dict]) -> dict:
    data = {"area_code": village, "hukou_type": "urban", "address": "龙山路1号"}
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"m-{i}-{key}"] = value
        data[f"m-{i}-co_resident"] = "on"
    return data


def test_register_household_through_the_form(client, users, new_id):
    from doudi.registry.models import Household

    client.force_login(users.village_assistant)
    page = client.get("/households/new/")
    assert page.status_code == 200 and "登记家庭" in page.content.decode()
    row = client.get("/households/new/member-row/", {"i": 3}).content.decode()
    assert 'name="m-3-id_number"' in row
    head, child = new_id(), new_id(sex="F")
    response = client.post("/households/new/", _form(users.village_assistant.area.code, [
        {"name": "王大山", "id_number": head, "relation": "head", "labour_capacity": "full"},
        {"name": "王小雨", "id_number": child, "relation": "child", "student_status": "primary"},
    ]))
    assert response.status_code == 302
    household = Household.objects.get()
    assert response["Location"] == f"/households/{household.pk}/"
    assert household.current_memberships().count() == 2


def test_form_errors_keep_input_and_write_nothing(client, users, new_id):
    from doudi.registry.models import Household, Person

    client.force_login(users.village_assistant)
    good = new_id()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    response = client.post("/households/new/", _form(users.village_assistant.area.code, [
        {"name": "王大山", "id_number": good, "relation": "head"},
        {"name": "王小雨", "id_number": bad, "relation": "child"},
    ]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "第2名成员 身份证号：校验码错误" in html
    assert f'value="{bad}"' in html and "王小雨" in html  # nothing typed is lost
    assert Household.objects.count() == 0 and Person.objects.count() == 0


def test_form_refuses_out_of_area_village(client, users, new_id):
    from doudi.registry.models import Household

    client.force_login(users.village_assistant)
    response = client.post("/households/new/", _form("341002100001", [
        {"name": "王大山", "id_number": new_id(), "relation": "head"}]))
    assert response.status_code == 403
    assert Household.objects.count() == 0


def test_export_never_writes_live_formulas(client, users, new_id):
    from doudi.registry.services import MemberInput, create_household

    create_household(by=users.village_assistant, area_code=users.village_assistant.area.code,
                     hukou_type="urban", address='=HYPERLINK("http://x.example","点")',
                     members=[MemberInput(id_number=new_id(), name="王五", relation="head")])
    client.force_login(users.town_officer)
    response = client.get("/households/export.xlsx")
    import zipfile

    sheet = zipfile.ZipFile(io.BytesIO(response.content)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet  # no formula cells at all


def test_record_observation_and_categories_from_the_household_page(client, world):
    from doudi.registry.models import CategoryAssignment, Observation

    hh = world.village_hh
    client.force_login(world.users.village_assistant)
    url = f"/households/{hh.pk}/"
    done = client.post(f"{url}observations/", {
        "kind_item": "income:wage", "amount_yuan": "1234.56", "observed_on": "2026-10-01",
        "source": "home_visit", "description": "入户核实"})
    assert done.status_code == 302
    assert Observation.objects.get(household=hh).amount_fen == 123456  # exact, no float
    bad = client.post(f"{url}observations/", {"kind_item": "income:wage",
                                              "amount_yuan": "12.345", "observed_on": ""})
    assert bad.status_code == 200 and "所属日期" in bad.content.decode()
    assert Observation.objects.filter(household=hh).count() == 1

    head = hh.head()
    assert client.post(f"{url}categories/", {"category": "left_behind_elderly",
                                             "person_id": head.pk,
                                             "start_date": "2026-01-01"}).status_code == 302
    refused = client.post(f"{url}categories/", {"category": "severe_disability",
                                                "person_id": "", "start_date": "2026-01-01"})
    assert refused.status_code == 200 and "重度残疾应认定到人员" in refused.content.decode()
    # a programme status is not offered, and typed in anyway it is refused
    page = client.get(url).content.decode()
    offered = page.split('name="category"', 1)[1].split("</select>", 1)[0]
    assert 'value="left_behind_elderly"' in offered and 'value="dibao"' not in offered
    sneaked = client.post(f"{url}categories/", {"category": "dibao", "person_id": "",
                                                "start_date": "2026-01-01"})
    assert sneaked.status_code == 200
    assert not CategoryAssignment.objects.filter(household=hh, category="dibao").exists()
    row = CategoryAssignment.objects.get(person=head)
    assert client.post(f"{url}categories/end/", {"category_id": row.pk,
                                                 "end_date": "2026-06-30"}).status_code == 302
    row.refresh_from_db()
    assert row.end_date == dt.date(2026, 6, 30)


def test_readonly_roles_cannot_post_to_the_household_page(client, world):
    client.force_login(world.users.supervisor)
    response = client.post(f"/households/{world.village_hh.pk}/observations/", {})
    assert response.status_code == 403
