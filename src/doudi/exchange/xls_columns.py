"""What calamine does not report of a legacy .xls workbook (BIFF8 in an OLE compound file):
each worksheet's hidden columns (COLINFO records) and its extent (its cell records), read
before calamine lays the sheet out densely. Only what is needed is read —
the OLE allocation table, the directory, the "Workbook" stream — and anything unexpected gives
no answer (an empty mapping), never an error: calamine reads and judges the file itself."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

_END = 0xFFFFFFFE
_FREE = 0xFFFFFFFF
MAX_SECTORS = 1 << 20


def _chain(fat: list[int], start: int) -> list[int]:
    out, seen = [], set()
    while start not in (_END, _FREE) and start < len(fat) and start not in seen:
        seen.add(start)
        out.append(start)
        start = fat[start]
    return out


def _workbook_stream(data: bytes) -> bytes:
    shift = struct.unpack_from("<H", data, 30)[0]
    size = 1 << shift
    if size not in (512, 4096):
        return b""

    def sector(n: int) -> bytes:
        return data[(n + 1) * size:(n + 2) * size]

    n_fat, dir_start, mini_cutoff = (struct.unpack_from("<I", data, 44)[0],
                                     struct.unpack_from("<I", data, 48)[0],
                                     struct.unpack_from("<I", data, 56)[0])
    difat_start, n_difat = struct.unpack_from("<II", data, 68)
    fat_sectors = [s for s in struct.unpack_from("<109I", data, 76) if s != _FREE]
    next_difat = difat_start
    for _ in range(min(n_difat, MAX_SECTORS)):
        if next_difat in (_END, _FREE):
            break
        block = struct.unpack(f"<{size // 4}I", sector(next_difat))
        fat_sectors += [s for s in block[:-1] if s != _FREE]
        next_difat = block[-1]
    fat: list[int] = []
    for s in fat_sectors[:n_fat]:
        raw = sector(s)
        fat += struct.unpack(f"<{len(raw) // 4}I", raw[:len(raw) // 4 * 4])
    directory = b"".join(sector(s) for s in _chain(fat, dir_start))
    for at in range(0, len(directory) - 127, 128):
        name_len = struct.unpack_from("<H", directory, at + 64)[0]
        name = directory[at:at + max(0, name_len - 2)].decode("utf-16-le", "replace")
        if name in ("Workbook", "Book"):
            start, length = struct.unpack_from("<II", directory, at + 116)
            if length < mini_cutoff:  # in the mini stream: too small to be a real table
                return b""
            return b"".join(sector(s) for s in _chain(fat, start))[:length]
    return b""


# BIFF8 cell records: row (2 bytes) and column (2 bytes) come first in each; MULRK and
# MULBLANK end with their last column.
_CELLS = {0x0006, 0x00FD, 0x0203, 0x027E, 0x0201, 0x0204, 0x0205, 0x00D6}
_MULTI = {0x00BD, 0x00BE}


@dataclass
class XlsFacts:
    hidden: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    # sheet name → (last row + 1, last column + 1, cells written)
    extents: dict[str, tuple[int, int, int]] = field(default_factory=dict)


def scan(data: bytes) -> XlsFacts:
    """Each worksheet's hidden columns and extent, from its BIFF records."""
    facts = XlsFacts()
    try:
        stream = _workbook_stream(data)
    except (struct.error, ValueError, IndexError):
        return facts
    sheets: dict[int, str] = {}  # BOF offset → name
    current = ""
    rows = cols = cells = 0
    at = 0

    def close() -> None:
        if current:
            facts.extents[current] = (rows, cols, cells)

    try:
        while at + 4 <= len(stream):
            kind, length = struct.unpack_from("<HH", stream, at)
            body = stream[at + 4:at + 4 + length]
            if kind in _CELLS and length >= 4 and current:
                row, col = struct.unpack_from("<HH", body, 0)
                rows, cols, cells = max(rows, row + 1), max(cols, col + 1), cells + 1
            elif kind in _MULTI and length >= 6 and current:
                row, first = struct.unpack_from("<HH", body, 0)
                last = struct.unpack_from("<H", body, length - 2)[0]
                rows, cols = max(rows, row + 1), max(cols, last + 1)
                cells += max(0, last - first + 1)
            elif kind == 0x0085 and length >= 8:  # BOUNDSHEET: offset, state, type, name
                offset = struct.unpack_from("<I", body, 0)[0]
                chars, flags = body[6], body[7]
                raw = body[8:8 + chars * (2 if flags & 1 else 1)]
                sheets[offset] = raw.decode("utf-16-le" if flags & 1 else "latin-1", "replace")
            elif kind == 0x0809:  # BOF: a worksheet starts here
                close()
                current, rows, cols, cells = sheets.get(at, ""), 0, 0, 0
            elif kind == 0x007D and length >= 10 and current:  # COLINFO
                first, last, _, _, options = struct.unpack_from("<HHHHH", body, 0)
                if options & 1:
                    facts.hidden.setdefault(current, []).append((first, last))
            at += 4 + length
        close()
    except (struct.error, IndexError):
        close()
    return facts


def hidden_columns(data: bytes) -> dict[str, list[tuple[int, int]]]:
    """sheet name → hidden columns as (first, last) ranges, 0-based."""
    return scan(data).hidden
