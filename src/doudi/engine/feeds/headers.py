"""Finding a feed's columns in a department's header row (表头识别).

Headers are compared after normalising what departments vary without meaning to: spaces,
全角/半角 brackets and a leading "*" that marks a required column. A trailing "(万元)"-style
unit is not dropped: it is read (`units`) and scales the column's values, or refuses them.
An explicit `mapping` (field key → header, from the UI's column-mapping step) wins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from doudi.engine.feeds.feedspec import FeedSpec, FieldSpec
from doudi.engine.feeds.units import UNIT_KINDS, Scale, known_unit, scale_for

_BRACKETS = str.maketrans({"（": "(", "）": ")", "【": "(", "】": ")", "［": "(", "］": ")"})
_UNIT = re.compile(r"^(.*?)\(([^()]*)\)$")


def _squeeze(header: str) -> str:
    return re.sub(r"\s+", "", str(header or "").translate(_BRACKETS)).lstrip("*＊")


def split_header(header: str) -> tuple[str, str | None]:
    """(name, unit): "注册资本（万元）" → ("注册资本", "万元"); a header without a trailing
    bracket has no unit (None)."""
    text = _squeeze(header)
    m = _UNIT.match(text)
    if m and m[1]:
        return m[1], m[2]
    return text, None


def normalise_header(header: str) -> str:
    """The header as compared: spaces, 全角 brackets and a leading "*" ignored, lower-cased."""
    return _squeeze(header).lower()


def _base(header: str) -> str:
    return split_header(header)[0].lower()


@dataclass(frozen=True)
class HeaderMatch:
    columns: dict[str, int]  # field key → column position in the file
    missing_required: tuple[str, ...]  # field keys
    missing_optional: tuple[str, ...]
    unused: tuple[str, ...]  # the file's headers no field took
    scales: dict[str, Scale] = field(default_factory=dict)  # field key → unit scale
    unit_errors: dict[str, str] = field(default_factory=dict)  # field key → why not readable

    @property
    def ok(self) -> bool:
        return not self.missing_required


def match_headers(headers: Sequence[str], spec: FeedSpec,
                  mapping: Mapping[str, str] | None = None) -> HeaderMatch:
    """Fields to columns: a header equal to a field's label or alias first; then, for a field
    whose values carry a unit, a header naming the field with another unit in brackets
    ("注册资本(万元)" for 注册资本(元)), whose unit then scales the column or, unknown,
    refuses it (`unit_errors`). A bracket on a text, ID or date column is only a note."""
    position: dict[str, int] = {}
    by_base: dict[str, int] = {}
    for n, h in enumerate(headers):
        position.setdefault(normalise_header(h), n)
        by_base.setdefault(_base(h), n)
    columns: dict[str, int] = {}

    def wanted(f: FieldSpec) -> list[str]:
        return [mapping[f.key]] if mapping and mapping.get(f.key) else list(f.headers)

    for f in spec.fields:  # exact headers first, so that a base match cannot take them
        for header in wanted(f):
            n = position.get(normalise_header(header))
            if n is not None and n not in columns.values():
                columns[f.key] = n
                break
    for f in spec.fields:
        if f.key in columns:
            continue
        for header in wanted(f):
            n = by_base.get(_base(header))
            if n is None or n in columns.values():
                continue
            unit = split_header(headers[n])[1]
            if f.type in UNIT_KINDS or unit is None or known_unit(unit):
                columns[f.key] = n
                break
    scales: dict[str, Scale] = {}
    errors: dict[str, str] = {}
    for key, n in columns.items():
        f = spec.field(key)
        if f.type not in UNIT_KINDS:
            continue
        unit = split_header(headers[n])[1]
        label_unit = split_header(f.label)[1]
        if unit is not None and label_unit is not None and unit == label_unit:
            unit = None  # the field's own label: its values are in the field's unit
        got = scale_for(f.type, f.unit or label_unit or "", unit)
        if isinstance(got, str):
            errors[key] = f"列“{str(headers[n]).strip()}”：{got}"
        else:
            scales[key] = got
    missing = [f for f in spec.fields if f.key not in columns]
    taken = set(columns.values())
    return HeaderMatch(
        columns=columns,
        missing_required=tuple(f.key for f in missing if f.required),
        missing_optional=tuple(f.key for f in missing if not f.required),
        unused=tuple(str(h) for n, h in enumerate(headers) if n not in taken and str(h).strip()),
        scales=scales, unit_errors=errors)


def find_header_row(rows: Sequence[Sequence[str]], spec: FeedSpec,
                    mapping: Mapping[str, str] | None = None) -> int:
    """The index (among the first rows given) of the row that names the most of the spec's
    fields — a sheet often has a title row or two above its header."""
    best, best_n = 0, -1
    for i, row in enumerate(rows):
        n = len(match_headers([str(c or "") for c in row], spec, mapping).columns)
        if n > best_n:
            best, best_n = i, n
    return best
