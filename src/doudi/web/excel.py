"""Excel downloads, and the lists officers page through and download (导出 Excel).

A list page declares its columns once (`Column`: a Chinese header and how a row gives its
cell) and hands its filtered, area-scoped rows to `Listing`: the page shows them a page at a
time (`_pager.html`), and the "导出 Excel" link (`_export_link.html`, the same query with
`format=xlsx`) downloads every row under the same filters, not only the current page, with the
same masked values the page shows. Each download is an audit record (导出 of personal data):
what was listed, under which filters, how many rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from doudi.areas.models import Area
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.core import clock
from doudi.core.excel import CONTENT_TYPE, one_sheet
from doudi.core.money import yuan_text
from doudi.registry import queries
from doudi.registry.models import Household

PER_PAGE = 50


def download(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


@dataclass(frozen=True)
class Column:
    """One column of a list: its Chinese header and the cell a row gives."""

    header: str
    value: Callable[[Any], Any]


def cell(value: object) -> object:
    """What a cell holds: text for dates (as the page prints them), numbers as they are."""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if timezone.is_aware(
            value) else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, Decimal):
        return str(value)
    return "" if value is None else value


def yuan(fen: int | None) -> str:
    """An amount in fen as the pages print it (元, two decimals), exact."""
    return "" if fen is None else yuan_text(int(fen))


def rows_of(columns: Sequence[Column], rows: Iterable[Any]) -> list[list[object]]:
    """The cells of `rows`: what the page lists and the download writes."""
    return [[cell(c.value(r)) for c in columns] for r in rows]


def area_names(prefix: str) -> dict[str, str]:
    """Code (12 digits) or effective prefix (a town's 9) → name of the district, towns and
    villages under `prefix` (a list shows names, never bare codes)."""
    names: dict[str, str] = {}
    for code, short, name in Area.objects.filter(
            code__startswith=prefix or "-", level__in=(3, 4, 5)).values_list(
            "code", "prefix", "name"):
        names[code] = names[short] = name
    return names


def search_households(request: HttpRequest, qs: QuerySet, field: str = "household",
                      q: str | None = None) -> tuple[QuerySet, str]:
    """Rows of `qs` whose household matches the search box (户号, or a member's name / ID as
    the registry's search reads it, refused with a reason for a role that sees them masked).
    Returns the rows and the refusal ("" when none)."""
    q = (request.GET.get("q", "") if q is None else q).strip()
    if not q:
        return qs, ""
    try:
        found = queries.search_households(Household.objects.visible_to(request.user), q=q,
                                          user=request.user)
    except queries.SearchRefused as exc:
        return qs.none(), exc.message
    return qs.filter(**{f"{field}__in": found.values("pk")}), ""


class Listing:
    """A list page's rows under its filters: a page of them, or all of them as a download.

    `key` tells two lists on one page apart: its page is `?<key>page=` and its download
    `?format=xlsx&list=<key>`. `params`, when given, are the filters as the view applied them
    (an area outside the user's, say, already replaced by the user's own): the links and the
    audit record carry them instead of the query as typed. `related` (a queryset's foreign
    keys to load with its rows) is joined after a page's ids are found, not before: a planner
    may otherwise join a whole month's roster to sort it."""

    def __init__(self, request: HttpRequest, rows: QuerySet | Sequence[Any],
                 columns: Sequence[Column], *, title: str, object_type: str,
                 key: str = "", per_page: int | None = None,
                 related: Sequence[str] = (), params: dict[str, str] | None = None) -> None:
        self.request, self.rows, self.columns = request, rows, list(columns)
        self.title, self.object_type, self.key = title, object_type, key
        self.per_page = per_page or PER_PAGE
        self.related = tuple(related)
        self.params = params

    @property
    def exporting(self) -> bool:
        g = self.request.GET
        return g.get("format") == "xlsx" and g.get("list", "") == self.key

    def filters(self) -> dict[str, str]:
        """The filters, without paging or the download switch."""
        given = self.request.GET if self.params is None else self.params
        return {k: v for k, v in given.items()
                if v and k not in ("format", "list") and not k.endswith("page")}

    def query(self) -> str:
        query = self.request.GET.copy()
        if self.params is not None:  # the filters as applied, and the other lists' pages
            for k in list(query):
                if not k.endswith("page"):
                    query.pop(k)
            for k, v in self.params.items():
                if v:
                    query[k] = v
        for k in [k for k in query if k == f"{self.key}page" or k in ("format", "list")]:
            query.pop(k)
        return query.urlencode()

    def page(self) -> Page:
        page = Paginator(self.rows, self.per_page).get_page(
            self.request.GET.get(f"{self.key}page"))
        if self.related and isinstance(self.rows, QuerySet):
            ids = list(page.object_list.values_list("pk", flat=True))
            found = {row.pk: row for row in self.rows.filter(pk__in=ids)
                     .select_related(*self.related)}
            page.object_list = [found[pk] for pk in ids]
        return page

    def all_rows(self) -> Iterable[Any]:
        if isinstance(self.rows, QuerySet):
            return self.rows.select_related(*self.related).iterator(chunk_size=2000)
        return self.rows

    def context(self, name: str = "page") -> dict[str, object]:
        """`page` (or `name`), its `query` for the pager and `export_url` for the link."""
        query = self.query()
        export = "&".join(p for p in (query, "format=xlsx",
                                      f"list={self.key}" if self.key else "") if p)
        prefix = f"{name}_" if name != "page" else ""
        return {name: self.page(), f"{prefix}query": query, f"{prefix}export_url": f"?{export}",
                f"{prefix}page_param": f"{self.key}page"}

    def export(self) -> HttpResponse:
        """Every row under the filters, as the page shows them, in one sheet; audited."""
        values = rows_of(self.columns, self.all_rows())
        filters = self.filters()
        user = self.request.user
        audit.record(AuditEvent.EXPORT, object_type=self.object_type,
                     object_label=f"导出{self.title} {len(values)} 条（脱敏）",
                     area_code=user.area_code or "",
                     changes={"filters": filters, "rows": len(values)})
        title = f"{self.title}（共 {len(values)} 条）"
        if filters:
            title += "  筛选：" + "，".join(f"{k}={v}" for k, v in filters.items())
        data = one_sheet(self.title, [c.header for c in self.columns], values, title=title)
        return download(data, f"{self.title}_{clock.today():%Y%m%d}.xlsx")
