"""历史数据导入: a year of the old system's payments becomes settled, imported runs after which
the first roster pays each unchanged case exactly its current amount, a change reaching back
into the imported months owes or recovers exactly the difference, and statistics count the
imported months; bad rows refuse the whole file with every one listed; a second import of
the same file changes nothing; decisions become history the next review counts from."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import xlsxwriter
from django.core.management import call_command

from doudi.audit import context
from doudi.audit.models import AuditEvent
from doudi.benefits import reviews, services
from doudi.benefits.models import (
    Enrollment,
    EnrollmentEvent,
    PaymentLine,
    PaymentRun,
    ReviewTask,
    SettledBalance,
)
from doudi.engine.payments.roster import months_between
from doudi.golive import history
from doudi.golive.models import GoliveImport, HistoricalDecision, LegacyHousehold
from doudi.reports import statistics
from tests.conftest import (
    OTHER_TOWN_VILLAGE,
    OTHER_VILLAGE_SAME_TOWN,
    PASSWORD,
    VILLAGE,
    make_household,
)

D = dt.date
DISTRICT = "341002"
TODAY = D(2026, 1, 10)
YEAR = months_between(D(2025, 1, 1), D(2025, 12, 1))
PAY_HEADER = ["家庭编号", "救助类别", "享受人身份证号", "发放月份", "应发金额", "补发金额",
              "扣减金额", "实发金额", "发放状态", "收款人姓名", "开户银行", "银行账号"]
DECISION_HEADER = ["家庭编号", "救助类别", "享受人身份证号", "审批结果", "审批日期", "生效日期",
                   "审批文号", "月保障金", "审批理由", "审批机关"]


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def pay(legacy: str, word: str, month: dt.date | str, regular: int, *, arrears: int = 0,
        recovery: int = 0, paid: int | None = None, status: str = "已发放",
        beneficiary: str = "") -> list[str]:
    paid = regular + arrears - recovery if paid is None else paid
    shown = month if isinstance(month, str) else f"{month:%Y-%m}"
    return [legacy, word, beneficiary, shown, yuan(regular), yuan(arrears), yuan(recovery),
            yuan(paid), status, "张三丰", "徽商银行", ""]


def xlsx(header: list[str], rows: list[list[str]], sheet: str = "发放明细") -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    ws = book.add_worksheet(sheet)
    for n, line in enumerate([header, *rows]):
        for col, value in enumerate(line):
            ws.write_string(n, col, value)
    book.close()
    return out.getvalue()


def csv(header: list[str], rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(r) for r in [header, *rows]).encode("utf-8")


class Caseload:
    """Three households as the caseload import leaves them: A 低保 since 2020 (600 元 now,
    550 元 before the July rise), B 低保 from 15 March 2025 (400 元), C 特困 since 2019
    (900 元, enrolled for the member)."""

    def __init__(self, users, new_id) -> None:
        by = users.district_approver
        self.users = users
        with context.job("test caseload"):
            source = GoliveImport.objects.create(
                what=GoliveImport.CASELOAD, mode=GoliveImport.REAL, status=GoliveImport.DONE,
                area_code="341002000000")
            self.a_hh = make_household(by, VILLAGE, new_id)
            self.b_hh = make_household(by, OTHER_VILLAGE_SAME_TOWN, new_id)
            self.c_hh = make_household(by, OTHER_TOWN_VILLAGE, new_id, members=1, hukou="rural")
            for number, hh in (("HX001", self.a_hh), ("HX002", self.b_hh), ("HX003", self.c_hh)):
                LegacyHousehold.objects.create(legacy_number=number, household=hh,
                                               source=source, area_code="341002000000")
            self.a = services.enroll(by=None, household=self.a_hh, programme="dibao",
                                     amount_fen=60000, start_date=D(2020, 5, 1))
            self.b = services.enroll(by=None, household=self.b_hh, programme="dibao",
                                     amount_fen=40000, start_date=D(2025, 3, 15))
            self.c_person = self.c_hh.head()
            self.c = services.enroll(by=None, household=self.c_hh, programme="tekun",
                                     person=self.c_person, amount_fen=90000,
                                     start_date=D(2019, 1, 1))

    def payments(self) -> list[list[str]]:
        """The old system's year: A 550 元 to June, 600 元 from July (July with 30 元 补发 of
        its own), B from April, C every month."""
        rows = []
        for m in YEAR:
            rows.append(pay("HX001", "城市低保", m, 55000 if m.month < 7 else 60000,
                            arrears=3000 if m.month == 7 else 0))
            if m >= D(2025, 4, 1):
                rows.append(pay("HX002", "城市低保", m, 40000))
            rows.append(pay("HX003", "五保", m, 90000, beneficiary=self.c_person.id_number))
        return rows


@pytest.fixture
def caseload(users, new_id, shipped_parameters) -> Caseload:
    return Caseload(users, new_id)


def import_payments(data: bytes, name: str = "历史发放.xlsx", *, real: bool = True,
                    district: str = DISTRICT) -> history.Outcome:
    with context.job("test golive history"):
        return history.import_payments(data, name, district=district, real=real, today=TODAY)


FIRST_OWN = D(2026, 1, 1)


def first_roster(caseload: Caseload, month: dt.date = FIRST_OWN) -> dict[int, tuple]:
    built = services.build_run(by=caseload.users.district_officer, month=month,
                               area_code=DISTRICT)
    return {ln.enrollment_id: (ln.regular_fen, ln.arrears_fen, ln.recovery_fen, ln.total_fen)
            for ln in built.run.lines.all()}


def test_a_year_of_history_then_the_first_roster_pays_exactly_the_current_amounts(caseload):
    data = xlsx(PAY_HEADER, caseload.payments())
    dry = import_payments(data, real=False)
    assert dry.ok and dry.record.status == GoliveImport.PLANNED
    assert dry.plan.counts["new"] == 33 and not PaymentRun.objects.exists()
    assert "本系统首次生成花名册应为 2026年1月" in dry.plan.summary()

    real = import_payments(data)
    assert real.ok and real.record.status == GoliveImport.DONE, real.plan.refused
    runs = PaymentRun.objects.order_by("month")
    assert [r.month for r in runs] == YEAR
    assert all(r.imported and r.status == PaymentRun.SETTLED and r.area_code == "341002000000"
               for r in runs)
    july = runs.get(month=D(2025, 7, 1))
    assert july.totals["lines"] == 3 and july.totals["total_fen"] == 63000 + 40000 + 90000
    line = PaymentLine.objects.get(enrollment=caseload.a, month=D(2025, 7, 1))
    assert (line.regular_fen, line.arrears_fen, line.total_fen, line.status) == (
        60000, 3000, 63000, PaymentLine.PAID)
    assert PaymentLine.objects.count() == 33
    # A's months at 550 元 are said by events; B and C needed none
    made = EnrollmentEvent.objects.filter(reason__startswith="原系统发放记录")
    assert sorted((e.enrollment_id, e.effective_date, e.amount_fen) for e in made) == [
        (caseload.a.pk, D(2025, 1, 1), 55000), (caseload.a.pk, D(2025, 7, 1), 60000)]
    assert real.written == {"runs_made": 12, "lines": 33, "events": 2, "start_amounts": 0}
    audit = AuditEvent.objects.filter(object_type="golive.goliveimport",
                                      object_id=str(real.record.pk)).get()
    assert audit.changes["lines"] == 33 and audit.action == AuditEvent.IMPORT

    # the old system's own 补发 in July is not paid back, nothing is paid twice
    assert first_roster(caseload) == {caseload.a.pk: (60000, 0, 0, 60000),
                                      caseload.b.pk: (40000, 0, 0, 40000),
                                      caseload.c.pk: (90000, 0, 0, 90000)}
    # statistics of past months count them
    paid = {m: fen for m, _, fen in statistics.trend(DISTRICT, YEAR)}
    assert paid[D(2025, 7, 1)] == 193000 and paid[D(2025, 3, 1)] == 55000 + 90000


def test_a_change_reaching_back_into_the_imported_months_is_recovered(caseload):
    assert import_payments(xlsx(PAY_HEADER, caseload.payments())).ok
    # C's amount cut from 1 November 2025; A stopped on 15 October 2025 (paid to the end of
    # October by the stop rule, November and December overpaid)
    services.change(by=None, enrollment=caseload.c, kind="decrease",
                    effective_date=D(2025, 11, 1), amount_fen=80000, reason="复核：收入增加")
    services.change(by=None, enrollment=caseload.a, kind="stop",
                    effective_date=D(2025, 10, 15), reason="家庭收入超过标准")
    lines = first_roster(caseload)
    assert lines[caseload.c.pk] == (60000, 0, 20000, 60000)  # 800 − 2 × 100 recovered
    assert lines[caseload.b.pk] == (40000, 0, 0, 40000)
    # A is owed nothing any more: the roster has no line to recover from, and its carried
    # balance keeps the two months overpaid to recover
    assert caseload.a.pk not in lines
    assert SettledBalance.objects.get(enrollment=caseload.a).balance_fen == -120000


def test_the_same_file_again_changes_nothing(caseload):
    data = xlsx(PAY_HEADER, caseload.payments())
    assert import_payments(data).record.status == GoliveImport.DONE
    before = (PaymentRun.objects.count(), PaymentLine.objects.count(),
              EnrollmentEvent.objects.count(), list(PaymentRun.objects.values_list("totals")))
    again = import_payments(data)
    assert again.ok and again.record.status == GoliveImport.UNCHANGED and not again.written
    assert again.plan.counts["new"] == 0 and again.plan.counts["unchanged"] == 33
    # the same rows as CSV are the same history too
    as_csv = import_payments(csv(PAY_HEADER, caseload.payments()), "历史发放.csv")
    assert as_csv.record.status == GoliveImport.UNCHANGED
    assert before == (PaymentRun.objects.count(), PaymentLine.objects.count(),
                      EnrollmentEvent.objects.count(),
                      list(PaymentRun.objects.values_list("totals")))
    # a changed amount for a month already imported is refused, not overwritten
    changed = caseload.payments()
    changed[0] = pay("HX001", "城市低保", D(2025, 1, 1), 56000)
    refused = import_payments(xlsx(PAY_HEADER, changed))
    assert [r.row for r in refused.plan.refused] == [2]
    assert "已导入的历史发放不能修改" in refused.plan.refused[0].reason


def test_bad_rows_refuse_the_whole_file_and_each_is_listed(caseload):
    rows = caseload.payments()
    good = len(rows)
    rows += [
        pay("HX999", "城市低保", D(2025, 3, 1), 50000),                        # unknown household
        pay("HX001", "城市低保", "2025", 55000),                               # a bare year
        pay("HX001", "城市低保", "2026-03", 60000),                            # the future
        pay("HX003", "五保", "2025-06-15", 90000,
            beneficiary=caseload.c_person.id_number),                        # a day, not a month
        pay("HX001", "城市低保", D(2025, 2, 1), 55000, paid=50000),             # 实发 ≠ the sum
        pay("HX001", "城市低保", D(2025, 3, 1), 55500),                        # March again
        pay("HX002", "城市低保", D(2025, 2, 1), 40000),                        # before B's start
        pay("HX002", "医疗救助", D(2025, 5, 1), 40000),                        # unknown programme
        pay("HX002", "城市低保", D(2025, 6, 1), 40000, status="待发放"),         # never paid
        pay("HX003", "五保", D(2025, 6, 1), -90000, paid=-90000),             # negative
    ]
    bad_amount = pay("HX003", "五保", D(2025, 7, 1), 90000)
    bad_amount[4] = "九百元"
    rows.append(bad_amount)                                                   # not money
    events = EnrollmentEvent.objects.count()
    outcome = import_payments(xlsx(PAY_HEADER, rows))
    assert outcome.record.status == GoliveImport.REFUSED and not outcome.written
    assert not PaymentRun.objects.exists() and not PaymentLine.objects.exists()
    assert EnrollmentEvent.objects.count() == events
    first_bad = good + 2  # the header is row 1
    refused = {r.row: r.reason for r in outcome.plan.refused if r.row is not None}
    assert sorted(refused) == list(range(first_bad, first_bad + 11))
    reasons = [refused[first_bad + i] for i in range(11)]
    for reason, words in zip(reasons, [
            "不在本区县已导入的在保数据中", "不是完整的年月", "晚于本月", "是日期，不是发放月份",
            "实发金额 500.00 元 ≠", "同一月份", "早于该户低保的保障起始日期",
            "不认识的救助类别“医疗救助”", "发放状态“待发放”", "不能为负数", "应发金额“九百元”"],
            strict=True):
        assert words in reason, (words, reason)
    assert outcome.plan.counts["refused_rows"] == 11
    assert history.plan_rows(outcome.record).height == len(outcome.plan.rows)


def test_months_owed_but_missing_are_refused(caseload):
    rows = [r for r in caseload.payments()
            if not (r[0] == "HX001" and r[3] in ("2025-05", "2025-06"))  # A without May, June
            and r[0] != "HX002"]                                           # B left out
    outcome = import_payments(xlsx(PAY_HEADER, rows))
    assert outcome.record.status == GoliveImport.REFUSED
    found = {r.subject: r.reason for r in outcome.plan.refused if r.row is None}
    assert "缺少 2025年5月至2025年6月 的发放记录" in found["HX001 · 低保"]
    assert "本文件没有该户的历史发放" in found["HX002 · 低保"]
    assert "2025年4月至2025年12月" in found["HX002 · 低保"]
    # a month the old system did not pay, exported as nothing due, is history too: A
    # suspended in May and June
    rows = [r for r in caseload.payments() if not (r[0] == "HX001" and r[3] in ("2025-05",
                                                                               "2025-06"))]
    rows += [pay("HX001", "城市低保", m, 0) for m in (D(2025, 5, 1), D(2025, 6, 1))]
    outcome = import_payments(xlsx(PAY_HEADER, rows))
    assert outcome.ok, outcome.plan.refused
    assert not PaymentLine.objects.filter(enrollment=caseload.a,
                                          month__in=[D(2025, 5, 1), D(2025, 6, 1)]).exists()
    assert first_roster(caseload)[caseload.a.pk] == (60000, 0, 0, 60000)


def test_a_start_month_the_rules_would_pay_otherwise_is_refused(caseload):
    # B started on 15 March: the district pays from the next month (start rule "none"), the
    # old system paid half of March
    rows = [*caseload.payments(), pay("HX002", "城市低保", D(2025, 3, 1), 20000)]
    outcome = import_payments(xlsx(PAY_HEADER, rows))
    [refusal] = outcome.plan.refused
    assert refusal.row == len(rows) + 1 and "保障起始月" in refusal.reason
    assert "请核对在保数据的保障起始日期" in refusal.reason
    # with the start on 1 March as the old system paid it, the history goes in exactly
    Enrollment.objects.filter(pk=caseload.b.pk).update(start_date=D(2025, 3, 1))
    EnrollmentEvent.objects.filter(enrollment=caseload.b, kind="start").update(
        effective_date=D(2025, 3, 1))
    rows[-1] = pay("HX002", "城市低保", D(2025, 3, 1), 38000)  # before an April rise to 400
    outcome = import_payments(xlsx(PAY_HEADER, rows))
    assert outcome.ok, outcome.plan.refused
    assert outcome.written["start_amounts"] == 1
    start = EnrollmentEvent.objects.get(enrollment=caseload.b, kind="start")
    assert start.amount_fen == 38000
    assert first_roster(caseload)[caseload.b.pk] == (40000, 0, 0, 40000)


def test_history_after_a_doudi_roster_is_refused(caseload):
    first_roster(caseload, D(2025, 12, 1))
    outcome = import_payments(xlsx(PAY_HEADER, caseload.payments()))
    assert outcome.record.status == GoliveImport.REFUSED
    [refusal] = outcome.plan.refused
    assert "只能在本系统首次生成花名册之前导入" in refusal.reason
    assert not PaymentRun.objects.filter(imported=True).exists()


def test_an_imported_month_is_not_built_again(caseload):
    assert import_payments(xlsx(PAY_HEADER, caseload.payments())).ok
    with pytest.raises(services.BenefitsError, match="已由原系统发放"):
        first_roster(caseload, D(2025, 12, 1))


def test_the_command_prints_the_plan_and_fails_on_refused_rows(caseload, tmp_path):
    good = tmp_path / "发放.xlsx"
    good.write_bytes(xlsx(PAY_HEADER, caseload.payments()))
    out = io.StringIO()
    call_command("golive", "import-history", "--payments", str(good), "--district", DISTRICT,
                 stdout=out)
    assert "试导入" in out.getvalue() and "新建 33" in out.getvalue()
    assert not PaymentRun.objects.exists()
    bad = tmp_path / "发放有误.xlsx"
    bad.write_bytes(xlsx(PAY_HEADER, [*caseload.payments(),
                                      pay("HX999", "城市低保", D(2025, 3, 1), 50000)]))
    out = io.StringIO()
    with pytest.raises(SystemExit) as stop:
        call_command("golive", "import-history", "--payments", str(bad), "--district",
                     DISTRICT, "--real", stdout=out)
    assert stop.value.code == 1
    assert "第 35 行" in out.getvalue() and "HX999" in out.getvalue()
    assert not PaymentRun.objects.exists()


# ---- decisions ------------------------------------------------------------------------------

def decisions(caseload: Caseload) -> list[list[str]]:
    return [
        ["HX001", "城市低保", "", "批准", "2020-04-20", "2020-05-01", "屯民〔2020〕12号", "480.00",
         "家庭人均收入低于标准", "屯溪区民政局"],
        ["HX001", "城市低保", "", "提标", "2025-06-20", "2025-07-01", "屯民〔2025〕30号", "600.00",
         "低保标准调整", "屯溪区民政局"],
        ["HX003", "五保", caseload.c_person.id_number, "批准纳入", "2018-12-20", "2019-01-01",
         "", "900.00", "", "黎阳镇人民政府"],
        ["HX002", "低保边缘家庭", "", "不予批准", "2024-11-02", "", "", "", "收入超过标准", ""],
    ]


def import_decisions(data: bytes, *, real: bool = True) -> history.Outcome:
    with context.job("test golive history"):
        return history.import_decisions(data, "审批记录.xlsx", district=DISTRICT, real=real,
                                        today=TODAY)


def test_decisions_become_history_and_the_next_review_counts_from_them(caseload):
    data = xlsx(DECISION_HEADER, decisions(caseload), sheet="审批记录")
    outcome = import_decisions(data)
    assert outcome.ok and outcome.record.status == GoliveImport.DONE, outcome.plan.refused
    rows = {(d.household_id, d.kind): d for d in HistoricalDecision.objects.all()}
    assert len(rows) == 4
    rise = rows[(caseload.a_hh.pk, "increase")]
    assert (rise.enrollment_id, rise.programme, rise.decided_on, rise.effective_on,
            rise.amount_fen, rise.document_number) == (
        caseload.a.pk, "dibao", D(2025, 6, 20), D(2025, 7, 1), 60000, "屯民〔2025〕30号")
    c = rows[(caseload.c_hh.pk, "approve")]
    assert (c.enrollment_id, c.person_id, c.programme) == (caseload.c.pk, caseload.c_person.pk,
                                                           "tekun")
    refusal = rows[(caseload.b_hh.pk, "refuse")]
    assert refusal.enrollment_id is None and refusal.programme == "edge"
    # once more: nothing new
    again = import_decisions(data)
    assert again.record.status == GoliveImport.UNCHANGED
    assert again.plan.counts["unchanged"] == 4 and HistoricalDecision.objects.count() == 4
    # A, enrolled in 2020, was re-examined on 20 June 2025: its next review counts from then
    # (six months: a household with members able to work), not from 2020; C, approved in
    # 2018 with nothing since, from its start
    assert reviews.interval(caseload.a, TODAY) == 6
    reviews.schedule(TODAY)
    due = dict(ReviewTask.objects.values_list("enrollment_id", "due_date"))
    assert due[caseload.a.pk] == D(2025, 12, 20)
    assert due[caseload.c.pk] == reviews.add_months(D(2019, 1, 1),
                                                    reviews.interval(caseload.c, TODAY))


def test_bad_decision_rows_are_refused(caseload):
    rows = [*decisions(caseload),
        ["HX001", "城市低保", "", "调档", "2025-01-05", "", "", "", "", ""],
        ["HX001", "城市低保", "", "减发", "2026-02-01", "", "", "", "", ""],
        ["HX777", "城市低保", "", "停保", "2025-01-05", "", "", "", "", ""],
        ["HX001", "城市低保", caseload.c_person.id_number, "减发", "2025-01-05", "", "", "",
         "", ""],
        ["HX001", "城市低保", "", "提标", "2025-06-20", "2025-07-01", "屯民〔2025〕30号",
         "610.00", "", ""]]
    outcome = import_decisions(xlsx(DECISION_HEADER, rows, sheet="审批记录"))
    assert outcome.record.status == GoliveImport.REFUSED
    assert not HistoricalDecision.objects.exists()
    refused = {r.row: r.reason for r in outcome.plan.refused}
    assert sorted(refused) == [6, 7, 8, 9, 10]
    assert "不认识的审批结果“调档”" in refused[6]
    assert "晚于今天" in refused[7]
    assert "HX777" in refused[8]
    assert "不是该户的成员" in refused[9]
    assert "与第 3 行为同一决定" in refused[10]


def test_a_month_the_bank_returned_is_paid_again_unless_repaid_since(caseload):
    rows = caseload.payments()
    november = next(i for i, r in enumerate(rows) if r[0] == "HX003" and r[3] == "2025-11")
    rows[november] = pay("HX003", "五保", D(2025, 11, 1), 90000, status="银行退回",
                         beneficiary=caseload.c_person.id_number)
    # the old system paid it again in December: which month that 补发 was for cannot be told
    december = next(i for i, r in enumerate(rows) if r[0] == "HX003" and r[3] == "2025-12")
    repaid = list(rows)
    repaid[december] = pay("HX003", "五保", D(2025, 12, 1), 90000, arrears=90000,
                           beneficiary=caseload.c_person.id_number)
    outcome = import_payments(xlsx(PAY_HEADER, repaid))
    [refusal] = outcome.plan.refused
    assert refusal.row == november + 2 and f"其后第 {december + 2} 行有补发" in refusal.reason
    # never repaid: the month is owed, and the first roster pays it
    outcome = import_payments(xlsx(PAY_HEADER, rows))
    assert outcome.ok, outcome.plan.refused
    line = PaymentLine.objects.get(enrollment=caseload.c, month=D(2025, 11, 1))
    assert (line.status, line.failure) == (PaymentLine.FAILED, "原系统发放失败")
    assert first_roster(caseload)[caseload.c.pk] == (90000, 90000, 0, 180000)


def test_the_pages_show_an_imported_run_as_the_old_system_s(caseload, client):
    assert import_payments(xlsx(PAY_HEADER, caseload.payments())).ok
    client.login(username="district_officer", password=PASSWORD)
    listing = client.get("/payments/").content.decode()
    assert listing.count("原系统发放（上线导入）") == 12
    run = PaymentRun.objects.get(month=D(2025, 7, 1))
    page = client.get(f"/payments/{run.pk}/").content.decode()
    assert "不生成银行文件" in page and "下载银行发放文件" not in page
