"""Finding a feed's columns in a department's header row (表头识别).

Headers are compared after normalising what departments vary without meaning to: spaces,
全角/半角 brackets, a trailing "(元)"-style unit and a leading "*" that marks a required column.
An explicit `mapping` (field key → header, from the UI's column-mapping step) wins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from doudi.engine.feeds.feedspec import FeedSpec

_BRACKETS = str.maketrans({"（": "(", "）": ")", "【": "(", "】": ")", "［": "(", "］": ")"})


def normalise_header(header: str) -> str:
    text = re.sub(r"\s+", "", str(header or "").translate(_BRACKETS)).lstrip("*＊")
    return re.sub(r"\((元|万元|㎡|平方米|m2)\)$", "", text).lower()


@dataclass(frozen=True)
class HeaderMatch:
    columns: dict[str, int]  # field key → column position in the file
    missing_required: tuple[str, ...]  # field keys
    missing_optional: tuple[str, ...]
    unused: tuple[str, ...]  # the file's headers no field took

    @property
    def ok(self) -> bool:
        return not self.missing_required


def match_headers(headers: Sequence[str], spec: FeedSpec,
                  mapping: Mapping[str, str] | None = None) -> HeaderMatch:
    position = {}
    for n, h in enumerate(headers):
        position.setdefault(normalise_header(h), n)
    columns: dict[str, int] = {}
    for f in spec.fields:
        wanted = [mapping[f.key]] if mapping and mapping.get(f.key) else list(f.headers)
        for header in wanted:
            n = position.get(normalise_header(header))
            if n is not None and n not in columns.values():
                columns[f.key] = n
                break
    missing = [f for f in spec.fields if f.key not in columns]
    taken = set(columns.values())
    return HeaderMatch(
        columns=columns,
        missing_required=tuple(f.key for f in missing if f.required),
        missing_optional=tuple(f.key for f in missing if not f.required),
        unused=tuple(str(h) for n, h in enumerate(headers) if n not in taken and str(h).strip()))


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
