"""会话策略: idle timeout, forced password change and forced second-factor enrolment.

Runs after authentication on every page request (the API authenticates by token and is
not a session). A signed-in user whose password has expired or was reset, or whose role
requires a second factor not yet set up, can reach only the account pages and logout.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse

SEEN = "doudi_seen"
# Writing the session on every request costs a write per page; a minute's resolution is ample.
SEEN_RESOLUTION = 60


class SessionPolicyMiddleware:
    def __init__(self, get_response) -> None:  # noqa: ANN001
        self.get_response = get_response

    def __call__(self, request):  # noqa: ANN001, ANN204
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.path.startswith(
                ("/api/", settings.STATIC_URL)):
            return self.get_response(request)
        now = int(time.time())
        seen = request.session.get(SEEN)
        idle = settings.DOUDI_SESSION_IDLE_MINUTES * 60
        if seen is not None and idle > 0 and now - seen > idle:
            logout(request)
            messages.info(request, f"超过 {settings.DOUDI_SESSION_IDLE_MINUTES} 分钟未操作，"
                                   "已自动退出，请重新登录")
            return redirect(f"{reverse('login')}?next={request.path}")
        if seen is None or now - seen >= SEEN_RESOLUTION:
            request.session[SEEN] = now
        target = self._forced_page(request, user)
        if target is not None and request.path not in self._free_paths():
            return redirect(target)
        return self.get_response(request)

    @staticmethod
    def _free_paths() -> set[str]:
        return {reverse("account"), reverse("account_password"), reverse("account_totp"),
                reverse("logout")}

    @staticmethod
    def _forced_page(request, user) -> str | None:  # noqa: ANN001
        from doudi.accounts import passwords, totp

        if passwords.must_change(user):
            return reverse("account_password")
        if totp.required(user) and not totp.enrolled(user):
            return reverse("account_totp")
        return None
