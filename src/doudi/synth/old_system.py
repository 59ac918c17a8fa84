"""The old provincial system's exports of a synthetic district (原系统导出数据), for testing the
going-live import: what a district hands over on the day it leaves its old system.

    done = export(district, seed=1, out_dir=tmp, month=dt.date(2026, 11, 1))

writes, in each format asked (.xls, .xlsx, GBK CSV):

- `caseload` — 在保对象花名册: one row per member of each covered household, the household's
  cells merged down over its members (layout `caseload_combined`), a title above, a two-row
  header (家庭信息 / 保障信息 / 发放信息 / 家庭成员信息), a 合计 and a 制表人 line below;
- `roster` — the last monthly roster (末次发放花名册) of `month` (layout `roster_last`);
- `payments` — what was paid in the 12 months before `month` (layout `payments_history`);
- `decisions` — one 批准 row per household (layout `decisions_history`).

A household appears once, under the first of `programmes` it is covered by on `month` (特困
before 低保: an old system keeps a person in one register), with its own 家庭编号. Words are an
old system's (城市低保, 特困供养, 非农业户口, 儿子 …; the tables below say what each means),
amounts yuan with two decimals, IDs and accounts text. The payee is the head, paid into an
account at one of `benefits.banks`' banks that passes its checks.

With `plant`, three kinds of difference are planted and listed in `plants`: a recorded amount
that is not what the rules give today (in the caseload, the roster and the history alike), a
household missing from the last roster, and a roster amount that is not the caseload's.
`bad_rows_variant` (old_system_faults) writes a copy of the caseload with rows a clerk must be
told about. The truth frames say exactly what the files hold. Pure: numpy, Polars, no Django.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from doudi.golive.words import words_for
from doudi.programmes import catalogue
from doudi.synth import old_system_sheets as sheets
from doudi.synth import old_system_tables as tables
from doudi.synth.names import GIVEN_FEMALE, GIVEN_MALE, SURNAMES
from doudi.synth.population import Population
from doudi.synth.villages import Village, city_names, county_names, villages

if TYPE_CHECKING:
    from doudi.synth.district import District
    from doudi.synth.old_system_faults import BadRows

FORMATS = sheets.FORMATS
KINDS = ("caseload", "roster", "payments", "decisions")
# the programmes that set a registry status, in order of precedence (a household covered by
# two appears under the first): those of a person before those of the household
PROGRAMMES = tuple(sorted((p.code for p in catalogue.programmes() if p.category),
                          key=lambda code: catalogue.entry(code).level != catalogue.MEMBER))
HISTORY_MONTHS = 12
AMOUNT_DIFFERS, NOT_IN_ROSTER, ROSTER_DIFFERS = (
    "amount_differs_from_rules", "missing_from_roster", "roster_amount_differs")
PLANT_KINDS = (AMOUNT_DIFFERS, NOT_IN_ROSTER, ROSTER_DIFFERS)
AMOUNT_PLANTS = 3

# The old system's words for a programme (golive/programme_words.yaml: what the import reads)
PROGRAMME_WORDS = {w: code for code in PROGRAMMES for w in words_for(code)}
HUKOU_WORDS = {"非农业户口": "urban", "农业户口": "rural"}
_HUKOU_WORD = {code: word for word, code in HUKOU_WORDS.items()}
# relation → (word for a man, word for a woman); parents-in-law depend on the head's sex
_RELATION = {"head": ("户主", "户主"), "spouse": ("配偶", "配偶"), "child": ("儿子", "女儿"),
             "child_in_law": ("女婿", "儿媳"), "parent": ("父亲", "母亲"),
             "grandchild": ("孙子", "孙女"), "grandparent": ("祖父", "祖母"),
             "sibling": ("兄弟", "姐妹"), "other": ("其他", "其他")}
_IN_LAW = {"M": ("岳父", "岳母"), "F": ("公公", "婆婆")}  # by the head's sex
RELATION_WORDS = {w: code for code, pair in _RELATION.items() for w in pair} | {
    w: "parent_in_law" for pair in _IN_LAW.values() for w in pair}
SEX_WORDS = {"男": "M", "女": "F"}
PROVINCE_PREFIX = {"34": "AH", "44": "GD"}

# Banks a district pays through: (name as `benefits.banks` knows it, weight among urban and
# among rural payees, a card BIN, the length of its 一卡通/存折 numbers or 0 for none).
# Card numbers are 19 digits with a Luhn check digit; passbook numbers carry none.
_BANKS = (("中国工商银行", 25, 5, "621226", 0), ("中国建设银行", 22, 5, "621700", 0),
          ("中国银行", 14, 3, "621661", 0), ("交通银行", 9, 1, "622262", 0),
          ("中国邮政储蓄银行", 10, 22, "621799", 18), ("中国农业银行", 10, 25, "622848", 19),
          ("农商银行", 5, 34, "623059", 20), ("徽商银行", 5, 5, "622651", 19))
_LOCAL_BANKS = {"徽商银行": "34"}  # a bank only in its province
_BANK_ALIAS = {"中国工商银行": "工商银行", "中国建设银行": "建设银行", "中国农业银行": "农业银行",
               "中国邮政储蓄银行": "邮政储蓄银行", "农商银行": "农村商业银行"}
PASSBOOK_SHARE = 0.4  # of rural payees at a bank with passbook accounts
ALIAS_SHARE = 0.15  # bank names written the short way
FULL_VILLAGE_SHARE = 0.2  # village names written as the division table has them (…村委会)
TAPER_SHARE = 0.1  # of 低保 households, in 渐退


@dataclass
class OldSystemExport:
    """What `export` wrote and the truth of it. `paths[kind][format]`; the frames hold what
    the files hold (amounts in fen), in file order, with the row a clerk sees each record at
    (`row_excel` for xls and xlsx, `row_csv`)."""

    paths: dict[str, dict[str, Path]]
    households: pl.DataFrame
    members: pl.DataFrame
    roster: pl.DataFrame
    payments: pl.DataFrame
    decisions: pl.DataFrame
    plants: list[tuple[str, str]]  # (legacy_number, kind)
    month: dt.date
    area: str
    seed: int
    out_dir: Path
    district_name: str
    towns: tuple[str, ...]  # the district's town names
    tables: dict[str, sheets.Table] = field(repr=False, default_factory=dict)

    def first_row(self, kind: str, fmt: str) -> int:
        return sheets.first_row(self.tables[kind], fmt)


# ---------------------------------------------------------------------------------------------
# small helpers


def add_months_first(first: dt.date, months: int) -> dt.date:
    """The first of the month `months` after (or before) the month of `first`."""
    index = first.year * 12 + first.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(first: dt.date) -> dt.date:
    return add_months_first(first, 1) - dt.timedelta(days=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, or the month's last day where it has fewer days."""
    first = add_months_first(day.replace(day=1), months)
    return first.replace(day=min(day.day, month_end(first).day))


def luhn_digit(body: str) -> str:
    """The Luhn (模10) check digit that makes `body` + digit pass `banks.luhn_ok`."""
    total = 0
    for position, char in enumerate(reversed(body)):
        d = int(char)
        if position % 2 == 0:  # doubled once the check digit stands to its right
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def _digits(rng: np.random.Generator, n: int) -> str:
    return "".join(str(d) for d in rng.integers(0, 10, n))


def account(rng: np.random.Generator, bank: tuple[str, int, int, str, int],
            rural: bool) -> tuple[str, str]:
    """(kind, number) of a payee's account at `bank`: a 19-digit card with its check digit,
    or, for some rural payees, a passbook number of the bank's length."""
    _name, _u, _r, bin6, passbook = bank
    if passbook and rural and rng.random() < PASSBOOK_SHARE:
        return "passbook", "1" + _digits(rng, passbook - 1)
    body = bin6 + _digits(rng, 12)
    return "card", body + luhn_digit(body)


def district_name(area: str) -> str:
    return (county_names().get(area[:6]) or city_names().get(area[:4]) or "本地")


def village_text(v: Village, full: bool) -> str:
    return v.name if full else v.place


def decided_by(town: str) -> str:
    return town + ("办事处" if town.endswith("街道") else "人民政府")


def relation_word(relation: str, sex: str, head_sex: str) -> str:
    pair = _IN_LAW[head_sex] if relation == "parent_in_law" else _RELATION[relation]
    return pair[0] if sex == "M" else pair[1]


# ---------------------------------------------------------------------------------------------
# the caseload


def _chosen(enrolments: pl.DataFrame, first: dt.date,
            programmes: Sequence[str]) -> pl.DataFrame:
    """One enrolment per household: the first of `programmes` it is covered by on `first`."""
    rank = {p: i for i, p in enumerate(programmes)}
    return (enrolments
            .filter(pl.col("covered") & pl.col("programme").is_in(list(programmes))
                    & (pl.col("start_date") <= first))
            .with_columns(pl.col("programme").replace_strict(rank, return_dtype=pl.Int32)
                          .alias("_rank"))
            .sort("household_id", "_rank", "person_id", nulls_last=False)
            .unique("household_id", keep="first", maintain_order=True)
            .drop("_rank"))


def _banks_for(area: str) -> list[tuple[str, int, int, str, int]]:
    return [b for b in _BANKS if _LOCAL_BANKS.get(b[0], area[:2]) == area[:2]]


def counted_incomes(population: Population) -> tuple[dict[int, int], dict[int, int]]:
    """(household → its monthly income, person → their own) as the old system recorded them
    for the means test: the income the rules count (工资 less the 就业成本 deduction …), not
    the gross; the family's is the sum of its co-resident members'."""
    from doudi.rules.engine import evaluate
    from doudi.rules.shipped import shipped
    from doudi.synth.rules_frames import engine_frames

    h, m = engine_frames(population)
    result = evaluate(h, m, shipped(), population.today)
    family = {int(k): int(v or 0) for k, v in result.households.select(
        "household_id", "dibao.family_income").iter_rows()}
    own = {int(k): int(v or 0) for k, v in result.members.select(
        "member_id", "dibao.counted_income").iter_rows()}
    return family, own


def _caseload(population: Population, chosen: pl.DataFrame, first: dt.date,
              rng: np.random.Generator) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Household and member records in file order (by village, then 家庭编号)."""
    incomes, own_incomes = counted_incomes(population)
    by_code = {v.code: v for v in villages(population.area)}
    households = {r["household_id"]: r for r in population.households.filter(
        pl.col("household_id").is_in(chosen["household_id"].implode())).to_dicts()}
    persons: dict[int, list[dict[str, Any]]] = {}
    for p in population.persons.filter(
            pl.col("household_id").is_in(chosen["household_id"].implode())).sort(
            "household_id", "person_id").to_dicts():
        persons.setdefault(p["household_id"], []).append(p)
    numbers = rng.choice(900_000, size=chosen.height, replace=False) + 100_000
    prefix = PROVINCE_PREFIX.get(population.area[:2], "LS")
    banks = _banks_for(population.area)
    out_h: list[dict[str, Any]] = []
    out_m: list[dict[str, Any]] = []
    for e, number in zip(chosen.to_dicts(), numbers, strict=True):
        h = households[e["household_id"]]
        v = by_code[h["area_code"]]
        members = persons[e["household_id"]]
        head = next(p for p in members if p["relation"] == "head")
        programme = e["programme"]
        # a programme of one person (特困) is that person's; the others the household's
        tekun_person = e["person_id"] if catalogue.entry(programme).level == \
            catalogue.MEMBER else None
        legacy = f"{prefix}{e['start_date'].year}{int(number):06d}"
        rural = h["hukou"] == "rural"
        weights = np.array([b[2] if rural else b[1] for b in banks], dtype=float)
        bank = banks[int(rng.choice(len(banks), p=weights / weights.sum()))]
        kind, number_text = account(rng, bank, rural)
        covered = [p["person_id"] == tekun_person if tekun_person else p["co_resident"]
                   for p in members]
        income = incomes[e["household_id"]]
        rules_amount = e["monthly_amount"]
        start = e["start_date"]
        due = start
        while due <= first:
            due = add_months(due, 12)
        out_h.append({
            "legacy_number": legacy, "household_id": e["household_id"],
            "programme": programme,
            "programme_word": words_for(programme, h["hukou"])[0],
            "hukou": h["hukou"], "hukou_word": _HUKOU_WORD[h["hukou"]],
            "area_code": v.code, "town": v.town_name,
            "village": village_text(v, rng.random() < FULL_VILLAGE_SHARE),
            "address": h["address"], "head_name": head["name"], "head_id": head["id_number"],
            "beneficiary_id": next(p["id_number"] for p in members
                                   if p["person_id"] == tekun_person) if tekun_person else "",
            "persons": sum(covered), "members": len(members), "income_fen": int(income),
            "amount_fen": rules_amount or 0, "rules_amount_fen": rules_amount,
            "start_date": start,
            "approved_on": start - dt.timedelta(days=int(rng.integers(5, 26))),
            "document_number": "", "decided_by": decided_by(v.town_name),
            "review_due": due, "taper_until": None,
            "payee_name": head["name"], "payee_id": head["id_number"],
            "bank": bank[0],
            "bank_written": _BANK_ALIAS.get(bank[0], bank[0]) if rng.random() < ALIAS_SHARE
            else bank[0],
            "account_kind": kind, "account": number_text, "in_roster": False,
        })
        for p, cover in zip(members, covered, strict=True):
            out_m.append({
                "legacy_number": legacy, "person_id": p["person_id"], "name": p["name"],
                "id_number": p["id_number"], "sex": p["sex"], "relation": p["relation"],
                "relation_word": relation_word(p["relation"], p["sex"], head["sex"]),
                "covered": cover, "disability_category": p["disability_category"],
                "disability_grade": int(p["disability_grade"]),
                "labour_capacity": p["labour_capacity"],
                "serious_illness": bool(p["serious_illness"]),
                "student_status": p["student_status"], "adl_failed": int(p["adl_failed"]),
                "own_income_fen": own_incomes.get(p["person_id"], 0),
            })
    order = sorted(range(len(out_h)),
                   key=lambda i: (out_h[i]["area_code"], out_h[i]["legacy_number"]))
    out_h = [out_h[i] for i in order]
    rank = {h["legacy_number"]: i for i, h in enumerate(out_h)}
    out_m.sort(key=lambda m: rank[m["legacy_number"]])  # stable: members keep their order
    _document_numbers(out_h)
    return out_h, out_m


def _document_numbers(households: list[dict[str, Any]]) -> None:
    """审批文号 numbered per town and year in the order of approval: 黎阳镇民救〔2023〕7号."""
    count: dict[tuple[str, int], int] = {}
    for h in sorted(households, key=lambda h: (h["approved_on"], h["legacy_number"])):
        key = (h["town"], h["approved_on"].year)
        count[key] = count.get(key, 0) + 1
        h["document_number"] = f"{h['town']}民救〔{key[1]}〕{count[key]}号"


# ---------------------------------------------------------------------------------------------
# taper and plants


def _taper(households: list[dict[str, Any]], first: dt.date, rng: np.random.Generator) -> None:
    dibao = [h for h in households if h["programme"] == catalogue.DIBAO]
    if len(dibao) < 3:
        return
    n = max(1, round(len(dibao) * TAPER_SHARE))
    for i in sorted(rng.choice(len(dibao), size=n, replace=False)):
        dibao[int(i)]["taper_until"] = month_end(add_months_first(first, int(rng.integers(1, 7))))


def _plant(households: list[dict[str, Any]], rng: np.random.Generator) -> tuple[
        list[tuple[str, str]], dict[str, int]]:
    """The plants: (legacy_number, kind) and the roster amounts that differ (fen)."""
    paid = [h for h in households if h["amount_fen"] > 0 and h["taper_until"] is None]
    order = [paid[int(i)] for i in rng.permutation(len(paid))]
    plants: list[tuple[str, str]] = []
    roster_amounts: dict[str, int] = {}
    if order:
        plants.append((order.pop(0)["legacy_number"], NOT_IN_ROSTER))
    if order:
        h = order.pop(0)
        amount = h["amount_fen"]
        roster_amounts[h["legacy_number"]] = amount - 5_000 if amount > 5_000 else amount + 5_000
        plants.append((h["legacy_number"], ROSTER_DIFFERS))
    # last year's standard (30 元 a person less), a rise never recorded, a 10 元 slip
    for k, h in enumerate(order[:AMOUNT_PLANTS]):
        delta = (-3_000 * max(h["persons"], 1), 5_000, -1_000)[k]
        amount = h["amount_fen"] + delta
        h["amount_fen"] = amount if amount > 0 else h["amount_fen"] + 2_000
        plants.append((h["legacy_number"], AMOUNT_DIFFERS))
    return plants, roster_amounts


# ---------------------------------------------------------------------------------------------
# roster, payments, decisions


def _roster(households: list[dict[str, Any]], first: dt.date, missing: set[str],
            amounts: dict[str, int]) -> list[dict[str, Any]]:
    rows = []
    for h in sorted(households, key=lambda h: (h["town"], h["legacy_number"])):
        if h["amount_fen"] <= 0 or h["legacy_number"] in missing:
            continue
        h["in_roster"] = True
        rows.append({
            "legacy_number": h["legacy_number"], "town": h["town"],
            "programme": h["programme"], "programme_word": h["programme_word"],
            "payee_name": h["payee_name"], "payee_id": h["payee_id"],
            "beneficiary_id": h["beneficiary_id"], "persons": h["persons"],
            "amount_fen": amounts.get(h["legacy_number"], h["amount_fen"]),
            "bank": h["bank"], "bank_written": h["bank_written"], "account": h["account"],
            "month": first})
    return rows


def _payments(households: list[dict[str, Any]], first: dt.date,
              roster: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The last `HISTORY_MONTHS` months paid, ending with the last roster's month: what that
    roster paid (its plants included), and before it each household's recorded amount."""
    last = {r["legacy_number"]: r["amount_fen"] for r in roster}
    rows = []
    for back in range(HISTORY_MONTHS - 1, -1, -1):
        month = add_months_first(first, -back)
        for h in households:
            if h["amount_fen"] <= 0 or h["start_date"] > month:
                continue
            amount = h["amount_fen"] if back else last.get(h["legacy_number"])
            if amount is None:
                continue  # not on the last roster: the old system did not pay it that month
            rows.append({
                "legacy_number": h["legacy_number"], "programme": h["programme"],
                "programme_word": h["programme_word"], "beneficiary_id": h["beneficiary_id"],
                "month": month, "regular_fen": amount, "arrears_fen": 0,
                "recovery_fen": 0, "paid_fen": amount, "status": "已发放",
                "payee_name": h["payee_name"], "bank": h["bank"],
                "bank_written": h["bank_written"], "account": h["account"]})
    return rows


def _decisions(households: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"legacy_number": h["legacy_number"], "programme": h["programme"],
             "programme_word": h["programme_word"], "beneficiary_id": h["beneficiary_id"],
             "decision": "批准", "decided_on": h["approved_on"], "effective_on": h["start_date"],
             "document_number": h["document_number"], "amount_fen": h["amount_fen"],
             "reason": "经审核符合条件，准予纳入", "decided_by": h["decided_by"]}
            for h in sorted(households, key=lambda h: (h["approved_on"], h["legacy_number"]))]


# ---------------------------------------------------------------------------------------------


def _clerk(rng: np.random.Generator) -> tuple[str, str]:
    """Two names for the 制表人 and 审核人 lines."""
    def one() -> str:
        pool = GIVEN_MALE if rng.random() < 0.5 else GIVEN_FEMALE
        return SURNAMES[int(rng.integers(0, 20))] + pool[int(rng.integers(0, len(pool)))]
    return one(), one()


def _source(district: District | Population,
            enrolments: pl.DataFrame | None) -> tuple[Population, pl.DataFrame]:
    if isinstance(district, Population):
        if enrolments is None:
            raise ValueError("给出人口时须同时给出在保记录（enrolments）")
        return district, enrolments
    return district.population, district.enrolments if enrolments is None else enrolments


def export(district: District | Population, *, seed: int, out_dir: Path, month: dt.date,
           formats: Sequence[str] = FORMATS, plant: bool = True,
           enrolments: pl.DataFrame | None = None,
           programmes: Sequence[str] = PROGRAMMES) -> OldSystemExport:
    """Write the old system's exports of `district` as of `month` into `out_dir` and return
    where they are and what they hold. The same inputs give the same files."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"不支持的格式“{unknown[0]}”，可选：{'、'.join(FORMATS)}")
    population, enrolled = _source(district, enrolments)
    first = month.replace(day=1)
    rng = np.random.default_rng([seed, 28])
    chosen = _chosen(enrolled, first, programmes)
    households, members = _caseload(population, chosen, first, rng)
    _taper(households, first, rng)
    plants, roster_amounts = _plant(households, rng) if plant else ([], {})
    missing = {n for n, kind in plants if kind == NOT_IN_ROSTER}
    roster = _roster(households, first, missing, roster_amounts)
    payments = _payments(households, first, roster)
    decisions = _decisions(households)
    name = district_name(population.area)
    made = month_end(first)
    built = tables.build(name, first, made, households, members, roster, payments, decisions,
                         _clerk(rng))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, dict[str, Path]] = {kind: {} for kind in KINDS}
    for kind in KINDS:
        for fmt in formats:
            target = out / f"{tables.file_stem(kind, name, first)}.{fmt}"
            paths[kind][fmt] = sheets.write(built[kind], target, fmt, made)
    frames = tables.truth_frames(built, households, members, roster, payments, decisions)
    return OldSystemExport(
        paths=paths, plants=plants, month=first, area=population.area, seed=seed, out_dir=out,
        district_name=name, towns=tuple(sorted({v.town_name for v in villages(population.area)})),
        tables=built, **frames)


def bad_rows_variant(done: OldSystemExport, *, fmt: str = "xlsx",
                     out_dir: Path | None = None) -> BadRows:
    """The caseload again with one spoiled household per fault, and the list of the faults
    with the row each is at (`old_system_faults.bad_rows_variant`)."""
    from doudi.synth.old_system_faults import bad_rows_variant as spoil

    return spoil(done, fmt=fmt, out_dir=out_dir)
