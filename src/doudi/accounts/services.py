"""Account services (账号管理): creating users, passwords, roles, lockout and second factor.

三员分立 decides who may call what: the system administrator (系统管理员) creates accounts,
resets passwords, enables, disables and unlocks them; the security administrator (安全管理员)
grants and revokes roles and resets second factors; the audit administrator (审计管理员)
reads the audit log and login histories. Each works only inside their own area, never on
their own account, and none of them holds a case role (see roles.conflict). Every write is
audited through the models.
"""

from __future__ import annotations

import secrets
import string

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from doudi.accounts import roles as role_table
from doudi.accounts.models import PasswordHistory, User, UserRole
from doudi.accounts.roles import ROLES
from doudi.areas.models import Area
from doudi.audit.models import AuditEvent


def _check_roles(area: Area, codes: list[str]) -> None:
    for code in codes:
        role = ROLES.get(code)
        if role is None:
            raise ValidationError(f"未知角色 {code}；可选: {', '.join(ROLES)}")
        if area.level not in role.levels:
            raise ValidationError(f"角色 {role.label} 不能设在{area.level_label}级区划")
    why = role_table.conflict(codes)
    if why:
        raise ValidationError(why)


@transaction.atomic
def create_user(*, username: str, password: str, area_code: str, roles: list[str],
                full_name: str = "", by: User | None = None) -> User:
    """A new account. From the command line (`by` None) roles are given at once; through the
    system administrator's page (`by`) the account starts without roles, which the security
    administrator grants, and the first login must set a new password."""
    area = Area.objects.filter(code=area_code.ljust(12, "0")).first()
    if area is None:
        raise ValidationError(f"区划 {area_code} 不存在")
    if by is not None:
        _may_manage(by, role_table.MANAGE_USERS, area_code=area.code)
        if roles:
            raise ValidationError("三员分立：角色由安全管理员授予")
    else:
        if not roles:
            raise ValidationError("至少指定一个角色")
        _check_roles(area, roles)
    username = username.strip()
    if not username:
        raise ValidationError("用户名不能为空")
    if User.objects.filter(username=username).exists():
        raise ValidationError(f"用户名 {username} 已存在")
    user = User(username=username, area=area, full_name=full_name,
                must_change_password=by is not None)
    validate_password(password, user)
    user.set_password(password)
    user.password_changed_at = timezone.now()
    user.save()
    for code in roles:
        UserRole.objects.create(user=user, role=code)
    return user


def _may_manage(by: User, capability: str, *, target: User | None = None,
                area_code: str = "") -> None:
    if not by.can(capability):
        raise PermissionDenied("没有此项权限")
    code = target.area_id if target is not None else area_code
    if not (code or "").startswith(by.scope_prefix or "\0"):
        raise PermissionDenied("该账号不在您的管辖范围内")
    if target is not None and target.pk == by.pk:
        raise PermissionDenied("不能管理自己的账号，请由另一位管理员办理")


def _keep_history(user: User) -> None:
    """Remember the password being replaced; keep only as many as the policy compares."""
    if not user.password:
        return
    PasswordHistory.objects.create(user=user, password=user.password)
    keep = max(settings.DOUDI_PASSWORD_HISTORY - 1, 0)
    old = list(user.password_history.order_by("-created_at", "-id")
               .values_list("pk", flat=True)[keep:])
    if old:
        PasswordHistory.objects.filter(pk__in=old).delete()


@transaction.atomic
def change_own_password(user: User, *, old: str, new: str) -> None:
    if not user.check_password(old):
        raise ValidationError("原口令不正确")
    validate_password(new, user)
    _keep_history(user)
    user.set_password(new)
    user.password_changed_at = timezone.now()
    user.must_change_password = False
    user.save()


def temporary_password() -> str:
    """A random password that meets any policy of up to four classes; shown once."""
    alphabet = string.ascii_letters + string.digits
    while True:
        body = "".join(secrets.choice(alphabet) for _ in range(
            max(settings.DOUDI_PASSWORD_MIN_LENGTH, 12) - 2))
        candidate = f"{body}#{secrets.choice(string.digits)}"
        if (any(c.isupper() for c in candidate) and any(c.islower() for c in candidate)):
            return candidate


@transaction.atomic
def reset_password(target: User, *, by: User) -> str:
    """系统管理员重置口令: a temporary password the user must replace at the next login."""
    _may_manage(by, role_table.MANAGE_USERS, target=target)
    password = temporary_password()
    _keep_history(target)
    target.set_password(password)
    target.password_changed_at = timezone.now()
    target.must_change_password = True
    target.failed_logins, target.locked_until = 0, None
    target.save()
    return password


@transaction.atomic
def set_active(target: User, active: bool, *, by: User) -> None:
    _may_manage(by, role_table.MANAGE_USERS, target=target)
    target.is_active = active
    target.save()
    if not active:
        target.api_tokens.all().delete()


@transaction.atomic
def unlock(target: User, *, by: User) -> None:
    _may_manage(by, role_table.MANAGE_USERS, target=target)
    target.failed_logins, target.locked_until = 0, None
    target.save()


@transaction.atomic
def grant_role(target: User, code: str, *, by: User) -> UserRole:
    """安全管理员授权."""
    _may_manage(by, role_table.MANAGE_SECURITY, target=target)
    _check_roles(target.area, [*target.role_codes, code])
    if code in target.role_codes:
        raise ValidationError(f"已是{ROLES[code].label}")
    row = UserRole.objects.create(user=target, role=code)
    target._role_codes = None
    return row


@transaction.atomic
def revoke_role(target: User, code: str, *, by: User) -> None:
    _may_manage(by, role_table.MANAGE_SECURITY, target=target)
    row = UserRole.objects.filter(user=target, role=code).first()
    if row is None:
        raise ValidationError("该账号没有此角色")
    row.delete()
    target._role_codes = None
    target.api_tokens.all().delete()


@transaction.atomic
def reset_totp(target: User, *, by: User) -> None:
    """安全管理员重置双因素 (a lost phone): the user enrols again at the next login."""
    _may_manage(by, role_table.MANAGE_SECURITY, target=target)
    target.totp_secret, target.totp_confirmed_at, target.totp_last_step = "", None, None
    target.save()


@transaction.atomic
def enrol_totp(user: User, *, secret: str, code: str) -> bool:
    """The user turns on the second factor by entering a code from the new secret."""
    from doudi.accounts import totp

    if not totp.accept(user, code, secret=secret):
        return False
    user.totp_secret, user.totp_confirmed_at = secret, timezone.now()
    user.save()
    return True


LOGIN_ACTIONS = (AuditEvent.LOGIN, AuditEvent.LOGIN_FAILED, AuditEvent.LOGOUT)


def login_history(user: User, *, limit: int = 50) -> list[AuditEvent]:
    """登录历史, served from the audit log (successes, failures and logouts)."""
    return list(AuditEvent.objects.filter(object_type="accounts.user", object_id=str(user.pk),
                                          action__in=LOGIN_ACTIONS)
                .order_by("-at", "-id")[:limit])
