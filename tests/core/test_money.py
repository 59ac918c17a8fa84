"""The one parser of typed amounts: every valid fen round-trips through its yuan text; text with
an exponent, an infinity or NaN, a third non-zero decimal or above the ceiling is refused with
an `AmountError` naming the field, and nothing else is ever raised."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doudi.core.errors import ServiceError
from doudi.core.money import (
    BUDGET_MAX_FEN,
    MAX_FEN,
    MONTHLY_MAX_FEN,
    AmountError,
    parse_optional_yuan,
    parse_yuan,
    yuan_text,
)

FULL_WIDTH = str.maketrans("0123456789.,-", "０１２３４５６７８９．，－")


def grouped(fen: int) -> str:
    """123456789 → "1,234,567.89"."""
    whole, cents = divmod(abs(fen), 100)
    return f"{'-' if fen < 0 else ''}{whole:,}.{cents:02d}"


def refused(text: str, **kwargs) -> AmountError:
    with pytest.raises(AmountError) as info:
        parse_yuan(text, field="amount", **kwargs)
    assert info.value.field == "amount" and info.value.message
    assert isinstance(info.value, ServiceError) and isinstance(info.value, ValueError)
    return info.value


@given(st.integers(min_value=0, max_value=MAX_FEN))
def test_every_fen_round_trips_through_its_yuan_text(fen: int) -> None:
    assert parse_yuan(yuan_text(fen), field="amount") == fen
    assert parse_yuan(grouped(fen), field="amount") == fen
    assert parse_yuan(f"  {grouped(fen).translate(FULL_WIDTH)}\u3000", field="amount") == fen
    whole, cents = divmod(fen, 100)
    if cents == 0:
        assert parse_yuan(str(whole), field="amount") == fen
    assert parse_yuan(f"{yuan_text(fen)}000", field="amount") == fen  # trailing zeros only


@given(st.integers(min_value=-MAX_FEN, max_value=MAX_FEN))
def test_negative_amounts_only_where_allowed(fen: int) -> None:
    assert parse_yuan(yuan_text(fen), field="amount", allow_negative=True) == fen
    if fen < 0:
        assert "不能为负数" in refused(yuan_text(fen)).message


@given(st.integers(min_value=0, max_value=10**15), st.integers(min_value=1, max_value=10**15))
def test_above_the_ceiling_is_refused(fen: int, ceiling: int) -> None:
    if fen <= ceiling:
        assert parse_yuan(yuan_text(fen), field="amount", max_fen=ceiling) == fen
    else:
        assert "不能超过" in refused(yuan_text(fen), max_fen=ceiling).message
        negative = refused(yuan_text(-fen), max_fen=ceiling, allow_negative=True)
        assert "不能超过" in negative.message


@given(st.integers(min_value=0, max_value=10**9), st.text("0123456789", max_size=6),
       st.sampled_from("123456789"))
def test_a_third_decimal_is_refused(whole: int, middle: str, last: str) -> None:
    text = f"{whole}.{('00' + middle)[-2:] if len(middle) < 2 else middle}{last}"
    assert "最多两位小数" in refused(text).message


@given(st.from_regex(r"\A[+-]?[0-9]{0,6}(\.[0-9]{0,3})?[eE][+-]?[0-9]{1,4}\Z"))
def test_exponents_are_refused(text: str) -> None:
    reason = refused(text).message
    assert "科学计数法" in reason or "应为数值" in reason


@given(st.sampled_from(["inf", "Infinity", "-Infinity", "+inf", "NaN", "nan", "-nan", "sNaN",
                        "∞", "ＩＮＦ", "ｎａｎ"]), st.sampled_from(["", " ", "\u3000"]))
def test_infinities_and_nan_are_refused(word: str, pad: str) -> None:
    assert "有限数值" in refused(f"{pad}{word}{pad}").message


@given(st.text(max_size=60))
def test_any_text_is_an_amount_or_an_amount_error(text: str) -> None:
    try:
        fen = parse_yuan(text, field="amount")
    except AmountError as exc:
        assert exc.field == "amount" and exc.message
    else:
        assert isinstance(fen, int) and 0 <= fen <= MAX_FEN


@pytest.mark.parametrize(("text", "says"), [
    ("", "请填写金额"), ("   ", "请填写金额"), (None, "请填写金额"),
    ("1e30", "科学计数法"), ("1E+3", "科学计数法"), ("１ｅ５", "科学计数法"),
    ("Infinity", "有限数值"), ("NaN", "有限数值"),
    ("1.005", "金额最多两位小数"), ("-5", "不能为负数"), ("10000000.01", "不能超过 10,000,000 元"),
    ("9" * 300, "应为数值"), ("9" * 30, "不能超过"),
    ("abc", "应为数值"), ("12,34", "应为数值"), ("1,2345", "应为数值"), (".", "应为数值"),
    ("1.2.3", "应为数值"), ("--5", "应为数值"), ("0x10", "应为数值"), ("1_000", "应为数值"),
    ("٣", "应为数值"),
])
def test_reasons_a_clerk_can_act_on(text: str | None, says: str) -> None:
    with pytest.raises(AmountError) as info:
        parse_yuan(text, field="amount")
    assert says in info.value.message
    assert info.value.field == "amount"


def test_the_label_names_the_input_and_the_ceilings_are_ordered() -> None:
    with pytest.raises(AmountError, match="拨付金额不能为负数") as info:
        parse_yuan("-1", field="amount", label="拨付金额")
    assert info.value.field == "amount"
    assert MONTHLY_MAX_FEN < MAX_FEN < BUDGET_MAX_FEN
    assert parse_yuan("1,234.5", field="a") == 123_450
    assert parse_yuan("+7", field="a") == 700 and parse_yuan(".5", field="a") == 50
    assert parse_yuan("-0", field="a") == 0
    assert parse_optional_yuan("", field="a") is None
    assert parse_optional_yuan(" \u3000", field="a") is None
    assert parse_optional_yuan("12", field="a") == 1200
    with pytest.raises(AmountError):
        parse_optional_yuan("1e3", field="a")
