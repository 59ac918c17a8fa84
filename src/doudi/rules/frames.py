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

from doudi.rules.parameters import ParameterSet, engine_value

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
}

HOUSEHOLD_DEFAULTS: dict[str, Any] = {
    "financial_assets": 0, "vehicles": 0, "houses": 0, "non_residential_property": 0,
    "business": False, "annual_income": None, "annual_rigid_expenditure": 0,
    "dibao_enrolled": False, "dibao_current_amount": 0, "linshi_type": None,
    "linshi_need": 0, "linshi_received_this_year": 0,
}
MEMBER_DEFAULTS: dict[str, Any] = {
    "income": 0, "earned_income": 0, "disability_grade": 0, "disability_type": "none",
    "serious_illness": False, "student": False, "labor_capacity": True, "adl_failed": 0,
    "has_supporter": True, "orphan": False, "de_facto_unsupported": False,
    "co_resident": True, "refused_work": False, "childless": False, "institutional": False,
}
# registry school levels that count as a full-time student (在校生, 本科及以下)
STUDENT_LEVELS = frozenset({"primary", "junior", "senior", "vocational", "undergraduate"})
MONEY_HOUSEHOLD = {"financial_assets", "annual_income", "annual_rigid_expenditure",
                   "dibao_current_amount", "linshi_need", "linshi_received_this_year"}
MONEY_MEMBER = {"income", "earned_income"}
DISABILITY_TYPES = {"physical", "intellectual", "mental", "visual", "hearing", "speech",
                    "multiple", "none"}


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
        data = {**source, "household_id": hid}
        data.setdefault("area_code", source.get("area", default_area))
        if data.get("hukou") not in {"urban", "rural"}:
            raise InputError(f"家庭 {hid}: hukou 应为 urban 或 rural")
        if not data.get("area_code"):
            raise InputError(f"家庭 {hid}: 缺少区划代码 area")
        if source.get("linshi"):
            ls = source["linshi"]
            data["linshi_type"] = ls.get("type")
            data["linshi_need"] = ls.get("need", 0)
            data["linshi_received_this_year"] = ls.get("received_this_year", 0)
        hh_rows.append(_row(data, HOUSEHOLD_SCHEMA, HOUSEHOLD_DEFAULTS, MONEY_HOUSEHOLD,
                            f"家庭 {hid} "))
        for i, member in enumerate(source.get("members") or [], start=1):
            mid = str(member.get("id", i))
            row = _row({**member, "household_id": hid, "member_id": mid}, MEMBER_SCHEMA,
                       MEMBER_DEFAULTS, MONEY_MEMBER, f"家庭 {hid} 成员 {mid} ")
            if row["age"] is None:
                raise InputError(f"家庭 {hid} 成员 {mid}: 缺少 age")
            if row["disability_type"] not in DISABILITY_TYPES:
                raise InputError(f"家庭 {hid} 成员 {mid}: disability_type 未知")
            if not 0 <= int(row["disability_grade"]) <= 4:
                raise InputError(f"家庭 {hid} 成员 {mid}: disability_grade 应为 0–4")
            if not 0 <= int(row["adl_failed"]) <= 6:
                raise InputError(f"家庭 {hid} 成员 {mid}: adl_failed 应为 0–6")
            member_rows.append(row)
    return (pl.DataFrame(hh_rows, schema=HOUSEHOLD_SCHEMA, orient="row"),
            pl.DataFrame(member_rows, schema=MEMBER_SCHEMA, orient="row"))


def params_frame(
    parameters: ParameterSet, area_codes: Sequence[str], day: dt.date, keys: Iterable[str]
) -> pl.DataFrame:
    """One row per area code, one column per parameter in engine units. Tables become one column
    per entry (`key.entry`). Resolution runs once per distinct set of defining prefixes."""
    keys = sorted(set(keys))
    by_signature: dict[tuple[str, ...], dict[str, Any]] = {}
    schema: dict[str, pl.DataType] = {"area_code": pl.String()}
    rows: list[dict[str, Any]] = []
    for code in area_codes:
        sig = parameters.signature(code)
        values = by_signature.get(sig)
        if values is None:
            values = {}
            for key in keys:
                param = parameters.resolve(key, code, day)
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
            by_signature[sig] = values
        rows.append({"area_code": code, **values})
    # an entry or flag one area's table/list lacks reads as 0 / false there, never as null,
    # so a household's result cannot depend on which other areas share its batch
    data = [
        {c: r.get(c, False if isinstance(t, pl.Boolean) else 0) for c, t in schema.items()}
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
