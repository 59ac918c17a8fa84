"""Each role's working day, walked in a browser over the demo as `./dev demo` builds it.

The demo is built by the `doudi` command into a temporary home and served by `doudi serve`;
every role logs in and follows the links its pages offer (GET only, breadth first, a few
pages of each kind). The walk fails on any server error, on a link that leads to a page the
user may not open, on a parameter key, choice value or bare area code shown as text, and — for
the village assistant, who works on a phone — on a page wider than 375 px. Each role's home is
kept as a screenshot in test-artifacts/.

The demo is always SQLite, so the walk runs once, in the SQLite run of the suite.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from tests.browser_support import CHROMIUM_ARGS, TIMEOUT_MS, chromium, screenshot
from tests.raw_codes import find_raw_codes

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")),
                       reason="the demo is SQLite: walked once, in the SQLite run"),
]

PASSWORD = "Doudi-demo-2026"
# the demo's login names, shown as their owners chose them
DEMO_LOGINS = frozenset({"district", "district2", "admin", "town", "village", "auditor",
                         "sysadmin", "security", "supervisor", "city"})
HOUSEHOLDS = 60
PHONE = 375
PAGES_PER_ROLE = 45
PER_KIND = 2  # pages of one kind (the same path with other ids) visited per role
# (username, viewport width): the village assistant works on a phone
ROLES = [("village", PHONE), ("town", 1280), ("district", 1280), ("admin", 1280),
         ("supervisor", 1280), ("city", 1280)]
# Links not followed: leaving, files (a download is no page), and what acts on a GET by
# design (revealing a full name is audited; the walk must not reveal)
SKIP = re.compile(r"/logout|/static/|/media/|export|download|\.(?:xlsx|xls|csv|pdf|parquet)(?:$|\?)"
                  r"|format=|/reveal|/full-name|/password|/totp|/login")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _doudi(*args: str, env: dict[str, str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "doudi.cli", *args], env=env, check=True,
                          capture_output=True, text=True, timeout=900, **kw)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[str]:
    """The demo built and served as a person would: `doudi demo`, then `doudi serve`."""
    chromium()
    home = tmp_path_factory.mktemp("demo-home")
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "DOUDI_SQLITE", "DJANGO_SETTINGS_MODULE")}
    env["DOUDI_HOME"] = str(home)
    src = str(Path(__file__).resolve().parent.parent / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    _doudi("demo", "--reset", "--no-serve", "--households", str(HOUSEHOLDS), env=env)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "doudi.cli", "serve", "--port", str(port),
                               "--no-worker"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(120):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"doudi serve stopped: {server.stderr.read()[-2000:]}")
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


@dataclass
class Walk:
    role: str
    visited: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _kind(path: str) -> str:
    """A page's kind: its path with ids and numbers generalised."""
    return re.sub(r"\d+", "N", path)


def _links(page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all(
        "a[href]:not([download])", "els => els.map(e => e.getAttribute('href'))")
    out = []
    for href in hrefs:
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        url = urljoin(page.url, href).split("#")[0]
        parts = urlsplit(url)
        if url.startswith(base) and not SKIP.search(f"{parts.path}?{parts.query}"):
            out.append(url)
    return out


def _walk(browser, base: str, role: str, width: int) -> Walk:
    from playwright.sync_api import Error as PlaywrightError

    walk = Walk(role)
    ctx = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{base}/login/")
        page.fill("input[name=username]", role)
        page.fill("input[name=password]", PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_load_state()
        assert "/login" not in page.url, f"{role} could not log in: {page.inner_text('body')[:300]}"
        screenshot(page, f"day-{role}-home.png")
        queue, seen, kinds = [(page.url, "登录后首页")], set(), {}
        while queue and len(walk.visited) < PAGES_PER_ROLE:
            url, came_from = queue.pop(0)
            path = urlsplit(url).path
            if url in seen or kinds.get(_kind(path), 0) >= PER_KIND:
                continue
            seen.add(url)
            kinds[_kind(path)] = kinds.get(_kind(path), 0) + 1
            try:
                response = page.goto(url)
            except PlaywrightError as exc:  # a link that downloads a file is no page
                if "Download is starting" in str(exc):
                    continue
                raise
            walk.visited.append(url)
            status = response.status if response else 0
            where = f"{url[len(base):]} (linked from {came_from[len(base):] or '/'})"
            if status >= 500:
                walk.problems.append(f"server error {status}: {where}")
                continue
            if status in (403, 404):
                walk.problems.append(f"a link the page offers answers {status}: {where}")
                continue
            for found in find_raw_codes(page.content(), allowed=DEMO_LOGINS):
                walk.problems.append(f"{found} on {where}")
            if width == PHONE:
                wide = page.evaluate("document.documentElement.scrollWidth")
                if wide > PHONE + 1:
                    walk.problems.append(f"{wide} px wide at {PHONE} px: {where}")
            queue.extend((link, url) for link in _links(page, base) if link not in seen)
        walk.problems.extend(f"script error: {e}" for e in errors)
    finally:
        ctx.close()
    return walk


@pytest.mark.parametrize(("role", "width"), ROLES)
def test_each_role_walks_its_day_without_a_broken_page(demo, role, width) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            walk = _walk(browser, demo, role, width)
        finally:
            browser.close()
    assert len(walk.visited) >= 5, f"{role} reached only {walk.visited}"
    assert not walk.problems, (f"{role}: {len(walk.problems)} problems on "
                               f"{len(walk.visited)} pages:\n" + "\n".join(walk.problems[:400]))
