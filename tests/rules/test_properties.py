"""Properties of the engine over random households (hypothesis): amounts are never negative,
more income never means more 低保, a household's outcome does not depend on the batch it is
evaluated in, and eligibility agrees with its exact integer thresholds."""

import copy

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doudi.rules.engine import Result, evaluate
from doudi.rules.frames import from_records, yuan_to_fen
from doudi.rules.scenarios import outputs
from doudi.rules.shipped import shipped
from tests.rules.generate import DAY, background, households, yuan

BATCH_SIZE = 50_000
FAST = settings(max_examples=100, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# each example evaluates a 50,000-household batch (~1 s), so only a few
BIG = settings(max_examples=3, deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

HOUSEHOLD_AMOUNTS = ("dibao.amount", "dibao.base", "dibao.addon", "dibao.gap_amount",
                     "single_person.amount", "single_person.each", "linshi.amount", "linshi.cap")
MEMBER_AMOUNTS = ("tekun.amount", "tekun.basic", "tekun.care", "disability.living_amount",
                  "disability.care_amount", "disability.total", "child.amount")


def batch_of(draw_list: list[dict]) -> list[dict]:
    """Give drawn households distinct ids."""
    return [{**hh, "id": f"h{i}"} for i, hh in enumerate(draw_list)]


def evaluate_records(records: list[dict]) -> Result:
    return evaluate(*from_records(records), shipped(), DAY)


def check_amounts_non_negative(result: Result) -> None:
    h, m = result.households, result.members
    for column in HOUSEHOLD_AMOUNTS:
        assert h.get_column(column).null_count() == 0, column
        assert h.get_column(column).min() >= 0, column
    taper = h.get_column("taper.amounts").explode().drop_nulls()
    assert taper.len() == 0 or taper.min() >= 0
    for column in MEMBER_AMOUNTS:
        assert m.get_column(column).null_count() == 0, column
        assert m.height == 0 or m.get_column(column).min() >= 0, column


def check_eligibility_bounds(result: Result) -> None:
    h = result.households
    for row in h.select("household_id", "dibao.eligible", "edge.eligible", "dibao.family_income",
                        "standard", "dibao.members").iter_rows(named=True):
        income, standard, n = row["dibao.family_income"], row["standard"], row["dibao.members"]
        assert all(isinstance(v, int) for v in (income, standard, n))
        if row["dibao.eligible"]:
            assert n > 0
            assert income < standard * n, row
        if row["edge.eligible"]:
            assert not row["dibao.eligible"], row
    assert h.schema["dibao.family_income"].is_integer() and h.schema["standard"].is_integer()


# ---------------------------------------------------------------- (a) and (d)


@FAST
@given(st.lists(households(), min_size=1, max_size=6))
def test_amounts_never_negative_and_eligibility_within_exact_thresholds(drawn):
    result = evaluate_records(batch_of(drawn))
    check_amounts_non_negative(result)
    check_eligibility_bounds(result)


# ---------------------------------------------------------------- (b) monotone in income


@st.composite
def raised_income(draw):
    household = draw(households(min_members=1))
    which = draw(st.integers(0, len(household["members"]) - 1))
    extra = draw(st.integers(1, 300_000))
    richer = copy.deepcopy(household)
    member = richer["members"][which]
    member["income"] = yuan(yuan_to_fen(member["income"], "income") + extra)  # earned unchanged
    return household, richer


@FAST
@given(st.lists(raised_income(), min_size=1, max_size=3))
def test_more_unearned_income_never_raises_dibao(pairs):
    records = []
    for i, (before, after) in enumerate(pairs):
        records += [{**before, "id": f"b{i}"}, {**after, "id": f"a{i}"}]
    h = evaluate_records(records).households
    rows = {r["household_id"]: r for r in h.select(
        "household_id", "dibao.eligible", "dibao.amount", "dibao.family_income"
    ).iter_rows(named=True)}
    for i in range(len(pairs)):
        before, after = rows[f"b{i}"], rows[f"a{i}"]
        assert after["dibao.family_income"] >= before["dibao.family_income"]
        assert after["dibao.amount"] <= before["dibao.amount"], (before, after)
        assert before["dibao.eligible"] or not after["dibao.eligible"], (before, after)


# ---------------------------------------------------------------- (c) batch independence


@pytest.fixture(scope="module")
def big_batch() -> tuple[pl.DataFrame, pl.DataFrame]:
    return background(BATCH_SIZE, seed=7)


def test_background_batch_shape_and_invariants(big_batch):
    h, m = big_batch
    assert h.height == BATCH_SIZE
    assert h.get_column("household_id").n_unique() == BATCH_SIZE
    assert m.group_by("household_id").len().get_column("len").is_between(1, 6).all()
    result = evaluate(h, m, shipped(), DAY)
    check_amounts_non_negative(result)
    check_eligibility_bounds(result)
    # the random batch exercises the programmes, not just the no-benefit path
    for column in ("dibao.eligible", "edge.eligible", "single_person.eligible", "taper.eligible",
                   "hardship.eligible", "linshi.eligible"):
        assert result.households.get_column(column).sum() > 0, column
    for column in ("tekun.eligible", "child.eligible", "disability.eligible"):
        assert result.members.get_column(column).sum() > 0, column


def test_members_in_household_order_or_shuffled_give_the_same_frames():
    """Members listed household by household reach their household by where their run starts,
    shuffled ones by key: the frames are the same (a batch large enough to group on the
    streaming engine, relations to the head and areas with different lists included)."""
    h, m = background(12_000, seed=5)
    in_order = evaluate(h, m, shipped(), DAY)
    shuffled = evaluate(h, m.sample(fraction=1.0, shuffle=True, seed=2), shipped(), DAY)
    assert in_order.households.equals(shuffled.households)
    keys = ["household_id", "member_id"]
    assert in_order.members.sort(keys).equals(shuffled.members.sort(keys))
    # a household fact is reached, not only its false side: 老残一体
    assert in_order.members.get_column("disability.elderly_with_disabled").sum() > 0


@BIG
@given(drawn=st.lists(households(), min_size=4, max_size=6),
       position=st.integers(0, BATCH_SIZE))
def test_a_household_alone_equals_the_same_household_in_a_large_batch(big_batch, drawn, position):
    records = batch_of(drawn)
    bg_h, bg_m = big_batch
    own_h, own_m = from_records(records)
    # the drawn households go somewhere in the middle of the batch (their members too; member
    # rows need not follow household order)
    h = pl.concat([bg_h.slice(0, position), own_h, bg_h.slice(position)])
    m = pl.concat([bg_m.slice(0, position * 3), own_m, bg_m.slice(position * 3)])
    together = evaluate(h, m, shipped(), DAY)
    assert together.households.height == BATCH_SIZE + len(records)
    for record in records:
        alone = evaluate_records([record])
        assert outputs(together, record["id"]) == outputs(alone, record["id"])
