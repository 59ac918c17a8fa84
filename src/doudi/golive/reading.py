"""One go-live file read with one layout (`golive.layouts`): the cells validated as a
department file's are (`engine.feeds.validate`), the refused cells as report lines naming the
file, sheet, row and the header the file used. Every go-live import reads through here."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from doudi.core.masking import mask_id_number
from doudi.engine.feeds.validate import Validated, validate
from doudi.exchange.imports import with_numeric
from doudi.exchange.readers import ReadError, field_cells, read_table
from doudi.golive.layouts import Layout


@dataclass
class Cells:
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
             mapping: dict[str, str] | None = None) -> Cells:
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
    validated = validate(with_numeric(cells, table, spec, found), spec, found.scales)
    return Cells(layout, name, table.sheet, cells, validated, labels,
                {"name": name, "sha256": hashlib.sha256(data).hexdigest(), "layout": layout.key,
                 "sheet": table.sheet, "rows": cells.height},
                [f"{name}：{n}" for n in table.notices])


@dataclass(frozen=True)
class CellError:
    row: int
    label: str  # the column's header as the file writes it
    value: str  # IDs masked
    reason: str

    def text(self) -> str:
        shown = f"“{self.value}”" if self.value else ""
        return f"{self.label}{shown}：{self.reason}"


@dataclass(frozen=True)
class Read:
    """A file's rows as the history imports use them: the good rows, and each bad cell."""

    name: str
    sha256: str
    sheet: str
    rows: int  # data rows in the file
    good: pl.DataFrame  # `row` and the typed fields of the rows without a bad cell
    errors: tuple[CellError, ...]
    repeats: dict[int, int]  # a row → the earlier row it repeats exactly (ignored)
    labels: dict[str, str]  # field key → the header the file uses for it

    def file_entry(self, layout: Layout) -> dict[str, object]:
        """What `GoliveImport.files` keeps of the file."""
        return {"name": self.name[:200], "sha256": self.sha256, "layout": layout.key,
                "sheet": self.sheet, "rows": self.rows}


def read(data: bytes, filename: str, layout: Layout) -> Read:
    """The file's rows, validated against the layout. Raises ReadError (Chinese) when the
    file cannot be read at all: no such columns, a column in an unknown unit, not a table."""
    got = read_one(layout, filename, data)
    id_fields = {f.key for f in layout.spec.fields if f.type == "id_number"}
    errors = tuple(
        CellError(row, got.labels.get(key, key),
                  mask_id_number(value) if key in id_fields and value else (value or ""), why)
        for row, key, value, why in got.validated.errors.select(
            "row", "field", "value", "reason").iter_rows())
    repeats = dict(got.validated.duplicates.select("row", "first_row").iter_rows())
    return Read(name=filename, sha256=got.file["sha256"], sheet=got.sheet,
                rows=got.cells.height, good=got.validated.good, errors=errors, repeats=repeats,
                labels=got.labels)
