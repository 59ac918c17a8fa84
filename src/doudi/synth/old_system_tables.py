"""The old system's tables (原系统导出表) from the records `old_system` drew: which columns, under
which headers and groups, in which words, and the truth frames with the row each record sits
at. Headers are the shipped layouts' labels or aliases (golive/shipped_layouts.yaml), so the
shipped layouts recognise them; a unit in brackets (月保障金（元）) is the one they read.
Pure: no Django.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from doudi.registry.choices import (
    DISABILITY_CATEGORY_CHOICES,
    DISABILITY_GRADE_CHOICES,
    LABOUR_CAPACITY_CHOICES,
    STUDENT_CHOICES,
)
from doudi.synth.old_system_sheets import DATE, MONEY, Cell, Column, Table, first_row, yuan

FAMILY, AID, PAY, MEMBER = "家庭信息", "保障信息", "发放信息", "家庭成员信息"
CATEGORY = dict(DISABILITY_CATEGORY_CHOICES)
GRADE = dict(DISABILITY_GRADE_CHOICES)
LABOUR = dict(LABOUR_CAPACITY_CHOICES)
STUDENT = {k: v for k, v in STUDENT_CHOICES if k}


def _hh(key: str, header: str, group: str = "", kind: str = "text", width: int = 12) -> Column:
    return Column(key, header, kind=kind, group=group, household=True, width=width)


CASELOAD = [
    _hh("seq", "序号", width=6), _hh("legacy_number", "家庭编号", width=16),
    _hh("town", "乡镇（街道）", FAMILY), _hh("village", "村（社区）", FAMILY, width=16),
    _hh("head_name", "户主姓名", FAMILY, width=10),
    _hh("head_id", "户主身份证号", FAMILY, width=20), _hh("hukou", "户籍性质", FAMILY),
    _hh("address", "家庭住址", FAMILY, width=28),
    _hh("income", "家庭月总收入（元）", FAMILY, MONEY),
    _hh("programme", "救助类别", AID), _hh("beneficiary_id", "供养人员身份证号", AID, width=20),
    _hh("amount", "月保障金（元）", AID, MONEY), _hh("start_date", "保障起始日期", AID),
    _hh("approved_on", "审批日期", AID, width=14),
    _hh("document_number", "审批文号", AID, width=22),
    _hh("review_due", "下次复核日期", AID, DATE), _hh("taper_until", "渐退期满日期", AID, width=14),
    _hh("payee_name", "收款人姓名", PAY, width=10),
    _hh("payee_id", "收款人身份证号", PAY, width=20),
    _hh("bank", "开户银行", PAY, width=16), _hh("account", "银行账号", PAY, width=22),
    Column("name", "姓名", group=MEMBER, width=10),
    Column("id_number", "公民身份号码", group=MEMBER, width=20),
    Column("sex", "性别", group=MEMBER, width=6),
    Column("relation", "与户主关系", group=MEMBER, width=10),
    Column("covered", "是否享受", group=MEMBER, width=8),
    Column("disability_category", "残疾类别", group=MEMBER),
    Column("disability_grade", "残疾等级", group=MEMBER, width=8),
    Column("labour_capacity", "劳动能力", group=MEMBER, width=16),
    Column("serious_illness", "患病情况", group=MEMBER, width=10),
    Column("student_status", "在校情况", group=MEMBER, width=10),
    Column("self_care", "生活自理能力", group=MEMBER, width=10),
    Column("own_income", "个人月收入（元）", kind=MONEY, group=MEMBER),
]
ROSTER = [
    Column("seq", "序号", width=6), Column("legacy_number", "家庭编号", width=16),
    Column("town", "乡镇（街道）"), Column("programme", "救助类别"),
    Column("payee_name", "收款人姓名", width=10), Column("payee_id", "收款人身份证号", width=20),
    Column("beneficiary_id", "享受人身份证号", width=20), Column("persons", "保障人数", width=8),
    Column("amount", "发放金额（元）", kind=MONEY), Column("bank", "开户银行", width=16),
    Column("account", "银行账号", width=22), Column("month", "发放月份"),
]
PAYMENTS = [
    Column("seq", "序号", width=6), Column("legacy_number", "家庭编号", width=16),
    Column("programme", "救助类别"), Column("beneficiary_id", "享受人身份证号", width=20),
    Column("month", "发放月份", width=10), Column("regular", "应发金额（元）", kind=MONEY),
    Column("arrears", "补发金额（元）", kind=MONEY),
    Column("recovery", "扣减金额（元）", kind=MONEY),
    Column("paid", "实发金额（元）", kind=MONEY), Column("status", "发放状态", width=10),
    Column("payee_name", "收款人姓名", width=10), Column("bank", "开户银行", width=16),
    Column("account", "银行账号", width=22),
]
DECISIONS = [
    Column("seq", "序号", width=6), Column("legacy_number", "家庭编号", width=16),
    Column("programme", "救助类别"), Column("beneficiary_id", "享受人身份证号", width=20),
    Column("decision", "审批结果", width=10), Column("decided_on", "审批日期", width=14),
    Column("effective_on", "生效日期", kind=DATE), Column("document_number", "审批文号", width=22),
    Column("amount", "月保障金（元）", kind=MONEY), Column("reason", "审批理由", width=24),
    Column("decided_by", "审批机关", width=18),
]


def self_care_word(adl_failed: int) -> str:
    """生活自理能力 in the bands the 特困 care standard uses (0 全自理, 1–3 半失能, 4–6 全失能)."""
    return "全失能" if adl_failed >= 4 else "半失能" if adl_failed >= 1 else "全自理"


def chinese_date(day: dt.date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def file_stem(kind: str, district: str, first: dt.date) -> str:
    return {"caseload": f"{district}在保对象花名册",
            "roster": f"{district}{first.year}年{first.month}月发放花名册",
            "payments": f"{district}历史发放明细",
            "decisions": f"{district}历史审批记录"}[kind]


def _household_cells(h: dict[str, Any], seq: int) -> dict[str, Cell]:
    return {
        "seq": str(seq), "legacy_number": h["legacy_number"], "town": h["town"],
        "village": h["village"], "head_name": h["head_name"], "head_id": h["head_id"],
        "hukou": h["hukou_word"], "address": h["address"], "income": yuan(h["income_fen"]),
        "programme": h["programme_word"], "beneficiary_id": h["beneficiary_id"],
        "amount": yuan(h["amount_fen"]), "start_date": h["start_date"].isoformat(),
        "approved_on": chinese_date(h["approved_on"]), "document_number": h["document_number"],
        "review_due": h["review_due"], "taper_until": chinese_date(h["taper_until"]),
        "payee_name": h["payee_name"], "payee_id": h["payee_id"], "bank": h["bank_written"],
        "account": h["account"],
    }


def _member_cells(m: dict[str, Any]) -> dict[str, Cell]:
    return {
        "name": m["name"], "id_number": m["id_number"], "sex": "男" if m["sex"] == "M" else "女",
        "relation": m["relation_word"], "covered": "是" if m["covered"] else "否",
        "disability_category": CATEGORY.get(m["disability_category"], "")
        if m["disability_grade"] else "",
        "disability_grade": GRADE.get(m["disability_grade"], ""),
        "labour_capacity": LABOUR[m["labour_capacity"]],
        "serious_illness": "重病" if m["serious_illness"] else "",
        "student_status": STUDENT.get(m["student_status"], ""),
        "self_care": self_care_word(m["adl_failed"]),
        "own_income": yuan(m["own_income_fen"]),
    }


def _row(columns: list[Column], cells: dict[str, Cell]) -> list[Cell]:
    return [cells.get(c.key) for c in columns]


def _footer(columns: list[Column], total: dict[str, Cell], clerks: tuple[str, str],
            made: dt.date) -> list[list[Cell]]:
    width = len(columns)
    line: list[Cell] = [None] * width
    line[0] = "合计"
    for key, value in total.items():
        line[next(j for j, c in enumerate(columns) if c.key == key)] = value
    sign: list[Cell] = [None] * width
    sign[0], sign[3], sign[6] = (f"制表人：{clerks[0]}", f"审核人：{clerks[1]}",
                                 f"制表日期：{chinese_date(made)}")
    return [line, sign]


def build(district: str, first: dt.date, made: dt.date, households: list[dict[str, Any]],
          members: list[dict[str, Any]], roster: list[dict[str, Any]],
          payments: list[dict[str, Any]], decisions: list[dict[str, Any]],
          clerks: tuple[str, str]) -> dict[str, Table]:
    office = f"{district}民政局"
    month = f"{first.year}年{first.month}月"
    subtitle = f"填报单位：{office}　　导出日期：{chinese_date(made)}"

    rows: list[list[Cell]] = []
    blocks: list[tuple[int, int]] = []
    by_household: dict[str, list[dict[str, Any]]] = {}
    for m in members:
        by_household.setdefault(m["legacy_number"], []).append(m)
    for seq, h in enumerate(households, start=1):
        cells = _household_cells(h, seq)
        start = len(rows)
        for m in by_household[h["legacy_number"]]:
            rows.append(_row(CASELOAD, {**cells, **_member_cells(m)}))
        blocks.append((start, len(rows) - 1))
    persons = sum(h["persons"] for h in households)
    caseload = Table(
        "在保人员", f"{district}城乡低保、特困供养等在保对象花名册", subtitle, CASELOAD, rows,
        blocks,
        _footer(CASELOAD, {"legacy_number": f"共{len(households)}户{persons}人",
                           "amount": yuan(sum(h["amount_fen"] for h in households))},
                clerks, made))

    roster_rows = [_row(ROSTER, {
        "seq": str(i), "legacy_number": r["legacy_number"], "town": r["town"],
        "programme": r["programme_word"], "payee_name": r["payee_name"],
        "payee_id": r["payee_id"], "beneficiary_id": r["beneficiary_id"],
        "persons": str(r["persons"]), "amount": yuan(r["amount_fen"]),
        "bank": r["bank_written"], "account": r["account"], "month": month})
        for i, r in enumerate(roster, start=1)]
    roster_table = Table(
        "花名册", f"{district}{month}城乡低保、特困供养资金发放花名册",
        f"发放单位：{office}　　发放月份：{month}", ROSTER, roster_rows, [],
        _footer(ROSTER, {"legacy_number": f"共{len(roster)}户",
                         "amount": yuan(sum(r["amount_fen"] for r in roster))}, clerks, made))

    payment_rows = [_row(PAYMENTS, {
        "seq": str(i), "legacy_number": p["legacy_number"], "programme": p["programme_word"],
        "beneficiary_id": p["beneficiary_id"], "month": f"{p['month']:%Y-%m}",
        "regular": yuan(p["regular_fen"]), "arrears": yuan(p["arrears_fen"]),
        "recovery": yuan(p["recovery_fen"]), "paid": yuan(p["paid_fen"]),
        "status": p["status"], "payee_name": p["payee_name"], "bank": p["bank_written"],
        "account": p["account"]}) for i, p in enumerate(payments, start=1)]
    months = sorted({p["month"] for p in payments}) or [first]
    during = f"{months[0].year}年{months[0].month}月至{months[-1].year}年{months[-1].month}月"
    payments_table = Table(
        "发放明细", f"{district}城乡低保、特困供养资金发放明细",
        f"{subtitle}　　发放期间：{during}", PAYMENTS, payment_rows, [],
        _footer(PAYMENTS, {"legacy_number": f"共{len(payments)}笔",
                           "paid": yuan(sum(p["paid_fen"] for p in payments))}, clerks, made))

    decision_rows = [_row(DECISIONS, {
        "seq": str(i), "legacy_number": d["legacy_number"], "programme": d["programme_word"],
        "beneficiary_id": d["beneficiary_id"], "decision": d["decision"],
        "decided_on": chinese_date(d["decided_on"]), "effective_on": d["effective_on"],
        "document_number": d["document_number"], "amount": yuan(d["amount_fen"]),
        "reason": d["reason"], "decided_by": d["decided_by"]})
        for i, d in enumerate(decisions, start=1)]
    decisions_table = Table(
        "审批记录", f"{district}社会救助审批记录", subtitle, DECISIONS, decision_rows, [],
        _footer(DECISIONS, {"legacy_number": f"共{len(decisions)}条"}, clerks, made))
    return {"caseload": caseload, "roster": roster_table, "payments": payments_table,
            "decisions": decisions_table}


# ---------------------------------------------------------------------------------------------
# truth frames

HOUSEHOLD_SCHEMA = {
    "legacy_number": pl.String, "household_id": pl.Int64, "programme": pl.String,
    "programme_word": pl.String, "hukou": pl.String, "hukou_word": pl.String,
    "area_code": pl.String, "town": pl.String, "village": pl.String, "address": pl.String,
    "head_name": pl.String, "head_id": pl.String, "beneficiary_id": pl.String,
    "persons": pl.Int64, "members": pl.Int64, "income_fen": pl.Int64, "amount_fen": pl.Int64,
    "rules_amount_fen": pl.Int64, "start_date": pl.Date, "approved_on": pl.Date,
    "document_number": pl.String, "decided_by": pl.String, "review_due": pl.Date,
    "taper_until": pl.Date, "payee_name": pl.String, "payee_id": pl.String, "bank": pl.String,
    "bank_written": pl.String, "account_kind": pl.String, "account": pl.String,
    "in_roster": pl.Boolean,
}
MEMBER_SCHEMA = {
    "legacy_number": pl.String, "person_id": pl.Int64, "name": pl.String,
    "id_number": pl.String, "sex": pl.String, "relation": pl.String,
    "relation_word": pl.String, "covered": pl.Boolean, "disability_category": pl.String,
    "disability_grade": pl.Int64, "labour_capacity": pl.String, "serious_illness": pl.Boolean,
    "student_status": pl.String, "adl_failed": pl.Int64, "own_income_fen": pl.Int64,
}
ROSTER_SCHEMA = {
    "legacy_number": pl.String, "town": pl.String, "programme": pl.String,
    "programme_word": pl.String, "payee_name": pl.String, "payee_id": pl.String,
    "beneficiary_id": pl.String, "persons": pl.Int64, "amount_fen": pl.Int64,
    "bank": pl.String, "bank_written": pl.String, "account": pl.String, "month": pl.Date,
}
PAYMENT_SCHEMA = {
    "legacy_number": pl.String, "programme": pl.String, "programme_word": pl.String,
    "beneficiary_id": pl.String, "month": pl.Date, "regular_fen": pl.Int64,
    "arrears_fen": pl.Int64, "recovery_fen": pl.Int64, "paid_fen": pl.Int64,
    "status": pl.String, "payee_name": pl.String, "bank": pl.String,
    "bank_written": pl.String, "account": pl.String,
}
DECISION_SCHEMA = {
    "legacy_number": pl.String, "programme": pl.String, "programme_word": pl.String,
    "beneficiary_id": pl.String, "decision": pl.String, "decided_on": pl.Date,
    "effective_on": pl.Date, "document_number": pl.String, "amount_fen": pl.Int64,
    "reason": pl.String, "decided_by": pl.String,
}


def _frame(rows: list[dict[str, Any]], schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame([{k: r[k] for k in schema} for r in rows], schema=schema, orient="row")


def _with_rows(frame: pl.DataFrame, table: Table, rows: list[int] | None = None) -> pl.DataFrame:
    """The row a clerk sees each record at, in xls/xlsx and in the CSV."""
    at = list(range(frame.height)) if rows is None else rows
    excel, text = first_row(table, "xlsx"), first_row(table, "csv")
    return frame.with_columns(pl.Series("row_excel", [excel + i for i in at], dtype=pl.Int64),
                              pl.Series("row_csv", [text + i for i in at], dtype=pl.Int64))


def truth_frames(built: dict[str, Table], households: list[dict[str, Any]],
                 members: list[dict[str, Any]], roster: list[dict[str, Any]],
                 payments: list[dict[str, Any]],
                 decisions: list[dict[str, Any]]) -> dict[str, pl.DataFrame]:
    caseload = built["caseload"]
    return {
        "households": _with_rows(_frame(households, HOUSEHOLD_SCHEMA), caseload,
                                 [first for first, _ in caseload.blocks]),
        "members": _with_rows(_frame(members, MEMBER_SCHEMA), caseload),
        "roster": _with_rows(_frame(roster, ROSTER_SCHEMA), built["roster"]),
        "payments": _with_rows(_frame(payments, PAYMENT_SCHEMA), built["payments"]),
        "decisions": _with_rows(_frame(decisions, DECISION_SCHEMA), built["decisions"]),
    }
