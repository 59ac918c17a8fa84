"""Parameter files (参数文件) in YAML, and the sets shipped with Doudi.

A file names its default area and, optionally, groups of areas (广东's 一类 … 四类); each entry
is one key with its unit and reference, and either one `value`/`effective` or a list of
`values`, each with its own `effective` and optionally `area` (a code or a group name) and
`url` / `verified` / `note` overrides. See docs/rules.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from doudi.rules.parameters import (
    LABELS,
    OPTIONAL_UNITS,
    Parameter,
    ParameterError,
    ParameterSet,
    make_parameter,
    unknown_name,
)

SHIPPED_DIR = Path(__file__).parent / "data" / "parameters"
_META = ("reference", "url", "verified", "note", "floor", "document", "issuer", "issued")
#: what an entry and one of its values may name besides the source fields
_ENTRY_FIELDS = frozenset({"key", "unit", "value", "values", "effective", "area", *_META})
_ROW_FIELDS = frozenset({"area", "effective", "value", *_META})


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _refuse_unknown(fields: dict[str, Any], known: frozenset[str], where: str) -> None:
    """A field nothing reads (`verfied: true`, `isued:`) is a misspelling, never ignored."""
    for name in fields:
        if name not in known:
            raise ParameterError(where + unknown_name("字段", str(name), known))


def parse_document(doc: dict[str, Any], origin: str = "") -> list[Parameter]:
    where = f"{origin}: " if origin else ""
    if not isinstance(doc, dict) or not isinstance(doc.get("parameters"), list):
        raise ParameterError(f"{where}参数文件应包含 parameters 列表")
    _refuse_unknown(doc, frozenset({"title", "area", "groups", "parameters"}), where)
    default_area = str(doc.get("area", "") or "")
    raw_groups = doc.get("groups") or {}
    if not isinstance(raw_groups, dict) or not all(
        isinstance(v, list) for v in raw_groups.values()
    ):
        raise ParameterError(f"{where}groups 应为“组名: [区划代码, …]”")
    groups = {str(k): [str(c) for c in v] for k, v in raw_groups.items()}
    out: list[Parameter] = []
    for n, entry in enumerate(doc["parameters"], start=1):
        if not isinstance(entry, dict) or "key" not in entry or "unit" not in entry:
            raise ParameterError(f"{where}第 {n} 项缺少 key 或 unit")
        _refuse_unknown(entry, _ENTRY_FIELDS, f"{where}参数 {entry['key']} ")
        meta = {k: entry[k] for k in _META if k in entry}
        rows = entry.get("values") or [
            {k: entry[k] for k in ("area", "effective", "value") if k in entry}
        ]
        if not isinstance(rows, list):
            raise ParameterError(f"{where}参数 {entry['key']} 的 values 应为列表")
        for row in rows:
            if not isinstance(row, dict):
                raise ParameterError(f"{where}参数 {entry['key']} 的 values 每项应为键值对")
            _refuse_unknown(row, _ROW_FIELDS, f"{where}参数 {entry['key']} 的取值 ")
            if "effective" not in row or "value" not in row:
                raise ParameterError(f"{where}参数 {entry['key']} 缺少 effective 或 value")
            area = str(row.get("area", default_area) or "")
            codes = groups.get(area, [area])
            row_meta = {**meta, **{k: row[k] for k in _META if k in row}}
            verified = row_meta.get("verified", False)
            if not isinstance(verified, bool):
                raise ParameterError(
                    f"{where}参数 {entry['key']} 的 verified 应为 true 或 false"
                )
            row_meta["verified"] = verified
            if "issued" in row_meta:
                row_meta["issued"] = _iso(row_meta["issued"])
            for text in ("document", "issuer"):
                if not isinstance(row_meta.get(text, ""), str):
                    raise ParameterError(f"{where}参数 {entry['key']} 的 {text} 应为文字")
            if not isinstance(row_meta.get("floor", False), bool):
                raise ParameterError(f"{where}参数 {entry['key']} 的 floor 应为 true 或 false")
            for code in codes:
                try:
                    out.append(make_parameter(
                        entry["key"], code, _iso(row["effective"]), row["value"], entry["unit"],
                        **row_meta,
                    ))
                except ParameterError as exc:
                    raise ParameterError(f"{where}{exc}") from None
    return out


def read_yaml(path: Path, error: type[ValueError]) -> Any:
    """A YAML file's content, or `error` with a Chinese message naming the file (bad syntax, or
    a value YAML cannot build, such as an unquoted impossible date 2023-13-01)."""
    with open(path, encoding="utf-8") as fh:
        try:
            return yaml.safe_load(fh)
        except yaml.YAMLError as exc:
            raise error(f"{path.name}: YAML 格式错误：{exc}") from None
        except ValueError as exc:
            raise error(f"{path.name}: 无法读取的值：{exc}") from None


def known_keys() -> frozenset[str]:
    """Every key a parameter file may define: the named ones (`LABELS`), the optional ones, and
    those a programme's rules module reads (a programme added to the catalogue brings its own)."""
    from doudi.rules.programmes import PROGRAMMES

    return frozenset({*LABELS, *OPTIONAL_UNITS,
                      *(k for p in PROGRAMMES.values()
                        for k in (*p.parameters, *p.optional_parameters))})


def load_file(path: Path, known: Collection[str] | None = None) -> list[Parameter]:
    """A parameter file's rows; a key nothing reads (a misspelling) is refused with the nearest
    known one."""
    rows = parse_document(read_yaml(path, ParameterError), path.name)
    known = known_keys() if known is None else known
    for row in rows:
        if row.key not in known:
            raise ParameterError(f"{path.name}: {unknown_name('参数', row.key, known)}")
    return rows


def shipped_files() -> list[Path]:
    return sorted(SHIPPED_DIR.glob("*.yaml"))


@lru_cache(maxsize=1)
def shipped() -> ParameterSet:
    """Every parameter file shipped with Doudi, as one set. Files are layered in name order: a
    later file's row for the same key, area and date replaces an earlier one (广州's own 2023
    standard replaces the provincial 一类 floor it was filed under)."""
    result = ParameterSet([])
    for path in shipped_files():
        result = result.with_rows(load_file(path))
    return result
