"""口令策略: character classes, reuse of recent passwords and expiry (等保 2.0 身份鉴别).

The validators plug into Django's AUTH_PASSWORD_VALIDATORS, so every way a password is set
(the account page, an administrator's reset, `doudi adduser`) checks the same policy.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils import timezone

CLASSES = (
    ("大写字母", str.isupper),
    ("小写字母", str.islower),
    ("数字", str.isdigit),
    ("符号", lambda c: not c.isalnum()),
)


def classes_in(password: str) -> int:
    return sum(any(test(c) for c in password) for _, test in CLASSES)


class LengthValidator:
    """At least `min_length` characters (a Chinese message wherever the password is set)."""

    def __init__(self, min_length: int = 10) -> None:
        self.min_length = min_length

    def validate(self, password: str, user=None) -> None:  # noqa: ANN001
        if len(password) < self.min_length:
            raise ValidationError(f"口令长度至少 {self.min_length} 位", code="password_too_short")

    def get_help_text(self) -> str:
        return f"长度至少 {self.min_length} 位"


class CharacterClassesValidator:
    """At least `min_classes` of 大写字母、小写字母、数字、符号."""

    def __init__(self, min_classes: int = 3) -> None:
        self.min_classes = min_classes

    def validate(self, password: str, user=None) -> None:  # noqa: ANN001
        if classes_in(password) < self.min_classes:
            raise ValidationError(
                f"口令须包含大写字母、小写字母、数字、符号中的至少 {self.min_classes} 类",
                code="password_classes")

    def get_help_text(self) -> str:
        return f"至少包含大写字母、小写字母、数字、符号中的 {self.min_classes} 类"


class HistoryValidator:
    """The last `history` passwords of the user (the current one included) may not be reused."""

    def __init__(self, history: int = 5) -> None:
        self.history = history

    def validate(self, password: str, user=None) -> None:  # noqa: ANN001
        if user is None or not getattr(user, "pk", None) or self.history <= 0:
            return
        if user.password and check_password(password, user.password):
            raise ValidationError("新口令不能与当前口令相同", code="password_reused")
        recent = user.password_history.order_by("-created_at", "-id")[: self.history]
        if any(check_password(password, row.password) for row in recent):
            raise ValidationError(f"新口令不能与最近 {self.history} 次使用过的口令相同",
                                  code="password_reused")

    def get_help_text(self) -> str:
        return f"不能与最近 {self.history} 次使用过的口令相同"


def expires_on(user) -> dt.datetime | None:  # noqa: ANN001
    """When the user's password stops being accepted; None when passwords never expire."""
    days = settings.DOUDI_PASSWORD_MAX_AGE_DAYS
    if days <= 0:
        return None
    since = user.password_changed_at or user.date_joined
    return since + dt.timedelta(days=days)


def must_change(user) -> str:  # noqa: ANN001
    """Why the user has to set a new password before anything else ("" when they need not)."""
    if user.must_change_password:
        return "管理员重置了您的口令，请先设置新口令"
    until = expires_on(user)
    if until is not None and until <= timezone.now():
        return f"口令已超过 {settings.DOUDI_PASSWORD_MAX_AGE_DAYS} 天未修改，请设置新口令"
    return ""
