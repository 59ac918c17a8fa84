"""与上级监测平台同步的数据包格式 (the package layout, pure: no Django).

A package is a zip holding `manifest.json` and one CSV member per entity. Every member is
listed in the manifest with its row count and SHA-256; the manifest names the format, the
source area, the watermark (from → to) and says the package holds personal data. The same
rows always give the same bytes: members are sorted by their key, zip entries carry a fixed
time and mode, and nothing in a package records the moment it was made — only the watermark.
docs/platform-sync.md describes every column.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from doudi.core import csvfile

FORMAT = "doudi-platform-sync/1"
MANIFEST = "manifest.json"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip entry can carry: no clock in a package
MAX_MEMBER_BYTES = 2 * 1024 ** 3  # inflated, per member (counted while reading)
MAX_MANIFEST_BYTES = 64 * 1024

# column types: text, code (a code list's value), area_code (12 digits), id_number (18),
# date (YYYY-MM-DD, blank = none), int, fen (integer 分), bool (1 / 0)
NUMERIC_TYPES = frozenset({"int", "fen"})


@dataclass(frozen=True)
class Member:
    entity: str
    columns: tuple[tuple[str, str], ...]  # (name, type)
    key: tuple[str, ...]  # the columns that identify a row across deployments

    @property
    def file_name(self) -> str:
        return f"{self.entity}.csv"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)


HOUSEHOLDS = Member("households", (
    ("household_number", "text"), ("area_code", "area_code"), ("hukou_type", "code"),
    ("is_active", "bool"),
), ("household_number",))
PERSONS = Member("persons", (
    ("id_number", "id_number"), ("name", "text"), ("sex", "code"), ("birth_date", "date"),
    ("area_code", "area_code"), ("hukou_type", "code"), ("disability_category", "code"),
    ("disability_grade", "int"), ("serious_illness", "text"), ("labour_capacity", "code"),
    ("student_status", "code"), ("has_supporter", "bool"), ("adl_failed", "int"),
    ("death_date", "date"),
), ("id_number",))
MEMBERSHIPS = Member("memberships", (
    ("household_number", "text"), ("id_number", "id_number"), ("start_date", "date"),
    ("seq", "int"), ("area_code", "area_code"), ("relation", "code"), ("co_resident", "bool"),
    ("end_date", "date"),
), ("household_number", "id_number", "start_date", "seq"))
CATEGORIES = Member("categories", (
    ("household_number", "text"), ("id_number", "id_number"), ("category", "code"),
    ("start_date", "date"), ("seq", "int"), ("area_code", "area_code"), ("end_date", "date"),
), ("household_number", "id_number", "category", "start_date", "seq"))
ENROLLMENTS = Member("enrollments", (
    ("household_number", "text"), ("id_number", "id_number"), ("programme", "code"),
    ("part", "code"), ("start_date", "date"), ("seq", "int"), ("area_code", "area_code"),
    ("status", "code"), ("amount_fen", "fen"), ("end_date", "date"),
    ("monitor_until", "date"),
), ("household_number", "id_number", "programme", "part", "start_date", "seq"))
ENTITIES: tuple[Member, ...] = (HOUSEHOLDS, PERSONS, MEMBERSHIPS, CATEGORIES, ENROLLMENTS)
BY_ENTITY = {m.entity: m for m in ENTITIES}
# a tombstone: the entity and its key (the union of every entity's key columns; blank where
# the entity's key has no such column)
DELETIONS = Member("deletions", (
    ("entity", "code"), ("household_number", "text"), ("id_number", "id_number"),
    ("category", "code"), ("programme", "code"), ("part", "code"), ("start_date", "date"),
    ("seq", "int"),
), ("entity", "household_number", "id_number", "category", "programme", "part",
    "start_date", "seq"))
MEMBERS: tuple[Member, ...] = (*ENTITIES, DELETIONS)
LABELS = {"households": "家庭", "persons": "人员", "memberships": "家庭成员关系",
          "categories": "人员类别", "enrollments": "保障对象", "deletions": "删除记录"}

Row = dict[str, str]


class PackageError(ValueError):
    """A package that cannot be read or does not hold what its manifest says (message
    Chinese). Nothing of it is imported."""


def key_of(member: Member, row: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(row.get(c, "") for c in member.key)


def row_digest(member: Member, row: Mapping[str, str]) -> str:
    """What a row says, as 16 hex characters: a row whose digest did not change since the
    watermark is not sent again."""
    text = "\x1f".join(row.get(c, "") for c in member.names)
    return hashlib.sha256(f"{member.entity}\x1e{text}".encode()).hexdigest()[:16]


def tombstone(entity: str, key: Sequence[str]) -> Row:
    member = BY_ENTITY[entity]
    row = {c: "" for c in DELETIONS.names}
    row.update(dict(zip(member.key, key, strict=True)))
    row["entity"] = entity
    return row


def _sorted(member: Member, rows: Iterable[Row]) -> list[Row]:
    def order(row: Row) -> tuple:
        # numeric key columns order as numbers (seq 10 after seq 9)
        return tuple((int(row[c]) if row.get(c) else -1) if dict(member.columns)[c] == "int"
                     else row.get(c, "") for c in member.key)
    return sorted(rows, key=order)


def member_bytes(member: Member, rows: Iterable[Row]) -> bytes:
    numeric = [i for i, (_, kind) in enumerate(member.columns) if kind in NUMERIC_TYPES]
    ordered = _sorted(member, rows)
    # a blank number stays blank (csvfile.number refuses it): written as text
    body = [[r.get(c, "") for c in member.names] for r in ordered]
    blanks = {i for i in numeric for line in body if line[i] == ""}
    return csvfile.write(member.names, body, encoding="utf-8",
                         numeric=[i for i in numeric if i not in blanks])


@dataclass
class Package:
    source_area_code: str
    watermark_from: str
    watermark_to: str
    rows: dict[str, list[Row]] = field(default_factory=dict)  # entity → rows (deletions too)
    manifest: dict = field(default_factory=dict)

    def count(self, entity: str) -> int:
        return len(self.rows.get(entity, []))

    @property
    def persons(self) -> int:
        return self.count("persons")


def write(package: Package) -> bytes:
    """The zip, byte for byte the same for the same rows; fills `package.manifest`."""
    members: dict[str, bytes] = {m.file_name: member_bytes(m, package.rows.get(m.entity, []))
                                 for m in MEMBERS}
    manifest = {
        "format": FORMAT,
        "source_area_code": package.source_area_code,
        "watermark": {"from": package.watermark_from, "to": package.watermark_to},
        "full": package.watermark_from == "",
        "personal_data": True,
        "notice": ("含个人信息（完整身份证号），仅限低收入人口动态监测使用，"
                   "按个人信息保护要求传输与保管"),
        "encoding": "utf-8",
        "members": {name: {"rows": package.count(name.removesuffix(".csv")),
                           "sha256": hashlib.sha256(data).hexdigest()}
                    for name, data in members.items()},
    }
    package.manifest = manifest
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        entries = [(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2,
                                         sort_keys=True).encode() + b"\n"),
                   *members.items()]
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            info.create_system = 3  # unix, so the mode is read back
            z.writestr(info, data)
    return out.getvalue()


def _inflate(z: zipfile.ZipFile, name: str, limit: int) -> bytes:
    chunks, size = [], 0
    with z.open(name) as f:
        while chunk := f.read(1 << 20):
            size += len(chunk)
            if size > limit:
                raise PackageError(f"数据包成员 {name} 解压后超过 {limit} 字节")
            chunks.append(chunk)
    return b"".join(chunks)


def _unneutralise(value: str) -> str:
    """The text a CSV cell was before `csvfile` kept a spreadsheet from reading it as a
    formula (a leading apostrophe before = + - @)."""
    if value.startswith("'") and csvfile.is_formula_like(value[1:]):
        return value[1:]
    return value


def read(data: bytes) -> Package:
    """A package, checked: a zip with exactly the manifest and the members of this format,
    every member's SHA-256 and row count as the manifest says, every header as documented.
    Values are checked by the importer."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise PackageError("不是有效的数据包（zip）文件") from exc
    with z:
        names = z.namelist()
        want = {MANIFEST, *(m.file_name for m in MEMBERS)}
        if len(names) != len(set(names)) or set(names) != want:
            extra = "、".join(sorted(set(names) - want)) or "无"
            missing = "、".join(sorted(want - set(names))) or "无"
            raise PackageError(f"数据包成员不符：多出 {extra}，缺少 {missing}")
        try:
            manifest = json.loads(_inflate(z, MANIFEST, MAX_MANIFEST_BYTES))
        except ValueError as exc:
            raise PackageError("manifest.json 无法读取") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise PackageError(f"数据包格式应为 {FORMAT}")
        area = manifest.get("source_area_code")
        mark = manifest.get("watermark")
        listed = manifest.get("members")
        if not (isinstance(area, str) and area.isdigit() and len(area) in (2, 4, 6, 9, 12)):
            raise PackageError("manifest.json 的 source_area_code 无效")
        if not (isinstance(mark, dict) and isinstance(mark.get("from"), str)
                and isinstance(mark.get("to"), str) and mark["to"]):
            raise PackageError("manifest.json 的 watermark 无效")
        if not isinstance(listed, dict):
            raise PackageError("manifest.json 缺少 members")
        package = Package(area, mark["from"], mark["to"], manifest=manifest)
        for member in MEMBERS:
            raw = _inflate(z, member.file_name, MAX_MEMBER_BYTES)
            entry = listed.get(member.file_name)
            if not isinstance(entry, dict) or entry.get("sha256") != hashlib.sha256(
                    raw).hexdigest():
                raise PackageError(f"{member.file_name} 的 SHA-256 与 manifest.json 不符"
                                   "（数据包在传输中被改动或不完整）")
            try:
                lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
            except (UnicodeDecodeError, csv.Error) as exc:
                raise PackageError(f"{member.file_name} 无法按 UTF-8 CSV 读取") from exc
            if not lines or tuple(lines[0]) != member.names:
                raise PackageError(f"{member.file_name} 的表头应为 {','.join(member.names)}")
            rows = []
            for n, line in enumerate(lines[1:], start=2):
                if len(line) != len(member.names):
                    raise PackageError(f"{member.file_name} 第 {n} 行列数不符")
                rows.append({c: _unneutralise(v) for c, v in zip(member.names, line,
                                                                  strict=True)})
            if entry.get("rows") != len(rows):
                raise PackageError(f"{member.file_name} 的行数与 manifest.json 不符")
            package.rows[member.entity] = rows
    return package


def state_digest(entries: Iterable[tuple[str, tuple[str, ...], str]]) -> str:
    """The watermark a package ends at: SHA-256 over every row of the exported population as
    (entity, key, row digest), sorted — the same population gives the same watermark, on any
    day, in any deployment."""
    h = hashlib.sha256(FORMAT.encode())
    for entity, key, digest in sorted(entries):
        h.update(json.dumps([entity, list(key), digest], ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()
