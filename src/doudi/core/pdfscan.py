"""What a PDF upload may not carry: scripts, automatic or launch actions, forms that submit,
embedded files. Pure Python (no Django).

A reader finds such features in dictionaries, and dictionaries live either in the file's
body or inside object streams, which may be encoded by any chain of the standard filters. So
the body is checked with the streams' data taken out, and every stream is decoded and checked:
FlateDecode, LZWDecode (both with PNG/TIFF predictors), ASCIIHexDecode, ASCII85Decode,
RunLengthDecode, and chains of them (also their abbreviations, which some readers accept).

Two kinds of stream are not decoded: images (/Subtype /Image) and font programs (/Length1-3,
/Subtype /Type1C …). Their bytes are pixels and glyph programs, which no reader parses as PDF
objects, and random pixel bytes would spell "/JS" often enough to refuse good scans. An object
stream cannot pass as one of them: a reader needs its /First and /N to read its objects, and a
stream with /First (or /Type /ObjStm) is always decoded and checked. Image filters (DCTDecode,
JPXDecode, CCITTFaxDecode, JBIG2Decode) are allowed on images only; on any other stream, an
unknown filter (or /Crypt), data that does not decode, or an encrypted file, the check cannot
see inside and the file is refused rather than passed unseen.
"""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

# PDF features that run code or carry other files: a citizen's scanned 证明 needs none of them.
ACTIVE_NAMES = (b"/JavaScript", b"/JS", b"/Launch", b"/EmbeddedFile", b"/EmbeddedFiles",
                b"/RichMedia", b"/XFA", b"/OpenAction", b"/AA", b"/SubmitForm", b"/ImportData")
DECODE_LIMIT = 256 * 1024 * 1024  # decoded bytes over the whole file (a bomb stops here)

ALIASES = {b"Fl": b"FlateDecode", b"LZW": b"LZWDecode", b"AHx": b"ASCIIHexDecode",
           b"A85": b"ASCII85Decode", b"RL": b"RunLengthDecode", b"DCT": b"DCTDecode",
           b"CCF": b"CCITTFaxDecode"}
IMAGE_FILTERS = frozenset({b"DCTDecode", b"JPXDecode", b"CCITTFaxDecode", b"JBIG2Decode"})

_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM = re.compile(rb"stream(?:\r\n|\n|\r)")
_OBJ = re.compile(rb"\d+\s+\d+\s+obj\b")


class Refused(Exception):
    """The file carries active content or cannot be checked; the message is Chinese."""


def unescape_names(text: bytes) -> bytes:
    """/J#61vaScript → /JavaScript (a reader reads names unescaped)."""
    return _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), text)


def active_feature(text: bytes) -> str | None:
    plain = unescape_names(text)
    for name in ACTIVE_NAMES:
        if re.search(re.escape(name) + rb"(?![A-Za-z0-9])", plain):
            return name.decode()[1:]
    return None


# --- a small reader of the dictionary before `stream` ----------------------------------------

_TOKEN = re.compile(rb"<<|>>|\[|\]|/[^\s/\[\]<>(){}%]*|[-+]?\d*\.?\d+|[A-Za-z]+|\(|<[^<>]*>"
                    rb"|%[^\r\n]*")


def _skip_string(text: bytes, i: int) -> int:
    """Past the literal string opening at text[i] == '(' (nested parentheses, escapes)."""
    depth, i = 0, i
    while i < len(text):
        c = text[i:i + 1]
        if c == b"\\":
            i += 2
            continue
        if c == b"(":
            depth += 1
        elif c == b")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def _tokens(text: bytes) -> Iterator[bytes]:
    i = 0
    while i < len(text):
        m = _TOKEN.search(text, i)
        if m is None:
            return
        tok = m.group(0)
        if tok == b"(":
            i = _skip_string(text, m.start())
            yield b"()"
            continue
        i = m.end()
        if tok.startswith(b"%"):
            continue
        yield tok


def _parse(tokens: list[bytes], i: int) -> tuple[object, int]:
    tok = tokens[i]
    if tok == b"<<":
        out: dict[bytes, object] = {}
        i += 1
        while i < len(tokens) and tokens[i] != b">>":
            key = tokens[i]
            if not key.startswith(b"/"):
                i += 1
                continue
            value, i = _parse(tokens, i + 1) if i + 1 < len(tokens) else (None, i + 1)
            out[unescape_names(key[1:])] = value
        return out, i + 1
    if tok == b"[":
        items: list[object] = []
        i += 1
        while i < len(tokens) and tokens[i] != b"]":
            value, i = _parse(tokens, i)
            items.append(value)
        return items, i + 1
    if tok.startswith(b"/"):
        return unescape_names(tok), i + 1
    # a reference `n g R` is read as its three tokens; only direct values matter here
    return tok, i + 1


def stream_dict(head: bytes) -> dict[bytes, object]:
    """The last top-level dictionary in `head` (the text between `obj` and `stream`)."""
    tokens = list(_tokens(head))
    start = None
    depth = 0
    for n, tok in enumerate(tokens):  # the outermost << of the object
        if tok == b"<<":
            if depth == 0:
                start = n
            depth += 1
        elif tok == b">>":
            depth -= 1
    if start is None:
        return {}
    value, _ = _parse(tokens, start)
    return value if isinstance(value, dict) else {}


# --- decoders ----------------------------------------------------------------------------------

class _Budget:
    def __init__(self, limit: int) -> None:
        self.left = limit

    def take(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise Refused("PDF 解码后的内容过大，无法检查，不能上传")


def _flate(data: bytes, budget: _Budget) -> bytes:
    d = zlib.decompressobj()
    out = d.decompress(data, max(budget.left, 0) + 1)
    budget.take(len(out))
    if d.unconsumed_tail:
        raise Refused("PDF 解码后的内容过大，无法检查，不能上传")
    return out  # a truncated stream gives what it holds, as a reader shows it


def _hex(data: bytes, budget: _Budget) -> bytes:
    text = re.sub(rb"\s", b"", data.split(b">", 1)[0])
    if len(text) % 2:
        text += b"0"
    out = bytes.fromhex(text.decode("ascii"))
    budget.take(len(out))
    return out


def _a85(data: bytes, budget: _Budget) -> bytes:
    text = re.sub(rb"\s", b"", data)
    if text.startswith(b"<~"):
        text = text[2:]
    text = text.split(b"~>", 1)[0]
    budget.take(len(text) * 5)  # z expands four-fold at most (5 bytes per char bounds it)
    return base64.a85decode(text)


def _run_length(data: bytes, budget: _Budget) -> bytes:
    out, i = bytearray(), 0
    while i < len(data):
        n = data[i]
        if n == 128:
            break
        if n < 128:
            out += data[i + 1:i + 2 + n]
            i += n + 2
        else:
            out += data[i + 1:i + 2] * (257 - n)
            i += 2
        budget.take(0)
        if len(out) > budget.left:
            budget.take(len(out))
    budget.take(len(out))
    return bytes(out)


def _lzw(data: bytes, budget: _Budget, early: int = 1) -> bytes:
    out = bytearray()
    table = [bytes([i]) for i in range(256)] + [b"", b""]
    bits, buf, nbits, prev = 9, 0, 0, b""
    for byte in data:
        buf, nbits = (buf << 8) | byte, nbits + 8
        while nbits >= bits:
            nbits -= bits
            code = (buf >> nbits) & ((1 << bits) - 1)
            buf &= (1 << nbits) - 1
            if code == 256:  # clear
                table, bits, prev = table[:258], 9, b""
                continue
            if code == 257:  # end of data
                budget.take(len(out))
                return bytes(out)
            if code < len(table):
                entry = table[code]
                if prev:
                    table.append(prev + entry[:1])
            elif code == len(table) and prev:
                entry = prev + prev[:1]
                table.append(entry)
            else:
                raise Refused("PDF 数据流无法解码（LZW 数据损坏），不能上传")
            out += entry
            if len(out) > budget.left:
                budget.take(len(out))
            prev = entry
            if len(table) + early >= (1 << bits) and bits < 12:
                bits += 1
    budget.take(len(out))
    return bytes(out)


def _number(value: object, default: int) -> int:
    try:
        return int(value) if isinstance(value, bytes) else default
    except ValueError:
        return default


def _unpredict(data: bytes, parms: dict) -> bytes:
    """Undo a PNG (10–15) or TIFF (2) predictor (DecodeParms of Flate and LZW)."""
    predictor = _number(parms.get(b"Predictor"), 1)
    if predictor == 1:
        return data
    colors = _number(parms.get(b"Colors"), 1)
    bpc = _number(parms.get(b"BitsPerComponent"), 8)
    columns = _number(parms.get(b"Columns"), 1)
    if not (1 <= colors <= 32 and bpc in (1, 2, 4, 8, 16) and 1 <= columns <= 1 << 20):
        raise Refused("PDF 数据流参数无效，不能上传")
    bpp = max(1, colors * bpc // 8)
    row_len = (colors * bpc * columns + 7) // 8
    if predictor == 2:
        if bpc != 8:
            raise Refused("PDF 数据流使用了无法检查的预测参数，不能上传")
        out = bytearray(data)
        for start in range(0, len(out), row_len):
            for i in range(start + bpp, min(start + row_len, len(out))):
                out[i] = (out[i] + out[i - bpp]) & 0xFF
        return bytes(out)
    if predictor < 10:
        raise Refused("PDF 数据流使用了未知的预测参数，不能上传")
    out, prior = bytearray(), bytearray(row_len)
    for start in range(0, len(data), row_len + 1):
        kind, row = data[start], bytearray(data[start + 1:start + 1 + row_len])
        row += bytes(row_len - len(row))
        for i in range(row_len):
            left = row[i - bpp] if i >= bpp else 0
            up, corner = prior[i], prior[i - bpp] if i >= bpp else 0
            if kind == 1:
                row[i] = (row[i] + left) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + up) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                row[i] = (row[i] + pred) & 0xFF
            elif kind != 0:
                raise Refused("PDF 数据流无法解码（预测类型无效），不能上传")
        out += row
        prior = row
    return bytes(out)


def decode(data: bytes, filters: list[bytes], parms: list[dict],
           budget: _Budget | None = None) -> bytes:
    """`data` through the chain of `filters` (each with its DecodeParms). Raises Refused on an
    image filter (the caller decides about images), an unknown filter or damaged data."""
    budget = budget or _Budget(DECODE_LIMIT)
    for n, name in enumerate(filters):
        name = ALIASES.get(name, name)
        parm = parms[n] if n < len(parms) and isinstance(parms[n], dict) else {}
        try:
            if name == b"FlateDecode":
                data = _unpredict(_flate(data, budget), parm)
            elif name == b"LZWDecode":
                data = _unpredict(_lzw(data, budget, _number(parm.get(b"EarlyChange"), 1)), parm)
            elif name == b"ASCIIHexDecode":
                data = _hex(data, budget)
            elif name == b"ASCII85Decode":
                data = _a85(data, budget)
            elif name == b"RunLengthDecode":
                data = _run_length(data, budget)
            else:
                shown = name.decode("latin-1")[:40]
                raise Refused(f"PDF 数据流使用了无法检查的编码（{shown}），不能上传")
        except (zlib.error, ValueError, IndexError) as exc:
            raise Refused("PDF 数据流无法解码，无法检查其内容，不能上传") from exc
    return data


@dataclass
class Stream:
    head: dict
    start: int
    end: int


def _streams(pdf: bytes) -> Iterator[Stream]:
    """Every `… obj << … >> stream … endstream` of the file, its data cut by /Length when that
    is a direct number that ends at `endstream`, else at the next `endstream`."""
    pos = 0
    while True:
        m = _STREAM.search(pdf, pos)
        if m is None:
            return
        if pdf[max(0, m.start() - 3):m.start()] == b"end":  # the word `endstream`
            pos = m.end()
            continue
        objs = list(_OBJ.finditer(pdf, max(0, m.start() - 65536), m.start()))
        head_start = objs[-1].end() if objs else max(0, m.start() - 65536)
        head = stream_dict(pdf[head_start:m.start()])
        start = m.end()
        length = _number(head.get(b"Length"), -1)
        end = -1
        if length >= 0 and re.match(rb"\s*endstream", pdf[start + length:start + length + 20]):
            end = start + length
        if end < 0:
            end = pdf.find(b"endstream", start)
            if end < 0:
                end = len(pdf)
        yield Stream(head, start, end)
        pos = max(end, start + 1)


def _as_list(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


FONT_SUBTYPES = frozenset({b"/Type1C", b"/CIDFontType0C", b"/OpenType"})


def holds_no_objects(head: dict) -> bool:
    """An image or a font program: its decoded bytes are never read as PDF objects (an object
    stream needs /First, so a stream that has one is never taken for these)."""
    if b"First" in head or head.get(b"Type") in (b"/ObjStm", b"/XRef"):
        return False
    if head.get(b"Subtype") == b"/Image":
        return True
    return any(k in head for k in (b"Length1", b"Length2", b"Length3")) or \
        head.get(b"Subtype") in FONT_SUBTYPES


def _refuse_active(found: str) -> None:
    raise Refused(f"PDF 含有脚本、自动动作或嵌入文件（{found}），不能上传；"
                  "请重新扫描或打印为 PDF 后上传")


def check(pdf: bytes) -> None:
    """Raise Refused with the reason when `pdf` carries active content or hides its content
    from this check (encryption, an image filter on a stream that is no image, an unknown
    filter, damaged data)."""
    streams = list(_streams(pdf))
    body, at = [], 0
    for s in streams:
        body.append(pdf[at:s.start])
        at = s.end
    body.append(pdf[at:])
    body_text = b"\n".join(body)
    found = active_feature(body_text)
    if found:
        _refuse_active(found)
    if re.search(rb"/Encrypt(?![A-Za-z0-9])", unescape_names(body_text)):
        raise Refused("PDF 已加密，无法检查其内容，不能上传；请上传未加密的文件")
    budget = _Budget(DECODE_LIMIT)
    for s in streams:
        if holds_no_objects(s.head):
            continue
        raw_filters = _as_list(s.head.get(b"Filter"))
        raw_parms = _as_list(s.head.get(b"DecodeParms"))
        # an indirect filter or parameter (`/Filter 9 0 R`) would be read by a reader and not
        # here: refused rather than checked undecoded
        if not all(isinstance(f, bytes) and f.startswith(b"/") for f in raw_filters) or \
                not all(isinstance(p, dict) or p == b"null" for p in raw_parms):
            raise Refused("PDF 数据流的编码以间接引用给出，无法检查其内容，不能上传")
        filters = [ALIASES.get(f[1:], f[1:]) for f in raw_filters]
        if any(f in IMAGE_FILTERS for f in filters):
            raise Refused("PDF 的非图像数据流使用了图像编码，无法检查其内容，不能上传")
        parms = [p if isinstance(p, dict) else {} for p in raw_parms]
        found = active_feature(decode(pdf[s.start:s.end], filters, parms, budget))
        if found:
            _refuse_active(found)
