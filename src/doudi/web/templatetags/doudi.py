from __future__ import annotations

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def yuan(fen: int | None) -> str:
    """Integer fen → '1,234.56' (exact: no float on the way)."""
    if fen is None or fen == "":
        return ""  # a missing value (e.g. a total not computed) shows blank, not an error
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole:,}.{cents:02d}"


@register.filter
def percent(bp: int | None) -> str:
    """Basis points → '66.67%' ("—" for none): `doudi.core.shares.percent`."""
    from doudi.core.shares import percent as say

    return say(bp)


@register.filter
def http_url(url: str | None) -> str:
    """The URL if it is a web address, else "": a stored link never becomes `javascript:`."""
    text = (url or "").strip()
    return text if text.lower().startswith(("http://", "https://")) else ""


@register.filter
def source_line(param: object) -> str:
    """A parameter row's 发文机关 文号（印发日期 印发）: `doudi.rules.coverage.source_line`; ""
    for what the reference partial is given that is not a row (an explanation's citation)."""
    from doudi.rules.coverage import source_line as line
    from doudi.rules.parameters import Parameter

    return line(param) if isinstance(param, Parameter) else ""


@register.filter
def get_item(mapping: dict, key: str) -> object:
    return mapping.get(key, "") if isinstance(mapping, dict) else ""


@register.filter(name="mask_name")
def mask_name_filter(name: str) -> str:
    from doudi.core.masking import mask_name

    return mask_name(name or "")


@register.simple_tag(takes_context=True)
def household_panel(context: template.Context, drawn: object) -> str:
    """The body of one household panel (`doudi.web.household_page.DrawnPanel`): its template,
    rendered as `{% include %}` would, with the page's context plus the panel's own."""
    body = context.template.engine.get_template(drawn.panel.template)
    with context.push(drawn.context):
        return body.render(context)


@register.simple_tag(takes_context=True)
def time_left(context: template.Context, due: object) -> str:
    """`{% time_left a.step_due %}`: 剩余 N 个工作日 / 今日到期 / 已逾期 N 个工作日, on the
    working-day calendar (holidays, 调休 and the days an administrator entered), read once
    per page; "" for no deadline."""
    import datetime as dt

    from doudi.casework.services import calendar
    from doudi.core import clock
    from doudi.core.workdays import time_left as say

    if not isinstance(due, dt.date):
        return ""
    cache = context.render_context
    if "doudi_calendar" not in cache:
        cache["doudi_calendar"] = (calendar(), clock.today())
    cal, today = cache["doudi_calendar"]
    return say(due, today, cal)


_COMMAND_START = re.compile(r"doudi(?= )|--?[A-Za-z][\w-]*")
_COMMAND_TOKEN = re.compile(r' (?:"[^"]*"|--?[A-Za-z][\w-]*|[A-Za-z0-9_./=-]+)')
# a flag's value written as a placeholder in Chinese (--out 备份目录 --keep 14)
_PLACEHOLDER = re.compile(r" [\u4e00-\u9fff]+(?= --?[A-Za-z])")


def _command_end(text: str, at: int) -> int:
    end = _COMMAND_START.match(text, at).end()
    while True:
        m = _COMMAND_TOKEN.match(text, end) or _PLACEHOLDER.match(text, end)
        if m is None:
            return end
        end = m.end()


@register.filter
def commands(text: str) -> str:
    """Text that names server commands (doudi golive import-caseload --real …): each command
    and flag set as code a page does not translate — what the IT person types, verbatim."""
    text = str(text or "")
    out, last, at = [], 0, 0
    while (m := _COMMAND_START.search(text, at)) is not None:
        if m.start() and (text[m.start() - 1].isascii() and text[m.start() - 1].isalnum()):
            at = m.end()  # inside a word
            continue
        end = _command_end(text, m.start())
        out += [escape(text[last:m.start()]),
                f'<code translate="no">{escape(text[m.start():end])}</code>']
        last = at = end
    out.append(escape(text[last:]))
    return mark_safe("".join(out))  # every piece above is escaped
