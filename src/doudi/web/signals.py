"""Logins, logouts and failed logins go to the audit log."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from doudi.accounts.client_address import client_address
from doudi.audit import context, services
from doudi.audit.models import AuditEvent


def _ip(request) -> str:  # noqa: ANN001
    return client_address(request)


def _logged_in(sender, request, user, **kwargs) -> None:  # noqa: ANN001, ANN003
    actor = context.as_user(user, request_id=getattr(request, "request_id", ""), ip=_ip(request))
    services.record(AuditEvent.LOGIN, object_type="accounts.user", object_id=user.pk,
                    object_label=f"用户 {user.username}", area_code=user.area_id or "",
                    actor=actor)


def _logged_out(sender, request, user, **kwargs) -> None:  # noqa: ANN001, ANN003
    if user is not None:
        actor = context.as_user(user, request_id=getattr(request, "request_id", ""),
                                ip=_ip(request))
        services.record(AuditEvent.LOGOUT, object_type="accounts.user", object_id=user.pk,
                        object_label=f"用户 {user.username}", area_code=user.area_id or "",
                        actor=actor)


def _login_failed(sender, credentials, request=None, **kwargs) -> None:  # noqa: ANN001, ANN003
    from doudi.accounts.models import User

    name = str(credentials.get("username", ""))[:150]
    user = User.objects.filter(username=name).first()
    # An unknown name is often a password typed into the wrong box: keep only a hint of it.
    shown = name if user is not None else (name[:2] + "***" if name else "")
    services.record(AuditEvent.LOGIN_FAILED, object_type="accounts.user",
                    object_id=user.pk if user else "", object_label=f"用户名 {shown}",
                    area_code=(user.area_id or "") if user else "",
                    actor=context.Actor(user_id=None, username=shown or "anonymous",
                                        request_id=getattr(request, "request_id", ""),
                                        ip=_ip(request)))


def connect() -> None:
    user_logged_in.connect(_logged_in, dispatch_uid="doudi.login")
    user_logged_out.connect(_logged_out, dispatch_uid="doudi.logout")
    user_login_failed.connect(_login_failed, dispatch_uid="doudi.login_failed")
