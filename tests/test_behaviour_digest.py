"""The same synthetic district gives the same rules results, warnings, rosters and statistics
as the code the expected digests were made on (`tests/behaviour_digest.py`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests import behaviour_digest as bd

PROGRAMMES = ("dibao", "edge", "hardship", "tekun", "child", "disability_living",
              "disability_care")


def _rows(section: bd.Section) -> list[dict]:
    return [json.loads(line) for line in section.lines]


def _not_vacuous(d: bd.Digests) -> None:
    s = d.sections
    enrolled = {r["programme"] for r in _rows(s["synth_enrolments"])}
    assert enrolled >= set(PROGRAMMES), f"programmes nobody is enrolled in: {enrolled}"
    for flag in ("dibao.eligible", "edge.eligible", "hardship.eligible", "single_person.eligible",
                 "tekun.eligible", "child.eligible", "disability.care_eligible",
                 "disability.living_eligible"):
        assert any(r["values"].get(flag) for r in _rows(s["rules_results"])), flag
    assert {"risk", "uncovered_eligible", "covered_ineligible", "review_due"} <= set(
        d.facts["warning_kinds"]), d.facts["warning_kinds"]
    assert len(d.facts["warning_indicators"]) >= 8, d.facts["warning_indicators"]
    assert d.facts["reviews_scheduled"] > 0
    for month in ("roster_2026_10", "roster_2026_11"):
        paid = {r["programme"] for r in _rows(s[month])}
        assert paid >= {"dibao", "tekun", "child", "disability"}, (month, paid)
        # 两项补贴 paid part by part: each subsidy its own line
        parts = {r["part"] for r in _rows(s[month]) if r["programme"] == "disability"}
        assert parts == {"disability_living", "disability_care"}, (month, parts)
    assert d.facts["failed_lines"] > 0 and d.facts["arrears_lines"] > 0
    assert d.facts["recovery_lines"] > 0
    assert {c["kind"] for c in d.facts["changes"]} == {"increase", "decrease", "stop"}
    totals = {(r["month"], r["figure"]): r["value"] for r in _rows(s["statistics"])
              if r["child"] == "*"}
    for figure in ("covered_households", "covered_persons", "dibao_households",
                   "tekun_persons", "edge_households", "warnings_raised", "warnings_overdue"):
        assert totals[("2026-11-01", figure)], figure
    assert totals[("2026-10-01", "paid_fen")] and totals[("2026-10-01", "paid_lines")]
    assert all(s[name].rows for name in s), [name for name in s if not s[name].rows]


@pytest.mark.django_db
def test_the_synthetic_district_behaves_as_recorded(users, shipped_parameters,
                                                    shipped_feed_types, shipped_bank_layouts,
                                                    tmp_path: Path) -> None:
    digests = bd.compute(tmp_path / "synth", users.district_officer, users.district_approver)
    if os.environ.get(bd.DUMP_ENV):
        digests.dump(Path(os.environ[bd.DUMP_ENV]))
    _not_vacuous(digests)
    if os.environ.get(bd.WRITE_ENV):
        bd.write_expected(digests)
        return
    recorded = bd.expected()
    assert recorded["scenario"] == bd.SCENARIO, "the scenario changed: regenerate with --write"
    differ = bd.differences(recorded["sections"], digests.summary())
    assert not differ, "behaviour changed in: " + "; ".join(differ)


def test_a_digest_ignores_order_and_sees_a_changed_value() -> None:
    rows = [{"household": "2", "amount_fen": 100}, {"household": "1", "amount_fen": 50}]
    same = bd.Section.of(reversed(rows))
    assert bd.Section.of(rows).sha256 == same.sha256
    changed = bd.Section.of([rows[0], {**rows[1], "amount_fen": 51}])
    assert changed.sha256 != same.sha256
    assert bd.differences({"a": same.summary()}, {"a": changed.summary()})[0].startswith("a:")
    with pytest.raises(TypeError):
        bd.canonical({"at": bd.NOW})
