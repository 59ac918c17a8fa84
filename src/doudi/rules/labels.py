"""Words for what the rules core names by code (参数名称、取值与分组的中文): the one lookup that
pages, forms, explanations and documents use, so a person reads 城镇低保标准 and 四舍五入, never
`dibao.standard.urban` or `half_up`.

Each word is declared once, beside what it names: a key's name in `parameters.LABELS`, a text
choice's in `parameters.TEXT_CHOICES`, the entries of a list or table parameter in the programme
module that reads it (`Programme.choices`), the name variants of department data beside their
matching (`doudi.engine.feeds.names.VARIANTS`). This module only gathers them.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from doudi.engine.feeds.names import VARIANTS
from doudi.rules.parameters import (
    LABELS,
    TEXT_CHOICES,
    UNITS,
    WORK_GROUPS,
    Parameter,
    display_value,
    label_of,
)
from doudi.rules.programmes import PROGRAMMES

OTHER_GROUP = "其他"
# parameters read outside the programmes' rules modules, whose entries are named elsewhere
_OTHER_CHOICES: dict[str, Mapping[str, str]] = {"exchange.name_variants": VARIANTS}

parameter_label = label_of


def unit_label(unit: str) -> str:
    return UNITS[unit][0] if unit in UNITS else unit


def _choices() -> dict[str, Mapping[str, str]]:
    found: dict[str, Mapping[str, str]] = dict(_OTHER_CHOICES)
    for programme in PROGRAMMES.values():
        found.update(programme.choices)
    found.update(TEXT_CHOICES)
    return found


def value_words(key: str) -> Mapping[str, str]:
    """The entries of a key's value (list items, table rows, text choices) → 中文."""
    return _choices().get(key, {})


def value_label(key: str, code: str) -> str:
    return value_words(key).get(code, code)


def value_code(key: str, word: str) -> str:
    """What a person typed (the Chinese word or the code itself) → the code stored."""
    word = word.strip()
    return next((c for c, w in value_words(key).items() if w == word), word)


def value_text(p: Parameter) -> str:
    """The value as a person reads it, with its unit: 1,165.00 元/人·月, 四舍五入, 学生、老年人."""
    return display_value(p, value_words(p.key))


def bare_value_text(p: Parameter) -> str:
    """The value without its unit, for a page that shows the unit in a column of its own."""
    text, suffix = value_text(p), f" {p.unit_label}"
    return text[: -len(suffix)] if text.endswith(suffix) else text


def measure_unit(p: Parameter) -> str:
    """The unit a value is counted in (元/人·月, 工作日, 倍), "" for a value that is a word, a list,
    a table, yes/no or a percentage (which carries its own sign)."""
    return p.unit_label if p.kind in {"money", "integer"} or p.unit == "multiple" else ""


def group_of(key: str) -> str:
    """The programme or area of work a key belongs to (dibao.standard.urban → 最低生活保障)."""
    head = key.split(".", 1)[0]
    programme = PROGRAMMES.get(head)
    return programme.label if programme else WORK_GROUPS.get(head, OTHER_GROUP)


def group_order() -> list[str]:
    return [p.label for p in PROGRAMMES.values()] + list(WORK_GROUPS.values()) + [OTHER_GROUP]


def grouped(keys: list[str]) -> list[tuple[str, list[str]]]:
    """Keys by group in the catalogue's order, each group in the order `LABELS` declares them
    (the standard first, then how it is applied), an undeclared key last."""
    order = {key: n for n, key in enumerate(LABELS)}
    groups: dict[str, list[str]] = {}
    for key in sorted(keys, key=lambda k: (order.get(k, len(order)), k)):
        groups.setdefault(group_of(key), []).append(key)
    ranks = group_order()
    return sorted(groups.items(), key=lambda item: ranks.index(item[0]))


@lru_cache(maxsize=1)
def known_keys() -> frozenset[str]:
    """Every declared key: what a page must never show as text."""
    return frozenset(LABELS)


def known_codes() -> frozenset[str]:
    """Every declared value code (half_up, hukou, severe_disability …): what a page must never
    show as text either. `None` entries (a missing value) are left out."""
    return frozenset(c for words in _choices().values() for c in words if isinstance(c, str))
