"""One go-live file read with one layout (`golive.layouts`): the cells validated as a
department file's are (`engine.feeds.validate`), the refused cells as report lines naming the
file, sheet, row and the header the file used. Every go-live import reads through here."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from doudi.engine.feeds.validate import Validated, validate
from doudi.exchange.imports import _with_numeric
from doudi.exchange.readers import ReadError, field_cells, read_table
from doudi.golive.layouts import Layout


@dataclass
class Read:
    layout: Layout
    name: str
    sheet: str
    cells: pl.DataFrame  # the text as read, by field key, with `row`
    validated: Validated
    labels: dict[str, str]  # field key → the header the file used (or the field's label)
    file: dict[str, Any]  # {name, sha256, layout, sheet, rows}
    notices: list[str] = field(default_factory=list)

    @property
    def bad_rows(self) -> set[int]:
        return (set(self.validated.errors["row"].to_list())
                | set(self.validated.duplicates["row"].to_list()))


def read_one(layout: Layout, name: str, data: bytes,
             mapping: dict[str, str] | None = None) -> Read:
    """Raises `MissingColumns` when the file lacks the layout's required columns and
    `ReadError` when it cannot be read at all."""
    spec = layout.spec
    table = read_table(data, name, spec, mapping)
    cells, found = field_cells(table, spec, mapping)
    if found.unit_errors:
        raise ReadError("；".join(found.unit_errors.values())
                        + "。请改正表头中的单位，或换算后重新导出")
    labels = {f.key: f.label for f in spec.fields}
    labels.update({k: str(table.headers[n]).strip() or labels[k]
                   for k, n in found.columns.items()})
    validated = validate(_with_numeric(cells, table, spec, found), spec, found.scales)
    return Read(layout, name, table.sheet, cells, validated, labels,
                {"name": name, "sha256": hashlib.sha256(data).hexdigest(), "layout": layout.key,
                 "sheet": table.sheet, "rows": cells.height},
                [f"{name}：{n}" for n in table.notices])
