"""Every page carries the security headers, and no template holds an inline script or an
inline event handler — the Content-Security-Policy would refuse them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from doudi.web import security
from tests.conftest import PASSWORD

# the web app's templates and those the apps ship (their household panels)
TEMPLATES = sorted((Path(__file__).resolve().parent.parent / "src" / "doudi").glob("*/templates"))


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/", "/households/", "/monitoring/",
                                  "/reports/", "/api/openapi.json"])
def test_pages_carry_the_security_headers(client, users, path) -> None:
    client.login(username="district_officer", password=PASSWORD)
    response = client.get(path)
    assert response["Content-Security-Policy"] == security.CSP
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


def test_no_template_has_inline_script_or_handler() -> None:
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    offenders = []
    templates = [t for folder in TEMPLATES for t in folder.rglob("*.html")]
    assert any(t.name == "household_detail.html" for t in templates)
    assert any(t.name == "applications.html" for t in templates)  # casework's panel
    for template in templates:
        text = template.read_text(encoding="utf-8")
        if inline_script.search(text) or handler.search(text) or "javascript:" in text:
            offenders.append(template.name)
    assert offenders == []
