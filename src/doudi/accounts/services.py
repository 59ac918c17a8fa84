"""Account services (账号管理): creating users, passwords, roles, lockout and second factor.

三员分立 decides who may call what: the system administrator (系统管理员) creates accounts,
resets passwords, enables, disables and unlocks them; the security administrator (安全管理员)
grants and revokes roles and resets second factors; the audit administrator (审计管理员)
reads the audit log and login histories. Each works only inside their own area, never on
their own account, and none of them holds a case role (see roles.conflict). An
administrator's password or second factor is reset only on a request that another
administrator, of a different role, approves (两人规则: request_reset, approve_reset). Every
write is audited through the models, every refused administrator action as a refusal.
"""

from __future__ import annotations

import datetime as dt
import secrets
import string

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from doudi.accounts import roles as role_table
from doudi.accounts import signin
from doudi.accounts.models import ApiToken, CredentialReset, PasswordHistory, User, UserRole
from doudi.accounts.roles import ROLES
from doudi.areas.models import Area
from doudi.audit import context
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.core.errors import FieldError, ServiceError


class AccountError(ServiceError):
    """A refused account action; the message is Chinese."""


def _check_password(password: str, user: User, field: str = "password") -> None:
    """The password policy's validators (Django's), their reasons as this error model's."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise AccountError([FieldError(field, m) for m in exc.messages]) from None


def _check_roles(area: Area, codes: list[str]) -> None:
    for code in codes:
        role = ROLES.get(code)
        if role is None:
            raise AccountError(f"未知角色 {code}；可选: {', '.join(ROLES)}")
        if area.level not in role.levels:
            raise AccountError(f"角色 {role.label} 不能设在{area.level_label}级区划")
    why = role_table.conflict(codes)
    if why:
        raise AccountError(why)


@transaction.atomic
def create_user(*, username: str, password: str, area_code: str, roles: list[str],
                full_name: str = "", by: User | None = None) -> User:
    """A new account. From the command line (`by` None) roles are given at once; through the
    system administrator's page (`by`) the account starts without roles, which the security
    administrator grants, and the first login must set a new password."""
    area = Area.objects.filter(code=area_code.ljust(12, "0")).first()
    if area is None:
        raise AccountError(f"区划 {area_code} 不存在", field="area_code")
    if by is not None:
        _may_manage(by, role_table.MANAGE_USERS, area_code=area.code)
        if roles:
            raise AccountError("三员分立：角色由安全管理员授予")
    else:
        if not roles:
            raise AccountError("至少指定一个角色")
        _check_roles(area, roles)
    username = username.strip()
    if not username:
        raise AccountError("用户名不能为空", field="username")
    if User.objects.filter(username=username).exists():
        raise AccountError(f"用户名 {username} 已存在", field="username")
    user = User(username=username, area=area, full_name=full_name,
                must_change_password=by is not None)
    _check_password(password, user)
    user.set_password(password)
    user.password_changed_at = timezone.now()
    user.save()
    for code in roles:
        UserRole.objects.create(user=user, role=code)
    return user


# 所属部门 / 所属社会力量: the accounts that act for a body outside the bureau, and the role each
# such link belongs to
AFFILIATION_ROLES = {"department": "department", "organisation": "org_staff"}


def _affiliation_fits(target: User, kind: str) -> None:
    """A department is set only on a department account, an organisation only on a 社会力量
    account (or on one with no role yet: the security administrator grants it later)."""
    role = AFFILIATION_ROLES[kind]
    others = [c for c in target.role_codes if c != role]
    if others:
        held = "、".join(ROLES[c].label for c in others)
        raise AccountError(f"只有{ROLES[role].label}账号可设所属"
                           f"{'部门' if kind == 'department' else '社会力量'}；"
                           f"{target.username} 是{held}", field=kind)


@transaction.atomic
def set_department(target: User, department: str, *, by: User | None = None) -> None:
    """部门接口账号的所属部门 (its feeds and token follow it), from the known departments; ""
    clears it. By the system administrator (`by`) or the command line. Audited (User)."""
    from doudi.exchange.feed_types import departments

    if by is not None:
        _may_manage(by, role_table.MANAGE_USERS, target=target)
    department = department.strip()
    if department:
        _affiliation_fits(target, "department")
        known = departments()
        if department not in known:
            raise AccountError(f"未知部门“{department}”；可选：{'、'.join(known)}",
                               field="department")
    if department != target.department:
        target.department = department
        target.save()


@transaction.atomic
def set_organisation(target: User, organisation, *, by: User | None = None) -> None:  # noqa: ANN001
    """社会力量账号的所属组织 (the needs it sees are its organisation's); None unlinks. The
    organisation is active and in the administrator's area (from the command line: on the
    account's own chain of areas). Audited."""
    from doudi.community.models import OrganisationMember

    if by is not None:
        _may_manage(by, role_table.MANAGE_USERS, target=target)
    current = OrganisationMember.objects.filter(user=target).select_related(
        "organisation").first()
    if organisation is not None:
        _affiliation_fits(target, "organisation")
        from doudi.community.services import organisations_for

        scope = (by.scope_prefix or "\0") if by is not None else ""
        on_chain = (organisation.active and organisation.area_code.startswith(target.area.prefix)
                    ) or organisations_for(target.area_id).filter(pk=organisation.pk).exists()
        if not on_chain or not organisation.area_code.startswith(scope):
            raise AccountError(f"社会力量“{organisation.name}”不在您的管辖范围或该账号所在区划内"
                               "（或已不在册）", field="organisation")
    before = current.organisation if current else None
    if before == organisation:
        return
    if organisation is None:
        current.delete()
    elif current is None:
        OrganisationMember.objects.create(user=target, organisation=organisation)
    else:
        current.organisation = organisation
        current.save()
    audit.record(AuditEvent.UPDATE, object_type="accounts.user", object_id=target.pk,
                 object_label=f"用户 {target.username} 所属社会力量",
                 area_code=target.area_id or "",
                 changes={"organisation": [str(before or ""), str(organisation or "")]})


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
        raise AccountError("原口令不正确", field="old")
    _check_password(new, user, "new")
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


def is_administrator(user: User) -> bool:
    """Holds one of the three administrators' roles (三员)."""
    return bool(role_table.ADMINISTRATOR_ROLES.intersection(user.role_codes))


# who may ask for (or, for an ordinary account, do) each credential reset
RESET_CAPABILITY = {CredentialReset.PASSWORD: role_table.MANAGE_USERS,
                    CredentialReset.TOTP: role_table.MANAGE_SECURITY}


def _refuse(by: User, target: User, why: str, error: type[Exception] = PermissionDenied) -> None:
    """Audit a refused administrator action (outside the refused transaction, so the row
    stays) and raise it."""
    audit.record(AuditEvent.REFUSED, object_type="accounts.user", object_id=target.pk,
                 object_label=f"用户 {target.username}：{why}"[:200],
                 area_code=target.area_id or "", actor=context.current())
    raise error(why)


def _may_reset(by: User, kind: str, target: User) -> None:
    """The authority to reset (or ask to reset) `target`'s credential; a refusal is audited."""
    try:
        _may_manage(by, RESET_CAPABILITY[kind], target=target)
    except PermissionDenied as exc:
        _refuse(by, target, f"{dict(CredentialReset.KINDS)[kind]}被拒绝：{exc}")


def _second_person_required(target: User, by: User, kind: str) -> None:
    """An administrator's credentials are reset only through an approved request."""
    if is_administrator(target):
        label = dict(CredentialReset.KINDS)[kind]
        _refuse(by, target, f"三员分立：{label}须提交申请，由另一类管理员复核后办理",
                AccountError)


def _reset_password(target: User) -> str:
    password = temporary_password()
    _keep_history(target)
    target.set_password(password)
    target.password_changed_at = timezone.now()
    target.must_change_password = True
    target.failed_logins, target.locked_until = 0, None
    target.save()  # revokes the account's tokens (accounts.revocation)
    return password


def _reset_totp(target: User) -> None:
    target.totp_secret, target.totp_confirmed_at, target.totp_last_step = "", None, None
    target.save()  # revokes the account's tokens (accounts.revocation)


def reset_password(target: User, *, by: User) -> str:
    """系统管理员重置口令: a temporary password the user must replace at the next login. An
    administrator's password is reset only through `request_reset` (两人规则)."""
    _may_reset(by, CredentialReset.PASSWORD, target)
    _second_person_required(target, by, CredentialReset.PASSWORD)
    with transaction.atomic():
        return _reset_password(target)


def reset_totp(target: User, *, by: User) -> None:
    """安全管理员重置双因素 (a lost phone): the user enrols again at the next login. An
    administrator's second factor is reset only through `request_reset` (两人规则)."""
    _may_reset(by, CredentialReset.TOTP, target)
    _second_person_required(target, by, CredentialReset.TOTP)
    with transaction.atomic():
        _reset_totp(target)


def request_reset(target: User, kind: str, *, by: User) -> CredentialReset:
    """申请重置管理员凭据: the administrator whose duty the reset is (the system administrator
    for a password, the security administrator for a second factor) asks; nothing changes
    until another administrator of a different role approves (`approve_reset`)."""
    if kind not in RESET_CAPABILITY:
        raise AccountError("请选择要重置的凭据", field="kind")
    _may_reset(by, kind, target)
    if not is_administrator(target):
        raise AccountError("普通账号由管理员直接重置，无需申请")
    if CredentialReset.objects.filter(target=target, kind=kind,
                                      status=CredentialReset.PENDING).exists():
        raise AccountError("该账号已有待复核的同类申请")
    asked_as = sorted(role_table.ADMINISTRATOR_ROLES.intersection(by.role_codes))[0]
    with transaction.atomic():
        return CredentialReset.objects.create(target=target, kind=kind, requested_by=by,
                                              requested_as=asked_as)


def decide_refusal(request: CredentialReset, by: User) -> str:
    """Why `by` may not approve or refuse `request` ("" when they may): another administrator,
    of a different role from the asker's, neither the asker nor the account's holder, over
    the account's area."""
    if not is_administrator(by):
        return "重置申请须由管理员复核"
    if by.pk in (request.requested_by_id, request.target_id):
        return "两人规则：不能复核本人提出的或针对本人账号的重置申请"
    if request.requested_as in by.role_codes:
        return f"两人规则：须由{ROLES[request.requested_as].label}以外的另一类管理员复核"
    if not (request.target.area_id or "").startswith(by.scope_prefix or "\0"):
        return "该账号不在您的管辖范围内"
    return ""


def _may_decide(request: CredentialReset, by: User) -> None:
    if request.status != CredentialReset.PENDING:
        raise AccountError("该申请已复核")
    why = decide_refusal(request, by)
    if why:
        _refuse(by, request.target, why)


def _still_pending(request: CredentialReset) -> None:
    """Under a row lock: of two administrators deciding at once, the second finds it done."""
    if CredentialReset.objects.select_for_update().get(pk=request.pk).status \
            != CredentialReset.PENDING:
        raise AccountError("该申请已复核")


def approve_reset(request: CredentialReset, *, by: User) -> str:
    """复核同意: the reset is carried out now. For a password, the temporary password —
    shown to the approver once, to hand to the account's holder; "" for a second factor."""
    _may_decide(request, by)
    with transaction.atomic():
        _still_pending(request)
        target = User.objects.select_for_update().get(pk=request.target_id)
        password = (_reset_password(target) if request.kind == CredentialReset.PASSWORD
                    else _reset_totp(target) or "")
        request.status, request.decided_by, request.decided_at = (
            CredentialReset.DONE, by, timezone.now())
        request.save()
    return password


def refuse_reset(request: CredentialReset, *, by: User) -> None:
    """复核驳回: nothing changes on the account."""
    _may_decide(request, by)
    with transaction.atomic():
        _still_pending(request)
        request.status, request.decided_by, request.decided_at = (
            CredentialReset.REFUSED, by, timezone.now())
        request.save()


def pending_resets(viewer: User) -> list[CredentialReset]:
    """The reset requests waiting in the viewer's area (for administrators)."""
    if not is_administrator(viewer) or viewer.scope_prefix is None:
        return []
    return list(CredentialReset.objects.select_related("target", "requested_by")
                .filter(status=CredentialReset.PENDING,
                        target__area__code__startswith=viewer.scope_prefix)
                .order_by("requested_at"))


@transaction.atomic
def set_active(target: User, active: bool, *, by: User) -> None:
    _may_manage(by, role_table.MANAGE_USERS, target=target)
    target.is_active = active
    target.save()  # disabling revokes the account's tokens (accounts.revocation)


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
        raise AccountError(f"已是{ROLES[code].label}")
    row = UserRole.objects.create(user=target, role=code)
    target._role_codes = None
    return row


@transaction.atomic
def revoke_role(target: User, code: str, *, by: User) -> None:
    _may_manage(by, role_table.MANAGE_SECURITY, target=target)
    row = UserRole.objects.filter(user=target, role=code).first()
    if row is None:
        raise AccountError("该账号没有此角色")
    row.delete()  # revokes the account's tokens, as a grant does (accounts.revocation)
    target._role_codes = None


@transaction.atomic
def enrol_totp(user: User, *, secret: str, code: str) -> bool:
    """The user turns on the second factor by entering a code from the new secret."""
    from doudi.accounts import totp

    if not totp.accept(user, code, secret=secret):
        return False
    user.totp_secret, user.totp_confirmed_at = secret, timezone.now()
    user.save()
    return True


@transaction.atomic
def disable_totp(user: User, *, code: str) -> None:
    """The user turns the second factor off, confirming with a current code; refused when
    one of the user's roles requires it."""
    from doudi.accounts import totp

    if totp.required(user):
        raise AccountError("您的角色必须使用双因素认证，不能关闭")
    if not totp.accept(user, code):
        raise AccountError("动态码错误", field="code")
    user.totp_secret, user.totp_confirmed_at = "", None
    user.save()


def issue_api_token(user: User, *, actor: context.Actor) -> tuple[str, dt.datetime]:
    """签发接口令牌 to a user who has just proved who they are (audited): the token, shown
    this once, and when it expires."""
    token = ApiToken.issue(user)
    row = ApiToken.objects.get(digest=ApiToken.hash(token))
    audit.record(AuditEvent.TOKEN, object_type="accounts.user", object_id=user.pk,
                 object_label=f"用户 {user.username} 签发接口令牌", area_code=user.area_id,
                 actor=actor)
    return token, row.expires_at


def token_owner(token: str) -> User | None:
    """The active user a bearer token belongs to, or None. When it was last used is noted at
    most once a minute, so a busy token does not write on every call."""
    row = (ApiToken.objects.select_related("user", "user__area")
           .filter(digest=ApiToken.hash(token)).first())
    now = timezone.now()
    if row is None or row.expires_at <= now or not signin.token_usable(row.user):
        return None
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


LOGIN_ACTIONS = (AuditEvent.LOGIN, AuditEvent.LOGIN_FAILED, AuditEvent.LOGOUT)


def login_history(user: User, *, limit: int = 50) -> list[AuditEvent]:
    """登录历史, served from the audit log (successes, failures and logouts)."""
    return list(AuditEvent.objects.filter(object_type="accounts.user", object_id=str(user.pk),
                                          action__in=LOGIN_ACTIONS)
                .order_by("-at", "-id")[:limit])


def accounts_holding(capabilities: set[str] | frozenset[str], *, under: str,
                     without: set[str] | frozenset[str] = frozenset()) -> QuerySet[User]:
    """Active accounts in an area whose roles give each of `capabilities` and none of
    `without` — the accounts an officer may choose from (an evaluator's for a campaign, a
    visitor's for a person), without a page asking which role anyone holds."""
    codes = [code for code, role in ROLES.items()
             if set(capabilities) <= role.capabilities and not set(without) & role.capabilities]
    return (User.objects.filter(is_active=True, area__code__startswith=under,
                                role_rows__role__in=codes)
            .distinct().order_by("username"))
