"""Finding a feed's columns in a department's header row (表头识别).

Headers are compared after normalising what departments vary without meaning to: spaces,
全角/半角 brackets and a leading "*" that marks a required column. A trailing "(万元)"-style
unit is not dropped: it is read (`units`) and scales the column's values, or refuses them.
An explicit `mapping` (field key → header, from the UI's column-mapping step) wins.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
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


@dataclass(frozen=True)
class HeaderRows:
    """Where a sheet's header is: `at` (index of its first row among the rows given), `span`
    (1, or 2 for a two-row header), one combined header per column, and how many of the
    spec's fields it names."""

    at: int
    span: int
    headers: list[str]
    found: int


def _known(spec: FeedSpec, mapping: Mapping[str, str] | None) -> set[str]:
    known = {normalise_header(h) for f in spec.fields for h in f.headers}
    return known | {normalise_header(v) for v in (mapping or {}).values() if v}


def combine_header_rows(upper: Sequence[str], lower: Sequence[str], known: set[str]) -> list[str]:
    """One header per column from a two-row header (表头两行): a blank lower cell under a
    (merged) upper cell takes the upper text; a sub-header under an upper cell merged across
    several columns becomes "upper+lower" when that is a header the spec knows (户主 + 姓名),
    else the sub-header itself."""
    out: list[str] = []
    carried = ""  # the upper text of a group of sub-columns, carried right over blank cells
    for j in range(max(len(upper), len(lower))):
        u = str((upper[j] if j < len(upper) else "") or "").strip()
        lo = str((lower[j] if j < len(lower) else "") or "").strip()
        if u:
            carried = u
        elif not lo:
            carried = ""
        u = u or (carried if lo else "")
        if not lo:
            out.append(u)
        elif not u:
            out.append(lo)
        else:
            out.append(u + lo if normalise_header(u + lo) in known else lo)
    return out


_DIGITS = re.compile(r"\d{6}")


def _continues(upper: Sequence[str], lower: Sequence[str]) -> bool:
    """Without merge information: does `lower` look like the second row of a header — its
    cells sit only under gaps of the upper row (the columns a merged upper cell spans) and
    none holds data-like digits (an ID, a date)?"""
    filled = [j for j, c in enumerate(lower) if str(c or "").strip()]
    if not filled:
        return False
    gaps = {j for j in range(len(lower)) if j >= len(upper) or not str(upper[j] or "").strip()}
    for j in filled:
        text = str(lower[j])
        if _DIGITS.search(text):
            return False
        group_start = j + 1 < len(lower) and (j + 1) in gaps and str(lower[j + 1] or "").strip()
        if j not in gaps and not group_start:
            return False
    return True


def find_header(rows: Sequence[Sequence[str]], spec: FeedSpec,
                mapping: Mapping[str, str] | None = None,
                linked: Collection[int] = ()) -> HeaderRows:
    """The header among the first rows of a sheet (a title, a 填报单位 line may sit above it),
    found by content: the row — or pair of rows, for a two-row merged header — naming the
    most fields. `linked` holds the indices i whose row the file merges with row i + 1 (from
    its merge ranges); a pair is taken when it names more fields than its first row alone, or
    as many and the rows are linked or look like one header (the lower row's cells only under
    gaps of the upper one, none data-like)."""
    known = _known(spec, mapping)

    def count(row: Sequence[str]) -> int:
        return len(match_headers([str(c or "") for c in row], spec, mapping).columns)

    best = HeaderRows(0, 1, [str(c or "") for c in rows[0]] if rows else [], -1)
    for i, row in enumerate(rows):
        single = [str(c or "") for c in row]
        candidate = HeaderRows(i, 1, single, count(single))
        if i + 1 < len(rows) and candidate.found > 0:
            pair = combine_header_rows(single, [str(c or "") for c in rows[i + 1]], known)
            n = count(pair)
            if n > candidate.found or (n == candidate.found and (
                    i in linked or _continues(single, rows[i + 1]))):
                candidate = HeaderRows(i, 2, pair, n)
        if candidate.found > best.found:
            best = candidate
    return best


def find_header_row(rows: Sequence[Sequence[str]], spec: FeedSpec,
                    mapping: Mapping[str, str] | None = None) -> int:
    """The index of the (first) header row among the rows given; see `find_header`."""
    return find_header(rows, spec, mapping).at if rows else 0
