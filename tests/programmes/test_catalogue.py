"""The programme catalogue is the one declaration of every programme: no other module restates
which programmes exist or what they are, and each entry agrees with its rules module."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from doudi.programmes import catalogue
from doudi.rules.programmes import PROGRAMMES

SRC = Path(__file__).resolve().parents[2] / "src" / "doudi"

# Strings equal to a programme code that mean something else (the registry's category and
# relation vocabularies, department feed sections, enrollment event kinds, synthetic tiers) or
# that a rules module's input format names. Each is (file, literal) with the reason.
HOMONYMS: dict[tuple[str, str], str] = {
    ("registry/categories.py", "dibao"): "registry category vocabulary",
    ("registry/categories.py", "tekun"): "registry category vocabulary",
    ("registry/categories.py", "edge"): "registry category vocabulary",
    ("registry/categories.py", "hardship"): "registry category vocabulary",
    ("registry/choices.py", "child"): "relation to the head: 子女",
    ("web/views.py", "child"): "relation 子女 of a new member row; SQL alias of a child area",
    ("synth/population.py", "child"): "relation 子女",
    ("synth/population.py", "edge"): "synthetic income tier",
    ("synth/population.py", "hardship"): "synthetic income tier",
    ("synth/seed.py", "child"): "relation 子女",
    ("synth/seed.py", "dibao"): "registry category of a seeded household",
    ("synth/seed.py", "edge"): "registry category of a seeded household",
    ("synth/seed.py", "hardship"): "registry category of a seeded household",
    ("synth/seed.py", "tekun"): "registry category of a seeded person",
    ("synth/feeds/build.py", "edge"): "synthetic income tier",
    ("care/plans.py", "tekun"): "registry category a care group is drawn from",
    ("engine/feeds/feedspec.py", "disability"): "department feed section 残疾人证",
    ("exchange/verification.py", "disability"): "verification report section 残疾",
    ("benefits/models.py", "taper"): "enrollment event kind / review outcome 渐退",
    ("benefits/reviews.py", "taper"): "review outcome 渐退",
    ("benefits/services.py", "taper"): "enrollment event kind 渐退",
    ("golive/models.py", "taper"): "historical decision kind 渐退",
    ("golive/words.py", "child"): "relation to the head 子女 of the old system's words",
    ("synth/old_system.py", "child"): "relation to the head 子女 of the export's words",
    ("golive/words.py", "taper"): "decision kind 渐退 of the old system's words",
    ("rules/explain.py", "linshi"): "the 临时救助 request type formatter of explanations",
    ("rules/frames.py", "linshi"): "the 临时救助 section of a scenario household",
    ("rules/frames.py", "child"): "relation to the head 子女 (a member input's codes)",
    ("rules/family.py", "child"): "relation to the head 子女 (who is whose parent)",
}


def _codes() -> set[str]:
    return ({p.code for p in catalogue.every()}
            | {u.code for p in catalogue.every() for u in p.parts})


def _literals() -> list[tuple[str, int, str]]:
    codes = _codes()
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        # the catalogue and the programmes' rules modules are where programmes are declared
        if rel.startswith(("programmes/", "rules/programmes/")) or "/migrations/" in rel:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in codes:
                found.append((rel, node.lineno, node.value))
    return found


def test_no_programme_code_literal_outside_the_catalogue() -> None:
    stray = [f"{rel}:{line}: {value!r}" for rel, line, value in _literals()
             if (rel, value) not in HOMONYMS]
    assert not stray, ("programme codes written outside the catalogue (derive the table from "
                       "doudi.programmes.catalogue instead):\n" + "\n".join(stray))


def test_every_homonym_is_still_needed() -> None:
    used = {(rel, value) for rel, _, value in _literals()}
    assert not set(HOMONYMS) - used, sorted(set(HOMONYMS) - used)


def test_templates_name_no_programme() -> None:
    codes = _codes()
    stray = []
    for path in sorted((SRC / "web" / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        stray += [f"{path.name}: {code}" for code in codes
                  if f'"{code}"' in text or f"'{code}'" in text]
    assert not stray, stray


@pytest.mark.parametrize("entry", catalogue.every(), ids=lambda e: e.code)
def test_entry_agrees_with_its_rules_module(entry: catalogue.Programme) -> None:
    declared = importlib.import_module(entry.rules).PROGRAMME
    assert declared.name == entry.code
    assert declared.level == entry.level
    assert entry.code in PROGRAMMES
    for part in entry.parts:  # a part's columns are the rules module's outputs
        assert part.eligible.startswith(f"{entry.code}.")
    if entry.compared_with:
        assert catalogue.get(entry.compared_with) is not None


def test_rules_run_in_catalogue_evaluation_order() -> None:
    order = sorted(catalogue.every(), key=lambda e: e.evaluation)
    assert list(PROGRAMMES) == [e.code for e in order]
    # a programme reads the results of those before it: 边缘 after 低保, 单人保 after 边缘
    names = list(PROGRAMMES)
    assert names.index("dibao") < names.index("edge") < names.index("single_person")


def test_derived_tables() -> None:
    """What the apps read, as the district work plan sets it."""
    assert catalogue.published() == {"dibao", "single_person", "tekun"}
    assert catalogue.category_setting() == {"dibao": "dibao", "edge": "edge",
                                            "hardship": "hardship", "tekun": "tekun"}
    assert catalogue.household_covering() == {"dibao", "edge", "hardship"}
    assert catalogue.counted_as("dibao") == ("dibao", "single_person")
    assert catalogue.compared_with("single_person") == "dibao"
    assert catalogue.compared_with("linshi") is None  # one-off: monitoring does not compare
    assert catalogue.cover_groups() == {"disability": ("disability_living", "disability_care")}
    assert catalogue.payment_codes()["single_person"] == catalogue.payment_codes()["dibao"]
    assert "taper" not in catalogue.labels()  # a rule, not something people apply for
    assert catalogue.label("disability_care") == "重度残疾人护理补贴"
    assert [u.code for u in catalogue.monitored_units()] == [
        "dibao", "edge", "hardship", "tekun", "child", "disability_living", "disability_care"]


def test_register_refuses_a_duplicate() -> None:
    with pytest.raises(ValueError):
        catalogue.register(catalogue.entry("dibao"))
    with pytest.raises(ValueError):
        catalogue.register(catalogue.Programme(
            "other", "其他", "其他", catalogue.HOUSEHOLD, None, 1,
            parts=(catalogue.Part("disability_care", "x", "x.eligible"),)))
    with pytest.raises(ValueError):
        catalogue.Programme("bad", "坏", "坏", "family", None, 1)
