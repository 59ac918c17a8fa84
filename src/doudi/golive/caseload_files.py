"""Reading an old system's caseload export (在保数据文件): which layout each file (or each
sheet of a workbook) is, its cells validated as a department file's are (`engine.feeds.validate`:
IDs, dates, money), and every refused cell a line of the report. What the rows mean together —
households, members, enrolments — is `golive.caseload`'s business.

A file is tried as the combined layout (one row per member with the household's columns) first,
then as the households and the members layouts, which may be two sheets of one workbook or two
files. A file none of them reads is refused as a whole with the columns it lacks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from doudi.core.masking import mask_id_number
from doudi.exchange.readers import MissingColumns, ReadError
from doudi.golive import layouts, reading

REPORT_SCHEMA = {"file": pl.String, "sheet": pl.String, "row": pl.Int64, "legacy_number": pl.String,
                 "label": pl.String, "value": pl.String, "reason": pl.String}
CASELOAD_KINDS = ("combined", "households", "members")


@dataclass(frozen=True)
class Where:
    """A row as the clerk finds it: file, sheet and the row number the sheet shows."""

    file: str
    sheet: str
    row: int

    def __str__(self) -> str:
        sheet = f"“{self.sheet}”" if self.sheet else ""
        return f"{self.file}{sheet}第 {self.row} 行"


@dataclass
class Sources:
    """The typed rows of every file: household-side and member-side, each with its `Where`."""

    households: list[tuple[Where, dict[str, Any]]] = field(default_factory=list)
    members: list[tuple[Where, dict[str, Any]]] = field(default_factory=list)
    report: list[dict[str, Any]] = field(default_factory=list)  # REPORT_SCHEMA rows
    files: list[dict[str, Any]] = field(default_factory=list)
    refused_files: list[str] = field(default_factory=list)
    # file → why it could not be read as one of the layouts it was tried as (a members sheet
    # read while its households columns were not found)
    partly: dict[str, list[str]] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # field key → header the file used

    def refuse(self, where: Where, legacy_number: str | None, key: str, value: object,
               reason: str) -> None:
        label = self.labels.get(key, key) if key else "整行"
        shown = None if value is None else str(value)
        if shown and key in ID_FIELDS:
            shown = mask_id_number(shown)
        self.report.append({"file": where.file, "sheet": where.sheet, "row": where.row,
                            "legacy_number": legacy_number or "", "label": label,
                            "value": shown, "reason": reason})

    def report_frame(self) -> pl.DataFrame:
        frame = pl.DataFrame(self.report, schema=REPORT_SCHEMA)
        return frame.unique(maintain_order=True).sort("file", "sheet", "row", maintain_order=True)


ID_FIELDS = ("head_id", "beneficiary_id", "payee_id", "id_number")


def _layout_fields(kind: str) -> set[str]:
    return {f.key for lay in layouts.every((kind,)) for f in lay.spec.fields}


def read(files: list[tuple[str, bytes]], mappings: dict[str, dict[str, str]] | None = None
         ) -> Sources:
    """Every file read; `mappings` maps a layout key to its confirmed columns (列对应)."""
    mappings = mappings or {}
    out = Sources()
    by_kind = {lay.kind: lay for lay in layouts.every(CASELOAD_KINDS)}
    household_keys = _layout_fields("households")
    member_keys = _layout_fields("members") | {"legacy_number"}
    for name, data in files:
        failures: list[str] = []
        read_any = False
        try:
            for kinds in (("combined",), ("households", "members")):
                for kind in kinds:
                    layout = by_kind[kind]
                    try:
                        _read_one(out, layout, name, data, mappings.get(layout.key),
                                  household_keys, member_keys)
                        read_any = True
                    except MissingColumns as exc:
                        failures.append(f"按“{layout.name}”读取：{exc}")
                if read_any:
                    break
        except ReadError as exc:
            failures, read_any = [str(exc)], False
        if read_any and failures:
            out.partly[name] = failures
        if not read_any:
            out.refused_files.append(name)
            out.refuse(Where(name, "", 0), None, "", None,
                       "未能识别为在保数据文件。" + "；".join(failures))
    return out


def _read_one(out: Sources, layout: layouts.Layout, name: str, data: bytes,
              mapping: dict[str, str] | None, household_keys: set[str],
              member_keys: set[str]) -> None:
    got = reading.read_one(layout, name, data, mapping)
    for key, label in got.labels.items():
        out.labels.setdefault(key, label)
    out.files.append(got.file)
    out.notices += got.notices
    cells, validated, sheet = got.cells, got.validated, got.sheet
    legacy = dict(zip(cells["row"].to_list(), cells["legacy_number"].to_list(), strict=True))
    for r in validated.errors.iter_rows(named=True):
        out.refuse(Where(name, sheet, r["row"]), legacy.get(r["row"]), r["field"],
                   r["value"], r["reason"])
    for r in validated.duplicates.iter_rows(named=True):
        out.refuse(Where(name, sheet, r["row"]), legacy.get(r["row"]), "", None,
                   f"与第 {r['first_row']} 行完全相同：同一人员重复列出，请删除重复行")
    bad_rows = got.bad_rows
    # a household one of whose rows was refused is refused whole: mark it with an empty row
    for row, number in legacy.items():
        if row in bad_rows:
            out.households.append((Where(name, sheet, row),
                                   {"legacy_number": (number or "").strip(), "__refused": True}))
    for r in validated.good.iter_rows(named=True):
        where = Where(name, sheet, r.pop("row"))
        r = {k: v for k, v in r.items() if "#" not in k}
        if layout.kind in ("combined", "households"):
            out.households.append((where, {k: v for k, v in r.items() if k in household_keys}))
        if layout.kind in ("combined", "members"):
            out.members.append((where, {k: v for k, v in r.items() if k in member_keys}))
