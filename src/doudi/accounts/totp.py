"""双因素认证: time-based one-time codes (TOTP, RFC 6238) from any authenticator app.

Optional for everyone; required for the roles in DOUDI_TOTP_ROLES. A code is accepted once:
the last time step used is stored, so a code read over a shoulder cannot be replayed.
"""

from __future__ import annotations

import pyotp
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

ISSUER = "兜底 Doudi"
STEP = 30


def required(user) -> bool:  # noqa: ANN001
    return bool(settings.DOUDI_TOTP_ROLES.intersection(user.role_codes))


def enrolled(user) -> bool:  # noqa: ANN001
    return bool(user.totp_secret) and user.totp_confirmed_at is not None


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user, secret: str) -> str:  # noqa: ANN001
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def matching_step(secret: str, code: str, *, at: float | None = None) -> int | None:
    """The time step whose code equals `code` (the current one or its neighbours, for clock
    drift), or None."""
    code = (code or "").strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    now = timezone.now().timestamp() if at is None else at
    totp = pyotp.TOTP(secret)
    step = int(now // STEP)
    for candidate in (step, step - 1, step + 1):
        if totp.at(candidate * STEP) == code:
            return candidate
    return None


def accept(user, code: str, *, secret: str | None = None) -> bool:  # noqa: ANN001
    """Check a code and consume its time step; False for a wrong or replayed code."""
    from doudi.accounts.models import User

    step = matching_step(secret or user.totp_secret, code)
    if step is None:
        return False
    # Consume the step atomically: of two requests with the same code only one updates a row.
    used = (User.objects.filter(pk=user.pk)
            .filter(Q(totp_last_step__isnull=True) | Q(totp_last_step__lt=step))
            .update(totp_last_step=step))
    if used:
        user.totp_last_step = step
    return bool(used)
