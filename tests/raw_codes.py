"""A scanner for codes shown to a person instead of words (issue 24 item 2): parameter keys
(`dibao.standard.urban`), value codes (`half_up`, `hukou`, `severe_disability`, a choice's stored
value) and bare area codes (`341002102`) in the text of a rendered page.

Only what a person reads is scanned: text, and the attributes a browser shows (title,
placeholder, alt, aria-label, an option group's label, a visible input's value). Links, ids,
classes, form field names and option values may carry codes; scripts and styles are skipped, and
so are web addresses inside the text and what a page marks as shown verbatim with the standard
`translate="no"` (a login name someone chose, a command to type).

    from tests.raw_codes import assert_no_raw_codes
    assert_no_raw_codes(response.content.decode(), "政策参数")

The page walk of every role uses the same function.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser

from doudi.programmes import catalogue
from doudi.rules.labels import known_codes, known_keys

_DOTTED = re.compile(r"(?<![\w.])[a-z_]+(?:\.[a-z_]+)+(?![\w.])")
_SNAKE = re.compile(r"(?<![\w.])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w.])")
_WORD = re.compile(r"(?<![\w.])[a-z][a-z0-9]*(?![\w.])")
_AREA = re.compile(r"(?<!\d)(?:\d{12}|\d{9})(?!\d)")
_URL = re.compile(r"(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+\.[\w.]+")
_SHOWN_ATTRS = {"title", "placeholder", "alt", "aria-label"}
# never drawn: scripts, styles, templates, and an SVG chart's descriptions (pygal's link text)
_SKIPPED = {"script", "style", "template", "desc"}
_TEXT_INPUTS = {None, "text", "search"}


@dataclass(frozen=True)
class Finding:
    kind: str  # 参数键 / 取值代码 / 区划代码
    code: str
    context: str

    def __str__(self) -> str:
        return f"{self.kind} {self.code}：…{self.context}…"


class _Visible(HTMLParser):
    """The pieces of a page a person reads, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self._verbatim: tuple[str, int] | None = None  # (tag, depth) of a translate="no"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if self._verbatim is not None:
            if tag == self._verbatim[0]:
                self._verbatim = (tag, self._verbatim[1] + 1)
            return
        if values.get("translate") == "no":
            self._verbatim = (tag, 1)
            return
        if tag in _SKIPPED:
            self._skipping += 1
            return
        self.parts += [v for k, v in attrs if k in _SHOWN_ATTRS and v]
        if tag in {"optgroup", "option"} and values.get("label"):
            self.parts.append(values["label"])
        if tag == "input" and values.get("type") in _TEXT_INPUTS and values.get("value"):
            self.parts.append(values["value"])

    def handle_endtag(self, tag: str) -> None:
        if self._verbatim is not None:
            if tag == self._verbatim[0]:
                depth = self._verbatim[1] - 1
                self._verbatim = (tag, depth) if depth else None
            return
        if tag in _SKIPPED and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping and self._verbatim is None and data.strip():
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    parser.close()
    return "\n".join(parser.parts)


def _model_choice_codes() -> frozenset[str]:
    """The stored values of every model field's choices (when Django is set up)."""
    try:
        from django.apps import apps
    except ImportError:  # pragma: no cover - the scanner is used inside Django's tests
        return frozenset()
    codes: set[str] = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            for choice in getattr(field, "choices", None) or ():
                value = choice[0]
                if isinstance(value, str) and _WORD.fullmatch(value) and len(value) >= 3:
                    codes.add(value)
    return frozenset(codes)


@lru_cache(maxsize=1)
def default_codes() -> frozenset[str]:
    """Value codes a page must not show: the rules' declared choices, the programmes' names and
    the choices of the models."""
    return known_codes() | frozenset(catalogue.labels()) | _model_choice_codes()


def _around(text: str, start: int, end: int) -> str:
    return text[max(0, start - 15):end + 15].replace("\n", " ")


def _login_names() -> frozenset[str]:
    """The accounts' login names: chosen by people, shown as they chose them."""
    try:
        from doudi.accounts.models import User

        return frozenset(User.objects.values_list("username", flat=True))
    except Exception:
        return frozenset()


def find_raw_codes(html: str, *, keys: frozenset[str] | None = None,
                   codes: frozenset[str] | None = None,
                   allowed: frozenset[str] = frozenset()) -> list[Finding]:
    """Every parameter key, value code and bare 9- or 12-digit area code in a page's visible
    text. `allowed` lists codes a page may show on purpose (a code a person typed, say); the
    accounts' login names are allowed too."""
    keys = known_keys() if keys is None else keys
    codes = default_codes() if codes is None else codes
    allowed = allowed | _login_names()
    text = _URL.sub(" ", visible_text(html))
    found: list[Finding] = []
    for m in _DOTTED.finditer(text):
        token = m.group()
        if token not in allowed and (token in keys or token.rsplit(".", 1)[0] in keys):
            found.append(Finding("参数键", token, _around(text, m.start(), m.end())))
    for m in _SNAKE.finditer(text):
        if m.group() not in allowed:
            found.append(Finding("取值代码", m.group(), _around(text, m.start(), m.end())))
    for m in _WORD.finditer(text):
        if m.group() in codes and m.group() not in allowed:
            found.append(Finding("取值代码", m.group(), _around(text, m.start(), m.end())))
    for m in _AREA.finditer(text):
        if m.group() not in allowed:
            found.append(Finding("区划代码", m.group(), _around(text, m.start(), m.end())))
    return found


def assert_no_raw_codes(html: str, where: str = "", **kwargs: frozenset[str]) -> None:
    found = find_raw_codes(html, **kwargs)
    assert not found, f"{where} 显示了代码而不是文字：\n" + "\n".join(map(str, found[:20]))
