"""上线对账: the imported caseload against the old system's last roster and against the rules,
and the first roster Doudi builds paying what the old system last paid."""

from __future__ import annotations

import datetime as dt

import pytest

from doudi.benefits import services as benefits
from doudi.benefits.models import Enrollment
from doudi.golive import caseload, reconcile
from doudi.golive.models import GoliveImport, Reconciliation
from tests.golive.test_caseload import DAY, DISTRICT, ELDER_B, HEADER, _rows, clerk, gbk_csv  # noqa: F401

ROSTER_HEADER = ["户编号", "乡镇", "保障类别", "领款人", "保障对象身份证号", "保障人数", "实发金额",
                 "开户行", "账号", "发放年月"]


def roster_csv(rows: list[list[str]]) -> bytes:
    lines = ["2026年10月屯溪区低保特困发放花名册", ",".join(ROSTER_HEADER),
             *(",".join(f'"{c}"' if "," in c else c for c in r) for r in rows), "合计,,,,,,,"]
    return ("\r\n".join(lines) + "\r\n").encode("gbk")


def _roster_from_caseload() -> list[list[str]]:
    out, seen = [], set()
    header_index = {k: i for i, k in enumerate(HEADER)}
    rows = _rows()
    for r in rows:
        if r[0] in seen:
            continue
        seen.add(r[0])
        persons = sum(1 for x in rows if x[0] == r[0])
        payee = r[header_index["收款人"]] or r[header_index["户主姓名"]]
        out.append([r[0], r[1], r[header_index["救助类别"]], payee,
                    r[header_index["享受人身份证号"]], str(persons),
                    r[header_index["月保障金额"]], r[header_index["开户行"]],
                    r[header_index["银行账号"]], "2026年10月"])
    return out


@pytest.fixture
def imported(clerk):  # noqa: F811
    p = caseload.plan([("在保.csv", gbk_csv(_rows()))], district_code=DISTRICT, day=DAY)
    caseload.apply(p, by=clerk)
    return clerk


def test_the_roster_of_the_same_caseload_differs_only_where_planted(imported):
    rows = _roster_from_caseload()
    chen = rows.pop()  # the 渐退 household: in the caseload, not in the roster
    rows[1][6] = "1,200.00"  # 王桂兰's roster paid 50.50 less than the caseload records
    rows.append(["TX2020009999", "阳湖镇", "城市低保", "赵六", "", "2", "900.00", "建设银行",
                 "", "2026年10月"])  # paid by the old system, missing from the caseload
    record, got = reconcile.import_roster("花名册.csv", roster_csv(rows), district_code=DISTRICT,
                                          by=imported)
    assert got.ok, got.report.to_dicts()
    assert record.status == GoliveImport.DONE and record.counts["rows"] == 3
    made = reconcile.reconcile(district_code=DISTRICT, by=imported, day=DAY)
    assert Reconciliation.objects.count() == 1
    found = {(d["legacy_number"], d["kind"]) for d in made.differences
             if d["kind"] not in ("rules", "not_computable")}
    assert found == {(chen[0], "missing_in_roster"), ("TX2020009999", "missing_in_caseload"),
                     ("TX2019000456", "amount")}
    amount = next(d for d in made.differences if d["kind"] == "amount")
    assert (amount["recorded"], amount["other"]) == (125_050, 120_000)
    # every rules difference is a real one: the recorded amount is not what the rules give
    for d in made.differences:
        if d["kind"] == "rules":
            assert d["recorded"] != d["other"]
    # nothing was changed by reconciling
    assert Enrollment.objects.get(person__id_number=ELDER_B).amount_fen == 125_050
    towns = {s["town"]: s for s in made.summary if s["programme"].startswith("最低")}
    assert towns["黎阳镇"]["households"] == 1 and towns["黎阳镇"]["persons"] == 3
    assert towns["黎阳镇"]["monthly_fen"] == towns["黎阳镇"]["roster_fen"] == 138_000
    assert towns["阳湖镇"]["households"] == 0 and towns["阳湖镇"]["roster_fen"] == 90_000


def test_a_roster_with_a_bad_row_is_refused_whole(imported):
    rows = _roster_from_caseload()
    rows[0][2] = "低保金"
    rows[1][9] = "2026年9月"
    record, got = reconcile.import_roster("花名册.csv", roster_csv(rows), district_code=DISTRICT,
                                          by=imported)
    assert record.status == GoliveImport.REFUSED
    reasons = " ".join(got.report["reason"].to_list())
    assert "低保金" in reasons and "多个发放月份" in reasons
    with pytest.raises(reconcile.ReconcileError):
        reconcile.reconcile(district_code=DISTRICT, by=imported, day=DAY)


def test_the_first_roster_pays_what_the_old_system_last_paid(imported, users):
    december = dt.date(2026, 12, 1)
    built = benefits.build_run(by=users.district_officer, month=december, area_code=DISTRICT)
    paid = {line.enrollment.household.legacy.legacy_number: line.total_fen
            for line in built.run.lines.select_related("enrollment__household__legacy")}
    assert paid == {"TX2021000123": 138_000, "TX2019000456": 125_050, "TX2024000789": 30_000}
