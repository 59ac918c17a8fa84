"""银行文件格式: the layout of the 社保卡/一卡通 payment file and of the bank's result file, as
data a district edits (every bank wants its own columns, encoding and codes).

A layout's columns are written one per line as ``表头=字段`` where 字段 is one of `FIELDS`'
Chinese names, so staff edit it without knowing any identifier. This module is plain Python:
parsing and rendering are tested without a database.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import xlsxwriter

from doudi.core import csvfile
from doudi.core.errors import ServiceError
from doudi.programmes import catalogue

# 字段: what a column may carry → the key `rows()` yields it under
FIELDS: dict[str, str] = {
    "流水号": "line", "账号": "account", "户名": "name", "金额": "amount",
    "金额（分）": "amount_fen", "项目代码": "code", "项目名称": "programme_name",
    "发放月份": "month", "区划代码": "area_code",
}
ENCODINGS = {"utf-8-sig": "UTF-8（带BOM，Excel可直接打开）", "gb18030": "GB18030/GBK"}
FORMATS = {"csv": "CSV 文本", "xlsx": "Excel（xlsx）"}
DEFAULT_SUCCESS = ("成功", "已发放", "1", "S")

# the layouts every district may use; a district adds its own in 资金发放 → 银行文件格式
SHIPPED_LAYOUTS = [
    {"code": "default", "name": "社保卡/一卡通 通用格式（UTF-8 CSV）", "encoding": "utf-8-sig",
     "file_format": "csv",
     "columns": [["流水号", "line"], ["账号", "account"], ["户名", "name"], ["金额", "amount"],
                 ["项目代码", "code"], ["发放月份", "month"]]},
    {"code": "gbk_plain", "name": "GBK 文本格式（无月份列）", "encoding": "gb18030",
     "file_format": "csv",
     "columns": [["流水号", "line"], ["卡号", "account"], ["姓名", "name"], ["金额", "amount"],
                 ["代码", "code"]]},
    {"code": "excel", "name": "Excel 格式（发放明细工作表）", "encoding": "utf-8-sig",
     "file_format": "xlsx",
     "columns": [["流水号", "line"], ["区划代码", "area_code"], ["账号", "account"],
                 ["户名", "name"], ["金额", "amount"], ["项目名称", "programme_name"],
                 ["项目代码", "code"], ["发放月份", "month"]]},
]


def default_codes() -> dict[str, str]:
    """项目代码 by programme: the catalogue's payment codes (a layout may set its own)."""
    return catalogue.payment_codes()


def load_shipped(model) -> None:  # noqa: ANN001 — the model class (a migration's historical one too)
    for row in SHIPPED_LAYOUTS:
        model.objects.update_or_create(code=row["code"], defaults={**row, "codes": default_codes()})


class LayoutError(ServiceError, ValueError):
    """A layout a district typed that cannot be used; the message is Chinese."""


@dataclass(frozen=True)
class Layout:
    columns: tuple[tuple[str, str], ...]  # (表头, field key)
    encoding: str = "utf-8-sig"
    file_format: str = "csv"
    codes: dict[str, str] = field(default_factory=lambda: default_codes())
    result_line: str = "流水号"
    result_status: str = "结果"
    result_reason: str = "失败原因"
    success_values: tuple[str, ...] = DEFAULT_SUCCESS

    def file_name(self, stem: str) -> str:
        return f"{stem}.{self.file_format}"

    @property
    def content_type(self) -> str:
        if self.file_format == "xlsx":
            return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return "text/csv"


def parse_columns(text: str) -> tuple[tuple[str, str], ...]:
    """``表头=字段`` per line (full-width ＝ and ：/: accepted) → ((表头, key), …)."""
    columns: list[tuple[str, str]] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        for sep in ("＝", "：", ":"):
            line = line.replace(sep, "=")
        header, eq, name = (part.strip() for part in line.partition("="))
        if not eq or not header or not name:
            raise LayoutError(f"第 {n} 行“{raw.strip()}”应写成“表头=字段”")
        if name not in FIELDS:
            raise LayoutError(f"第 {n} 行：未知字段“{name}”，可选：{'、'.join(FIELDS)}")
        if header in (h for h, _ in columns):
            raise LayoutError(f"第 {n} 行：表头“{header}”重复")
        columns.append((header, FIELDS[name]))
    keys = {key for _, key in columns}
    if "line" not in keys:
        raise LayoutError("必须包含“流水号”字段：银行回盘靠它对应到每一笔发放")
    if not {"account", "amount"} <= keys and not {"account", "amount_fen"} <= keys:
        raise LayoutError("必须包含“账号”和“金额”（或“金额（分）”）字段")
    return tuple(columns)


def columns_text(columns: Iterable[Iterable[str]]) -> str:
    names = {key: name for name, key in FIELDS.items()}
    return "\n".join(f"{header}={names.get(key, key)}" for header, key in columns)


def parse_codes(text: str) -> dict[str, str]:
    """项目代码 overrides, ``项目=代码`` per line; programmes not named keep the default. A part
    of a programme (困难残疾人生活补贴) may be given its own; one not given is paid under its
    programme's."""
    names = catalogue.labels() | dict(catalogue.part_choices())
    by_label = {label: key for key, label in names.items()} | {k: k for k in names}
    codes = default_codes()
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().replace("＝", "=")
        if not line:
            continue
        label, eq, code = (part.strip() for part in line.partition("="))
        if not eq or label not in by_label or not code or len(code) > 10:
            raise LayoutError(f"项目代码第 {n} 行“{raw.strip()}”应写成“救助项目=代码”，"
                              f"项目可选：{'、'.join(names.values())}")
        codes[by_label[label]] = code
    return codes


def make_layout(*, columns: str | Iterable[Iterable[str]], encoding: str = "utf-8-sig",
                file_format: str = "csv", codes: dict[str, str] | None = None,
                result_line: str = "流水号", result_status: str = "结果",
                result_reason: str = "失败原因",
                success_values: str | Iterable[str] = DEFAULT_SUCCESS) -> Layout:
    if encoding not in ENCODINGS:
        raise LayoutError(f"不支持的编码“{encoding}”")
    if file_format not in FORMATS:
        raise LayoutError(f"不支持的文件类型“{file_format}”")
    cols = (parse_columns(columns) if isinstance(columns, str)
            else tuple((str(h), str(k)) for h, k in columns))
    if any(key not in FIELDS.values() for _, key in cols):
        raise LayoutError("列设置含未知字段")
    if isinstance(success_values, str):
        success_values = [v for v in success_values.replace("，", ",").split(",")]
    success = tuple(v.strip() for v in success_values if v.strip())
    if not success:
        raise LayoutError("请填写表示发放成功的结果值，如“成功”")
    if not result_line.strip() or not result_status.strip():
        raise LayoutError("请填写回盘文件中“流水号”和“结果”两列的表头")
    return Layout(columns=cols, encoding=encoding, file_format=file_format,
                  codes=dict(codes or default_codes()), result_line=result_line.strip(),
                  result_status=result_status.strip(), result_reason=result_reason.strip(),
                  success_values=success)


# amounts are numbers the bank's program reads: written as numbers (checked, never prefixed)
AMOUNT_KEYS = frozenset({"amount", "amount_fen"})
is_formula_like = csvfile.is_formula_like
neutralise = csvfile.neutralise


def _amount(value: str) -> str:
    try:
        return csvfile.number(value)
    except csvfile.UnsafeCell as exc:
        raise LayoutError(str(exc)) from exc


def render(layout: Layout, rows: Iterator[dict[str, str]]) -> bytes:
    """The payment file: a header row, then one row per payment line. No text cell can become
    a formula: xlsx cells are written as strings (those that look like a formula also marked
    quote-prefixed, so editing the cell keeps it text); in CSV such a cell gets a leading
    apostrophe (`doudi.core.csvfile`, which every CSV Doudi writes goes through). Header texts
    come from the district's layout, so they are treated alike. Amounts stay numbers."""
    header = [h for h, _ in layout.columns]
    text_keys = [key not in AMOUNT_KEYS for _, key in layout.columns]
    if layout.file_format == "xlsx":
        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer, {"constant_memory": True,
                                            "strings_to_formulas": False})
        sheet = book.add_worksheet("发放明细")
        text = book.add_format({"num_format": "@"})  # accounts keep their leading zeros
        quoted = book.add_format({"num_format": "@", "quote_prefix": True})
        for c, h in enumerate(header):
            sheet.write_string(0, c, h, quoted if is_formula_like(h) else None)
        for n, row in enumerate(rows, start=1):
            for c, (_, key) in enumerate(layout.columns):
                value = row[key] if text_keys[c] else _amount(row[key])
                sheet.write_string(n, c, value, quoted if text_keys[c] and is_formula_like(
                    value) else text)
        book.close()
        return buffer.getvalue()
    try:
        return csvfile.write(header, ([row[key] for _, key in layout.columns] for row in rows),
                             encoding=layout.encoding,
                             numeric=[c for c, keep in enumerate(text_keys) if not keep])
    except csvfile.UnsafeCell as exc:
        raise LayoutError(str(exc)) from exc


@dataclass(frozen=True)
class ResultRow:
    line: str
    paid: bool
    reason: str


def read_result(layout: Layout, rows: list[dict[str, str]]) -> list[ResultRow]:
    """The bank's answer, as read by `doudi.exchange.readers`, in this layout's columns."""
    if not rows or not {layout.result_line, layout.result_status} <= set(rows[0]):
        raise LayoutError(f"回盘文件应包含“{layout.result_line}”“{layout.result_status}”两列")
    out = []
    for r in rows:
        status = str(r.get(layout.result_status) or "").strip()
        reason = str(r.get(layout.result_reason) or "").strip() if layout.result_reason else ""
        out.append(ResultRow(str(r.get(layout.result_line) or "").strip(),
                             status in layout.success_values, (reason or "银行退回")[:100]))
    return out


def result_rows(data: bytes) -> list[dict[str, str]]:
    """The rows of a bank's result file, CSV (any Chinese encoding) or Excel, as text."""
    from doudi.exchange.readers import ReadError, check_excel_extent, decode_text

    if data[:2] == b"PK" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        from python_calamine import CalamineWorkbook

        try:
            check_excel_extent(data)
        except ReadError as exc:
            raise LayoutError(str(exc)) from exc
        try:
            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
            table = book.get_sheet_by_index(0).to_python(skip_empty_area=True)
        except BaseException as exc:  # calamine panics on damaged files
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            raise LayoutError("无法读取回盘 Excel 文件（文件损坏或格式不符）") from exc
        if not table:
            return []
        header = [_text(c) for c in table[0]]
        return [dict(zip(header, (_text(c) for c in row), strict=False)) for row in table[1:]]
    try:
        text, _ = decode_text(data)
    except (ReadError, UnicodeDecodeError) as exc:
        raise LayoutError(str(exc) if isinstance(exc, ReadError) else
                          "无法识别回盘文件编码（应为 UTF-8 或 GBK/GB18030）") from exc
    if "\x00" in text:
        raise LayoutError("回盘文件含有二进制内容，不是 CSV 文本文件")
    try:  # newline="": a line may end in \r\n, \n or a lone \r
        return list(csv.DictReader(io.StringIO(text, newline="")))
    except csv.Error as exc:  # a field over the csv module's limit, a damaged quote
        raise LayoutError("回盘文件格式错误（字段过长或引号不配对）") from exc


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 流水号 read back from Excel as 123.0
    return "" if value is None else str(value).strip()
