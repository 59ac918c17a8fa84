"""登录、本人账号与账号管理 pages: the two-step login (password, then the dynamic code when
the user has a second factor), the user's own password, second factor and login history, and
the administrators' pages, each action gated by 三员分立 in accounts.services."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from doudi.accounts import lockout, passwords, roles, services, totp
from doudi.accounts.client_address import client_address
from doudi.accounts.models import CredentialReset, User
from doudi.audit import context
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.web.forms import LoginForm

PENDING = "doudi_pending_login"  # the user who passed the password step, awaiting the code
PENDING_SECONDS = 300
ENROLMENT = "doudi_totp_secret"  # the secret shown for enrolment until a code confirms it

MANAGING = (roles.MANAGE_USERS, roles.MANAGE_SECURITY, roles.VIEW_AUDIT)


def _next(request: HttpRequest, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(value, {request.get_host()},
                                                 require_https=request.is_secure()):
        return value
    return reverse("home")


def _finish_login(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    lockout.register_success(user)
    auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    # a password that must change: the middleware sends every page to the password page,
    # which says why (passwords.must_change) — once, not again as a message
    return redirect(next_url)


def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _next(request, request.POST.get("next") or request.GET.get("next"))
    if request.user.is_authenticated:
        return redirect(next_url)
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        if totp.enrolled(user):
            request.session[PENDING] = {"user": user.pk, "at": int(time.time()),
                                        "next": next_url}
            return redirect("login_otp")
        return _finish_login(request, user, next_url)
    return render(request, "doudi/login.html", {"form": form, "next": next_url})


def login_otp(request: HttpRequest) -> HttpResponse:
    """第二步：动态码."""
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return redirect("login")
    user = User.objects.filter(pk=pending["user"], is_active=True).first()
    if user is None:
        request.session.pop(PENDING, None)
        return redirect("login")
    error = ""
    if request.method == "POST":
        until = lockout.locked_until(user)
        if until is not None:
            error = "连续登录失败次数过多，账号已锁定，请稍后再试或联系系统管理员"
        elif totp.accept(user, request.POST.get("code", "")):
            request.session.pop(PENDING, None)
            return _finish_login(request, user, pending["next"])
        else:
            lockout.register_failure(user)
            audit.record(AuditEvent.LOGIN_FAILED, object_type="accounts.user",
                         object_id=user.pk, object_label=f"用户 {user.username}（动态码错误）",
                         area_code=user.area_id or "",
                         actor=context.as_user(user, ip=client_address(request)))
            error = "动态码错误或已使用，请输入验证器上最新的 6 位数字"
    return render(request, "doudi/login_otp.html", {"error": error})


@login_required
def account(request: HttpRequest) -> HttpResponse:
    """本人账号: password age, second factor, the last logins."""
    user = request.user
    return render(request, "doudi/account.html", {
        "expires": passwords.expires_on(user), "must_change": passwords.must_change(user),
        "totp_enrolled": totp.enrolled(user), "totp_required": totp.required(user),
        "history": services.login_history(user, limit=20),
    })


@login_required
def account_password(request: HttpRequest) -> HttpResponse:
    errors: list[str] = []
    if request.method == "POST":
        new = request.POST.get("new", "")
        if new != request.POST.get("confirm", ""):
            errors.append("两次输入的新口令不一致")
        else:
            try:
                services.change_own_password(request.user, old=request.POST.get("old", ""),
                                             new=new)
            except services.AccountError as e:
                errors.extend(e.messages)
            else:
                # keep this session signed in: its hash changed with the password
                from django.contrib.auth import update_session_auth_hash

                update_session_auth_hash(request, request.user)
                messages.success(request, "口令已修改")
                return redirect("account")
    from django.contrib.auth.password_validation import password_validators_help_texts

    return render(request, "doudi/account_password.html", {
        "errors": errors, "reason": passwords.must_change(request.user),
        "rules": password_validators_help_texts(),
    })


@login_required
def account_totp(request: HttpRequest) -> HttpResponse:
    """启用双因素: show a new secret, confirm it with a code from the authenticator."""
    user = request.user
    error = ""
    if request.method == "POST" and request.POST.get("action") == "disable":
        try:
            services.disable_totp(user, code=request.POST.get("code", ""))
        except services.AccountError as exc:
            error = exc.message
        else:
            messages.success(request, "已关闭双因素认证")
            return redirect("account")
    elif request.method == "POST" and not totp.enrolled(user):
        secret = request.session.get(ENROLMENT)
        if secret and services.enrol_totp(user, secret=secret,
                                          code=request.POST.get("code", "")):
            request.session.pop(ENROLMENT, None)
            messages.success(request, "已启用双因素认证，今后登录时需输入动态码")
            return redirect("account")
        error = "动态码错误，请确认验证器已添加下面的密钥，并输入最新的 6 位数字"
    secret = ""
    if not totp.enrolled(user):
        secret = request.session.get(ENROLMENT) or totp.new_secret()
        request.session[ENROLMENT] = secret
    return render(request, "doudi/account_totp.html", {
        "error": error, "enrolled": totp.enrolled(user), "required": totp.required(user),
        "secret": secret, "uri": totp.provisioning_uri(user, secret) if secret else "",
    })


def _need_any(request: HttpRequest, capabilities: tuple[str, ...]) -> None:
    if not any(request.user.can(c) for c in capabilities):
        raise PermissionDenied("没有此项权限")


@login_required
def user_list(request: HttpRequest) -> HttpResponse:
    _need_any(request, MANAGING)
    users = (User.objects.filter(area__code__startswith=request.user.area.prefix)
             .select_related("area").prefetch_related("role_rows").order_by("area_id", "username"))
    return render(request, "doudi/user_list.html", {
        "users": users, "may_create": request.user.can(roles.MANAGE_USERS),
        "pending": services.pending_resets(request.user),
        "now": timezone.now(),
    })


@login_required
def user_new(request: HttpRequest) -> HttpResponse:
    """系统管理员新建账号: no roles yet (the security administrator grants them) and a
    temporary password shown once, to be replaced at the first login."""
    _need_any(request, (roles.MANAGE_USERS,))
    errors: list[str] = []
    if request.method == "POST":
        password = services.temporary_password()
        try:
            with transaction.atomic():
                made = services.create_user(
                    username=request.POST.get("username", ""), password=password,
                    area_code=request.POST.get("area_code", "").strip(), roles=[],
                    full_name=request.POST.get("full_name", "").strip()[:50], by=request.user)
                _set_affiliation(request, made)
        except services.AccountError as e:
            errors.extend(e.messages)
        except PermissionDenied as e:
            errors.append(str(e))
        else:
            messages.success(request, f"已新建账号 {made.username}，临时口令 {password}"
                                      "（仅显示这一次，首次登录须修改）；请安全管理员授予角色")
            return redirect("user_detail", user_id=made.pk)
    return render(request, "doudi/user_new.html", {"errors": errors, "g": request.POST,
                                                   **_affiliation_choices(request.user)})


def _affiliation_choices(viewer: User) -> dict:
    """The departments and the organisations (in the administrator's area) an account may
    belong to."""
    from doudi.community.models import Organisation
    from doudi.exchange.feed_types import departments

    return {"departments": departments(),
            "organisations": Organisation.objects.filter(
                active=True, area_code__startswith=viewer.scope_prefix or "\0")}


@transaction.atomic
def _set_affiliation(request: HttpRequest, target: User) -> str:
    """Set the posted 所属部门 and 所属社会力量 (those posted); what was set."""
    from doudi.community.models import Organisation

    done = []
    if "department" in request.POST:
        services.set_department(target, request.POST["department"], by=request.user)
        done.append(f"所属部门：{target.department or '无'}")
    if "organisation" in request.POST:
        posted = request.POST["organisation"]
        organisation = Organisation.objects.filter(pk=int(posted)).first() \
            if posted.isdigit() else None
        if posted and organisation is None:
            raise services.AccountError("没有这个社会力量", field="organisation")
        services.set_organisation(target, organisation, by=request.user)
        done.append(f"所属社会力量：{organisation or '无'}")
    return "；".join(done)


def _act(request: HttpRequest, target: User) -> str:
    """Carry out one posted action on an account; the message to show."""
    by, action = request.user, request.POST.get("action", "")
    if action == "reset_password":
        password = services.reset_password(target, by=by)
        return f"已重置口令，临时口令 {password}（仅显示这一次，用户登录后须修改）"
    if action in ("disable", "enable"):
        services.set_active(target, action == "enable", by=by)
        return "已启用账号" if action == "enable" else "已停用账号，其接口令牌已作废"
    if action == "affiliation":
        return "已设置" + (_set_affiliation(request, target) or "")
    if action == "unlock":
        services.unlock(target, by=by)
        return "已解锁"
    if action == "grant":
        code = request.POST.get("role", "")
        services.grant_role(target, code, by=by)
        return f"已授予角色 {roles.ROLES[code].label}"
    if action == "revoke":
        code = request.POST.get("role", "")
        services.revoke_role(target, code, by=by)
        return f"已收回角色 {roles.ROLES[code].label if code in roles.ROLES else code}"
    if action == "reset_totp":
        services.reset_totp(target, by=by)
        return "已重置双因素认证，用户下次登录后重新绑定"
    if action in ("request_reset_password", "request_reset_totp"):
        made = services.request_reset(target, action.removeprefix("request_reset_"), by=by)
        return (f"已提交{made.get_kind_display()}申请，须由{roles.ROLES[made.requested_as].label}"
                "以外的另一类管理员复核后办理")
    if action in ("approve_reset", "refuse_reset"):
        posted = request.POST.get("reset_id", "")
        request_row = get_object_or_404(CredentialReset, target=target,
                                        pk=int(posted) if posted.isdigit() else 0)
        if action == "refuse_reset":
            services.refuse_reset(request_row, by=by)
            return f"已驳回{request_row.get_kind_display()}申请"
        password = services.approve_reset(request_row, by=by)
        if password:
            return (f"已复核同意并重置口令，临时口令 {password}（仅显示这一次，请交给账号本人，"
                    "登录后须修改）")
        return "已复核同意并重置双因素认证，用户下次登录后重新绑定"
    raise services.AccountError("请选择要办理的事项", field="action")


@login_required
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    _need_any(request, MANAGING)
    target = get_object_or_404(
        User.objects.select_related("area"), pk=user_id,
        area__code__startswith=request.user.area.prefix)
    errors: list[str] = []
    if request.method == "POST":
        try:
            done = _act(request, target)
        except services.AccountError as e:
            errors.extend(e.messages)
        except PermissionDenied as e:
            errors.append(str(e) or "没有此项权限")
        else:
            messages.success(request, done)
            return redirect("user_detail", user_id=target.pk)
        target.refresh_from_db()
        target._role_codes = None
    viewer = request.user
    grantable = [r for r in roles.ROLES.values()
                 if target.area.level in r.levels and r.code not in target.role_codes]
    return render(request, "doudi/user_detail.html", {
        "target": target, "errors": errors, "grantable": grantable,
        "held": [roles.ROLES[c] for c in target.role_codes],
        "locked": lockout.locked_until(target), "expires": passwords.expires_on(target),
        "totp_enrolled": totp.enrolled(target),
        "may_manage": viewer.can(roles.MANAGE_USERS) and viewer.pk != target.pk,
        # 两人规则: an administrator's credentials are reset by an approved request
        "target_is_admin": services.is_administrator(target),
        "pending": [(r, not services.decide_refusal(r, viewer))
                    for r in services.pending_resets(viewer) if r.target_id == target.pk],
        "may_grant": viewer.can(roles.MANAGE_SECURITY) and viewer.pk != target.pk,
        # 登录历史 is the auditor's to read (and the user's own, on the account page)
        "history": services.login_history(target) if viewer.can(roles.VIEW_AUDIT) else None,
        "idle_minutes": settings.DOUDI_SESSION_IDLE_MINUTES,
        # 所属部门 / 社会力量: for an account holding no other role than those they belong to
        "may_affiliate": not set(target.role_codes) - set(services.AFFILIATION_ROLES.values()),
        "organisation": getattr(getattr(target, "organisation_membership", None),
                                "organisation", None),
        **(_affiliation_choices(viewer) if viewer.can(roles.MANAGE_USERS) else {}),
    })
