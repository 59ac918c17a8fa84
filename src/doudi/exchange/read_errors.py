"""The errors of reading a department's file (读取文件): always a Chinese message, never a
library's own text, and never longer than a few lines (a refused file's message is stored on
its job)."""

from __future__ import annotations

MAX_MESSAGE_CHARS = 1_000
MAX_HEADER_CHARS = 60  # a header quoted in a message or kept for the column-mapping step


def shorten(text: str, limit: int = MAX_HEADER_CHARS) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


class ReadError(ValueError):
    """The file cannot be read as a table; the message says why, in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(shorten(message, MAX_MESSAGE_CHARS))


class MissingColumns(ReadError):
    """Required fields not found among the file's headers: the UI offers a column mapping."""

    def __init__(self, message: str, headers: list[str], missing: list[str]) -> None:
        super().__init__(message)
        self.headers = headers
        self.missing = missing
