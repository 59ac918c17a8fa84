"""Reading an old system's export with one of its layouts (`golive.layouts`): the department
files' reader and row validation (`exchange.readers`, `engine.feeds.validate`), so an ID
Excel stored as a number, a bad date or an amount in an unknown unit is refused here exactly
as in any other import."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl

from doudi.core.masking import mask_id_number
from doudi.engine.feeds.validate import NUMERIC, NUMERIC_TYPES, validate
from doudi.exchange.readers import ReadError, field_cells, read_table
from doudi.golive.layouts import Layout


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
    spec = layout.spec
    table = read_table(data, filename, spec)
    cells, found = field_cells(table, spec)
    if found.unit_errors:
        raise ReadError("；".join(found.unit_errors.values())
                        + "。请改正表头中的单位，或换算后重新导出；本文件未导入")
    if table.numeric is not None:
        flags = [table.numeric.get_column(f"c{found.columns[f.key]}").alias(NUMERIC.format(f.key))
                 for f in spec.fields
                 if f.type in NUMERIC_TYPES and f.key in found.columns
                 and f"c{found.columns[f.key]}" in table.numeric.columns]
        cells = cells.with_columns(flags) if flags else cells
    validated = validate(cells, spec, found.scales)
    labels = {f.key: f.label for f in spec.fields}
    labels.update({k: str(table.headers[n]).strip() for k, n in found.columns.items()})
    id_fields = {f.key for f in spec.fields if f.type == "id_number"}
    errors = tuple(
        CellError(row, labels.get(key, key),
                  mask_id_number(value) if key in id_fields and value else (value or ""), why)
        for row, key, value, why in validated.errors.select(
            "row", "field", "value", "reason").iter_rows())
    repeats = dict(validated.duplicates.select("row", "first_row").iter_rows())
    return Read(name=filename, sha256=hashlib.sha256(data).hexdigest(), sheet=table.sheet,
                rows=cells.height, good=validated.good, errors=errors, repeats=repeats,
                labels=labels)
