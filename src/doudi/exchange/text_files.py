"""Text tables (CSV/TXT) as offices write them (文本表格): the encoding and the separator.

Encodings: UTF-8 with or without BOM; GBK/GB18030 (what Excel and WPS save as "CSV" on a
Chinese Windows); UTF-16LE with BOM, tab-separated (Excel's "Unicode 文本"); UTF-16BE with
BOM; and a UTF-8 BOM in front of a GBK body (some export buttons write the BOM whatever the
encoding): the BOM is not believed, the body is decoded as it really is. Separators: comma,
semicolon or tab, whichever splits the first lines into the most consistent columns.
"""

from __future__ import annotations

import csv
import io
import statistics

from doudi.exchange.read_errors import ReadError

SEPARATORS = (",", "\t", ";")
SNIFF_LINES = 30
UNREADABLE = "无法识别文件编码（应为 UTF-8、GBK/GB18030 或带 BOM 的 UTF-16）"
BOM_LIED = "utf-8-bom+gb18030"  # the encoding reported for a GBK body behind a UTF-8 BOM


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding): the BOM's encoding (checked), else UTF-8, else GB18030 (a superset of
    GBK/GB2312)."""
    try:
        if data.startswith(b"\xef\xbb\xbf"):
            body = data[3:]
            try:
                return body.decode("utf-8"), "utf-8-sig"
            except UnicodeDecodeError:
                return body.decode("gb18030"), BOM_LIED
        if data.startswith(b"\xff\xfe"):
            return data[2:].decode("utf-16-le"), "utf-16-le"
        if data.startswith(b"\xfe\xff"):
            return data[2:].decode("utf-16-be"), "utf-16-be"
    except UnicodeDecodeError as exc:
        raise ReadError(UNREADABLE) from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise ReadError(UNREADABLE) from exc


def head_lines(text: str, n: int = SNIFF_LINES * 2) -> list[str]:
    """The first lines of the text, each with its "\\n" (Polars splits lines at "\\n" too)."""
    lines, at = [], 0
    while len(lines) < n and at < len(text):
        end = text.find("\n", at, at + (1 << 20))
        if end < 0:
            end = min(len(text), at + (1 << 20)) - 1
        lines.append(text[at:end + 1])
        at = end + 1
    return lines


def _records(lines: list[str], separator: str) -> list[tuple[int, list[str]]]:
    """(index of its first line, cells) of each record in the lines, quotes respected."""
    out: list[tuple[int, list[str]]] = []
    reader = csv.reader(iter(lines), delimiter=separator, quotechar='"', strict=False)
    start = 0
    try:
        for cells in reader:
            out.append((start, cells))
            start = reader.line_num
    except csv.Error:  # a damaged quote or a field over the csv module's limit: what was read
        pass
    return out


def sniff_separator(lines: list[str]) -> str:
    """The separator whose column counts over the first records are highest and steadiest."""
    best, best_score = ",", (0.0, 0)
    for separator in SEPARATORS:
        counts = [len(cells) - 1 for _, cells in _records(lines, separator)[:SNIFF_LINES]
                  if any(c.strip() for c in cells)]
        if not counts:
            continue
        score = (statistics.median(counts), -len(set(counts)))
        if score > best_score:
            best, best_score = separator, score
    return best


def records(lines: list[str], separator: str) -> list[tuple[int, list[str]]]:
    return _records(lines, separator)


def wider_record(text: str, separator: str, width: int) -> tuple[int, int] | None:
    """The first record (its number from 1, its cell count) with more cells than `width`: to
    say where a CSV file is ragged, in the reader's own words."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=False)
    try:
        for n, cells in enumerate(reader, start=1):
            if len(cells) > width:
                return n, len(cells)
    except csv.Error:
        return None
    return None
