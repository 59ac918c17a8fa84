"""工作人员账号 from a staff spreadsheet: the plan row by row, all-or-nothing accounts with the
roles and areas the sheet names, a re-run that changes nothing, first-login passwords that
exist only on the printed sheet, the coverage check, the command and the page."""

from __future__ import annotations

import io
import json
import re
import stat

import pytest
import xlsxwriter
from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from doudi.accounts import services as accounts
from doudi.accounts.models import User, UserRole
from doudi.audit import context
from doudi.audit.models import AuditEvent
from doudi.golive import staff, staff_coverage, staff_sheet
from doudi.golive.models import GoliveImport
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

DISTRICT = "341002"
HEADER = "姓名,乡镇（街道）,村（社区）,行政区划代码,角色,手机号码,登录账号,身份证号"
# 黎阳镇 (341002102): 新江村村委会 …201, 闵口村村委会 …202; 屯光镇 (341002100): 云村村委会 …200
GOOD = [
    "李新江,黎阳镇,新江村,,村协理员,13800000001,,",
    "王闵口,黎阳镇,闵口村村委会,341002102202,村级协理员,138 0000 0002,,",
    "赵审批,黎阳镇,,,镇街审批,13800000003,,",
    "钱经办,黎阳镇,,,乡镇审核员,13800000004,,",
    "孙云村,屯光镇,云村,,村协理员,13800000005,,",
    "周屯光,屯光镇,,,审批,13800000006,,",
    "吴区县,,,,区县经办、区县审批,13800000007,wu_district,",
]


def _csv(*rows: str) -> bytes:
    return "\n".join([HEADER, *rows]).encode("utf-8")


def _xlsx(*rows: str) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out)
    sheet = book.add_worksheet("工作人员")
    for i, line in enumerate([HEADER, *rows]):
        sheet.write_row(i, 0, line.split(","))
    book.close()
    return out.getvalue()


def _run(data: bytes, real: bool = False, name: str = "名单.csv") -> staff.StaffOutcome:
    with context.job("test golive staff"):
        return staff.import_staff(data, name, district_code=DISTRICT, real=real)


def _by_row(plan: staff.StaffPlan) -> dict[int, staff.PlanRow]:
    return {r.row: r for r in plan.rows}


def test_bad_rows_are_refused_each_with_its_reason(areas):
    before = User.objects.count()
    outcome = _run(_csv(
        GOOD[0],
        "甲,黎明镇,新江村,,村协理员,13800000011,,",  # no such town
        "乙,黎阳镇,新江村,,村支书,13800000012,,",  # unknown role word
        "丙,黎阳镇,,,村协理员,13800000013,,",  # a village role at a town
        "丁,黎阳镇,闵口村,,村协理员,1380000001,,",  # ten digits
        "戊,黎阳镇,闵口村,341002102201,村协理员,13800000015,,",  # code of 新江村
        "己,黎阳镇,,,系统管理员,13800000016,,",  # 三员 never from a staff list
        "庚,黎阳镇,闵口村,,村协理员,13800000017,same_name,",
        "辛,黎阳镇,新江村,,村协理员,13800000018,same_name,",
        "壬,黎阳镇,闵口村,,村协理员,13800000019,,341002199001011234",  # bad check digit
        ",黎阳镇,闵口村,,村协理员,13800000020,,",  # no name
        "癸,黎阳镇,闵口村,,审批,13800000021,,",  # 审批 is not a village's
    ))
    rows = _by_row(outcome.plan)
    assert not outcome.ok and outcome.record.status == GoliveImport.REFUSED
    assert rows[2].action == staff.CREATE
    assert "没有乡镇（街道）“黎明镇”" in rows[3].reason
    assert "无法识别的角色“村支书”" in rows[4].reason and "村协理员" in rows[4].reason
    assert "村协理员" in rows[5].reason and "只能设在村级" in rows[5].reason
    assert "11位手机号" in rows[6].reason
    assert "不一致" in rows[7].reason and "新江村" in rows[7].reason
    assert "三员分立" in rows[8].reason
    assert "与第 10 行登录账号相同" in rows[9].reason
    assert "与第 9 行登录账号相同" in rows[10].reason
    assert rows[11].action == staff.ERROR and "身份证号" in rows[11].reason
    assert "姓名" in rows[12].reason
    assert "“审批”只能用于乡镇（街道）或县（区）级" in rows[13].reason
    assert all(r.action_label.startswith("错误：") for n, r in rows.items() if n != 2)
    assert outcome.plan.counts == {"rows": 12, "create": 1, "unchanged": 0, "error": 11}
    # the real run of the same file writes no account either
    assert not _run(_csv(GOOD[0], "甲,黎明镇,新江村,,村协理员,13800000011,,"), real=True).ok
    assert User.objects.count() == before


def test_a_dry_run_plans_and_creates_nothing(areas):
    before = (User.objects.count(), UserRole.objects.count())
    outcome = _run(_csv(*GOOD))
    assert outcome.ok and not outcome.issued
    assert [r.action_label for r in outcome.plan.rows] == ["新建"] * len(GOOD)
    assert (User.objects.count(), UserRole.objects.count()) == before
    record = outcome.record
    assert (record.what, record.mode, record.status) == ("staff", "dry", "planned")
    assert record.area_code == "341002000000" and record.counts["create"] == len(GOOD)
    assert [r.username for r in staff.plan_rows(record)] == [r.username for r in
                                                             outcome.plan.rows]
    assert staff.plan_rows(record)[0].phone == "138****0001"  # masked in the stored plan


def test_the_real_run_creates_the_accounts_with_their_roles_and_areas(areas):
    outcome = _run(_csv(*GOOD), real=True)
    assert outcome.ok and outcome.record.status == GoliveImport.DONE
    made = {u.full_name: u for u in User.objects.filter(full_name__in=[
        line.split(",")[0] for line in GOOD])}
    expect = {"李新江": ("341002102201", ["village_assistant"]),
              "王闵口": ("341002102202", ["village_assistant"]),
              "赵审批": ("341002102000", ["town_approver"]),
              "钱经办": ("341002102000", ["town_officer"]),
              "孙云村": ("341002100200", ["village_assistant"]),
              "周屯光": ("341002100000", ["town_approver"]),
              "吴区县": ("341002000000", ["district_approver", "district_officer"])}
    assert {n: (u.area_id, u.role_codes) for n, u in made.items()} == expect
    assert all(u.must_change_password and u.is_active for u in made.values())
    assert made["李新江"].username == "lixinjiang" and made["吴区县"].username == "wu_district"
    assert len(outcome.issued) == len(GOOD)
    for issued in outcome.issued:
        user = made[issued.full_name]
        assert user.check_password(issued.password)
        validate_password(issued.password)  # the password policy holds
        assert not set(issued.password) & set("0O1lI")
    # the first login must set a new password
    client = Client()
    first = outcome.issued[0]
    client.post(reverse("login"), {"username": first.username, "password": first.password})
    assert client.get(reverse("home"))["Location"] == reverse("account_password")


def test_an_xlsx_staff_list_reads_as_the_csv_does(areas):
    outcome = _run(_xlsx(*GOOD), name="工作人员名单.xlsx")
    assert outcome.ok and outcome.plan.sheet == "工作人员"
    assert [r.area_code for r in outcome.plan.rows] == [r.area_code for r in
                                                        _run(_csv(*GOOD)).plan.rows]


def test_a_rerun_changes_nothing_and_a_changed_account_is_refused(areas):
    first = _run(_csv(*GOOD), real=True)
    count, events = User.objects.count(), AuditEvent.objects.count()
    again = _run(_csv(*GOOD), real=True)
    assert again.ok and again.record.status == GoliveImport.UNCHANGED and not again.issued
    assert [r.action_label for r in again.plan.rows] == ["已存在，无变化"] * len(GOOD)
    assert [r.username for r in again.plan.rows] == [i.username for i in first.issued]
    assert User.objects.count() == count
    # only the import's record and its audit row were written
    assert AuditEvent.objects.count() == events + 1
    # an account whose roles were changed since is refused, not changed back
    UserRole.objects.filter(user__full_name="赵审批").update(role="town_officer")
    changed = _run(_csv(*GOOD), real=True)
    row = _by_row(changed.plan)[4]
    assert not changed.ok and "已存在" in row.reason and "角色为镇街经办" in row.reason
    assert User.objects.get(full_name="赵审批").role_codes == ["town_officer"]


def test_generated_login_names_never_collide(areas):
    with context.job("test"):
        accounts.create_user(username="lixinjiang", password=PASSWORD, area_code="341002100200",
                             roles=["village_assistant"], full_name="李新江")
    outcome = _run(_csv(GOOD[0], "李新江,黎阳镇,闵口村,,村协理员,,,", "单雄,黎阳镇,,,经办,,,"))
    names = [r.username for r in outcome.plan.rows]
    assert names == ["lixinjiang2", "lixinjiang3", "shanxiong"]
    # the same name in another village of the district is another person: a new account
    assert all(r.action == staff.CREATE for r in outcome.plan.rows)


def test_passwords_are_in_neither_the_database_nor_the_audit_log(areas):
    outcome = _run(_csv(*GOOD), real=True)
    secrets = [i.password for i in outcome.issued]
    assert secrets
    stored = json.dumps([list(AuditEvent.objects.values()),
                         list(GoliveImport.objects.values()),
                         list(User.objects.values())], default=str, ensure_ascii=False)
    plan_file = staff.plan_rows(outcome.record)
    for secret in secrets:
        assert secret not in stored
        assert secret not in repr(plan_file)
    assert AuditEvent.objects.filter(action=AuditEvent.IMPORT,
                                     object_type="golive.goliveimport").exists()


def test_the_password_sheet_has_one_page_per_town(areas):
    outcome = _run(_csv(*GOOD), real=True)
    html = staff_sheet.render(outcome.issued, outcome.plan.district)
    pages = re.findall(r'<section class="page" data-town="(\d+)">', html)
    # 屯光镇, 黎阳镇 and the district's own staff: three pages, in code order
    assert pages == ["341002000000", "341002100000", "341002102000"]
    assert "page-break-after: always" in html and "领取人签字" in html
    assert "首次登录须修改密码" in html
    for page, town in zip(html.split('<section class="page"')[1:], pages, strict=True):
        inside = [i for i in outcome.issued if i.town_code == town]
        assert all(i.password in page and i.username in page for i in inside)
        others = [i for i in outcome.issued if i.town_code != town]
        assert not any(i.password in page for i in others)


def test_gaps_name_the_village_without_an_assistant_and_the_town_without_an_approver(areas):
    before = staff_coverage.gaps(DISTRICT)
    assert any(g.area_code == "341002102201" for g in before)
    _run(_csv(*GOOD), real=True)
    found = {g.area_code: g for g in staff_coverage.gaps(DISTRICT)}
    assert "341002102201" not in found and "341002102000" not in found  # 新江村, 黎阳镇
    gap = found["341002102203"]  # 高枧村: nobody
    assert str(gap) == "黎阳镇 高枧村村委会：没有村协理员账号（可登记入户调查的在用账号）"
    assert "审批" in found["341002101000"].missing  # 阳湖镇
    # a disabled account does not count
    User.objects.filter(full_name="李新江").update(is_active=False)
    assert "341002102201" in {g.area_code for g in staff_coverage.gaps(DISTRICT)}


def test_the_command_plans_by_default_and_writes_a_private_sheet(areas, tmp_path):
    source = tmp_path / "名单.csv"
    source.write_bytes(_csv(*GOOD))
    out = io.StringIO()
    call_command("golive", "import-staff", str(source), "--district", DISTRICT, stdout=out)
    assert "试导入" in out.getvalue() and "新建" in out.getvalue()
    assert not User.objects.filter(full_name="李新江").exists()
    sheet = tmp_path / "口令单.html"
    call_command("golive", "import-staff", str(source), "--district", DISTRICT, "--real",
                 "--sheet", str(sheet), stdout=io.StringIO())
    assert stat.S_IMODE(sheet.stat().st_mode) == 0o600
    assert User.objects.filter(full_name="李新江").exists() and "初始密码" in sheet.read_text()
    # a refused row: exit 1, and no sheet is left behind
    source.write_bytes(_csv("甲,黎明镇,,,村协理员,,,"))
    with pytest.raises(SystemExit) as stop:
        call_command("golive", "import-staff", str(source), "--district", DISTRICT, "--real",
                     "--sheet", str(tmp_path / "none.html"), stdout=io.StringIO())
    assert stop.value.code == 1 and not (tmp_path / "none.html").exists()


def test_the_page_takes_the_administrator_through_dry_and_real_run(users):
    admin = Client()
    admin.force_login(users.sysadmin)
    page = reverse("golive:staff")
    assert admin.get(page).status_code == 200
    upload = io.BytesIO(_csv(*GOOD))
    upload.name = "名单.csv"
    planned = admin.post(page, {"action": "plan", "district": DISTRICT, "file": upload})
    assert planned.status_code == 302
    shown = admin.get(planned["Location"])
    text = shown.content.decode()
    assert "确认正式导入" in text and "lixinjiang" in text and "138****0001" in text
    assert not User.objects.filter(full_name="李新江").exists()
    record = GoliveImport.objects.get(mode="dry")
    sheet = admin.post(page, {"action": "real", "import": record.pk})
    assert sheet.status_code == 200 and sheet["Cache-Control"] == "no-store"
    assert "只显示这一次" in sheet.content.decode()
    made = User.objects.get(full_name="李新江")
    assert made.role_codes == ["village_assistant"] and made.area_id == "341002102201"
    # the recorded plan shows no password when opened again
    again = admin.get(f"{page}?import={GoliveImport.objects.get(mode='real').pk}")
    assert "初始密码" not in again.content.decode()


def test_the_page_is_refused_to_a_village_assistant(users):
    assistant = Client()
    assistant.force_login(users.village_assistant)
    page = reverse("golive:staff")
    assert assistant.get(page).status_code == 403
    upload = io.BytesIO(_csv(*GOOD))
    upload.name = "名单.csv"
    assert assistant.post(page, {"action": "plan", "district": DISTRICT,
                                 "file": upload}).status_code == 403
    assert not GoliveImport.objects.exists()


def test_two_rows_for_one_name_in_one_village_need_their_login_names(areas):
    plan = _run(_csv("张三,黎阳镇,新江村,,村协理员,,,", "张三,黎阳镇,新江村,,村协理员,,zhangsan_b,",
                     "张三,黎阳镇,新江村,,村协理员,13800000009,,")).plan
    rows = _by_row(plan)
    assert "与第 3、4 行姓名和所在区划相同" in rows[2].reason
    assert rows[3].action == staff.CREATE and rows[4].action == staff.ERROR


def test_an_administrator_imports_only_into_a_district_of_their_area(users):
    from django.core.exceptions import PermissionDenied

    with context.job("test"):
        far = accounts.create_user(username="gd_sys", password=PASSWORD, area_code="440103",
                                   roles=["sysadmin"])
    with pytest.raises(PermissionDenied):
        staff.import_staff(_csv(*GOOD), "名单.csv", district_code=DISTRICT, by=far)
    with pytest.raises(PermissionDenied):
        staff.import_staff(_csv(*GOOD), "名单.csv", district_code=DISTRICT,
                           by=users.district_officer)
    with pytest.raises(staff.StaffImportError, match="没有区县"):
        staff.import_staff(_csv(*GOOD), "名单.csv", district_code="341002102")
    assert not GoliveImport.objects.exists()


def test_area_names_match_as_registered_or_without_their_committee_ending(areas):
    plan = _run(_csv("甲,黎阳镇,隆阜（3）社区居委会,,村协理员,,,",
                     "乙,黎阳镇,隆阜(3)社区,,村协理员,,,",  # half-width brackets, no 居委会
                     "丙,,新江村,,村协理员,,,",  # one 新江村 in the district: no town needed
                     "丁,黎阳镇,隆阜,,村协理员,,,",  # a part of a name is not a name
                     "戊,,,341002102201,村协理员,,,")).plan
    codes = [r.area_code for r in plan.rows]
    assert codes == ["341002102002", "341002102002", "341002102201", "", "341002102201"]
    assert "黎阳镇没有村（社区）“隆阜”" in plan.rows[3].reason


def test_an_id_number_excel_stored_as_a_number_is_refused(areas):
    import datetime as dt

    from doudi.core import idnumber

    # a valid ID that a double holds exactly: only the cell being a number can refuse it
    exact = next(n for seq in range(1, 999) for sex in "MF"
                 if (n := idnumber.make("341002", dt.date(1980, 5, 17), seq, sex))[-1].isdigit()
                 and float(n) == int(n))
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out)
    sheet = book.add_worksheet("工作人员")
    sheet.write_row(0, 0, HEADER.split(","))
    sheet.write_row(1, 0, ["李新江", "黎阳镇", "新江村", "", "村协理员", "13800000001", ""])
    sheet.write_number(1, 7, float(exact))
    sheet.write_row(2, 0, ["王闵口", "黎阳镇", "闵口村", "", "村协理员", "13800000002", "", exact])
    book.close()
    rows = _by_row(_run(out.getvalue(), name="名单.xlsx").plan)
    assert rows[2].action == staff.ERROR and "身份证号" in rows[2].reason
    # the same ID written as text is read
    assert "与第 2 行身份证号相同" not in rows[3].reason and rows[3].action == staff.CREATE
