"""An Excel download (attachment, UTF-8 file name)."""

from __future__ import annotations

from urllib.parse import quote

from django.http import HttpResponse

from doudi.core.excel import CONTENT_TYPE


def download(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response
