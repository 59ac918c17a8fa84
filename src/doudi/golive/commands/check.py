"""doudi golive check [--district CODE] [--day YYYY-MM-DD]: the go-live checklist, one line an
item (✓ done, ✗ to do, ○ for information); exits 1 while any required item is ✗."""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from doudi.areas.models import area_names
from doudi.core import clock
from doudi.golive import checklist

HELP = ("上线检查：政策参数、节假日、银行文件格式、密钥备份、定时备份、账号、在保数据、对账，"
        "逐项 ✓/✗")


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--district", default="",
                        help="区县代码（6 位）；本系统只服务一个区县时可省略")
    parser.add_argument("--day", default="", help="检查日 YYYY-MM-DD，默认今天")


def district_of(given: str) -> str:
    """The district asked for, or the only one this deployment serves."""
    given = given.strip()
    if given:
        if not (given.isdigit() and len(given) == 6):
            raise CommandError(f"区县代码应为 6 位数字：{given!r}")
        return given
    found = checklist.districts()
    if len(found) == 1:
        return found[0]
    if not found:
        raise CommandError("找不到本系统服务的区县：请用 --district 指定区县代码")
    raise CommandError(f"本系统服务多个区县（{'、'.join(found)}）：请用 --district 指定")


def day_of(given: str) -> dt.date:
    if not given.strip():
        return clock.today()
    try:
        return dt.date.fromisoformat(given.strip())
    except ValueError:
        raise CommandError(f"日期应为 YYYY-MM-DD：{given!r}") from None


def line(item: checklist.Item) -> str:
    text = f"{item.mark} {item.label} — {item.detail}"
    return text + (f"；待办：{item.todo}" if item.todo and not item.ok else "")


def run(options: dict[str, Any], out: Any) -> int:
    district, day = district_of(options["district"]), day_of(options["day"])
    name = area_names([district]).get(district)
    if name is None:
        raise CommandError(f"区划 {district} 未载入：请先导入行政区划（doudi areas …）")
    items = checklist.check(district, day)
    out.write(f"== {name}（{district}）上线检查，{day}")
    for item in items:
        out.write(line(item))
    todo = [i for i in items if i.required and not i.ok]
    if todo:
        out.write(f"尚有 {len(todo)} 项未完成：{'、'.join(i.label for i in todo)}")
        return 1
    out.write("各项均已完成，可以生成首次发放批次")
    return 0
