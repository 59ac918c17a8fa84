"""导出水印: every Excel export names who exported it, when, and the request that the audit
log records it under — in each sheet's printed header and footer and in the file's
properties."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from django.test import Client
from django.urls import reverse

from doudi.audit import context
from doudi.audit.models import AuditEvent
from doudi.core.excel import one_sheet

pytestmark = pytest.mark.django_db


def _parts(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n).decode() for n in z.namelist() if n.endswith(".xml")}


def test_a_sheet_built_for_a_user_carries_their_name_time_and_request():
    actor = context.Actor(user_id=7, username="town_officer", request_id="abc123")
    with context.acting(actor):
        data = one_sheet("名单", ["姓名"], [["=cmd|' /C calc'!A0"]])
    parts = _parts(data)
    sheet = parts["xl/worksheets/sheet1.xml"]
    assert re.search(r"<oddHeader>&amp;C兜底 · town_officer · \d{4}-\d\d-\d\d \d\d:\d\d · 请求 "
                     r"abc123 · 内部资料 注意保密</oddHeader>", sheet)
    assert "<oddFooter>" in sheet
    assert "town_officer" in parts["docProps/core.xml"]
    assert "abc123" in parts["docProps/custom.xml"]
    assert "<f>" not in sheet  # the typed formula stayed text


def test_the_household_export_is_watermarked_with_its_audit_request(users, world):
    client = Client()
    client.force_login(users.town_officer)
    response = client.get(reverse("household_export"))
    assert response.status_code == 200
    export = AuditEvent.objects.filter(action=AuditEvent.EXPORT).latest("id")
    sheet = _parts(response.content)["xl/worksheets/sheet1.xml"]
    assert "town_officer" in sheet and export.request_id in sheet
