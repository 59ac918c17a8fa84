"""A page's title block is its name in the browser tab: plain text, never markup (a section
pasted into the title block renders inside <title> and nowhere a reader sees it)."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "src" / "doudi"
TITLE = re.compile(r"{%\s*block title\s*%}(.*?){%\s*endblock", re.S)


def test_every_title_block_is_plain_text() -> None:
    bad = {}
    for path in TEMPLATES.rglob("templates/**/*.html"):
        for title in TITLE.findall(path.read_text(encoding="utf-8")):
            if "<" in title or "\n" in title.strip():
                bad[str(path.relative_to(TEMPLATES))] = title[:80]
    assert not bad, bad


def test_the_check_reads_templates() -> None:
    assert len(list(TEMPLATES.rglob("templates/**/*.html"))) > 50
