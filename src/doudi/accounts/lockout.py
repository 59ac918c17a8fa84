"""登录失败处理: lock an account after repeated failures, and slow down one address that
tries many names (等保 2.0 身份鉴别: 登录失败处理功能、限制非法登录次数)."""

from __future__ import annotations

import datetime as dt
import time

from django.conf import settings
from django.core.cache import cache
from django.db.models import F
from django.utils import timezone

from doudi.audit import services as audit
from doudi.audit.models import AuditEvent


def refused_message(*, code: bool = False) -> str:
    """The one answer to a refused sign-in — a wrong password or code, an unknown or disabled
    user name, a locked account — so that it tells nobody which names exist or are locked."""
    what = "用户名、密码或动态码错误" if code else "用户名或密码错误"
    return (f"{what}。连续失败 {settings.DOUDI_LOCKOUT_FAILURES} 次账号将锁定 "
            f"{settings.DOUDI_LOCKOUT_MINUTES} 分钟，锁定期间请稍后再试或联系系统管理员解锁")


def locked_until(user) -> dt.datetime | None:  # noqa: ANN001
    until = user.locked_until
    return until if until is not None and until > timezone.now() else None


def register_failure(user) -> None:  # noqa: ANN001
    """Count one failed attempt (password or dynamic code); lock at the threshold.

    The count moves by an atomic increment, so parallel guesses cannot slip past it."""
    from doudi.accounts.models import User

    User.objects.filter(pk=user.pk).update(failed_logins=F("failed_logins") + 1)
    failures = User.objects.values_list("failed_logins", flat=True).get(pk=user.pk)
    user.failed_logins = failures
    if failures >= settings.DOUDI_LOCKOUT_FAILURES and locked_until(user) is None:
        until = timezone.now() + dt.timedelta(minutes=settings.DOUDI_LOCKOUT_MINUTES)
        User.objects.filter(pk=user.pk).update(locked_until=until)
        user.locked_until = until
        audit.record(AuditEvent.UPDATE, object_type="accounts.user", object_id=user.pk,
                     object_label=f"用户 {user.username}", area_code=user.area_id or "",
                     changes={"locked_until": [None, f"{timezone.localtime(until):%Y-%m-%d %H:%M}"],
                              "原因": [None, f"连续 {failures} 次登录失败"]})
        from doudi.accounts.revocation import revoke_tokens

        revoke_tokens(user, "账号锁定")  # the bulk update above sends no save signal


def register_success(user) -> None:  # noqa: ANN001
    from doudi.accounts.models import User

    if user.failed_logins or user.locked_until:
        User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
        user.failed_logins, user.locked_until = 0, None


def count_this_minute(name: str) -> int:
    """One more call under `name` in the current minute; the count so far (login attempts per
    address, department API calls per account)."""
    key = f"doudi:rate:{name}:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=120)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        return 1


def address_allowed(ip: str) -> bool:
    """At most DOUDI_LOGIN_RATE_PER_MINUTE login attempts per client address per minute."""
    return count_this_minute(f"login:{ip}") <= settings.DOUDI_LOGIN_RATE_PER_MINUTE
