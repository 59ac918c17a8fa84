"""The two input frames every programme reads: households (家庭) and members (家庭成员).

Money is integer fen (分); monthly unless the name says annual. `from_records` turns the YAML /
JSON shape of a household (yuan as decimal text) into frames; `params_frame` resolves the policy
parameters once per distinct area code and is joined onto households.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl

from doudi.core import idnumber
from doudi.rules.parameters import (
    OPTIONAL_UNITS,
    TEXT_CHOICES,
    UNITS,
    Parameter,
    ParameterMissing,
    ParameterSet,
    engine_value,
    label_of,
    unknown_name,
)

_KIND_TYPES: dict[str, pl.DataType] = {
    "money": pl.Int64(), "ratio": pl.Int64(), "integer": pl.Int64(), "bool": pl.Boolean(),
    "text": pl.String(), "list": pl.List(pl.String()), "ratio_list": pl.List(pl.Int64()),
    "table": pl.Int64(),
}

HOUSEHOLD_SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.String(),
    "area_code": pl.String(),
    "hukou": pl.String(),  # urban | rural
    "financial_assets": pl.Int64(),  # fen, balance
    "vehicles": pl.Int32(),
    "houses": pl.Int32(),
    "non_residential_property": pl.Int32(),
    "business": pl.Boolean(),
    "annual_income": pl.Int64(),  # fen; null → 12 × members' monthly income
    "annual_rigid_expenditure": pl.Int64(),  # fen
    "dibao_enrolled": pl.Boolean(),  # currently paid 低保 (for 渐退)
    "dibao_current_amount": pl.Int64(),  # fen per month now paid
    "linshi_type": pl.String(),  # emergency | advance | expenditure | null
    "linshi_need": pl.Int64(),  # fen: the loss or spending the request is for
    "linshi_received_this_year": pl.Int64(),  # fen already granted this calendar year
}

MEMBER_SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.String(),
    "member_id": pl.String(),
    "age": pl.Int32(),
    "sex": pl.String(),  # male | female | null (not known: the rules read no sex-specific age)
    "income": pl.Int64(),  # fen per month, all counted sources
    "earned_income": pl.Int64(),  # fen per month from work (part of income)
    "disability_grade": pl.Int8(),  # 0 none, 1–4
    # physical | intellectual | mental | visual | hearing | speech | multiple | none
    "disability_type": pl.String(),
    "serious_illness": pl.Boolean(),
    "student": pl.Boolean(),  # full-time, 本科 or below
    "labor_capacity": pl.Boolean(),
    "adl_failed": pl.Int8(),  # daily-living items not met, of six
    "has_supporter": pl.Boolean(),  # a legal supporter able to support
    "orphan": pl.Boolean(),
    "de_facto_unsupported": pl.Boolean(),
    "co_resident": pl.Boolean(),  # counted in the family (共同生活家庭成员)
    "refused_work": pl.Boolean(),  # refused suitable work without good reason
    "childless": pl.Boolean(),
    "institutional": pl.Boolean(),  # lives in an institution (集中供养/集中养育)
    # relation to the household head (与户主关系: head | spouse | child | child_in_law | parent |
    # parent_in_law | grandchild | grandparent | sibling | other | null): who is whose parent
    "relation": pl.String(),
    "employed": pl.Boolean(),  # in work (就业，含灵活就业、经营) whatever the wage recorded
}

HOUSEHOLD_DEFAULTS: dict[str, Any] = {
    "financial_assets": 0, "vehicles": 0, "houses": 0, "non_residential_property": 0,
    "business": False, "annual_income": None, "annual_rigid_expenditure": 0,
    "dibao_enrolled": False, "dibao_current_amount": 0, "linshi_type": None,
    "linshi_need": 0, "linshi_received_this_year": 0,
}
MEMBER_DEFAULTS: dict[str, Any] = {
    "sex": None, "income": 0, "earned_income": 0, "disability_grade": 0, "disability_type": "none",
    "serious_illness": False, "student": False, "labor_capacity": True, "adl_failed": 0,
    "has_supporter": True, "orphan": False, "de_facto_unsupported": False,
    "co_resident": True, "refused_work": False, "childless": False, "institutional": False,
    "relation": None, "employed": False,
}
#: relation codes a member may give (the registry's 与户主关系)
RELATIONS = frozenset({"head", "spouse", "child", "child_in_law", "parent", "parent_in_law",
                       "grandchild", "grandparent", "sibling", "other"})
#: member columns a frame built before they existed may lack: `engine.evaluate` adds them with
#: these defaults (the rules then read no relation, no recorded work and no sex)
LATER_MEMBER_COLUMNS: dict[str, Any] = {"sex": None, "relation": None, "employed": False}
# registry school levels that count as a full-time student (在校生, 本科及以下)
STUDENT_LEVELS = frozenset({"primary", "junior", "senior", "vocational", "undergraduate"})
MONEY_HOUSEHOLD = {"financial_assets", "annual_income", "annual_rigid_expenditure",
                   "dibao_current_amount", "linshi_need", "linshi_received_this_year"}
MONEY_MEMBER = {"income", "earned_income"}
DISABILITY_TYPES = {"physical", "intellectual", "mental", "visual", "hearing", "speech",
                    "multiple", "none"}
SEXES = {"male": "male", "female": "female", "男": "male", "女": "female", "M": "male",
         "F": "female"}
# the names a household or member description may use (scenario files, JSON input): the frame's
# columns, and the shapes `from_records` reads besides them
HOUSEHOLD_INPUTS = frozenset(
    {*HOUSEHOLD_SCHEMA, "id", "area", "linshi", "members"}
    - {"linshi_type", "linshi_need", "linshi_received_this_year"})
LINSHI_INPUTS = frozenset({"type", "need", "received_this_year"})
MEMBER_INPUTS = frozenset({*MEMBER_SCHEMA, "id", "id_number"} - {"household_id"})


class InputError(ValueError):
    """A household description that cannot be evaluated; the message says which field."""


def yuan_to_fen(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise InputError(f"{field} 应为金额，收到 {value!r}")
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        raise InputError(f"{field} 应为金额，收到 {value!r}") from None
    if not amount.is_finite():
        raise InputError(f"{field} 应为金额，收到 {value!r}")
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise InputError(f"{field} 应为最多两位小数的金额，收到 {value!r}")
    if fen < 0:
        raise InputError(f"{field} 不能为负数，收到 {value!r}")
    return int(fen)


def fen_to_yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else (Decimal(fen) / 100).quantize(Decimal("0.01"))


def _checked(value: Any, dtype: pl.DataType, field: str) -> Any:
    """A non-money input in the type the frame holds; a clear error instead of a Polars one."""
    if isinstance(dtype, pl.Boolean):
        if not isinstance(value, bool):
            raise InputError(f"{field} 应为 true 或 false，收到 {value!r}")
        return value
    if dtype.is_integer():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(f"{field} 应为非负整数，收到 {value!r}")
        return value
    return str(value)


def sex_of(sex: Any, id_number: Any = None, where: str = "") -> str | None:
    """male / female from what was given (male, female, 男, 女, M, F), else from an 18-digit
    resident ID (the 17th digit is odd for men); None when neither says."""
    if sex is not None and str(sex).strip():
        found = SEXES.get(str(sex).strip())
        if found is None:
            raise InputError(f"{where}sex 应为 male、female、男 或 女，收到 {sex!r}")
        return found
    if id_number is None or not str(id_number).strip():
        return None
    try:
        # the rules read the ID's check digit and sex only: any birth date is accepted
        facts = idnumber.parse(str(id_number), today=dt.date.max)
    except idnumber.InvalidIdNumber as exc:
        raise InputError(f"{where}id_number 不是有效的身份证号码：{exc}") from None
    return "male" if facts.sex == "M" else "female"


def _refuse_unknown(source: Mapping[str, Any], known: frozenset[str], what: str,
                    where: str) -> None:
    for name in source:
        if str(name) not in known:
            raise InputError(f"{where}{unknown_name(what, str(name), known)}")


def _row(source: Mapping[str, Any], schema: Mapping[str, pl.DataType],
         defaults: Mapping[str, Any], money: set[str], where: str) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, dtype in schema.items():
        value = source.get(name, defaults.get(name))
        if value is None:
            row[name] = None
        elif name in money:
            row[name] = yuan_to_fen(value, f"{where}{name}")
        else:
            row[name] = _checked(value, dtype, f"{where}{name}")
    return row


def from_records(
    households: Iterable[Mapping[str, Any]], default_area: str | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Frames from plain dicts in the scenario-file shape (money in yuan)."""
    hh_rows, member_rows = [], []
    for n, source in enumerate(households, start=1):
        hid = str(source.get("id") or source.get("household_id") or n)
        _refuse_unknown(source, HOUSEHOLD_INPUTS, "家庭输入", f"家庭 {hid}: ")
        data = {**source, "household_id": hid}
        data.setdefault("area_code", source.get("area", default_area))
        if data.get("hukou") not in {"urban", "rural"}:
            raise InputError(f"家庭 {hid}: hukou 应为 urban 或 rural")
        if not data.get("area_code"):
            raise InputError(f"家庭 {hid}: 缺少区划代码 area")
        if source.get("linshi"):
            ls = source["linshi"]
            if not isinstance(ls, Mapping):
                raise InputError(f"家庭 {hid}: linshi 应为键值对（type、need、received_this_year）")
            _refuse_unknown(ls, LINSHI_INPUTS, "临时救助输入", f"家庭 {hid}: ")
            data["linshi_type"] = ls.get("type")
            data["linshi_need"] = ls.get("need", 0)
            data["linshi_received_this_year"] = ls.get("received_this_year", 0)
        hh_rows.append(_row(data, HOUSEHOLD_SCHEMA, HOUSEHOLD_DEFAULTS, MONEY_HOUSEHOLD,
                            f"家庭 {hid} "))
        for i, member in enumerate(source.get("members") or [], start=1):
            if not isinstance(member, Mapping):
                raise InputError(f"家庭 {hid} 第 {i} 名成员应为键值对")
            mid = str(member.get("id", member.get("member_id", i)))
            where = f"家庭 {hid} 成员 {mid}: "
            _refuse_unknown(member, MEMBER_INPUTS, "成员输入", where)
            sex = sex_of(member.get("sex"), member.get("id_number"), where)
            row = _row({**member, "household_id": hid, "member_id": mid, "sex": sex},
                       MEMBER_SCHEMA, MEMBER_DEFAULTS, MONEY_MEMBER, f"家庭 {hid} 成员 {mid} ")
            if row["age"] is None:
                raise InputError(f"家庭 {hid} 成员 {mid}: 缺少 age")
            if row["disability_type"] not in DISABILITY_TYPES:
                raise InputError(f"家庭 {hid} 成员 {mid}: disability_type 未知")
            if not 0 <= int(row["disability_grade"]) <= 4:
                raise InputError(f"家庭 {hid} 成员 {mid}: disability_grade 应为 0–4")
            if not 0 <= int(row["adl_failed"]) <= 6:
                raise InputError(f"家庭 {hid} 成员 {mid}: adl_failed 应为 0–6")
            if row["relation"] is not None and row["relation"] not in RELATIONS:
                raise InputError(f"家庭 {hid} 成员 {mid}: relation 应为 "
                                 f"{'、'.join(sorted(RELATIONS))} 之一")
            member_rows.append(row)
    return (pl.DataFrame(hh_rows, schema=HOUSEHOLD_SCHEMA, orient="row"),
            pl.DataFrame(member_rows, schema=MEMBER_SCHEMA, orient="row"))


def unit_of(parameters: ParameterSet, key: str) -> str:
    """The unit a key is written in: its rows', else the one declared for an optional key."""
    rows = parameters.history(key)
    return rows[0].unit if rows else OPTIONAL_UNITS.get(key, "yuan")


def _placeholder(parameters: ParameterSet, key: str, day: dt.date) -> Parameter:
    """A stand-in for a missing key, so the plan can be built: every result that reads it is
    marked 不可计算 and blanked afterwards (`engine.evaluate`), never used."""
    unit = unit_of(parameters, key)
    kind = UNITS[unit][1]
    value: Any = {"money": Decimal(1), "ratio": Decimal(1) / 10_000, "integer": Decimal(1),
                  "bool": False, "list": (), "ratio_list": (), "table": {}}.get(kind)
    if value is None:
        value = next(iter(TEXT_CHOICES.get(key, {"": ""})))
    return Parameter(key, "", day, value, unit)


def params_frame(
    parameters: ParameterSet, area_codes: Sequence[str], day: dt.date, keys: Iterable[str],
    optional: Iterable[str] = (), missing: dict[str, list[str]] | None = None,
) -> pl.DataFrame:
    """One row per area code, one column per parameter in engine units. Tables become one column
    per entry (`key.entry`). Resolution runs once per distinct set of defining prefixes.

    A key without a value for an area on the day raises `ParameterMissing`; with `missing` given,
    the area's missing keys are recorded there instead (area code → keys) and a stand-in value is
    used. An `optional` key an area does not define is null there (no column when no area
    defines it)."""
    optional = sorted(set(optional) - set(keys))
    keys = sorted(set(keys))
    by_signature: dict[tuple[str, ...], tuple[dict[str, Any], list[str]]] = {}
    schema: dict[str, pl.DataType] = {"area_code": pl.String()}
    nullable: set[str] = set()
    rows: list[dict[str, Any]] = []
    for code in area_codes:
        sig = parameters.signature(code)
        found = by_signature.get(sig)
        if found is None:
            values: dict[str, Any] = {}
            absent: list[str] = []
            for key in [*keys, *optional]:
                param = parameters.find(key, code, day)
                if param is None and key in optional:
                    continue
                if param is None:
                    if missing is None:
                        raise ParameterMissing(
                            f"缺少参数 {label_of(key)}：区划 {code} 在 {day} 没有生效的取值")
                    absent.append(key)
                    param = _placeholder(parameters, key, day)
                value = engine_value(param)
                if isinstance(value, dict):
                    for entry, v in value.items():
                        values[f"{key}.{entry}"] = v
                        schema[f"{key}.{entry}"] = _KIND_TYPES["table"]
                elif param.kind == "list":
                    # membership flags instead of a list column: cheap to carry onto members
                    for entry in value:
                        values[flag_column(key, entry)] = True
                        schema[flag_column(key, entry)] = pl.Boolean()
                else:
                    values[key] = value
                    schema[key] = _KIND_TYPES[param.kind]
                    if key in optional:
                        nullable.add(key)
            found = by_signature[sig] = (values, absent)
        values, absent = found
        if missing is not None and absent:
            missing[code] = list(absent)
        rows.append({"area_code": code, **values})
    # an entry or flag one area's table/list lacks reads as 0 / false there, never as null,
    # so a household's result cannot depend on which other areas share its batch; an optional
    # value an area does not define is null there
    data = [
        {c: r.get(c, None if c in nullable else False if isinstance(t, pl.Boolean) else 0)
         for c, t in schema.items()}
        for r in rows
    ]
    return pl.DataFrame(data, schema=schema, orient="row")


def flag_column(key: str, entry: str) -> str:
    """The column saying list parameter `key` contains `entry`: dibao.addon.groups[student]."""
    return f"{key}[{entry}]"


def list_flag(key: str, entry: str, columns: Iterable[str]) -> pl.Expr:
    """True where the list parameter contains `entry`; False when no area lists it at all."""
    name = flag_column(key, entry)
    return pl.col(name) if name in set(columns) else pl.lit(False)
