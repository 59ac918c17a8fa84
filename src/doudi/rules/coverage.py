"""Parameter coverage (参数覆盖情况) of one area: for every key, which row is in force over which
dates, set at which level (全国 / 省 / 市 / 县 …), verified or not, and the periods since a start
date when no row is in force — what a bureau must confirm before going live with the rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from doudi.rules.parameters import LABELS, OPTIONAL_UNITS, Parameter, ParameterSet, label_of

SINCE = dt.date(2020, 1, 1)
#: a row's level by the length of its area prefix
LEVELS = {0: "全国", 2: "省", 4: "市", 6: "县", 9: "乡镇", 12: "村"}


def level_of(prefix: str) -> str:
    return LEVELS.get(len(prefix), f"{len(prefix)} 位")


@dataclass(frozen=True)
class Span:
    """From `start` to `end` (inclusive; None: open-ended) the area reads `row` (None: nothing)."""

    start: dt.date
    end: dt.date | None
    row: Parameter | None


@dataclass
class KeyCoverage:
    key: str
    label: str
    optional: bool  # absence means the programme's fallback, not a missing parameter
    spans: list[Span] = field(default_factory=list)

    @property
    def levels(self) -> list[str]:
        """The levels the rows the area reads were set at, widest first."""
        prefixes = sorted({s.row.area for s in self.spans if s.row is not None}, key=len)
        return [level_of(p) for p in prefixes]

    @property
    def gaps(self) -> list[Span]:
        return [] if self.optional else [s for s in self.spans if s.row is None]

    @property
    def defined(self) -> bool:
        return any(s.row is not None for s in self.spans)

    @property
    def never_verified(self) -> bool:
        """Rows are read, and none of them is verified."""
        rows = [s.row for s in self.spans if s.row is not None]
        return bool(rows) and not any(r.verified for r in rows)

    @property
    def unverified(self) -> bool:
        return any(s.row is not None and not s.row.verified for s in self.spans)


def source_line(p: Parameter) -> str:
    """发文机关 文号（印发日期 印发）as far as the row names them ("" when it names none); the
    印发日期 only where it differs from the effective date (back-pay)."""
    text = " ".join(t for t in (p.issuer, p.document) if t)
    if p.issued is not None and p.issued != p.effective:
        text += f"（{p.issued} 印发）"
    return text.strip()


def citation(p: Parameter) -> str:
    """How a bureau cites a row: its `source_line`, or its reference when it names none."""
    return source_line(p) or p.reference


def key_coverage(parameters: ParameterSet, key: str, area_code: str,
                 since: dt.date = SINCE) -> KeyCoverage:
    """The spans of `key` for `area_code` from `since` on: the value in force changes only on
    the effective date of a row of the area or one of its ancestors."""
    along = [p for p in parameters.history(key) if area_code.startswith(p.area)]
    changes = sorted({since, *(p.effective for p in along if p.effective > since)})
    spans: list[Span] = []
    for n, day in enumerate(changes):
        row = parameters.find(key, area_code, day)
        end = changes[n + 1] - dt.timedelta(days=1) if n + 1 < len(changes) else None
        if spans and spans[-1].row == row:
            spans[-1] = Span(spans[-1].start, end, row)
        else:
            spans.append(Span(day, end, row))
    return KeyCoverage(key, label_of(key), key in OPTIONAL_UNITS, spans)


def coverage(parameters: ParameterSet, area_code: str, keys: Iterable[str] | None = None,
             since: dt.date = SINCE) -> list[KeyCoverage]:
    """Every key (the named ones, the optional ones and any other the set holds) for an area,
    in the order `LABELS` declares them."""
    if keys is None:
        keys = {*LABELS, *OPTIONAL_UNITS, *parameters.keys}
    order = {k: n for n, k in enumerate(LABELS)}
    return [key_coverage(parameters, k, area_code, since)
            for k in sorted(set(keys), key=lambda k: (order.get(k, len(order)), k))]


@dataclass(frozen=True)
class Share:
    """How many of the values one parameter file gives are verified (a province's group row,
    e.g. 广东四类, counts once, not once per city it names)."""

    place: str  # the file's title: 广东省, 深圳市 …
    rows: int
    verified: int

    @property
    def percent(self) -> int:
        return round(100 * self.verified / self.rows) if self.rows else 0


def verified_share(place: str, params: Iterable[Parameter]) -> Share:
    values: dict[tuple, bool] = {}
    for p in params:
        ident = (p.key, p.effective, repr(p.value), p.reference)
        values[ident] = values.get(ident, False) or p.verified
    return Share(place, len(values), sum(values.values()))


def shipped_shares() -> list[tuple[str, Share]]:
    """(file name, share) of every parameter file shipped with Doudi, in layering order."""
    from doudi.rules.parameters import ParameterError
    from doudi.rules.shipped import load_file, read_yaml, shipped_files

    out = []
    for path in shipped_files():
        title = (read_yaml(path, ParameterError) or {}).get("title") or path.stem
        out.append((path.name, verified_share(str(title), load_file(path))))
    return out


#: the standards whose yearly source `year_table` shows, and the member they are paid to
YEAR_KEYS = {"dibao.standard.urban": "城镇低保标准", "dibao.standard.rural": "农村低保标准",
             "child.orphan.community": "散居孤儿基本生活标准"}


def year_cell(row: Parameter | None, area_code: str) -> str:
    """One area's value of one year as the table shows it: `1,100` the area's own value, verified;
    `1,160?` not verified; `1,037 省定` a higher level's minimum (`floor`) because the area has
    no own value in force or a lower one; `853 市` a city's value read by one of its counties;
    `—` nothing in force (不可计算)."""
    if row is None:
        return "—"
    from doudi.rules.labels import bare_value_text

    text = bare_value_text(row).removesuffix(".00")
    if row.floor:
        text += " 省定"
    elif len(row.area) < len(area_code):
        text += f" {level_of(row.area)}"
    return text + ("" if row.verified else "?")


def year_table(parameters: ParameterSet, places: list[tuple[str, str]],
               years: Iterable[int], day: tuple[int, int] = (7, 1)) -> list[str]:
    """For each key of `YEAR_KEYS`, a Markdown table: one line per (name, area code), one column
    per year, the value in force on 1 July of that year and where it comes from (`year_cell`)."""
    years = list(years)
    lines: list[str] = []
    for key, label in YEAR_KEYS.items():
        lines += [f"**{label}**（`{key}`，元/人·月，各年 7 月 1 日的取值）", "",
                  "| 地区 | " + " | ".join(str(y) for y in years) + " |",
                  "|---|" + "---:|" * len(years)]
        for name, code in places:
            cells = [year_cell(parameters.find(key, code, dt.date(y, *day)), code)
                     for y in years]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines[:-1]


def shares_table() -> list[str]:
    """The Markdown table of `shipped_shares` that `doudi policy coverage --shares` prints and
    docs/rules.md §5.5 carries (tools/rules_doc.py)."""
    lines = ["| 参数文件 | 取值条数 | 已核实 | 已核实比例 |", "|---|---:|---:|---:|"]
    lines += [f"| {s.place}（{name}） | {s.rows} | {s.verified} | {s.percent}% |"
              for name, s in shipped_shares()]
    return lines
