"""Monitoring compares a programme paid in parts (两项补贴) part by part: a person receiving the
living subsidy who becomes eligible for the care subsidy (a certificate now says 一级) is
应保未保 of the care subsidy only; a part that no longer applies is 不应保而保 of that part; an
enrollment that does not say its part still covers both, as before parts were told apart."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from doudi.engine.monitoring import indicators as ind
from doudi.engine.monitoring.run import ENROLLMENT_SCHEMA, Inputs, run
from doudi.programmes import catalogue
from doudi.rules.frames import HOUSEHOLD_DEFAULTS, HOUSEHOLD_SCHEMA, MEMBER_DEFAULTS
from doudi.rules.parameters import ParameterSet
from doudi.rules.shipped import shipped

DAY = dt.date(2026, 11, 2)
PROGRAMME = next(p for p in catalogue.programmes() if len(p.parts) == 2)
LIVING, CARE = (u.code for u in PROGRAMME.parts)
AREA = "341002102201"


def _household(hid: int) -> dict:
    return {**HOUSEHOLD_DEFAULTS, "household_id": hid, "area_code": AREA, "hukou": "urban",
            "annual_rigid_expenditure": 0, "annual_medical_expense": 0}


def _member(hid: int, mid: int, grade: int, kind: str = "physical", income: int = 0) -> dict:
    return {**MEMBER_DEFAULTS, "household_id": hid, "member_id": mid, "age": 50,
            "income": income, "earned_income": income, "wage": income,
            "disability_grade": grade, "disability_type": kind if grade else "none",
            "id_number": f"ID{mid}"}


# (member, disability grade, what is enrolled): household 1 has no income (低保: the living
# subsidy applies to its disabled members), household 2 earns well (care subsidy only)
PEOPLE = [
    (1, 11, 3, [LIVING]),  # living only, receives it
    (1, 12, 1, [LIVING]),  # both apply, receives living: care missing
    (1, 13, 1, [PROGRAMME.code]),  # both apply, one enrollment not saying its part
    (1, 14, 0, [CARE]),  # no longer disabled: care no longer applies
    (1, 15, 2, [LIVING, CARE]),  # both, both received
    (2, 21, 2, [CARE]),  # care only, receives it
    (2, 22, 1, []),  # care only, receives nothing
    (2, 23, 3, [CARE]),  # grade 3 physical: care does not apply
]


def _inputs(feeds: dict[str, pl.DataFrame] | None = None) -> Inputs:
    h = pl.DataFrame([_household(1), _household(2)]).cast(
        {k: v for k, v in HOUSEHOLD_SCHEMA.items() if k != "household_id"})
    members = pl.DataFrame([_member(hid, mid, grade, income=800_000 if hid == 2 else 0)
                            for hid, mid, grade, _ in PEOPLE])
    enrollments = pl.DataFrame(
        [(hid, mid, code, "active", 9_000) for hid, mid, _, codes in PEOPLE for code in codes],
        schema=ENROLLMENT_SCHEMA, orient="row")
    return Inputs(households=h, members=members, enrollments=enrollments, feeds=feeds or {},
                  parameters=ParameterSet(shipped()), today=DAY)


def _found(out) -> set[tuple[str, int, str]]:
    w = out.warnings.filter(pl.col("kind").is_in(["uncovered_eligible", "covered_ineligible"]))
    return {(k, m, p) for k, m, p in w.select("kind", "member_id", "programme").iter_rows()
            if p in {PROGRAMME.code, LIVING, CARE}}


def test_each_part_is_compared_on_its_own() -> None:
    found = _found(run(_inputs(), ind.shipped()))
    assert found == {
        ("uncovered_eligible", 12, CARE),  # receives living, eligible for care
        ("uncovered_eligible", 22, CARE),  # not the living subsidy: not in a 低保 family
        ("covered_ineligible", 14, CARE),
        ("covered_ineligible", 23, CARE),
    }


def test_a_grade_raised_to_first_raises_the_missing_part_only() -> None:
    feed = {"disability_certificate": pl.DataFrame({
        "id_number": ["ID11"], "grade": ["一级"], "category": ["肢体"], "status": ["有效"]})}
    out = run(_inputs(feed), ind.shipped())
    new = _found(out) - _found(run(_inputs(), ind.shipped()))
    assert new == {("uncovered_eligible", 11, CARE)}
    row = out.warnings.filter((pl.col("member_id") == 11)
                              & (pl.col("kind") == "uncovered_eligible")).row(0, named=True)
    assert '"disability.care_eligible":true' in row["evidence"]


@pytest.mark.parametrize("ended", [LIVING, CARE])
def test_ending_one_part_leaves_the_other_covered(ended: str) -> None:
    i = _inputs()
    i.enrollments = i.enrollments.filter(~((pl.col("member_id") == 15)
                                           & (pl.col("programme") == ended)))
    found = {f for f in _found(run(i, ind.shipped())) if f[1] == 15}
    assert found == {("uncovered_eligible", 15, ended)}


def test_warnings_name_the_part() -> None:
    from doudi.monitoring.services import _summary

    shipped_uncovered = next(i for i in ind.shipped() if i.key == "uncovered_eligible")
    assert _summary(shipped_uncovered, CARE).endswith(PROGRAMME.parts[1].label)
    assert catalogue.enrolled_label(PROGRAMME.code, CARE) == \
        f"{PROGRAMME.short_label}·{PROGRAMME.parts[1].label}"
    assert catalogue.enrolled_label(PROGRAMME.code) == PROGRAMME.label
