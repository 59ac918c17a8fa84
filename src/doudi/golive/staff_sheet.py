"""初始口令领取单: the first-login passwords of a staff import, one printed page per town (the
district's own staff on a page of their own), for each person to sign for theirs. Made from
the passwords the real run returns, once: it is shown on the page after the run or written
by the command line to a file only its owner can read, and never stored by Doudi."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from doudi.areas.models import Area
from doudi.golive.staff import Issued

TEMPLATE = "doudi/golive_staff_sheet.html"


def pages(issued: list[Issued]) -> list[dict]:
    """One page per town in code order: its title and its people by village and name."""
    by_town: dict[str, list[Issued]] = defaultdict(list)
    for i in issued:
        by_town[i.town_code].append(i)
    return [{"town": people[0].town, "code": code,
             "people": sorted(people, key=lambda i: (i.village, i.username))}
            for code, people in sorted(by_town.items())]


def render(issued: list[Issued], district: Area, *, back: str = "") -> str:
    """The sheet as one HTML document (styles inline, so the file prints on its own); `back`,
    on the page after a web import, is where its screen-only toolbar leads."""
    return render_to_string(TEMPLATE, {"pages": pages(issued), "district": district,
                                       "made_at": timezone.localtime(), "back": back,
                                       "total": len(issued),
                                       "min_length": settings.DOUDI_PASSWORD_MIN_LENGTH,
                                       "min_classes": settings.DOUDI_PASSWORD_MIN_CLASSES})


def open_private(path: Path) -> int:
    """A new file only its owner may read (0600), opened for writing before the import runs,
    so a path that cannot be written is refused while nothing has been created yet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


def write(fd: int, html: str) -> None:
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(html)
