"""doudi golive import-staff FILE --district CODE [--real] [--sheet PATH]

Dry run by default: the plan, row by row. With --real, every account is created or none; the
first-login passwords go to the printable sheet (one page per town) at --sheet, a new file only
its owner can read — print it, hand it out, then delete it. Exit 1 when any row is refused.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from doudi.golive import staff, staff_sheet

HELP = "从工作人员名单建立各乡镇、村的账号（默认试导入；--real 正式导入并生成初始口令领取单）"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="工作人员名单（xlsx、xls 或 csv）")
    parser.add_argument("--district", required=True, help="区县代码，如 341002")
    parser.add_argument("--real", action="store_true", help="正式导入（全部成功或全部不导入）")
    parser.add_argument("--sheet", help="初始口令领取单（HTML）的保存路径，须为新文件；"
                                        "默认 DOUDI_HOME/golive/ 下")


def _sheet_path(options: dict[str, Any], district: str) -> Path:
    if options.get("sheet"):
        return Path(options["sheet"]).expanduser()
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return Path(settings.HOME) / "golive" / f"staff-passwords-{district}-{stamp}.html"


def _print_plan(plan: staff.StaffPlan, out: Any) -> None:
    for r in plan.rows:
        out.write(f"第 {r.row} 行\t{r.name}\t{r.area_label}\t{r.role_labels or '—'}\t"
                  f"{r.username or '—'}\t{r.action_label}")


def run(options: dict[str, Any], out: Any) -> int:
    path = Path(options["file"])
    if not path.is_file():
        out.write(f"文件不存在：{path}")
        return 1
    district = staff.district_area(options["district"])
    sheet, fd = None, None
    if options.get("real"):
        sheet = _sheet_path(options, district.code[:6])
        try:  # before anything is created: a sheet that cannot be written stops the run
            fd = staff_sheet.open_private(sheet)
        except OSError as exc:
            out.write(f"无法新建初始口令领取单 {sheet}：{exc.strerror}（须为尚不存在的文件）")
            return 1
    try:
        outcome = staff.import_staff(path.read_bytes(), path.name, district_code=district.code,
                                     real=bool(options.get("real")))
    except BaseException:
        if fd is not None:
            os.close(fd)
            sheet.unlink()
        raise
    _print_plan(outcome.plan, out)
    mode = outcome.record.get_mode_display()
    summary = outcome.plan.summary(bool(options.get("real")) and outcome.ok)
    out.write(f"{mode}：{summary}（导入记录 {outcome.record.pk}）")
    for notice in outcome.plan.notices:
        out.write(f"提示：{notice}")
    if fd is not None:
        if outcome.issued:
            staff_sheet.write(fd, staff_sheet.render(outcome.issued, district))
            out.write(f"初始口令领取单（{len(outcome.issued)} 个账号）已写入 {sheet}"
                      "（仅本人可读）：请打印后分发，并删除该文件")
        else:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                sheet.unlink()
    if not outcome.ok:
        out.write("有错误的行，未导入任何账号；请改正后重新导入" if options.get("real")
                  else "有错误的行：正式导入前请先改正")
        return 1
    return 0
