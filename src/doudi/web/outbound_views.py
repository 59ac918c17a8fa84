"""推送名单 pages: district staff preview each list's size and what changed since the last file,
and download the Excel in the department's layout (全量 or 变动). Each download is a recorded,
audited delivery; the preview shows counts only."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from doudi.accounts import roles
from doudi.exchange import outbound, outbound_types
from doudi.exchange.models import OutboundDelivery
from doudi.exchange.outbound_types import FIELDS, OutboundListType
from doudi.web.access import require_capability
from doudi.web.excel import download


def _area(request: HttpRequest) -> str:
    require_capability(request, roles.PRODUCE_OUTBOUND)
    if not request.user.scope_prefix:
        raise PermissionDenied("账号未设置所属区划")
    return request.user.scope_prefix


@login_required
@require_GET
def outbound_home(request: HttpRequest) -> HttpResponse:
    area = _area(request)
    lists = []
    for t in outbound_types.shipped():
        lists.append({
            "type": t, "selection": t.selection.describe(),
            "fields": [{"label": f.label, "masked": f.masked, "personal": FIELDS[f.key][1]}
                       for f in t.fields],
            **outbound.preview(t, area),
            "recent": OutboundDelivery.objects.filter(list_key=t.key, area_code=area)[:5]})
    return render(request, "doudi/exchange_outbound.html", {"lists": lists})


def _list_type(list_key: str) -> OutboundListType:
    found = outbound_types.get(list_key)
    if found is None:
        raise Http404("没有该推送名单")
    return found


@login_required
@require_POST
def outbound_download(request: HttpRequest, list_key: str) -> HttpResponse:
    """The list as an Excel file: everyone (全量) or what changed since the last file (变动)."""
    area = _area(request)
    list_type = _list_type(list_key)
    kind = (OutboundDelivery.CHANGES if request.POST.get("kind") == OutboundDelivery.CHANGES
            else OutboundDelivery.FULL)
    done = outbound.deliver(list_type, area, channel=OutboundDelivery.FILE, kind=kind,
                            by=request.user)
    assert done is not None and done.data is not None
    return download(done.data, outbound.file_name(list_type, done.delivery))
