"""A copy of the old system's caseload with rows a clerk must be told about (问题数据), and the
list of them: for testing that the going-live import refuses each with a reason, at the row
the clerk sees it at in the file.

Each fault sits in a household of its own: an ID cut to 17 characters, an ID whose check
character is wrong, a sex the ID contradicts, a second 户主, an unknown programme word, a town
not in the district, an amount "abc", a bare year as the start date, a payee who is not a
member, and an account at a card-only bank whose check digit fails. A household's own cells
(merged down in xls/xlsx, repeated on every member row in CSV) are reported at the household's
first row. Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from doudi.core.idnumber import CHECK_CHARS, check_char
from doudi.synth import old_system_sheets as sheets
from doudi.synth.old_system import OldSystemExport, luhn_digit, month_end
from doudi.synth.old_system_tables import file_stem

UNKNOWN_PROGRAMME = "困难群众慰问"
NOT_TOWNS = ("青龙镇", "白沙镇", "红星街道", "新华镇")
CARD_ONLY_BANK, CARD_BIN = "中国工商银行", "621226"


@dataclass(frozen=True)
class Fault:
    row: int  # the row a clerk sees it at in the file (from 1, the title included)
    field: str  # the layout's field key
    kind: str  # one of FAULT_KINDS
    problem: str  # what is wrong, in Chinese
    legacy_number: str


@dataclass
class BadRows:
    path: Path
    format: str
    faults: list[Fault]


# (kind, field, what is wrong, needs a member who is not the head)
FAULTS = (
    ("id_truncated", "id_number", "身份证号只有17位（被截断）", True),
    ("id_check_digit", "id_number", "身份证号校验位错误", True),
    ("sex_contradicts_id", "sex", "性别与身份证号不符", True),
    ("two_heads", "relation", "一户有两个户主", True),
    ("unknown_programme", "programme", f"救助类别“{UNKNOWN_PROGRAMME}”无法识别", False),
    ("unknown_town", "town", "乡镇（街道）不在本区", False),
    ("amount_not_a_number", "amount", "月保障金“abc”不是金额", False),
    ("bare_year_date", "start_date", "保障起始日期只有年份“2023”", False),
    ("payee_not_member", "payee_id", "收款人不是本户成员", False),
    ("account_check_failed", "account", "银行账号校验位不符", False),
)
FAULT_KINDS = tuple(f[0] for f in FAULTS)


def _wrong_check(number: str) -> str:
    right = CHECK_CHARS.index(check_char(number[:17]))
    return number[:17] + CHECK_CHARS[(right + 1) % len(CHECK_CHARS)]


def bad_rows_variant(done: OldSystemExport, *, fmt: str = "xlsx",
                     out_dir: Path | None = None) -> BadRows:
    """Write the caseload of `done` again in `fmt`, with one household per fault spoiled;
    returns the file and the faults in row order."""
    table = done.tables["caseload"]
    rows = [list(r) for r in table.rows]
    blocks = table.blocks
    col = table.column
    multi = [k for k, (first, last) in enumerate(blocks) if last > first]
    single = [k for k in range(len(blocks)) if k not in set(multi)]
    needs_member = sum(1 for f in FAULTS if f[3])
    if len(multi) < needs_member or len(blocks) < len(FAULTS):
        raise ValueError(f"在保家庭太少，无法制造问题数据：需至少 {len(FAULTS)} 户，其中 "
                         f"{needs_member} 户有两名以上成员")
    rng = np.random.default_rng([done.seed, 29])
    order = [multi[int(i)] for i in rng.permutation(len(multi))]
    chosen = order[:needs_member]
    rest = [single[int(i)] for i in rng.permutation(len(single))] + order[needs_member:]
    chosen += rest[:len(FAULTS) - needs_member]
    heads = [(rows[first][col("head_name")], rows[first][col("head_id")])
             for first, _ in blocks]
    town = next(t for t in NOT_TOWNS if t not in done.towns)
    first_row = sheets.first_row(table, fmt)

    def household(k: int, key: str, value: str) -> int:
        first, last = blocks[k]
        for r in range(first, last + 1):
            rows[r][col(key)] = value
        return first

    def member(k: int, key: str, change: Callable[[str], str]) -> int:
        r = blocks[k][0] + 1  # the member after the head
        rows[r][col(key)] = change(str(rows[r][col(key)]))
        return r

    def account(k: int) -> int:
        body = CARD_BIN + "".join(str(d) for d in rng.integers(0, 10, 12))
        household(k, "bank", CARD_ONLY_BANK)
        return household(k, "account", body + str((int(luhn_digit(body)) + 1) % 10))

    def payee(k: int) -> int:
        name, number = heads[(k + 1) % len(blocks)]
        household(k, "payee_name", str(name))
        return household(k, "payee_id", str(number))

    spoil: dict[str, Callable[[int], int]] = {
        "id_truncated": lambda k: member(k, "id_number", lambda v: v[:17]),
        "id_check_digit": lambda k: member(k, "id_number", _wrong_check),
        "sex_contradicts_id": lambda k: member(k, "sex", lambda v: "女" if v == "男" else "男"),
        "two_heads": lambda k: member(k, "relation", lambda _v: "户主"),
        "unknown_programme": lambda k: household(k, "programme", UNKNOWN_PROGRAMME),
        "unknown_town": lambda k: household(k, "town", town),
        "amount_not_a_number": lambda k: household(k, "amount", "abc"),
        "bare_year_date": lambda k: household(k, "start_date", "2023"),
        "payee_not_member": payee,
        "account_check_failed": account,
    }
    faults = []
    for (kind, key, problem, _member), k in zip(FAULTS, chosen, strict=True):
        r = spoil[kind](k)
        faults.append(Fault(first_row + r, key, kind, problem,
                            str(rows[blocks[k][0]][col("legacy_number")])))
    spoiled = sheets.Table(table.sheet, table.title, table.subtitle, table.columns, rows,
                           table.blocks, table.footer)
    target = Path(out_dir or done.out_dir)
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{file_stem('caseload', done.district_name, done.month)}_问题数据.{fmt}"
    sheets.write(spoiled, path, fmt, month_end(done.month))
    return BadRows(path, fmt, sorted(faults, key=lambda f: f.row))
