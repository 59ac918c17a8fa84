"""Excel exports of the registry. Personal data is masked: an export leaves the system."""

from __future__ import annotations

import io
from collections.abc import Iterable

from doudi.core.excel import new_workbook
from doudi.registry.categories import CATEGORIES
from doudi.registry.models import Household

HOUSEHOLD_COLUMNS = ["家庭编号", "乡镇(街道)", "村(社区)", "户籍类型", "户主", "户主身份证号",
                     "家庭人数", "类别", "住址"]


def households_xlsx(households: Iterable[Household]) -> tuple[bytes, int]:
    """家庭名单 as xlsx bytes; the households must carry `with_list_columns` prefetches."""
    buffer = io.BytesIO()
    # text is text: a cell typed as "=…" must never become a live formula or link
    book = new_workbook(buffer)
    sheet = book.add_worksheet("家庭名单")
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    sheet.write_row(0, 0, HOUSEHOLD_COLUMNS, bold)
    sheet.freeze_panes(1, 0)
    widths = [18, 12, 22, 8, 8, 20, 8, 20, 30]
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
    count = 0
    for count, hh in enumerate(households, start=1):
        head = next((m.person for m in hh.current_members if m.relation == "head"), None)
        sheet.write_row(count, 0, [
            hh.number,
            hh.area.parent.name if hh.area.parent else "",
            hh.area.name,
            hh.get_hukou_type_display(),
            head.masked_name if head else "",
            head.masked_id if head else "",
            len(hh.current_members),
            "、".join(CATEGORIES[c.category].label for c in hh.open_categories),
            hh.address,
        ])
    book.close()
    return buffer.getvalue(), count
