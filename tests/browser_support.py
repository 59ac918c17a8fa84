"""What every browser test shares: Debian's chromium (never a downloaded browser), its flags,
a page that fails the test on JavaScript errors, and the folder screenshots are kept in as
test artefacts."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
TIMEOUT_MS = 15_000


def chromium() -> str:
    """Debian's chromium; without it a browser test skips, except under CI where it fails."""
    path = shutil.which("chromium")
    if path is None:
        reason = "Debian's chromium is not installed (apt-get install chromium); " \
                 "browser tests need it and never download a browser"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


@contextmanager
def launched() -> Iterator:
    """Debian's chromium, headless, for one test; closed afterwards with the database
    connections the test's ORM calls opened while Playwright's event loop ran (Django keeps
    them in context-local storage, and an open one would block dropping the PostgreSQL test
    database)."""
    executable = chromium()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            from django.db import connections

            connections.close_all()


def new_page(browser, width: int = 1280, height: int = 900, *, phone: bool = False):
    """A page in its own context (Chinese locale; a touch phone when `phone`), whose
    JavaScript errors and Content-Security-Policy refusals are kept in `page_errors(page)`."""
    ctx = browser.new_context(locale="zh-CN", viewport={"width": width, "height": height},
                              **({"is_mobile": True, "has_touch": True} if phone else {}))
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # the Content-Security-Policy must never have to refuse anything a page does
    page.on("console", lambda msg: errors.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    page.doudi_errors = errors
    return page


def page_errors(page) -> list[str]:
    return page.doudi_errors


@contextmanager
def open_page(width: int = 1280, height: int = 900, *, phone: bool = False) -> Iterator:
    """One page in a freshly launched browser; fails the test on any JavaScript error or CSP
    refusal the page met."""
    with launched() as browser:
        page = new_page(browser, width, height, phone=phone)
        yield page
        assert page_errors(page) == [], \
            f"JavaScript errors or CSP refusals in the page: {page_errors(page)}"
