"""Lines of a department's sheet that are not records (表格中的非数据行).

Offices write their tables for people: a title and a 填报单位/日期 line above the header,
合计/小计 lines, and at the bottom 制表人、审核人、“共 N 条记录”、填报日期. None of these is a
record; they are recognised here and left out, and the reader says so once ("已忽略 …")
instead of reporting every cell of them as an error. Pure Polars, no Django.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

# A cell that is a total's label: 合计, 小 计, 本页合计：, 总计 …
TOTAL_LABEL = r"^(本页|本月|全部|总)?(合计|小计|总计|累计)[:：]?$"
TOTAL_COLUMNS = 4  # the label sits in one of the first columns (序号, 姓名 …)
# A bottom line: one of its cells starts with a signature or date label, or the line starts
# with a count of records or a note. Anchored at a cell's start, so that a record whose 备注
# says "已签字" is not taken for one.
_FOOTER = re.compile(
    r"^(制表人|填表人|填报人|经办人|审核人|复核人|负责人|分管领导|单位负责人|联系电话|联系人|"
    r"制表日期|填报日期|填表日期|审核日期|报送日期|填报单位|制表单位|报送单位|"
    r"共\d+(条|行|人|户|名)|注[:：]|说明[:：]|备注[:：]|数据来源)")
_SIGNATURE = ("制表人", "填表人", "填报人", "经办人", "审核人", "复核人", "负责人")


def _squeezed(text: object) -> str:
    return re.sub(r"\s+", "", str(text or ""))


def footer_kind(cells: Sequence[object]) -> str | None:
    """What a bottom line is ("合计", "制表人", "记录数", "说明"), or None for a record."""
    filled = [_squeezed(c) for c in cells if _squeezed(c)]
    if not filled:
        return "空行"
    text = "".join(filled)
    if any(re.match(TOTAL_LABEL, c) for c in filled[:TOTAL_COLUMNS]) or re.match(
            r"^(本页|本月|全部|总)?(合计|小计|总计)", text):
        return "合计"
    if not any(_FOOTER.match(c) for c in filled):
        return None
    for word in _SIGNATURE:
        if word in text:
            return word
    if re.match(r"^共\d+", text):
        return "记录数"
    return "说明"


@dataclass
class Trimmed:
    frame: pl.DataFrame
    totals: int = 0  # 合计/小计 lines among the records
    footer: int = 0  # non-blank lines of the bottom block
    footer_kinds: list[str] = field(default_factory=list)


def trim(frame: pl.DataFrame, cells: list[str]) -> Trimmed:
    """Blank rows, total rows and the bottom block of signature/summary lines left out.
    `frame` holds the text columns `cells` (and `row`)."""
    if not cells or frame.height == 0:
        return Trimmed(frame)
    stripped = [pl.col(c).str.strip_chars() for c in cells]
    filled = pl.any_horizontal([(s.str.len_chars() > 0) for s in stripped]).fill_null(False)
    frame = frame.filter(filled)
    # the bottom block, read upwards until the first record
    kinds: list[str] = []
    end = frame.height
    while end > 0:
        kind = footer_kind(frame.row(end - 1)[:len(cells)])
        if kind is None:
            break
        kinds.append(kind)
        end -= 1
    footer = frame.height - end
    if footer:
        frame = frame.slice(0, end)
    total = pl.any_horizontal([
        pl.col(c).str.replace_all(r"\s+", "").str.contains(TOTAL_LABEL).fill_null(False)
        for c in cells[:TOTAL_COLUMNS]])
    totals = frame.filter(total).height
    if totals:
        frame = frame.filter(~total)
    return Trimmed(frame, totals, footer, list(dict.fromkeys(kinds[::-1])))


def ignored_notice(above: int, trimmed: Trimmed) -> str | None:
    """One notice for all the lines left out, e.g. "已忽略表头上方 2 行、表尾合计及制表人 3 行"."""
    parts = []
    if above:
        parts.append(f"表头上方 {above} 行")
    if trimmed.totals:
        parts.append(f"表中合计/小计 {trimmed.totals} 行")
    if trimmed.footer:
        kinds = [k for k in trimmed.footer_kinds if k != "空行"] or ["说明"]
        what = "及".join(kinds[:2]) + ("等" if len(kinds) > 2 else "")
        parts.append(f"表尾{what} {trimmed.footer} 行")
    return f"已忽略{'、'.join(parts)}" if parts else None
