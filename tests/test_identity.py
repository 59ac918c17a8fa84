"""身份鉴别与访问控制 (等保 2.0 level 3): password policy, expiry, lockout, the address rate
limit, idle sessions, the second factor, 三员分立 and login history — through the pages and the
token API, as staff meet them."""

from __future__ import annotations

import datetime as dt
import itertools
import time

import pyotp
import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from doudi.accounts import services
from doudi.accounts.middleware import SEEN
from doudi.accounts.models import User
from doudi.accounts.services import AccountError
from doudi.audit.models import AuditEvent
from tests.conftest import PASSWORD, ROLE_AREA

pytestmark = pytest.mark.django_db

NEW = "Quite-New-2026"


def _login(client: Client, username: str, password: str = PASSWORD) -> object:
    return client.post(reverse("login"), {"username": username, "password": password})


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def _code(secret: str, offset: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + offset)


# -- 口令策略 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("password, reason", [
    ("Ab1-short", "至少"),  # 9 characters
    ("alllowercase-only", "至少 3 类"),  # two classes: lower and symbol
    ("ALLUPPER2026", "至少 3 类"),  # two classes
])
def test_weak_passwords_are_refused(users, password, reason):
    with pytest.raises(AccountError) as refused:
        services.change_own_password(users.village_assistant, old=PASSWORD, new=password)
    assert any(reason in m for m in refused.value.messages)
    assert _fresh(users.village_assistant).check_password(PASSWORD)


@override_settings(DOUDI_PASSWORD_HISTORY=3)
def test_the_last_passwords_cannot_be_reused(users):
    user = users.village_assistant
    history = [PASSWORD, "Second-Pass-1", "Third-Pass-22"]
    for old, new in itertools.pairwise(history):
        services.change_own_password(user, old=old, new=new)
    for reused in history:  # the current one and the two before it
        with pytest.raises(AccountError, match="相同"):
            services.change_own_password(user, old=history[-1], new=reused)
    services.change_own_password(user, old=history[-1], new="Fourth-Pass-333")
    # PASSWORD is now four changes back: allowed again; only three hashes are kept
    services.change_own_password(user, old="Fourth-Pass-333", new=PASSWORD)
    assert user.password_history.count() == 2


def test_an_expired_password_must_be_changed_before_anything_else(client, users):
    user = users.town_officer
    User.objects.filter(pk=user.pk).update(
        password_changed_at=timezone.now() - dt.timedelta(days=91))
    response = _login(client, user.username)
    assert response.status_code == 302
    page = client.get(reverse("household_list"))
    assert page.status_code == 302 and page["Location"] == reverse("account_password")
    assert "90 天" in client.get(reverse("account_password")).content.decode()
    changed = client.post(reverse("account_password"),
                          {"old": PASSWORD, "new": NEW, "confirm": NEW})
    assert changed.status_code == 302
    assert client.get(reverse("household_list")).status_code == 200  # still signed in
    assert _fresh(user).password_changed_at > timezone.now() - dt.timedelta(minutes=1)


# -- 登录失败处理 ------------------------------------------------------------------------------

@override_settings(DOUDI_LOCKOUT_FAILURES=5, DOUDI_LOCKOUT_MINUTES=30)
def test_five_failures_lock_the_account_until_unlocked(client, users):
    user = users.district_officer
    for _ in range(5):
        assert "用户名或密码错误" in _login(client, user.username, "wrong").content.decode()
    locked = _fresh(user)
    assert locked.failed_logins == 5 and locked.locked_until > timezone.now()
    # the right password no longer opens it, and the answer is a wrong password's
    refused = _login(client, user.username)
    assert refused.status_code == 200 and "_auth_user_id" not in client.session
    assert refused.context["form"].non_field_errors() == \
        _login(Client(), "no_such_user", "wrong").context["form"].non_field_errors()
    assert AuditEvent.objects.filter(object_type="accounts.user", object_id=str(user.pk),
                                     changes__has_key="locked_until").exists()
    # five wrong passwords, then the right one refused while locked
    assert AuditEvent.objects.filter(action=AuditEvent.LOGIN_FAILED,
                                     object_id=str(user.pk)).count() == 6
    # the token API honours the same lock
    api = client.post(reverse("api:issue_token"),
                      {"username": user.username, "password": PASSWORD},
                      content_type="application/json")
    assert api.status_code == 401
    services.unlock(locked, by=users.sysadmin)
    assert _login(client, user.username).status_code == 302
    assert _fresh(user).failed_logins == 0


@override_settings(DOUDI_LOCKOUT_FAILURES=3)
def test_a_lock_ends_by_itself_and_success_resets_the_count(client, users):
    user = users.town_approver
    for _ in range(2):
        _login(client, user.username, "wrong")
    assert _login(client, user.username).status_code == 302
    assert _fresh(user).failed_logins == 0
    client.logout()
    User.objects.filter(pk=user.pk).update(
        failed_logins=3, locked_until=timezone.now() - dt.timedelta(seconds=1))
    assert _login(client, user.username).status_code == 302


@override_settings(DOUDI_LOGIN_RATE_PER_MINUTE=4)
def test_one_address_may_try_only_so_often(client, users, fresh_rate_limit):
    for i in range(4):
        _login(client, f"nobody{i}", "wrong")
    refused = _login(client, users.village_assistant.username)
    assert "过于频繁" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    assert _fresh(users.village_assistant).failed_logins == 0  # not the account's fault


# -- 会话 --------------------------------------------------------------------------------------

@override_settings(DOUDI_SESSION_IDLE_MINUTES=30)
def test_an_idle_session_is_signed_out(client, users):
    assert _login(client, users.village_assistant.username).status_code == 302
    assert client.get(reverse("household_list")).status_code == 200
    session = client.session
    session[SEEN] = int(time.time()) - 29 * 60
    session.save()
    assert client.get(reverse("household_list")).status_code == 200  # 29 minutes: still in
    session = client.session
    session[SEEN] = int(time.time()) - 31 * 60
    session.save()
    page = client.get(reverse("household_list"))
    assert page.status_code == 302 and page["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action=AuditEvent.LOGOUT,
                                     object_id=str(users.village_assistant.pk)).exists()


# -- 双因素认证 --------------------------------------------------------------------------------

def _enrol(client: Client, user: User) -> str:
    assert _login(client, user.username).status_code == 302
    page = client.get(reverse("account_totp"))
    secret = page.context["secret"]
    assert secret in page.content.decode()
    wrong = client.post(reverse("account_totp"), {"code": "000000"})
    assert "动态码错误" in wrong.content.decode()
    assert client.post(reverse("account_totp"), {"code": _code(secret)}).status_code == 302
    assert _fresh(user).totp_confirmed_at is not None
    client.logout()
    return secret


def test_a_second_factor_is_asked_after_the_password(client, users):
    user = users.district_approver
    secret = _enrol(client, user)
    step = _login(client, user.username)
    assert step["Location"] == reverse("login_otp")
    assert "_auth_user_id" not in client.session  # the password alone signs nobody in
    assert client.get(reverse("household_list")).status_code == 302
    wrong = client.post(reverse("login_otp"), {"code": "123456"})
    assert "动态码错误" in wrong.content.decode()
    assert _fresh(user).failed_logins == 1
    # the enrolment consumed the current step: the next one signs in
    code = _code(secret, 30)
    assert client.post(reverse("login_otp"), {"code": code}).status_code == 302
    assert client.get(reverse("household_list")).status_code == 200
    # the same code cannot be used again (replay)
    client.logout()
    _login(client, user.username)
    assert "动态码错误" in client.post(reverse("login_otp"), {"code": code}).content.decode()
    assert "_auth_user_id" not in client.session


def test_the_token_api_asks_for_the_code_too(client, users):
    user = users.district_officer
    secret = _enrol(client, user)
    url = reverse("api:issue_token")
    body = {"username": user.username, "password": PASSWORD}
    assert client.post(url, body, content_type="application/json").status_code == 401
    ok = client.post(url, {**body, "code": _code(secret, 30)}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["token"]


@override_settings(DOUDI_TOTP_ROLES=frozenset({"district_approver", "sysadmin"}))
def test_roles_that_require_a_second_factor_enrol_before_working(client, users):
    user = users.district_approver
    assert _login(client, user.username).status_code == 302
    page = client.get(reverse("household_list"))
    assert page["Location"] == reverse("account_totp")
    assert "必须启用" in client.get(reverse("account_totp")).content.decode()
    secret = client.get(reverse("account_totp")).context["secret"]
    client.post(reverse("account_totp"), {"code": _code(secret)})
    assert client.get(reverse("household_list")).status_code == 200
    refused = client.post(reverse("account_totp"), {"action": "disable",
                                                    "code": _code(secret, 30)})
    assert "不能关闭" in refused.content.decode()
    # a role without the requirement is not forced
    other = Client()
    _login(other, users.town_officer.username)
    assert other.get(reverse("household_list")).status_code == 200


# -- 三员分立 ----------------------------------------------------------------------------------

def test_admin_roles_are_held_alone(areas):
    with pytest.raises(AccountError, match="三员分立"):
        services.create_user(username="both", password=PASSWORD, area_code=ROLE_AREA["sysadmin"],
                             roles=["sysadmin", "audit_admin"])
    with pytest.raises(AccountError, match="三员分立"):
        services.create_user(username="nosy", password=PASSWORD, area_code="341002",
                             roles=["audit_admin", "district_officer"])


def test_the_three_administrators_cannot_do_each_others_work(users):
    target = users.village_assistant
    sysadmin, security, auditor = users.sysadmin, users.security_admin, users.audit_admin
    with pytest.raises(PermissionDenied):
        services.grant_role(target, "town_officer", by=sysadmin)
    with pytest.raises(PermissionDenied):
        services.reset_password(target, by=security)
    for action in (lambda: services.reset_password(target, by=auditor),
                   lambda: services.grant_role(target, "village_assistant", by=auditor),
                   lambda: services.unlock(target, by=auditor)):
        with pytest.raises(PermissionDenied):
            action()
    # nobody manages their own account, nor adds a case role to an administrator
    with pytest.raises(PermissionDenied):
        services.grant_role(security, "district_officer", by=security)
    other_security = services.create_user(username="security2", password=PASSWORD,
                                          area_code="341002", roles=["security_admin"])
    with pytest.raises(AccountError, match="三员分立"):
        services.grant_role(users.audit_admin, "district_officer", by=other_security)
    # none of them sees a household
    for admin in (sysadmin, security, auditor):
        client = Client()
        client.force_login(admin)
        assert client.get(reverse("household_list")).status_code == 403


def test_an_account_is_created_granted_and_first_used_through_the_pages(users):
    sysadmin, security, auditor = Client(), Client(), Client()
    sysadmin.force_login(users.sysadmin)
    security.force_login(users.security_admin)
    auditor.force_login(users.audit_admin)
    made = sysadmin.post(reverse("user_new"), {"username": "li_village", "full_name": "李协理",
                                               "area_code": ROLE_AREA["village_assistant"]},
                         follow=True)
    text = made.content.decode()
    assert "临时口令" in text
    temporary = text.split("临时口令 ")[1].split("（")[0]
    user = User.objects.get(username="li_village")
    assert user.role_codes == [] and user.must_change_password
    # the system administrator cannot grant; the security administrator can
    detail = reverse("user_detail", kwargs={"user_id": user.pk})
    refused = sysadmin.post(detail, {"action": "grant", "role": "village_assistant"})
    assert "没有此项权限" in refused.content.decode()
    assert security.post(detail, {"action": "grant", "role": "village_assistant"}).status_code \
        == 302
    assert _fresh(user).role_codes == ["village_assistant"]
    # the first login must set a new password
    first = Client()
    assert _login(first, "li_village", temporary).status_code == 302
    assert first.get(reverse("home"))["Location"] == reverse("account_password")
    first.post(reverse("account_password"),
               {"old": temporary, "new": NEW, "confirm": NEW})
    assert first.get(reverse("household_list")).status_code == 200
    # an account outside the administrator's area is not found
    far = services.create_user(username="gd_one", password=PASSWORD, area_code="440103",
                               roles=["district_officer"])
    assert sysadmin.get(reverse("user_detail", kwargs={"user_id": far.pk})).status_code == 404
    # the login history is the auditor's to read, not the system administrator's
    assert "登录记录" in auditor.get(detail).content.decode()
    assert "登录记录" not in sysadmin.get(detail).content.decode()


def test_login_history_lists_successes_failures_and_logouts(client, users):
    user = users.town_officer
    _login(client, user.username, "wrong")
    _login(client, user.username)
    page = client.get(reverse("account")).content.decode()
    assert "登录失败" in page and "登录" in page
    client.post(reverse("logout"))
    actions = [e.action for e in services.login_history(user)]
    assert actions[:3] == [AuditEvent.LOGOUT, AuditEvent.LOGIN, AuditEvent.LOGIN_FAILED]


def test_disabling_an_account_revokes_its_tokens(users):
    from doudi.accounts.models import ApiToken

    ApiToken.issue(users.department)
    services.set_active(users.department, False, by=users.sysadmin)
    assert not ApiToken.objects.filter(user=users.department).exists()
    assert not _fresh(users.department).is_active
