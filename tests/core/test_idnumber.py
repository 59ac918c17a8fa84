import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doudi.core import idnumber

# A published example of the GB 11643 check: 11010519491231002 → X
KNOWN = "11010519491231002X"


def test_known_id_parses():
    facts = idnumber.parse(KNOWN)
    assert facts.birth_date == dt.date(1949, 12, 31)
    assert facts.sex == "F"  # 17th digit 2 is even
    assert facts.region_code == "110105"


def test_lowercase_and_fullwidth_are_normalised_not_fixed():
    assert idnumber.parse("11010519491231002x").id_number == KNOWN
    assert idnumber.parse("１１０１０５１９４９１２３１００２X").id_number == KNOWN


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("11010519491231002", "18位"),
        ("11010519491231002Y", "末位"),
        ("110105194912310021", "校验码错误"),
        ("110105194902300021", "出生日期"),
        ("110105299901010021", "不合理"),
        ("", "18位"),
    ],
)
def test_bad_ids_are_rejected_with_reason(raw, reason):
    with pytest.raises(idnumber.InvalidIdNumber, match=reason):
        idnumber.parse(raw, today=dt.date(2026, 11, 23))


dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2025, 12, 31))


@given(born=dates, seq=st.integers(0, 499), sex=st.sampled_from("MF"))
def test_made_ids_round_trip(born, seq, sex):
    value = idnumber.make("341002", born, seq, sex)
    facts = idnumber.parse(value)
    assert (facts.birth_date, facts.sex, facts.region_code) == (born, sex, "341002")


@given(born=dates, seq=st.integers(0, 499), pos=st.integers(0, 16), delta=st.integers(1, 9))
def test_any_single_digit_change_is_caught(born, seq, pos, delta):
    value = idnumber.make("341002", born, seq, "M")
    digit = (int(value[pos]) + delta) % 10
    changed = value[:pos] + str(digit) + value[pos + 1 :]
    assert not idnumber.is_valid(changed)


@pytest.mark.parametrize("digits", ["٣٤١٠٠٢١٩٨٠٠٥١٧٠٠١٠", "34100219800517001²"])
def test_only_ascii_digits(digits):
    with pytest.raises(idnumber.InvalidIdNumber):
        idnumber.parse(digits)
