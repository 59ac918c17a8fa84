"""PDF uploads: active content is found through every standard stream filter and chain of them;
what the check cannot see into is refused; images and fonts are not mistaken for scripts."""

from __future__ import annotations

import base64
import random
import zlib

import pytest

from doudi.core import pdfscan


def lzw_encode(data: bytes, early: int = 1) -> bytes:
    """PDF LZWDecode's encoder (MSB first, 9–12 bit codes, clear at start, EOD at end)."""
    table = {bytes([i]): i for i in range(256)}
    next_code, bits = 258, 9
    out, acc, nacc = bytearray(), 0, 0

    def emit(code: int) -> None:
        nonlocal acc, nacc
        acc, nacc = (acc << bits) | code, nacc + bits
        while nacc >= 8:
            nacc -= 8
            out.append((acc >> nacc) & 0xFF)

    emit(256)
    w = b""
    for byte in data:
        wc = w + bytes([byte])
        if wc in table:
            w = wc
            continue
        emit(table[w])
        table[wc] = next_code
        next_code += 1
        if next_code + early > (1 << bits) - 1 + 1 and bits < 12:
            bits += 1
        w = bytes([byte])
    if w:
        emit(table[w])
    emit(257)
    if nacc:
        out.append((acc << (8 - nacc)) & 0xFF)
    return bytes(out)


def run_length_encode(data: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(data):
        run = 1
        while i + run < len(data) and data[i + run] == data[i] and run < 128:
            run += 1
        if run > 1:
            out += bytes([257 - run, data[i]])
            i += run
        else:
            chunk = data[i:i + 128]
            out += bytes([len(chunk) - 1]) + chunk
            i += len(chunk)
    return bytes(out + b"\x80")


def png_up(data: bytes, columns: int) -> bytes:
    """PNG predictor 12 (Up) rows, as a producer writes them before Flate."""
    rows = [data[i:i + columns].ljust(columns, b"\0") for i in range(0, len(data), columns)]
    out, prior = bytearray(), bytes(columns)
    for row in rows:
        out += b"\x02" + bytes((a - b) & 0xFF for a, b in zip(row, prior, strict=True))
        prior = row
    return bytes(out)


ENCODERS = {
    "FlateDecode": lambda d: zlib.compress(d),
    "ASCIIHexDecode": lambda d: d.hex().upper().encode() + b">",
    "ASCII85Decode": lambda d: base64.a85encode(d) + b"~>",
    "LZWDecode": lzw_encode,
    "RunLengthDecode": run_length_encode,
}
SCRIPT = b"1 0 2 40 << /Type /Action /S /JavaScript /JS (app.alert(1)) >> << /OpenAction 1 0 R >>"


def objstm_pdf(filters: list[str], payload: bytes = SCRIPT, parms: str = "",
               extra: str = "") -> bytes:
    data = payload
    for name in reversed(filters):  # the last filter is applied first when encoding
        data = ENCODERS[name](data)
    names = " ".join(f"/{f}" for f in filters)
    head = (f"<< /Type /ObjStm /N 2 /First 9 /Length {len(data)} /Filter [{names}] "
            f"{parms}{extra}>>").encode()
    return b"%PDF-1.5\n3 0 obj " + head + b"\nstream\n" + data + b"\nendstream\nendobj\n%%EOF\n"


def test_lzw_decoder_reads_the_specification_example() -> None:
    # PDF 32000-1 7.4.4.2: "-----A---B" is 80 0B 60 50 22 0C 0C 85 01
    encoded = bytes.fromhex("800B6050220C0C8501")
    assert pdfscan.decode(encoded, [b"LZWDecode"], []) == b"-----A---B"
    assert lzw_encode(b"-----A---B") == encoded


@pytest.mark.parametrize("name", list(ENCODERS))
def test_each_standard_filter_is_decoded(name: str) -> None:
    payload = bytes(random.Random(name).randrange(256) for _ in range(3000)) + SCRIPT
    assert pdfscan.decode(ENCODERS[name](payload), [name.encode()], []) == payload
    with pytest.raises(pdfscan.Refused, match="JavaScript"):
        pdfscan.check(objstm_pdf([name]))


@pytest.mark.parametrize("chain", [
    ["ASCIIHexDecode", "FlateDecode"], ["ASCII85Decode", "LZWDecode"],
    ["RunLengthDecode", "ASCIIHexDecode", "FlateDecode"],
    ["ASCII85Decode", "ASCIIHexDecode", "RunLengthDecode", "LZWDecode", "FlateDecode"],
])
def test_chains_of_filters_are_decoded(chain: list[str]) -> None:
    with pytest.raises(pdfscan.Refused, match="JavaScript"):
        pdfscan.check(objstm_pdf(chain))


def test_abbreviated_and_escaped_filter_names_and_a_single_name() -> None:
    data = ENCODERS["ASCIIHexDecode"](SCRIPT)
    for head in (b"/Filter /AHx", b"/Filter /ASCIIHe#78Decode", b"/Filter [/AHx]"):
        pdf = (b"%PDF-1.5\n3 0 obj << /Type /ObjStm /N 2 /First 9 " + head + b" >>\nstream\n"
               + data + b"\nendstream\nendobj\n")
        with pytest.raises(pdfscan.Refused, match="JavaScript"):
            pdfscan.check(pdf)


def test_a_png_predictor_does_not_hide_a_script() -> None:
    predicted = png_up(SCRIPT, 7)
    pdf = (b"%PDF-1.5\n3 0 obj << /Type /ObjStm /N 2 /First 9 /Filter /FlateDecode "
           b"/DecodeParms << /Predictor 12 /Columns 7 >> >>\nstream\n" + zlib.compress(predicted)
           + b"\nendstream\nendobj\n")
    assert b"JavaScript" not in predicted  # the predictor alone scrambles the name
    with pytest.raises(pdfscan.Refused, match="JavaScript"):
        pdfscan.check(pdf)


@pytest.mark.parametrize("pdf, reason", [
    (b"%PDF-1.5\n3 0 obj << /N 2 /First 9 /Filter /DCTDecode >>\nstream\nxx\nendstream\n",
     "图像编码"),
    (b"%PDF-1.5\n3 0 obj << /Type /ObjStm /Subtype /Image /N 2 /First 9 /Filter /JPXDecode >>"
     b"\nstream\nxx\nendstream\n", "图像编码"),
    (b"%PDF-1.5\n3 0 obj << /Filter /Crypt >>\nstream\nxx\nendstream\n", "无法检查的编码"),
    (b"%PDF-1.5\n3 0 obj << /Filter /BrotliDecode >>\nstream\nxx\nendstream\n", "无法检查的编码"),
    (b"%PDF-1.5\n3 0 obj << /Filter 9 0 R >>\nstream\nxx\nendstream\n", "间接引用"),
    (b"%PDF-1.5\n3 0 obj << /Filter /FlateDecode /DecodeParms 9 0 R >>\nstream\nxx\nendstream\n",
     "间接引用"),
    (b"%PDF-1.5\n3 0 obj << /Filter /FlateDecode >>\nstream\nnot zlib at all\nendstream\n",
     "无法解码"),
    (b"%PDF-1.5\n3 0 obj << /Filter /ASCIIHexDecode >>\nstream\nZZ>\nendstream\n", "无法解码"),
    (b"%PDF-1.4\ntrailer << /Root 1 0 R /Encrypt 5 0 R >>\n%%EOF\n", "已加密"),
])
def test_what_cannot_be_checked_is_refused(pdf: bytes, reason: str) -> None:
    with pytest.raises(pdfscan.Refused, match=reason):
        pdfscan.check(pdf)


def test_a_decompression_bomb_is_refused_not_skipped(monkeypatch) -> None:
    monkeypatch.setattr(pdfscan, "DECODE_LIMIT", 1 << 20)
    bomb = zlib.compress(b"\0" * (4 << 20))
    pdf = (b"%PDF-1.5\n3 0 obj << /Filter /FlateDecode >>\nstream\n" + bomb
           + b"\nendstream\nendobj\n" + objstm_pdf(["ASCIIHexDecode"])[9:])
    with pytest.raises(pdfscan.Refused, match="过大"):
        pdfscan.check(pdf)


def test_ordinary_scans_pass() -> None:
    rng = random.Random(7)
    # pixel bytes that happen to spell the names: an image is never read as PDF objects
    pixels = bytes(rng.randrange(256) for _ in range(5000)) + b"/JS /AA /JavaScript"
    content = zlib.compress(b"q 595 0 0 842 0 0 cm /Im0 Do Q BT /F1 12 Tf (Hello) Tj ET")
    font = zlib.compress(b"\0\1/JS binary glyphs /AA")
    pdf = (b"%PDF-1.5\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
           b"4 0 obj << /Type /XObject /Subtype /Image /Width 10 /Height 10 /Filter /DCTDecode "
           b"/Length " + str(len(pixels)).encode() + b" >>\nstream\n" + pixels
           + b"\nendstream\nendobj\n"
           b"5 0 obj << /Type /XObject /Subtype /Image /Filter [/FlateDecode] >>\nstream\n"
           + zlib.compress(pixels) + b"\nendstream\nendobj\n"
           b"6 0 obj << /Filter /FlateDecode >>\nstream\n" + content + b"\nendstream\nendobj\n"
           b"7 0 obj << /Length1 40 /Filter /FlateDecode >>\nstream\n" + font
           + b"\nendstream\nendobj\n"
           + objstm_pdf(["FlateDecode"], payload=b"1 0 << /Type /Page /Parent 2 0 R >>")[9:])
    pdfscan.check(pdf)


def test_an_object_stream_dressed_as_an_image_is_still_checked() -> None:
    pdf = objstm_pdf(["FlateDecode"], extra="/Subtype /Image ").replace(b"/Type /ObjStm ", b"")
    with pytest.raises(pdfscan.Refused, match="JavaScript"):
        pdfscan.check(pdf)
