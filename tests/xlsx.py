"""Reading back the lists the pages download (导出 Excel): the title line, the header row and the
rows, as the bureau's spreadsheet would show them (read with python-calamine, the project's
reader, independently of the writer)."""

from __future__ import annotations

import io

from python_calamine import CalamineWorkbook


def _value(v: object) -> object:
    return int(v) if isinstance(v, float) and v.is_integer() else v


def read_list(content: bytes) -> tuple[str, list[str], list[list[object]]]:
    """(title, header, rows) of a list's download: its one sheet holds the title on the first
    line, the header on the third and the rows after it."""
    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    sheet = book.get_sheet_by_name(book.sheet_names[0]).to_python(skip_empty_area=False)
    title, header = str(sheet[0][0]), [str(c) for c in sheet[2]]
    rows = [[_value(v) for v in row] for row in sheet[3:] if any(v != "" for v in row)]
    return title, header, rows
