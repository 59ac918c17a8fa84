"""备案审查's selection, pure: the draw at the rate is the application number's CRC-32 (redone
from the number alone), each risk rule of the table fires on its facts and only on them, and
the median needs enough decisions."""

from __future__ import annotations

import subprocess
import sys
import zlib
from pathlib import Path

from doudi.casework import filing_risk
from doudi.casework.filing_risk import Facts, Thresholds

ROOT = Path(__file__).resolve().parents[2]
PLAIN = Facts(decision="approved", amount_fen=100_000, median_fen=100_000, rules_eligible=None,
              decider_visited=False, decider_took_in=False)
NONE_DRAWN = Thresholds(sample_rate_bp=0, above_median_bp=5000)


def test_the_draw_is_the_number_s_crc32_against_the_rate():
    numbers = [f"SQ2026341002102{i:05d}" for i in range(10_000)]
    at_ten = [n for n in numbers if filing_risk.drawn(n, 1000)]
    assert at_ten == [n for n in numbers if zlib.crc32(n.encode()) % 10_000 < 1000]
    assert 850 <= len(at_ten) <= 1150  # about one in ten
    assert not any(filing_risk.drawn(n, 0) for n in numbers)
    assert all(filing_risk.drawn(n, 10_000) for n in numbers)
    # a higher rate keeps every filing a lower rate drew
    assert set(at_ten) <= {n for n in numbers if filing_risk.drawn(n, 2000)}


def test_a_plain_decision_fires_no_rule():
    found = filing_risk.assess("X", PLAIN, NONE_DRAWN)
    assert found.risks == () and not found.selected and found.reasons == []


def test_amount_above_the_median_by_the_rate():
    rule = filing_risk.BY_CODE["amount_above_median"]
    t = Thresholds(sample_rate_bp=0, above_median_bp=5000)  # 50 %
    at = Facts(**{**PLAIN.__dict__, "amount_fen": 150_000})
    above = Facts(**{**PLAIN.__dict__, "amount_fen": 150_001})
    assert not rule.fires(at, t) and rule.fires(above, t)  # exactly 1.5 × is not above
    assert not rule.fires(Facts(**{**above.__dict__, "median_fen": None}), t)
    assert not rule.fires(Facts(**{**above.__dict__, "decision": "refused"}), t)
    found = filing_risk.assess("X", above, t)
    assert found.selected and found.reasons == ["amount_above_median"]


def test_refusal_against_the_rules_and_one_person_doing_two_steps():
    refused = Facts(**{**PLAIN.__dict__, "decision": "refused", "amount_fen": None,
                       "rules_eligible": True})
    assert filing_risk.assess("X", refused, NONE_DRAWN).risks == ("refused_but_eligible",)
    unknown = Facts(**{**refused.__dict__, "rules_eligible": None})
    assert filing_risk.assess("X", unknown, NONE_DRAWN).risks == ()
    both = Facts(**{**PLAIN.__dict__, "decider_visited": True, "decider_took_in": True})
    assert filing_risk.assess("X", both, NONE_DRAWN).risks == ("decider_visited",
                                                                "decider_took_in")


def test_sampled_comes_first_among_the_reasons():
    both = Facts(**{**PLAIN.__dict__, "decider_visited": True})
    found = filing_risk.assess("X", both, Thresholds(10_000, 5000))
    assert found.reasons == ["sampled", "decider_visited"]
    assert filing_risk.reason_labels(found.reasons) == ["随机抽中", "审批人与入户调查人为同一人"]


def test_median_needs_enough_decisions_and_is_a_decided_amount():
    assert filing_risk.median([5, 1, 3], 3) == 3
    assert filing_risk.median([4, 1, 3, 2], 3) == 2  # the lower middle
    assert filing_risk.median([1, 2], 3) is None
    assert filing_risk.median([], 0) is None


def test_every_rule_is_labelled_and_reads_declared_keys():
    from doudi.rules.parameters import LABELS

    assert len({r.code for r in filing_risk.RULES}) == len(filing_risk.RULES)
    for rule in filing_risk.RULES:
        assert rule.label and all(key in LABELS for key in rule.keys)


def test_the_risk_table_imports_no_django():
    code = ("import sys\nimport doudi.casework.filing_risk\n"
            "assert not [m for m in sys.modules if m.split('.')[0] == 'django']\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env={"PYTHONPATH": str(ROOT / "src")})
    assert done.returncode == 0, done.stderr
