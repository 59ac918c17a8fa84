"""Reconciliation before the first Doudi payment (上线对账): the imported caseload against the old
system's last roster (末次花名册) and against what Doudi's rules compute for each household
today, per town and programme — households, persons, monthly total — and the list of every
enrollment that differs, for review. Nothing is changed: a recorded amount that differs from
the rules' is for the bureau to decide (a review), not for the import to correct.

The roster is imported first (`import_roster`): read with the `roster_last` layout, every row
checked, all or nothing; its typed rows are kept with the import. The persons an enrollment
covers are counted by `benefits.coverage.covered_people`, the rule every 在保人数 uses.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.db import transaction
from django.db.models import Count, F

from doudi.areas.models import Area
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.benefits import banks, coverage
from doudi.benefits.models import Enrollment
from doudi.core import areacode, clock
from doudi.core.errors import ServiceError
from doudi.core.masking import mask_name
from doudi.core.money import yuan_text
from doudi.exchange import storage
from doudi.exchange.readers import MissingColumns, ReadError
from doudi.golive import layouts, reading, words
from doudi.golive.caseload_files import REPORT_SCHEMA
from doudi.golive.models import GoliveImport, LegacyHousehold, Reconciliation
from doudi.policy.services import parameter_set
from doudi.programmes import catalogue
from doudi.registry.models import Household
from doudi.registry.rules_input import build_frames
from doudi.rules.engine import evaluate, missing_column

ROSTER_LAYOUT = "roster_last"
ROSTER_SCHEMA = {"row": pl.Int64, "legacy_number": pl.String, "town": pl.String,
                 "programme": pl.String, "part": pl.String, "beneficiary_id": pl.String,
                 "persons": pl.Int64, "amount_fen": pl.Int64, "payee_name": pl.String,
                 "bank": pl.String, "account": pl.String, "month": pl.Date}
# what differs, in the order the list shows it
KINDS = {"missing_in_roster": "导入在保、花名册中没有",
         "missing_in_caseload": "花名册有、导入数据中没有",
         "amount": "月保障金与花名册不同", "persons": "保障人数与花名册不同",
         "payee": "收款人或账号与花名册不同", "rules": "记录金额与规则测算不同",
         "not_computable": "规则不可计算"}


class ReconcileError(ServiceError):
    """A roster or reconciliation that cannot be made; the message is Chinese."""


# ---------------------------------------------------------------------------------------------
# the old system's last roster


@dataclass
class RosterRead:
    rows: pl.DataFrame  # ROSTER_SCHEMA
    report: pl.DataFrame  # caseload_files.REPORT_SCHEMA
    file: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.report.height == 0


_MONTH = re.compile(r"^\s*(\d{4})\s*(?:年|-|/|\.)?\s*(\d{1,2})\s*月?\s*$")


def _month(text: str | None) -> dt.date | None:
    found = _MONTH.match(text or "")
    if not found or not 1 <= int(found.group(2)) <= 12:
        return None
    return dt.date(int(found.group(1)), int(found.group(2)), 1)


def read_roster(name: str, data: bytes, mapping: dict[str, str] | None = None) -> RosterRead:
    layout = layouts.get(ROSTER_LAYOUT)
    report: list[dict[str, Any]] = []
    try:
        got = reading.read_one(layout, name, data, mapping)
    except (MissingColumns, ReadError) as exc:
        report.append({"file": name, "sheet": "", "row": 0, "legacy_number": "", "label": "整行",
                       "value": None, "reason": f"未能按末次花名册读取：{exc}"})
        return RosterRead(pl.DataFrame(schema=ROSTER_SCHEMA),
                          pl.DataFrame(report, schema=REPORT_SCHEMA), {"name": name})

    def refuse(row: int, number: str | None, key: str, value: object, reason: str) -> None:
        report.append({"file": name, "sheet": got.sheet, "row": row,
                       "legacy_number": number or "", "label": got.labels.get(key, key),
                       "value": None if value is None else str(value), "reason": reason})

    legacy = dict(zip(got.cells["row"].to_list(), got.cells["legacy_number"].to_list(),
                      strict=True))
    for r in got.validated.errors.iter_rows(named=True):
        refuse(r["row"], legacy.get(r["row"]), r["field"], r["value"], r["reason"])
    for r in got.validated.duplicates.iter_rows(named=True):
        refuse(r["row"], legacy.get(r["row"]), "legacy_number", legacy.get(r["row"]),
               f"与第 {r['first_row']} 行完全相同，请删除重复行")
    rows, months = [], set()
    for r in got.validated.good.iter_rows(named=True):
        number = (r["legacy_number"] or "").strip()
        try:
            meaning = words.programme(r["programme"])
        except words.Unreadable as exc:
            refuse(r["row"], number, "programme", r["programme"], str(exc))
            continue
        month = _month(r["month"])
        if month is None:
            refuse(r["row"], number, "month", r["month"],
                   "发放月份无法识别（请写作 2026-10 或 2026年10月）")
            continue
        if r["amount"] is None or r["amount"] < 0:
            refuse(r["row"], number, "amount", r["amount"], "发放金额应为不小于 0 的金额")
            continue
        months.add(month)
        rows.append({"row": r["row"], "legacy_number": number, "town": (r["town"] or "").strip(),
                     "programme": meaning.programme, "part": meaning.part,
                     "beneficiary_id": r["beneficiary_id"] or "", "persons": r["persons"],
                     "amount_fen": r["amount"], "payee_name": (r["payee_name"] or "").strip(),
                     "bank": (banks.find(r["bank"] or "") or banks.Bank(r["bank"] or "", ())).name,
                     "account": banks.normalise(r["account"] or ""), "month": month})
    frame = pl.DataFrame(rows, schema=ROSTER_SCHEMA)
    if len(months) > 1:
        shown = "、".join(sorted(f"{m:%Y-%m}" for m in months))
        refuse(0, None, "month", shown,
               f"花名册含多个发放月份（{shown}）：请只导入原系统最后一个月的花名册")
    keys = ["legacy_number", "programme", "part", "beneficiary_id"]
    repeated = frame.filter(pl.len().over(keys) > 1)
    for r in repeated.iter_rows(named=True):
        refuse(r["row"], r["legacy_number"], "legacy_number", r["legacy_number"],
               "同一家庭同一救助类别在花名册中出现多次")
    return RosterRead(frame, pl.DataFrame(report, schema=REPORT_SCHEMA).sort("row"), got.file)


def import_roster(name: str, data: bytes, *, district_code: str, by,  # noqa: ANN001
                  real: bool = True) -> tuple[GoliveImport, RosterRead]:
    """Keep the old system's last roster for the reconciliation: refused whole when any row
    is refused (a roster with rows missing would report differences that are not there)."""
    district = _district(district_code)
    got = read_roster(name, data)
    status = (GoliveImport.REFUSED if not got.ok else
              GoliveImport.DONE if real else GoliveImport.PLANNED)
    month = got.rows["month"].max() if got.rows.height else None
    with transaction.atomic():
        record = GoliveImport.objects.create(
            what=GoliveImport.ROSTER, mode=GoliveImport.REAL if real else GoliveImport.DRY,
            status=status, files=[got.file], area_code=district.code, by=by,
            counts={"rows": got.rows.height, "refused_rows": got.report.height,
                    "monthly_fen": int(got.rows["amount_fen"].sum() or 0),
                    "month": f"{month:%Y-%m}" if month else ""},
            message=(f"末次花名册 {month:%Y年%m月}，{got.rows.height} 行，合计 "
                     f"{yuan_text(int(got.rows['amount_fen'].sum() or 0))} 元" if got.ok and month
                     else f"{got.report.height} 处错误，未导入")[:500])
        path = storage.root() / "golive" / f"roster-{record.pk}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        got.rows.write_parquet(path)
        got.report.write_parquet(path.with_suffix(".report.parquet"))
        record.plan_path = storage.relative(path)
        record.save(update_fields=["plan_path"])
        if real and got.ok:
            audit.record(AuditEvent.IMPORT, object_type="golive.goliveimport",
                         object_id=record.pk,
                         object_label=f"上线导入原系统末次花名册：{name}"[:200],
                         area_code=district.code, changes=record.counts)
    return record, got


def roster_rows(record: GoliveImport) -> pl.DataFrame:
    return pl.read_parquet(storage.absolute(record.plan_path))


def latest_roster(district_code: str) -> GoliveImport | None:
    return (GoliveImport.objects.filter(what=GoliveImport.ROSTER, mode=GoliveImport.REAL,
                                        status=GoliveImport.DONE,
                                        area_code=district_code.ljust(12, "0"))
            .order_by("-at", "-id").first())


def _district(code: str) -> Area:
    area = Area.objects.filter(code=code.ljust(12, "0"), level=areacode.COUNTY).first()
    if area is None:
        raise ReconcileError(f"区县 {code} 不存在，请填写本区（县）的区划代码")
    return area


# ---------------------------------------------------------------------------------------------
# Doudi's side


ENROLLED_SCHEMA = {"enrollment_id": pl.Int64, "household_id": pl.Int64, "legacy_number": pl.String,
                   "number": pl.String, "town_code": pl.String, "programme": pl.String,
                   "part": pl.String, "person_id": pl.Int64, "beneficiary_id": pl.String,
                   "status": pl.String, "amount_fen": pl.Int64, "persons": pl.Int64,
                   "payee_name": pl.String, "bank": pl.String, "account": pl.String}


def enrolled(district: Area, day: dt.date) -> pl.DataFrame:
    """The district's enrollments in force on `day`, with the old system's household number
    and the persons each covers (as 在保人数 counts them)."""
    force = Enrollment.objects.filter(coverage.in_force(day),
                                      area_code__startswith=district.prefix)
    members, alone = coverage.covered_people(force, day, enrollment=F("id"))
    persons: dict[int, int] = defaultdict(int)
    for r in members.values("enrollment").annotate(n=Count("who", distinct=True)):
        persons[r["enrollment"]] += r["n"]
    for r in alone.values("enrollment").annotate(n=Count("who", distinct=True)):
        persons[r["enrollment"]] += r["n"]
    legacy = dict(LegacyHousehold.objects.filter(area_code=district.code)
                  .values_list("household_id", "legacy_number"))
    rows = []
    for e in force.select_related("household", "person").order_by("id"):
        rows.append({"enrollment_id": e.id, "household_id": e.household_id,
                     "legacy_number": legacy.get(e.household_id, ""),
                     "number": e.household.number, "town_code": e.area_code[:9],
                     "programme": e.programme, "part": e.part, "person_id": e.person_id,
                     "beneficiary_id": e.person.id_number if e.person_id else "",
                     "status": e.status, "amount_fen": e.amount_fen,
                     "persons": persons.get(e.id, 0), "payee_name": e.payee_name,
                     "bank": e.bank, "account": e.payee_account})
    return pl.DataFrame(rows, schema=ENROLLED_SCHEMA)


def rules_amounts(enrollments: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """What the rules compute today for each enrollment (its programme's or part's amount
    column), or the reason it cannot be computed (不可计算：缺少参数 …)."""
    schema = {"enrollment_id": pl.Int64, "rules_fen": pl.Int64, "not_computable": pl.String}
    if enrollments.height == 0:
        return pl.DataFrame(schema=schema)
    households = Household.objects.filter(pk__in=enrollments["household_id"].unique().to_list())
    h, m = build_frames(households, day)
    result = evaluate(h, m, parameter_set(), day)
    out = []
    for e in enrollments.iter_rows(named=True):
        programme = catalogue.entry(e["programme"])
        unit = next((u for u in programme.units if u.code == (e["part"] or e["programme"])),
                    programme.units[0])
        member = programme.level == catalogue.MEMBER
        frame = result.members if member else result.households
        key = ("member_id", str(e["person_id"])) if member else ("household_id",
                                                                   e["household_id"])
        found = frame.filter(pl.col(key[0]) == key[1])
        missing = missing_column(programme.rules_programme().name)
        blocked = (result.households.filter(pl.col("household_id") == e["household_id"])
                   .get_column(missing)[0] if missing in result.households.columns else None)
        if blocked:
            out.append({"enrollment_id": e["enrollment_id"], "rules_fen": None,
                        "not_computable": f"不可计算：缺少参数 {blocked}"})
            continue
        amount = int(found.get_column(unit.amount)[0] or 0) if (
            unit.amount and found.height and unit.amount in found.columns) else None
        out.append({"enrollment_id": e["enrollment_id"], "rules_fen": amount,
                    "not_computable": None})
    return pl.DataFrame(out, schema=schema)


# ---------------------------------------------------------------------------------------------
# the reconciliation


def reconcile(*, district_code: str, by, roster: GoliveImport | None = None,  # noqa: ANN001
              day: dt.date | None = None) -> Reconciliation:
    day = day or clock.today()
    district = _district(district_code)
    roster = roster or latest_roster(district.code)
    if roster is None:
        raise ReconcileError("请先导入原系统最后一个月的发放花名册（末次花名册），再对账")
    old = roster_rows(roster)
    mine = enrolled(district, day)
    mine = mine.join(rules_amounts(mine, day), on="enrollment_id", how="left")
    towns = {a.code[:9]: a.name for a in Area.objects.filter(
        code__startswith=district.prefix, level=areacode.TOWN)}
    town_code = {_key(name): code for code, name in towns.items()}
    old = old.with_columns(pl.col("town").map_elements(
        lambda t: town_code.get(_key(t), ""), return_dtype=pl.String).alias("town_code"))
    keys = ["legacy_number", "programme", "part", "beneficiary_id"]
    mine_keyed = mine.with_columns(pl.when(pl.col("programme").is_in(_member_level()))
                                   .then(pl.col("beneficiary_id")).otherwise(pl.lit(""))
                                   .alias("beneficiary_id"))
    old_keyed = old.with_columns(pl.when(pl.col("programme").is_in(_member_level()))
                                 .then(pl.col("beneficiary_id")).otherwise(pl.lit(""))
                                 .alias("beneficiary_id"))
    both = mine_keyed.join(old_keyed.select(
        *keys, pl.col("town_code").alias("old_town"), pl.col("persons").alias("old_persons"),
        pl.col("amount_fen").alias("old_fen"), pl.col("payee_name").alias("old_payee"),
        pl.col("account").alias("old_account"), pl.lit(True).alias("in_roster")),
        on=keys, how="full", coalesce=True)
    differences = _differences(both)
    summary = _summary(both, towns)
    with transaction.atomic():
        made = Reconciliation.objects.create(roster=roster, day=day, summary=summary,
                                             differences=differences, by=by,
                                             area_code=district.code)
        audit.record(AuditEvent.CREATE, object_type="golive.reconciliation", object_id=made.pk,
                     object_label=f"上线对账 {day}：差异 {len(differences)} 条",
                     area_code=district.code,
                     changes={"differences": len(differences), "roster": roster.pk})
    return made


def _key(name: str | None) -> str:
    return "".join((name or "").split())


def _member_level() -> list[str]:
    return [p.code for p in catalogue.programmes() if p.level == catalogue.MEMBER]


def _differences(both: pl.DataFrame) -> list[dict[str, Any]]:
    out = []
    for r in both.sort("legacy_number", "programme", "part", nulls_last=True).iter_rows(
            named=True):
        base = {"legacy_number": r["legacy_number"], "number": r["number"] or "",
                "programme": catalogue.enrolled_label(r["programme"], r["part"] or ""),
                "enrollment_id": r["enrollment_id"], "town": r["town_code"] or r["old_town"]
                or "", "payee": mask_name(r["payee_name"] or r["old_payee"] or "")}

        def add(kind: str, recorded: object = None, other: object = None,
                base: dict[str, Any] = base, **extra: Any) -> None:
            out.append({**base, "kind": kind, "label": KINDS[kind], "recorded": recorded,
                        "other": other, **extra})

        if r["enrollment_id"] is None:
            add("missing_in_caseload", None, r["old_fen"])
            continue
        if not r["in_roster"]:
            add("missing_in_roster", r["amount_fen"], None)
        else:
            if r["amount_fen"] != r["old_fen"]:
                add("amount", r["amount_fen"], r["old_fen"])
            if r["persons"] != r["old_persons"] and r["old_persons"] is not None:
                add("persons", r["persons"], r["old_persons"])
            if (r["old_account"] and r["old_account"] != r["account"]) or (
                    r["old_payee"] and _key(r["old_payee"]) != _key(r["payee_name"])):
                add("payee", None, None)
        if r["not_computable"]:
            add("not_computable", r["amount_fen"], None, reason=r["not_computable"])
        elif r["status"] == Enrollment.TAPERING:
            continue  # 渐退期: paid by the taper schedule, not by today's rules
        elif r["rules_fen"] is not None and r["rules_fen"] != r["amount_fen"]:
            add("rules", r["amount_fen"], r["rules_fen"])
    return out


def _summary(both: pl.DataFrame, towns: dict[str, str]) -> list[dict[str, Any]]:
    """Per town and programme: households, persons and monthly total in Doudi, in the roster,
    and by the rules."""
    frame = both.with_columns(pl.coalesce("town_code", "old_town").fill_null("").alias("t"))
    rows = (frame.group_by("t", "programme", "part").agg(
        pl.col("household_id").drop_nulls().n_unique().alias("households"),
        pl.col("persons").sum().alias("persons"),
        pl.col("amount_fen").sum().alias("monthly_fen"),
        pl.col("in_roster").fill_null(False).sum().alias("roster_rows"),
        pl.col("old_persons").sum().alias("roster_persons"),
        pl.col("old_fen").sum().alias("roster_fen"),
        pl.col("rules_fen").sum().alias("rules_fen"),
        pl.col("not_computable").is_not_null().sum().alias("not_computable"))
        .sort("t", "programme", "part"))
    return [{"town": towns.get(r["t"], r["t"] or "（乡镇不明）"), "town_code": r["t"],
             "programme": catalogue.enrolled_label(r["programme"], r["part"] or ""),
             **{k: int(r[k] or 0) for k in ("households", "persons", "monthly_fen",
                                            "roster_rows", "roster_persons", "roster_fen",
                                            "rules_fen", "not_computable")}}
            for r in rows.iter_rows(named=True)]
