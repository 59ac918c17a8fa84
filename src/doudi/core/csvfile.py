"""Every CSV file Doudi writes goes through `write` (pure Python, no Django).

A spreadsheet opening a CSV reads a cell that starts with = + - @ (or a tab or CR, which it
may strip to reach one) as a formula: ``=HYPERLINK("http://…")`` typed as a payee's name would
run on the bank clerk's machine. So every text cell that starts so gets a leading apostrophe
(shown as the text it is) and no cell keeps a line break (the csv module leaves a lone CR
unquoted, which would split the row and could start the next one with a formula).

Numeric columns (a bank file's amounts) stay numbers the bank's program can read: they are
never prefixed, and a value that is not a plain non-negative decimal is refused rather than
written — a payment file never carries a negative or formula-like amount.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")


class UnsafeCell(ValueError):
    """A numeric column holding something that is not a plain number (message Chinese)."""


def is_formula_like(value: str) -> bool:
    return value.startswith(FORMULA_STARTS)


def neutralise(value: str) -> str:
    """A text cell as a spreadsheet must show it: the text it is, on one line."""
    value = "'" + value if is_formula_like(value) else value
    return value.replace("\r", " ").replace("\n", " ")


def number(value: str) -> str:
    if not NUMBER.fullmatch(value):
        raise UnsafeCell(f"数值列含有非数字内容“{value[:20]}”，不能写入文件")
    return value


def write(header: Sequence[str], rows: Iterable[Sequence[str]], *, encoding: str = "utf-8-sig",
          numeric: Iterable[int] = ()) -> bytes:
    """The CSV file: `header`, then `rows`; columns whose index is in `numeric` are numbers,
    every other cell (the header too) is text and neutralised."""
    numbers = frozenset(numeric)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([neutralise(str(h)) for h in header])
    writer.writerows([number(str(v)) if c in numbers else neutralise(str(v))
                      for c, v in enumerate(row)] for row in rows)
    return out.getvalue().encode(encoding)
