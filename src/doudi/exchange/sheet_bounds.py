"""Bounds on a spreadsheet, checked before calamine reads it (表格大小限制).

calamine inflates a whole worksheet and lays it out densely in memory: a 100 KB xlsx holding
one 100 MB shared string drove a worker to 948 MB, a sparse sheet whose last cell sits far
away asks for millions of empty cells, and a stray cell at XFD1048576 for 17 billion (the
failed allocation aborts the process). So every zip member is inflated here first, counted
and scanned — never trusting the sizes the zip claims — and a file past any bound is refused
with a Chinese reason. The scan is vectorised (numpy over each inflated chunk): it finds the
cell references (row × column extent) and the longest text between two tags (a cell's text).
It also notes each worksheet's hidden columns, which the reader needs. Legacy .xls (BIFF, at
most 65,536 × 256 cells) is bounded by its file size.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from dataclasses import dataclass, field

import numpy as np

from doudi.exchange import xls_columns
from doudi.exchange.read_errors import ReadError, shorten

MIB = 1 << 20
MAX_ZIP_MEMBERS = 2_000
MAX_SHEET_XML_BYTES = 1_280 * MIB  # one worksheet (an XlsxWriter sheet of 1M rows × 13: 740 MB)
MAX_SHARED_STRINGS_BYTES = 256 * MIB
MAX_OTHER_MEMBER_BYTES = 64 * MIB  # styles, workbook, relationships, drawings …
MAX_UNZIPPED_BYTES = 1_536 * MIB  # all members together
# Dense extent of one sheet (last row × last column): Excel's 1,048,576 rows × 24 columns.
MAX_SHEET_CELLS = 25_165_824
# The text between two tags: a cell's value (Excel holds at most 32,767 characters, 3 bytes
# each in UTF-8, more with entities such as &amp;) — a margin, the exact check follows reading.
MAX_TEXT_NODE_BYTES = 256 * 1024
MAX_CELL_CHARS = 32_767
# A sheet mostly empty (a stray cell far away): laid out densely it costs ~36 bytes a cell
# (a sparse 5M-cell sheet cost 180 MB), so past SPARSE_FROM cells of extent at least one cell
# in SPARSE_RATIO must be there.
SPARSE_FROM = 4_000_000
SPARSE_RATIO = 50
MAX_XLS_BYTES = 64 * MIB  # a full 65,536-row BIFF8 sheet of ordinary data is ~10–20 MB
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CHUNK = 16 * MIB
# A tag cut by the end of a chunk is carried into the next one whole. Real tags can be long
# (a data validation's sqref listing thousands of ranges), never near this.
MAX_TAG_BYTES = 64 * MIB
MAX_MERGE_BYTES = 64 * MIB  # the <mergeCells> after a sheet's data
SHEET_COLUMNS = 16_384  # XFD: a cell's code is row × SHEET_COLUMNS + column (both from 0)
_SPACE = (9, 10, 13, 32)


@dataclass
class WorkbookFacts:
    # sheet name → hidden columns (0-based, as (first, last) ranges)
    hidden: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    # sheet name → the sorted codes (row × SHEET_COLUMNS + column, from 0) of the cells that
    # hold a number (xlsx only): an ID stored as one has lost its last digits
    numeric: dict[str, np.ndarray] = field(default_factory=dict)
    # sheet name → merged ranges ((first row, first column), (last row, last column)), from 0
    merges: dict[str, list[tuple[tuple[int, int], tuple[int, int]]]] = field(default_factory=dict)

    def hidden_columns(self, sheet: str) -> set[int]:
        return {c for a, b in self.hidden.get(sheet, []) for c in range(a, min(b, 16_383) + 1)}


class _Scan:
    """Running maxima over the chunks of one member, and (for a worksheet) the cells that hold
    a number. A tag the chunk cuts is carried, whole, into the next chunk's scan."""

    def __init__(self, refs: bool) -> None:
        self.refs = refs
        self.rows = self.columns = 0
        self.cells = 0  # cell elements (<c …>, <x:c …>) seen
        self.since_tag = 0  # bytes since the last "<" (across chunks)
        self.longest = 0
        self.numeric: list[np.ndarray] = []
        # a number-like cell that ended a chunk: whether it holds a value is seen from the
        # next element, in the next chunk (its </c> makes it an empty cell)
        self._pending: np.ndarray = np.zeros(0, np.int64)
        self.after: bytearray | None = None  # what follows the data: the <mergeCells>
        self._carry = b""
        self._prefixed = False

    def feed(self, chunk: bytes) -> None:
        if not self.refs:
            self._texts(np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 60), len(chunk))
            return
        if self.after is not None and len(self.after) < MAX_MERGE_BYTES:
            self.after += chunk
        whole = self._carry + chunk + _PAD
        if not self._prefixed and not self.cells:  # <x:c …>: until the first cell is seen
            self._prefixed = bool(_PREFIXED.search(whole))
        size = len(whole) - len(_PAD)
        last = whole.rfind(b"<", 0, size)
        cut = last if last >= 0 and whole.find(b">", last, size) < 0 else size
        if size - cut > MAX_TAG_BYTES:
            raise ReadError("工作表中有异常的超长标签，不是正常的 Excel 文件")
        self._carry = whole[cut:size]
        self._elements(whole, cut)

    def _texts(self, opens: np.ndarray, size: int) -> None:
        """The longest run between two "<" (a cell's text), across chunks."""
        if opens.size:
            first = int(opens[0]) + self.since_tag
            inner = int(np.diff(opens).max()) if opens.size > 1 else 0
            self.longest = max(self.longest, first, inner)
            self.since_tag = size - int(opens[-1])
        else:
            self.since_tag += size
        self.longest = max(self.longest, self.since_tag)

    def numeric_codes(self) -> np.ndarray:
        if self._pending.size:
            self.numeric.append(self._pending)
            self._pending = np.zeros(0, np.int64)
        codes = np.concatenate(self.numeric) if self.numeric else np.zeros(0, np.int64)
        return np.unique(codes)

    def _elements(self, whole: bytes, cut: int) -> None:
        """The whole tags of `whole[:cut]` (padding follows): cell elements counted,
        references read, the cells holding a number noted, the end of the data found. Each
        search is one pass over the bytes; the rest works on the positions found."""
        buf = np.frombuffer(whole, dtype=np.uint8)
        opens = np.flatnonzero(buf[:cut] == 60)  # "<"
        self._texts(opens, cut)
        if self._pending.size and opens.size:
            if buf[opens[0] + 1] != 47:  # not its "</c>": it holds a value
                self.numeric.append(self._pending)
            self._pending = np.zeros(0, np.int64)
        first, sep = buf[opens + 1], buf[opens + 2]
        self.cells += int(((first == 99) & ((sep == 32) | (sep == 62) | (sep == 47))).sum())
        if self._prefixed:  # <x:c …>: ":c" then a space, ">" or "/"
            nxt = buf[2:cut + 2]
            self.cells += int(((buf[:cut] == 58) & (buf[1:cut + 1] == 99)
                               & ((nxt == 32) | (nxt == 62) | (nxt == 47))).sum())
        if self.after is None:
            if self._prefixed:  # </x:sheetData>: rare enough for a search of the bytes
                m = _DATA_END.search(whole, 0, len(whole) - len(_PAD)) \
                    if whole.find(b"sheetData>") >= 0 else None
            else:  # </sheetData>
                closing = opens[(first == 47) & (sep == 115) & (buf[opens + 3] == 104)]
                m = next((m for at in closing if (m := _DATA_END.match(whole, int(at)))), None)
            if m:
                self.after = bytearray(whole[m.end():len(whole) - len(_PAD)])
        # one-letter attributes: a space, the letter, '="'
        named = np.flatnonzero((buf[2:cut + 2] == 61) & (buf[3:cut + 3] == 34)) + 1
        before = buf[named - 1]
        named = named[(before == 32) | (before == 9) | (before == 10) | (before == 13)]
        letter = buf[named]
        at = named[letter == 114]  # r="AB123" (a cell) and r="123" (a row)
        typed = named[letter == 116]  # t="s", t="n" …
        if not at.size:
            return
        rows, columns = self._references(buf, at)
        cell = (rows >= 1) & (columns >= 1) & (columns <= SHEET_COLUMNS)
        if cell.any():
            self._numeric_cells(buf, opens, typed, at[cell], rows[cell] - 1, columns[cell] - 1)

    def _references(self, buf: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each reference's row and column (-1 / 0 where it has none); the maxima noted. After
        r=" come up to 3 column letters, then the row's digits and the closing quote (9 digits
        or more: far past Excel's last row)."""
        begin = at + 3
        letters = np.zeros(at.size, dtype=np.int32)
        columns = np.zeros(at.size, dtype=np.int32)
        going = np.ones(at.size, dtype=bool)
        for k in range(4):  # a 4th letter: no cell's reference
            ch = buf[begin + k].astype(np.int32)
            going &= (ch >= 65) & (ch <= 90)
            columns = np.where(going, columns * 26 + ch - 64, columns)
            letters += going
        no_cell = letters > 3
        columns = np.where(no_cell, 0, columns)
        start = begin + letters
        rows = np.zeros(at.size, dtype=np.int32)
        digits = np.zeros(at.size, dtype=np.int32)
        going = ~no_cell
        for k in range(9):
            ch = buf[start + k].astype(np.int32)
            going &= (ch >= 48) & (ch <= 57)
            rows = np.where(going, rows * 10 + ch - 48, rows)
            digits += going
        far = digits >= 9
        quoted = buf[start + digits] == 34
        rows = np.where((digits >= 1) & ~far & quoted, rows, -1)
        if far.any():
            self.rows = max(self.rows, 10 ** 9)
        self.columns = max(self.columns, int(columns.max()))
        self.rows = max(self.rows, int(rows.max()))
        return rows, columns

    def _numeric_cells(self, buf: np.ndarray, opens: np.ndarray, typed: np.ndarray,
                       at: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> None:
        """Note the cells whose element holds a number: no `t` attribute, or t="n" (an empty
        one reads as no number anyway). Every tag here is whole (see `feed`); a tag ends
        before the next "<"."""
        k = np.searchsorted(opens, at) - 1
        whole = k >= 0
        at, rows, columns, k = at[whole], rows[whole], columns[whole], k[whole]
        start = opens[k]
        end = np.append(opens, buf.size)[k + 1]
        # the element is <c …> (or <x:c …>): not a text that happens to read r="A1"
        sep = buf[start + 2]
        is_cell = (buf[start + 1] == 99) & ((sep == 32) | (sep == 9) | (sep == 10) | (sep == 13))
        odd = np.flatnonzero(~is_cell)
        if odd.size:
            name = buf[np.minimum(start[odd, None] + 1 + np.arange(16), buf.size - 1)]
            length = np.argmax((name == 32) | (name == 9) | (name == 10) | (name == 13), axis=1)
            idx = np.arange(odd.size)
            is_cell[odd] = (length > 1) & (name[idx, np.maximum(length - 1, 0)] == 99) & (
                name[idx, np.maximum(length - 2, 0)] == 58)
        if typed.size:
            j = np.minimum(np.searchsorted(typed, start), typed.size - 1)
            has_type = (typed[j] > start) & (typed[j] < end)
            kind = buf[typed[j] + 3]
        else:
            has_type = np.zeros(start.size, dtype=bool)
            kind = np.zeros(start.size, dtype=np.uint8)
        # an element with no value is no number whatever its type: a styled empty cell, such
        # as those under a merged cell (<c r="F6" s="3"/>, or <c …></c>), is read as the
        # merge's top cell, which says for itself what it holds
        gts = np.flatnonzero(buf == 62)  # ">"
        tag_end = gts[np.minimum(np.searchsorted(gts, at), max(gts.size - 1, 0))] \
            if gts.size else np.full(at.size, buf.size - 1)
        self_closing = buf[np.maximum(tag_end - 1, 0)] == 47  # "/>"
        closed_at_once = buf[np.minimum(end + 1, buf.size - 1)] == 47  # "></c>"
        number = is_cell & (~has_type | (kind == 110)) & ~self_closing & ~closed_at_once  # 'n'
        last = (k + 1 == opens.size) & number  # its next element is in the next chunk
        if last.any():
            self._pending = rows[last].astype(np.int64) * SHEET_COLUMNS + columns[last]
            number &= ~last

        if number.any():
            self.numeric.append(rows[number].astype(np.int64) * SHEET_COLUMNS + columns[number])


_SHEET = re.compile(rb"<(?:[\w.-]+:)?sheet\b([^>]*)>")
_REL = re.compile(rb"<(?:[\w.-]+:)?Relationship\b([^>]*)>")
_COL = re.compile(rb"<(?:[\w.-]+:)?col\b([^>]*)>")


def _attr(attrs: bytes, name: str) -> str:
    m = re.search(rb'(?:^|\s)' + name.encode() + rb'\s*=\s*"([^"]*)"', attrs)
    return html.unescape(m[1].decode("utf-8", "replace")) if m else ""


def _sheet_paths(book: zipfile.ZipFile, names: list[str]) -> dict[str, str]:
    """worksheet member path → sheet name, from workbook.xml and its relationships."""
    try:
        if any(book.getinfo(n).file_size > 4 * MIB for n in
               ("xl/workbook.xml", "xl/_rels/workbook.xml.rels") if n in names):
            return {}
        workbook = book.read("xl/workbook.xml")
        rels = book.read("xl/_rels/workbook.xml.rels")
    except Exception:  # a damaged member (zlib.error, BadZipFile …): no names, no hidden columns
        return {}
    targets = {}
    for m in _REL.finditer(rels):
        target = _attr(m[1], "Target").lstrip("/")
        targets[_attr(m[1], "Id")] = target if target.startswith("xl/") else f"xl/{target}"
    out = {}
    for m in _SHEET.finditer(workbook):
        rid = re.search(rb'\s[\w.-]+:id\s*=\s*"([^"]*)"', m[1])
        if rid and rid[1].decode("utf-8", "replace") in targets:
            out[targets[rid[1].decode("utf-8", "replace")]] = _attr(m[1], "name")
    return out


def _hidden(prefix: bytes) -> list[tuple[int, int]]:
    ranges = []
    for m in _COL.finditer(prefix.split(b"<sheetData", 1)[0]):
        if _attr(m[1], "hidden") in ("1", "true"):
            try:
                ranges.append((int(_attr(m[1], "min")) - 1, int(_attr(m[1], "max")) - 1))
            except ValueError:
                continue
    return ranges


_DATA_END = re.compile(rb"</(?:[\w.-]+:)?sheetData>")
_PREFIXED = re.compile(rb"<[\w.-]+:c[\s>/]")
_PAD = bytes(16)  # after a buffer: a reference's window may reach past its last tag
_MERGE = re.compile(rb'<(?:[\w.-]+:)?mergeCell\b[^>]*?\sref\s*=\s*"([A-Z]{1,3})([0-9]{1,7})'
                    rb'(?::([A-Z]{1,3})([0-9]{1,7}))?"')


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _merges(after: bytes) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    out = []
    for m in _MERGE.finditer(after):
        r0, c0 = int(m[2]) - 1, _column_number(m[1]) - 1
        r1, c1 = (int(m[4]) - 1, _column_number(m[3]) - 1) if m[3] else (r0, c0)
        out.append(((r0, c0), (r1, c1)))
    return out


def _limit(name: str) -> int:
    if name.startswith("xl/worksheets/"):
        return MAX_SHEET_XML_BYTES
    if name == "xl/sharedStrings.xml":
        return MAX_SHARED_STRINGS_BYTES
    return MAX_OTHER_MEMBER_BYTES


def _too_big(what: str, limit: int) -> ReadError:
    return ReadError(f"表格过大：{what}解压后超过 {limit // MIB} MB，请拆分为多个文件后再导入")


def _check_extent(where: str, rows: int, columns: int, cells: int) -> None:
    extent = rows * max(columns, 1)
    if extent > MAX_SHEET_CELLS:
        last = "超过 1 亿" if rows >= 10 ** 9 else str(rows)
        raise ReadError(f"{where}范围过大（最后一个单元格在第 {last} 行、第 {columns} 列），"
                        "请删除多余的行列后再导入")
    if extent > SPARSE_FROM and cells * SPARSE_RATIO < extent:
        raise ReadError(f"{where}几乎是空的：范围 {rows} 行 × {columns} 列，只有 {cells} 个单元格"
                        "（远处有零星单元格？），请删除多余的行列后再导入")


def check_spreadsheet(data: bytes) -> WorkbookFacts:
    """Refuse a spreadsheet past a bound; return what the reader needs to know of it. A
    damaged zip is left to calamine to report (it is refused there, as unreadable)."""
    if data[:8] == OLE_MAGIC:
        if len(data) > MAX_XLS_BYTES:
            raise ReadError(f"xls 文件过大（超过 {MAX_XLS_BYTES // MIB} MB），"
                            "请另存为 xlsx 或拆分后再导入")
        xls = xls_columns.scan(data)
        for name, (rows, columns, cells) in xls.extents.items():
            _check_extent(f"工作表“{shorten(name)}”", rows, columns, cells)
        return WorkbookFacts(hidden=xls.hidden)
    if data[:2] != b"PK":
        return WorkbookFacts()
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        infos = book.infolist()
    # NotImplementedError: a central directory naming a zip version Python cannot read
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        return WorkbookFacts()
    names = [i.filename for i in infos]
    # (an xlsx holds .bin members too: printer settings, a macro project)
    if "content.xml" in names or "xl/workbook.bin" in names:
        raise ReadError("不支持 ODS 或 xlsb 格式的表格，请在 Excel 或 WPS 中另存为 xlsx 后再导入")
    if len(infos) > MAX_ZIP_MEMBERS:
        raise ReadError(f"表格文件内部文件过多（{len(infos)} 个），不是正常的 Excel 文件")
    sheets = _sheet_paths(book, names)
    facts = WorkbookFacts()
    total = 0
    for info in infos:
        name = info.filename
        if name.endswith("/"):
            continue
        limit = _limit(name)
        is_sheet = name.startswith("xl/worksheets/") and name.endswith(".xml")
        scan = _Scan(refs=is_sheet)
        size, prefix = 0, b""
        try:
            with book.open(info) as fh:
                while chunk := fh.read(_CHUNK):
                    size += len(chunk)
                    total += len(chunk)
                    if size > limit:
                        raise _too_big(f"“{name}”", limit)
                    if total > MAX_UNZIPPED_BYTES:
                        raise _too_big("全部内容", MAX_UNZIPPED_BYTES)
                    if name.endswith(".xml") or name.endswith(".rels"):
                        scan.feed(chunk)
                    if is_sheet and not prefix:
                        prefix = chunk[:1 * MIB]
        except ReadError:
            raise
        except Exception:  # a damaged member: what was read is checked, calamine reports the rest
            pass
        where = f"工作表“{shorten(sheets.get(name, name))}”" if is_sheet else "表格"
        if scan.longest > MAX_TEXT_NODE_BYTES:
            raise ReadError(f"{where}中有单元格内容过长（超过 {MAX_CELL_CHARS} 个字符），"
                            "请检查文件")
        if is_sheet:
            _check_extent(where, scan.rows, scan.columns, scan.cells)
        if is_sheet and name in sheets:
            facts.hidden[sheets[name]] = _hidden(prefix)
            facts.numeric[sheets[name]] = scan.numeric_codes()
            facts.merges[sheets[name]] = _merges(bytes(scan.after or b""))
    return facts
