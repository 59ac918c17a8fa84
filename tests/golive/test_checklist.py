"""上线检查: each item is ✗ on a district that has done nothing and ✓ once the state it reads
is there; `doudi golive check` exits 1 until every required item is ✓; the /golive/ page is
the district administrator's."""

from __future__ import annotations

import datetime as dt
import io
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from doudi.accounts import roles
from doudi.audit import context
from doudi.benefits import bank_files
from doudi.benefits.models import BankLayout, PaymentRun
from doudi.casework.calendar_days import enter_year
from doudi.casework.services import calendar as working_calendar
from doudi.core import clock, crypto
from doudi.golive import checklist, key_custody, staff_coverage
from doudi.golive.models import GoliveImport, Reconciliation
from doudi.ops import backup
from doudi.policy import services as policy_services
from doudi.policy.models import PolicyParameter
from doudi.registry.fields import STORE
from tests.conftest import DISTRICT, PASSWORD

pytestmark = pytest.mark.django_db

FAR = dt.date(2090, 6, 1)  # a year no calendar library covers


def item(key: str, day: dt.date | None = None) -> checklist.Item:
    found = {i.key: i for i in checklist.check(DISTRICT, day or clock.today())}
    return found[key]


@pytest.fixture
def staff_gaps(monkeypatch):
    """`staff_coverage.gaps` answering from this list (the staff import is tested on its own)."""
    gaps: list = []

    def fake(district: str) -> list:
        assert district == DISTRICT
        return list(gaps)

    monkeypatch.setattr(staff_coverage, "gaps", fake)
    return gaps


@pytest.fixture
def key_file(tmp_path, monkeypatch):
    """A key file of the test's own, so rotating it touches no other test's keys."""
    path = tmp_path / "keys" / "doudi.keys"
    monkeypatch.setenv("DOUDI_KEY_FILE", str(path))
    STORE.reset()
    yield path
    monkeypatch.undo()
    STORE.reset()


def make_backup(tmp_path) -> object:
    """An archive on disk and the audit record `doudi backup` writes for it."""
    target = tmp_path / "backups" / "doudi-backup-20261201-023000.tar"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"archive")
    with context.job("backup"):
        backup._record_backup(target, 7, "0" * 64, {"database": {"vendor": "sqlite"},
                                                    "files": {}})
    return target


def caseload_import(status: str = GoliveImport.DONE, mode: str = GoliveImport.REAL,
                    what: str = GoliveImport.CASELOAD,
                    at: dt.datetime | None = None) -> GoliveImport:
    row = GoliveImport.objects.create(area_code=DISTRICT, what=what, mode=mode, status=status,
                                      files=[{"name": "在保人员.xlsx", "sha256": "ab"}])
    if at is not None:
        GoliveImport.objects.filter(pk=row.pk).update(at=at)
        row.refresh_from_db()
    return row


def reconciliation(differences: int, at: dt.datetime) -> Reconciliation:
    roster = caseload_import(what=GoliveImport.ROSTER, at=at - dt.timedelta(minutes=5))
    row = Reconciliation.objects.create(
        area_code=DISTRICT, roster=roster, day=clock.today(),
        differences=[{"legacy_number": f"L{n}", "why": "金额不同"} for n in range(differences)])
    Reconciliation.objects.filter(pk=row.pk).update(at=at)
    return row


def confirm_keys(where: str = "信息中心保险柜加密U盘；局密钥托管系统") -> str:
    out = io.StringIO()
    call_command("golive", "keys-backed-up", "--where", where, stdout=out)
    return out.getvalue()


def enter_years(*years: int) -> None:
    with context.job("test calendar"):
        for year in years:
            enter_year(year, f"{year}-01-01 放假 元旦", f"国办发明电〔{year - 1}〕7号")


def verify_all_parameters(monkeypatch) -> None:
    PolicyParameter.objects.update(verified=True)
    monkeypatch.setattr(policy_services, "_cache", None)  # the update keeps the row count


def district_layout(by, *, active: bool = True) -> BankLayout:
    return bank_files.save_layout(
        by=by, layout=BankLayout(), code=f"huishang{int(active)}", name="徽商银行代发",
        columns="序号=流水号\n卡号=账号\n姓名=户名\n金额=金额", encoding="gb18030",
        file_format="csv", result_line="序号", result_status="处理结果", result_reason="备注",
        success_values="00", active=active)


# -- an empty district: every required item is ✗ --------------------------------------------

def test_every_required_item_is_open_on_a_district_that_has_done_nothing(
        users, shipped_parameters, shipped_bank_layouts, staff_gaps):
    staff_gaps.append(SimpleNamespace(area_code="341002102", area_name="黎阳镇",
                                      missing="镇街审批"))
    items = checklist.check(DISTRICT, dt.date(2090, 12, 15))
    assert [i.key for i in items] == ["policy", "calendar", "bank_layout", "keys", "backups",
                                      "accounts", "caseload", "reconciled", "first_payment"]
    for i in items:
        assert not i.ok, i
        assert i.label and i.detail, i
        assert i.todo, i
    assert [i.key for i in items if not i.required] == ["first_payment"]
    assert [i.mark for i in items].count("✗") == 8 and items[-1].mark == "○"
    assert not checklist.ready(items)


# -- each item, ✗ then ✓ ----------------------------------------------------------------------

def test_policy_needs_every_parameter_in_force_verified(users, shipped_parameters, monkeypatch):
    before = item("policy")
    assert not before.ok and "从未核实" in before.detail and "城镇低保标准" in before.detail
    assert f"--area {DISTRICT}" in before.todo
    verify_all_parameters(monkeypatch)
    after = item("policy")
    assert after.ok, after.detail
    assert "屯溪区" in after.detail
    # a new unverified value of the district's own, in force from the day asked: ✗ again
    day = (clock.today().replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    with context.job("test policy", user=users.district_admin):
        policy_services.add_value(users.district_admin, "dibao.standard.urban", DISTRICT, day,
                                  "900", reference="屯民〔2026〕9号")
    assert item("policy", day - dt.timedelta(days=1)).ok  # not in force yet on that day
    later = item("policy", day)
    assert not later.ok and "从未核实 1 个" in later.detail


def test_policy_counts_a_towns_own_values(users, shipped_parameters, monkeypatch):
    verify_all_parameters(monkeypatch)
    day = (clock.today().replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    with context.job("test policy", user=users.district_admin):
        policy_services.add_value(users.district_admin, "dibao.standard.rural", "341002102",
                                  day, "700", reference="屯民〔2026〕10号")
    found = item("policy", day)
    assert not found.ok and "农村低保标准" in found.detail


def test_calendar_needs_this_year_and_from_december_the_next(users):
    assert not item("calendar", FAR).ok
    assert "2090" in item("calendar", FAR).detail
    enter_years(2090)
    assert item("calendar", FAR).ok
    december = dt.date(2090, 12, 15)
    late = item("calendar", december)
    assert not late.ok and "2091" in late.detail and "2090" not in late.detail
    enter_years(2091)
    assert item("calendar", december).ok


def test_bank_layout_needs_the_districts_own_or_a_bank_file_made(users, shipped_bank_layouts):
    assert not item("bank_layout").ok
    with context.job("test layouts", user=users.district_admin):
        district_layout(users.district_admin, active=False)
    assert not item("bank_layout").ok  # a layout put out of use is no choice
    with context.job("test layouts", user=users.district_admin):
        district_layout(users.district_admin)
    found = item("bank_layout")
    assert found.ok and "徽商银行代发" in found.detail


def test_bank_layout_is_chosen_once_a_bank_file_was_made_in_it(users, shipped_bank_layouts):
    PaymentRun.objects.create(area_code=DISTRICT, month=dt.date(2026, 1, 1),
                              status=PaymentRun.EXPORTED, bank_layout="excel")
    found = item("bank_layout")
    assert found.ok and "Excel 格式" in found.detail


def test_keys_need_a_confirmed_backup_of_every_key_in_the_file(users, key_file):
    missing = item("keys")
    assert not missing.ok and "不存在" in missing.detail and "doudi keys init" in missing.todo
    ring = crypto.KeyRing.generate()
    crypto.write_key_file(key_file, ring)
    assert not item("keys").ok and "尚未确认" in item("keys").detail
    with pytest.raises(CommandError, match="存放处"):
        confirm_keys("  ")
    printed = confirm_keys()
    assert "k1" in printed
    found = item("keys")
    assert found.ok and "k1" in found.detail and "保险柜" in found.detail
    # the confirmation names fingerprints, never keys
    stored = key_custody.last_confirmation().changes
    assert set(stored["keys"]) == {"k1"} and stored["keys"]["k1"].count("-") == 3
    crypto.write_key_file(key_file, ring.with_new_key())  # doudi keys rotate
    rotated = item("keys")
    assert not rotated.ok and "k2" in rotated.detail
    confirm_keys()
    assert item("keys").ok


def test_keys_confirmed_for_another_key_file_do_not_count(users, key_file):
    crypto.write_key_file(key_file, crypto.KeyRing.generate())
    confirm_keys()
    crypto.write_key_file(key_file, crypto.KeyRing.generate())  # the same id, another key
    assert not item("keys").ok


def test_backups_need_a_recent_archive_still_in_place(users, tmp_path):
    assert not item("backups").ok and "从未" in item("backups").detail
    target = make_backup(tmp_path)
    today = timezone.localdate()
    found = item("backups", today)
    assert found.ok and target.name in found.detail
    assert item("backups", today + dt.timedelta(days=1)).ok  # last night's
    stale = item("backups", today + dt.timedelta(days=2))
    assert not stale.ok and "超过一天" in stale.detail
    target.unlink()
    gone = item("backups", today)
    assert not gone.ok and "不在原处" in gone.detail


def test_accounts_need_no_gap_in_staff_coverage(users, staff_gaps):
    assert item("accounts").ok
    staff_gaps.append(SimpleNamespace(area_code="341002102002", area_name="隆阜（3）社区居委会",
                                      missing="村协理员"))
    found = item("accounts")
    assert not found.ok and "隆阜（3）社区居委会（村协理员）" in found.detail


def test_caseload_needs_a_real_import_done(users):
    assert not item("caseload").ok
    caseload_import(mode=GoliveImport.DRY, status=GoliveImport.PLANNED)
    assert "已试导入 1 次" in item("caseload").detail
    caseload_import(status=GoliveImport.REFUSED)
    refused = item("caseload")
    assert not refused.ok and "有错误，未导入" in refused.detail
    caseload_import(mode=GoliveImport.REAL, status=GoliveImport.DONE,
                    what=GoliveImport.PAYMENTS)
    assert not item("caseload").ok  # history is not the caseload
    GoliveImport.objects.create(area_code="440103", what=GoliveImport.CASELOAD,
                                mode=GoliveImport.REAL, status=GoliveImport.DONE)
    assert not item("caseload").ok  # another district's
    caseload_import()
    found = item("caseload")
    assert found.ok and "在保人员.xlsx" in found.detail


def test_reconciled_needs_a_reconciliation_after_the_latest_caseload_import(users):
    assert not item("reconciled").ok
    now = timezone.now()
    caseload_import(at=now - dt.timedelta(hours=3))
    assert not item("reconciled").ok
    reconciliation(2, at=now - dt.timedelta(hours=2))
    found = item("reconciled")
    assert found.ok and "差异 2 条" in found.detail
    caseload_import(at=now - dt.timedelta(hours=1))  # imported again: reconcile again
    assert not item("reconciled").ok
    reconciliation(0, at=now)
    assert item("reconciled").ok and "无差异" in item("reconciled").detail


def test_first_payment_only_informs(users):
    before = item("first_payment")
    assert not before.ok and not before.required
    PaymentRun.objects.create(area_code="341002102", month=dt.date(2027, 1, 1))
    after = item("first_payment")
    assert after.ok and "2027年01月" in after.detail


# -- the command and the page -----------------------------------------------------------------

def run_check(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("golive", "check", *args, stdout=out)
    except SystemExit as exc:
        return int(exc.code), out.getvalue()
    return 0, out.getvalue()


def test_the_command_exits_1_until_every_required_item_is_done(
        users, shipped_parameters, shipped_bank_layouts, staff_gaps, key_file, tmp_path,
        monkeypatch):
    staff_gaps.append(SimpleNamespace(area_code="341002102", area_name="黎阳镇",
                                      missing="镇街审批"))
    code, out = run_check()  # the only district: 屯溪区
    assert code == 1
    assert out.splitlines()[0].startswith("== 屯溪区（341002）上线检查")
    assert "✗ 政策参数已设定并核实 — " in out and "；待办：" in out
    assert "尚有 8 项未完成" in out

    staff_gaps.clear()
    verify_all_parameters(monkeypatch)
    day = clock.today()
    enter_years(*(y for y in (day.year, day.year + 1) if not working_calendar().known(y)))
    with context.job("test layouts", user=users.district_admin):
        district_layout(users.district_admin)
    crypto.write_key_file(key_file, crypto.KeyRing.generate())
    confirm_keys()
    make_backup(tmp_path)
    caseload_import(at=timezone.now() - dt.timedelta(hours=1))
    reconciliation(3, at=timezone.now())

    code, out = run_check("--district", DISTRICT, "--day", day.isoformat())
    assert code == 0, out
    marks = [line[0] for line in out.splitlines()[1:-1]]
    assert marks == ["✓"] * 8 + ["○"] and "✗" not in out
    assert "各项均已完成" in out


def test_the_command_refuses_what_it_cannot_read(users):
    with pytest.raises(CommandError, match="6 位数字"):
        call_command("golive", "check", "--district", "3410", stdout=io.StringIO())
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("golive", "check", "--day", "2026/12/01", stdout=io.StringIO())
    with pytest.raises(CommandError, match="未载入"):
        call_command("golive", "check", "--district", "110101", stdout=io.StringIO())


def test_the_page_is_the_district_administrators(client, users, staff_gaps):
    assert users.district_admin.can(roles.GO_LIVE)
    client.force_login(users.district_admin)
    page = client.get("/golive/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "上线检查：屯溪区" in text and "✗" in text and "待办：" in text
    assert 'href="/golive/caseload/"' in text and 'href="/golive/reconcile/"' in text
    assert 'href="/golive/staff/"' in text and 'href="/calendar/"' in text
    assert client.get("/golive/?district=440103").status_code == 404
    assert client.post("/golive/").status_code == 405
    client.force_login(users.village_assistant)
    assert client.get("/golive/").status_code == 403


def test_a_province_administrator_chooses_the_district(client, users, staff_gaps):
    from doudi.accounts.services import create_user

    with context.job("test users"):
        admin = create_user(username="province_admin", password=PASSWORD,
                            area_code="340000000000", roles=["district_admin"])
    client.force_login(admin)
    # the only district under the province that works with Doudi: shown at once
    assert "上线检查：屯溪区" in client.get("/golive/").content.decode()
    assert "上线检查：屯溪区" in client.get(f"/golive/?district={DISTRICT}").content.decode()


def test_a_todo_shows_its_commands_as_code_and_escapes_the_rest():
    from doudi.web.templatetags.doudi import commands

    shown = commands('先 doudi golive import-caseload 试导入，无误后加 --real 正式导入；'
                     'doudi backup --out 备份目录 --keep 14 <b>')
    assert shown.count('<code translate="no">') == 3
    assert '<code translate="no">doudi golive import-caseload</code> 试导入' in shown
    assert '<code translate="no">--real</code> 正式导入' in shown
    assert '<code translate="no">doudi backup --out 备份目录 --keep 14</code>' in shown
    assert shown.endswith("&lt;b&gt;")
