"""The hidden columns of a legacy .xls workbook (BIFF8 in an OLE compound file), which
calamine does not report: the COLINFO records of each worksheet. Only what is needed is read —
the OLE allocation table, the directory, the "Workbook" stream — and anything unexpected gives
no answer (an empty mapping), never an error: calamine reads and judges the file itself."""

from __future__ import annotations

import struct

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


def hidden_columns(data: bytes) -> dict[str, list[tuple[int, int]]]:
    """sheet name → hidden columns as (first, last) ranges, 0-based."""
    try:
        stream = _workbook_stream(data)
    except (struct.error, ValueError, IndexError):
        return {}
    sheets: dict[int, str] = {}  # BOF offset → name
    hidden: dict[str, list[tuple[int, int]]] = {}
    current = ""
    at = 0
    try:
        while at + 4 <= len(stream):
            kind, length = struct.unpack_from("<HH", stream, at)
            body = stream[at + 4:at + 4 + length]
            if kind == 0x0085 and length >= 8:  # BOUNDSHEET: offset, state, type, name
                offset = struct.unpack_from("<I", body, 0)[0]
                chars, flags = body[6], body[7]
                raw = body[8:8 + chars * (2 if flags & 1 else 1)]
                sheets[offset] = raw.decode("utf-16-le" if flags & 1 else "latin-1", "replace")
            elif kind == 0x0809:  # BOF: a worksheet starts here
                current = sheets.get(at, "")
            elif kind == 0x007D and length >= 10 and current:  # COLINFO
                first, last, _, _, options = struct.unpack_from("<HHHHH", body, 0)
                if options & 1:
                    hidden.setdefault(current, []).append((first, last))
            at += 4 + length
    except (struct.error, IndexError):
        return hidden
    return hidden
