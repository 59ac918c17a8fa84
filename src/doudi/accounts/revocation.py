"""Tokens do not outlive credentials (令牌随凭据失效): the one place a user's API tokens are
revoked, and the signals that call it whenever what they were issued against changes.

A token was issued to someone who proved a password (and a code) while holding certain roles.
When any of that changes — the password (their own change or an administrator's reset), the
second factor (turned on, off or reset), the account disabled or locked, a password change
forced, a role granted or revoked — every token of the account is deleted and the revocation
audited. Watching the fields rather than the services means a new way of changing them (a
command, an administrator's tool) revokes as well. The lockout raises `locked_until` with a
bulk update (its counter must be atomic), which sends no signal: it calls `revoke_tokens`.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save, pre_save
from django.utils import timezone

from doudi.audit import services as audit
from doudi.audit.models import AuditEvent

# field → why a change of it revokes (checked on every save of a user)
WATCHED = ("password", "totp_secret", "totp_confirmed_at", "is_active", "must_change_password",
           "locked_until")


def revoke_tokens(user, reason: str) -> int:  # noqa: ANN001
    """Delete every API token of `user`; audited when there was one. The number revoked."""
    from doudi.accounts.models import ApiToken

    count, _ = ApiToken.objects.filter(user_id=user.pk).delete()
    if count:
        audit.record(AuditEvent.UPDATE, object_type="accounts.user", object_id=user.pk,
                     object_label=f"用户 {user.username} 接口令牌作废",
                     area_code=user.area_id or "",
                     changes={"接口令牌": [f"{count} 个", "已作废"], "原因": [None, reason]})
    return count


def _why(old: dict, new) -> str:  # noqa: ANN001
    """Why saving `new` over the stored `old` values revokes the tokens ("" when it does not)."""
    now = timezone.now()
    reasons = []
    if old["password"] != new.password:
        reasons.append("口令变更")
    if (old["totp_secret"], old["totp_confirmed_at"]) != (new.totp_secret,
                                                          new.totp_confirmed_at):
        reasons.append("双因素认证变更")
    if old["is_active"] and not new.is_active:
        reasons.append("账号停用")
    if new.must_change_password and not old["must_change_password"]:
        reasons.append("须修改口令")
    was_locked = old["locked_until"] is not None and old["locked_until"] > now
    if new.locked_until is not None and new.locked_until > now and not was_locked:
        reasons.append("账号锁定")
    return "、".join(reasons)


def _user_saving(sender, instance, raw=False, update_fields=None, **kwargs) -> None:  # noqa: ANN001, ANN003
    instance._revoke_reason = ""
    if raw or instance.pk is None:
        return
    if update_fields is not None and not set(update_fields) & set(WATCHED):
        return  # e.g. last_login at each sign-in
    old = sender.objects.filter(pk=instance.pk).values(*WATCHED).first()
    if old is not None:
        instance._revoke_reason = _why(old, instance)


def _user_saved(sender, instance, raw=False, **kwargs) -> None:  # noqa: ANN001, ANN003
    reason = getattr(instance, "_revoke_reason", "")
    if reason and not raw:
        instance._revoke_reason = ""
        revoke_tokens(instance, reason)


def _role_saved(sender, instance, created, raw=False, **kwargs) -> None:  # noqa: ANN001, ANN003
    if not raw:
        revoke_tokens(instance.user, f"授予角色 {instance.get_role_display()}")


def _role_deleted(sender, instance, **kwargs) -> None:  # noqa: ANN001, ANN003
    from doudi.accounts.models import User

    user = User.objects.filter(pk=instance.user_id).first()
    if user is not None:  # None: the account itself is being deleted, its tokens with it
        revoke_tokens(user, f"收回角色 {instance.get_role_display()}")


def connect() -> None:
    from doudi.accounts.models import User, UserRole

    pre_save.connect(_user_saving, sender=User, dispatch_uid="doudi.revoke.user_saving")
    post_save.connect(_user_saved, sender=User, dispatch_uid="doudi.revoke.user_saved")
    post_save.connect(_role_saved, sender=UserRole, dispatch_uid="doudi.revoke.role_saved")
    post_delete.connect(_role_deleted, sender=UserRole, dispatch_uid="doudi.revoke.role_deleted")
