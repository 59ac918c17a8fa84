"""转介类别: the kinds of referral as data (kinds.yaml), read once. Pure: no Django."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

SHIPPED = Path(__file__).with_name("kinds.yaml")


@dataclass(frozen=True)
class Kind:
    code: str
    label: str  # 医疗救助
    department: str  # the receiving department, as `User.department` spells it (医保)
    answer_days: int  # working days to answer
    disposition: str  # the warning disposition that refers to it (refer_medical)


@cache
def shipped() -> dict[str, Kind]:
    """Every kind by code, in the file's order; a malformed file fails loudly."""
    data = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    out: dict[str, Kind] = {}
    for row in data["kinds"]:
        kind = Kind(code=str(row["code"]), label=str(row["label"]),
                    department=str(row["department"]), answer_days=int(row["answer_days"]),
                    disposition=str(row.get("disposition") or ""))
        if kind.code in out or kind.answer_days < 1 or not kind.department:
            raise ValueError(f"kinds.yaml: bad or repeated kind {kind.code!r}")
        out[kind.code] = kind
    return out


def get(code: str) -> Kind | None:
    return shipped().get(code)


def choices() -> list[tuple[str, str]]:
    return [(k.code, k.label) for k in shipped().values()]


def for_disposition(disposition: str) -> Kind | None:
    """The kind a warning's 转介 disposition refers to (None for any other disposition)."""
    return next((k for k in shipped().values() if k.disposition == disposition), None)


def departments() -> frozenset[str]:
    return frozenset(k.department for k in shipped().values())
