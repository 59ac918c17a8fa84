"""Random households for the rules tests: hypothesis strategies in the `from_records` shape, and
a fast generator of large background batches written straight into the frames schema."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from hypothesis import strategies as st

from doudi.rules.frames import HOUSEHOLD_SCHEMA, MEMBER_SCHEMA

DAY = dt.date(2023, 6, 1)
#: 广州 (一类), 台山 (四类, rural standard lower), 屯溪, 珠海 (二类)
AREAS = ("440103001001", "440781100200", "341002102000", "440402001001")
DISABILITY_TYPES = ("physical", "intellectual", "mental", "visual", "hearing", "speech",
                    "multiple")
LINSHI_TYPES = (None, "emergency", "advance", "expenditure")


def yuan(fen: int) -> str:
    """Fen as the decimal yuan text scenario files use: 123456 → "1234.56"."""
    return f"{fen // 100}.{fen % 100:02d}"


# who is whose parent (老残一体, 依老养残, 父母重残的困境儿童): None as often as a relation
RELATIONS = (None, "head", "spouse", "child", "parent", "grandchild", "sibling")
FLAGS = ("serious_illness", "student", "labor_capacity", "has_supporter", "orphan",
         "de_facto_unsupported", "childless", "institutional")


@st.composite
def members(draw: st.DrawFn, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        # half the draws stay near the standards (600–1238 yuan), where the outcomes change
        income = draw(st.one_of(st.integers(0, 150_000), st.integers(0, 500_000)))
        earned = draw(st.integers(0, income))
        grade = draw(st.sampled_from((0, 0, 0, 1, 2, 3, 4)))
        kind = draw(st.sampled_from(DISABILITY_TYPES)) if grade else "none"
        # the yes/no facts come from one integer's bits: fewer draws keeps generation fast;
        # shrinking towards 0 gives a co-resident member with every flag off
        bits = draw(st.integers(0, (1 << (len(FLAGS) + 3)) - 1))
        member = {
            "id": f"m{i + 1}",
            "age": draw(st.integers(0, 95)),
            "sex": draw(st.sampled_from(("male", "female", None))),
            "relation": draw(st.sampled_from(RELATIONS)),
            "income": yuan(income),
            "earned_income": yuan(earned),
            "disability_grade": grade,
            "disability_type": kind,
            "adl_failed": draw(st.integers(0, 6)),
            **{flag: bool(bits >> b & 1) for b, flag in enumerate(FLAGS)},
        }
        extra = bits >> len(FLAGS)
        member["co_resident"] = extra != 0b111  # one in eight lives elsewhere
        member["refused_work"] = extra == 0b011
        out.append(member)
    return out


@st.composite
def households(draw: st.DrawFn, hid: str = "h", min_members: int = 1) -> dict[str, Any]:
    kind = draw(st.sampled_from(LINSHI_TYPES))
    household: dict[str, Any] = {
        "id": hid,
        "area": draw(st.sampled_from(AREAS)),
        "hukou": draw(st.sampled_from(("urban", "rural"))),
        "financial_assets": yuan(draw(st.sampled_from((0, 100_000, 5_000_000, 50_000_000)))),
        "vehicles": draw(st.sampled_from((0, 0, 0, 0, 1))),
        "houses": draw(st.sampled_from((0, 1, 1, 1, 2))),
        "non_residential_property": draw(st.sampled_from((0, 0, 0, 0, 1))),
        "business": draw(st.sampled_from((False, False, False, False, True))),
        "annual_income": draw(st.one_of(st.none(), st.integers(0, 10_000_000).map(yuan))),
        "annual_rigid_expenditure": yuan(draw(st.sampled_from((0, 0, 1_000_000, 8_000_000)))),
        "dibao_enrolled": draw(st.booleans()),
        "dibao_current_amount": yuan(draw(st.integers(0, 400_000))),
        "members": draw(members(draw(st.integers(min_members, 6)))),
    }
    if kind is not None:
        household["linshi"] = {
            "type": kind,
            "need": yuan(draw(st.integers(0, 3_000_000))),
            "received_this_year": yuan(draw(st.sampled_from((0, 1_000_000, 5_000_000)))),
        }
    return household


def _rnd(idx: pl.Series, seed: int, lo: int, hi: int) -> pl.Series:
    """Deterministic pseudo-random integers in [lo, hi] from hashing the row index."""
    return (idx.hash(seed) % (hi - lo + 1)).cast(pl.Int64) + lo


def _chance(idx: pl.Series, seed: int, percent: int) -> pl.Series:
    return _rnd(idx, seed, 0, 99) < percent


def background(n: int, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`n` random households (ids bg0 …) with 1–6 members each, directly in the frames schema."""
    idx = pl.int_range(n, eager=True, dtype=pl.Int64)
    s = seed * 100
    areas = pl.Series(AREAS)
    linshi = pl.Series(LINSHI_TYPES, dtype=pl.String)
    hh = pl.DataFrame({
        "household_id": "bg" + idx.cast(pl.String),
        "area_code": areas.gather(_rnd(idx, s + 1, 0, len(AREAS) - 1)),
        "hukou": pl.Series(["urban", "rural"]).gather(_rnd(idx, s + 2, 0, 1)),
        "financial_assets": _rnd(idx, s + 3, 0, 20_000_000),
        "vehicles": _rnd(idx, s + 4, 0, 9) // 8,
        "houses": _rnd(idx, s + 5, 0, 2),
        "non_residential_property": _rnd(idx, s + 6, 0, 9) // 8,
        "business": _chance(idx, s + 7, 10),
        "annual_income": pl.Series([None] * n, dtype=pl.Int64).zip_with(
            _chance(idx, s + 8, 30), _rnd(idx, s + 9, 0, 10_000_000)),
        "annual_rigid_expenditure": _rnd(idx, s + 10, 0, 3) * 2_000_000,
        "dibao_enrolled": _chance(idx, s + 11, 30),
        "dibao_current_amount": _rnd(idx, s + 12, 0, 400_000),
        "linshi_type": linshi.gather(_rnd(idx, s + 13, 0, len(LINSHI_TYPES) - 1)),
        "linshi_need": _rnd(idx, s + 14, 0, 3_000_000),
        "linshi_received_this_year": _rnd(idx, s + 15, 0, 2) * 2_500_000,
        "_n": _rnd(idx, s + 16, 1, 6),
    })
    m = (
        hh.select("household_id", pl.int_ranges(1, pl.col("_n") + 1).alias("_i"))
        .explode("_i").with_row_index("_row")
    )
    j = m.get_column("_row").cast(pl.Int64)
    income = _rnd(j, s + 20, 0, 500_000)
    grade = (_rnd(j, s + 22, 0, 11) - 7).clip(0, 4)
    types = pl.Series(DISABILITY_TYPES).gather(_rnd(j, s + 23, 0, len(DISABILITY_TYPES) - 1))
    m = m.select(
        "household_id",
        ("m" + pl.col("_i").cast(pl.String)).alias("member_id"),
    ).with_columns(
        age=_rnd(j, s + 21, 0, 95),
        sex=pl.Series(["male", "female", None]).gather(_rnd(j, s + 36, 0, 2)),
        income=income,
        earned_income=income * _rnd(j, s + 24, 0, 100) // 100,
        disability_grade=grade,
        disability_type=types.zip_with(grade > 0, pl.Series(["none"] * len(j))),
        serious_illness=_chance(j, s + 25, 10),
        student=_chance(j, s + 26, 20),
        labor_capacity=_chance(j, s + 27, 70),
        adl_failed=_rnd(j, s + 28, 0, 6),
        has_supporter=_chance(j, s + 29, 70),
        orphan=_chance(j, s + 30, 5),
        de_facto_unsupported=_chance(j, s + 31, 5),
        co_resident=_chance(j, s + 32, 90),
        refused_work=_chance(j, s + 33, 5),
        childless=_chance(j, s + 34, 20),
        institutional=_chance(j, s + 35, 10),
        relation=pl.Series(RELATIONS, dtype=pl.String).gather(
            _rnd(j, s + 37, 0, len(RELATIONS) - 1)),
        employed=_chance(j, s + 38, 20),
    )
    return (hh.drop("_n").cast(HOUSEHOLD_SCHEMA).select(list(HOUSEHOLD_SCHEMA)),
            m.cast(MEMBER_SCHEMA).select(list(MEMBER_SCHEMA)))
