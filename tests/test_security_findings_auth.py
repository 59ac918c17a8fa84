"""Findings of the independent security test (issue 23) about identity, tokens and the
administrators, each closed as a class (docs/security.md, "Identity, tokens and
administrators"):

 2  every way in enforces the second factor a role requires (page, token API, department token)
 3  tokens do not outlive credentials: every credential, lock, status or role change revokes
 4  no administrator resets another administrator's credentials alone (two-person rule)
10  the client address behind trusted proxies; one answer to every refused sign-in
14  read-only roles write nothing; receiving a filing is a named capability
15  the API's schema and docs are a setting, hidden in production by default
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pyotp
import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.test import Client, RequestFactory, override_settings
from django.urls import resolve, reverse
from django.utils import timezone

from doudi.accounts import roles, services
from doudi.accounts.client_address import client_address
from doudi.accounts.models import ApiToken, CredentialReset, User
from doudi.accounts.roles import ROLES
from doudi.accounts.services import AccountError
from doudi.audit.models import AuditEvent
from doudi.casework import workflow
from doudi.core import idnumber
from doudi.reports import filing
from doudi.reports.models import ReportInstance
from tests.conftest import PASSWORD, ROLE_AREA, VILLAGE
from tests.test_permission_matrix import (  # noqa: F401 (records: a fixture)
    HOUSEHOLD_CREATORS,
    KWARG_VALUES,
    Record,
    discover_routes,
    records,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limit")]

NEW = "Quite-New-2026"
TOKEN_URL = "/api/token"


def _token(client: Client, username: str, password: str = PASSWORD, code: str = "",
           **extra: str) -> object:
    return client.post(TOKEN_URL, {"username": username, "password": password, "code": code},
                       content_type="application/json", **extra)


def _works(token: str) -> bool:
    """Whether `token` still opens the API (an operation every account may call)."""
    return Client().get("/api/households", HTTP_AUTHORIZATION=f"Bearer {token}") \
        .status_code == 200


def _code(secret: str, offset: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + offset)


def _enrol(user: User) -> str:
    """The user turns on the second factor (as on the account page); the secret."""
    secret = pyotp.random_base32()
    assert services.enrol_totp(user, secret=secret, code=_code(secret, -30))
    return secret


def _admin(username: str, role: str) -> User:
    return services.create_user(username=username, password=PASSWORD,
                                area_code=ROLE_AREA[role], roles=[role])


# == 2. every way in enforces the second factor a role requires ===============================

@pytest.mark.parametrize("role", ["district_approver", "town_approver", "sysadmin",
                                  "security_admin", "audit_admin", "village_assistant"])
def test_a_role_requiring_a_second_factor_gets_no_token_before_enrolling(client, users, role):
    user = getattr(users, role)
    with override_settings(DOUDI_TOTP_ROLES=frozenset({role})):
        refused = _token(client, user.username)
        assert refused.status_code == 403
        assert "双因素" in refused.json()["detail"] and "网页" in refused.json()["detail"]
        assert not ApiToken.objects.filter(user=user).exists()
        assert AuditEvent.objects.filter(action=AuditEvent.REFUSED, object_id=str(user.pk),
                                         object_label__contains="接口令牌").exists()
        # a wrong password still says only that: the policy speaks after the password
        assert _token(client, user.username, "wrong").status_code == 401
        # enrolled (on the web), the password and a code give a token; the password alone not
        secret = _enrol(user)
        assert _token(client, user.username).status_code == 401
        ok = _token(client, user.username, code=_code(secret, 30))
        assert ok.status_code == 200 and ok.json()["token"]
    # a role without the requirement gets one with the password alone (the control)
    other = users.town_officer if role != "town_officer" else users.district_officer
    assert _token(Client(), other.username).status_code == 200


def test_a_token_stops_when_the_role_comes_to_require_a_second_factor(client, users):
    user = users.district_officer
    token = _token(client, user.username).json()["token"]
    assert _works(token)
    with override_settings(DOUDI_TOTP_ROLES=frozenset({"district_officer"})):
        assert not _works(token)
        secret = _enrol(user)  # enrolling changes a credential: the old token is gone
        assert not ApiToken.objects.filter(user=user).exists()
        fresh = _token(client, user.username, code=_code(secret, 30)).json()["token"]
        assert _works(fresh)


def test_the_department_token_command_follows_the_same_policy(users):
    from doudi.exchange.department_api import issue_department_token

    dept = users.department
    User.objects.filter(pk=dept.pk).update(department="医保")
    with override_settings(DOUDI_TOTP_ROLES=frozenset({"department"})):
        with pytest.raises(ValueError, match="双因素"):
            issue_department_token(dept.username)
        assert not ApiToken.objects.filter(user=dept).exists()
    assert issue_department_token(dept.username)  # not required: issued


def test_the_web_lets_a_required_user_reach_only_the_enrolment_page(client, users):
    user = users.security_admin
    with override_settings(DOUDI_TOTP_ROLES=frozenset({"security_admin"})):
        client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
        for page in ("user_list", "home"):
            assert client.get(reverse(page))["Location"] == reverse("account_totp")


# == 3. tokens do not outlive credentials =====================================================

def _set_password(w) -> None:
    services.change_own_password(w.user, old=PASSWORD, new=NEW)


def _admin_reset(w) -> None:
    services.reset_password(w.user, by=w.users.sysadmin)


def _reset_totp(w) -> None:
    _enrol(w.user)
    ApiToken.issue(w.user)  # a token issued after enrolling, then the factor reset
    services.reset_totp(User.objects.get(pk=w.user.pk), by=w.users.security_admin)


def _disable_totp(w) -> None:
    secret = _enrol(w.user)
    ApiToken.issue(w.user)
    services.disable_totp(User.objects.get(pk=w.user.pk), code=_code(secret, 30))


def _disable(w) -> None:
    services.set_active(w.user, False, by=w.users.sysadmin)


def _lock_on_the_page(w) -> None:
    for _ in range(3):
        Client().post(reverse("login"), {"username": w.user.username, "password": "wrong"})


def _lock_through_the_api(w) -> None:
    for _ in range(3):
        _token(Client(), w.user.username, "wrong")


def _grant(w) -> None:
    services.grant_role(w.user, "town_approver", by=w.users.security_admin)


def _revoke(w) -> None:
    services.revoke_role(w.user, w.user.role_codes[0], by=w.users.security_admin)


def _forced_change(w) -> None:
    w.user.must_change_password = True
    w.user.save()


def _admin_request_approved(w) -> None:
    made = services.request_reset(w.user, CredentialReset.PASSWORD, by=w.users.sysadmin)
    services.approve_reset(made, by=w.users.audit_admin)


CHANGES: dict[str, tuple[str, Callable]] = {
    "own password change": ("town_officer", _set_password),
    "administrator's reset": ("village_assistant", _admin_reset),
    "second factor reset": ("district_officer", _reset_totp),
    "second factor turned off": ("town_approver", _disable_totp),
    "account disabled": ("district_admin", _disable),
    "locked on the login page": ("town_officer", _lock_on_the_page),
    "locked through the token API": ("district_approver", _lock_through_the_api),
    "role granted": ("town_officer", _grant),
    "role revoked": ("district_officer", _revoke),
    "password change forced": ("supervisor", _forced_change),
    "administrator's reset approved": ("security_admin", _admin_request_approved),
}


@override_settings(DOUDI_LOCKOUT_FAILURES=3)
@pytest.mark.parametrize("change", list(CHANGES))
def test_every_credential_lock_or_role_change_revokes_the_tokens(users, change):
    role, act = CHANGES[change]
    user = getattr(users, role)
    token = _token(Client(), user.username).json()["token"]
    ApiToken.issue(user)  # a second one, e.g. a script's
    assert _works(token)
    act(SimpleNamespace(user=user, users=users))
    assert not _works(token)
    assert not ApiToken.objects.filter(user=user).exists()
    revoked = AuditEvent.objects.filter(object_type="accounts.user", object_id=str(user.pk),
                                        changes__has_key="接口令牌")
    assert revoked.exists(), "the revocation is audited"


def test_saving_what_a_token_does_not_rest_on_keeps_it(client, users):
    user = users.district_officer
    token = _token(client, user.username).json()["token"]
    user.full_name = "王经办"
    user.save()
    client.post(reverse("login"), {"username": user.username, "password": PASSWORD})  # last_login
    services.unlock(User.objects.get(pk=user.pk), by=users.sysadmin)
    assert _works(token)
    assert not AuditEvent.objects.filter(object_id=str(user.pk),
                                         changes__has_key="接口令牌").exists()


# == 4. no administrator resets another administrator's credentials alone ====================

ADMINS = ("sysadmin", "security_admin", "audit_admin")


@pytest.mark.parametrize("target_role", ADMINS)
def test_an_administrators_password_is_not_reset_by_one_person(users, target_role):
    target = getattr(users, target_role)
    if target_role == "sysadmin":  # a sysadmin may not act on themselves: another one asks
        asker = _admin("sysadmin2", "sysadmin")
    else:
        asker = users.sysadmin
    before = User.objects.get(pk=target.pk).password
    with pytest.raises(AccountError, match="三员分立"):
        services.reset_password(target, by=asker)
    assert User.objects.get(pk=target.pk).password == before
    assert AuditEvent.objects.filter(action=AuditEvent.REFUSED, object_id=str(target.pk),
                                     object_label__contains="另一类管理员").exists()
    request = services.request_reset(target, CredentialReset.PASSWORD, by=asker)
    assert User.objects.get(pk=target.pk).password == before  # nothing changes yet
    # neither the asker, nor the holder, nor another holder of the asker's role approves
    same_role = _admin("sysadmin3", "sysadmin")
    for who in {asker, target, same_role}:
        with pytest.raises(PermissionDenied, match="两人规则"):
            services.approve_reset(request, by=who)
    # a case worker or a supervisor is no approver
    with pytest.raises(PermissionDenied):
        services.approve_reset(request, by=users.district_approver)
    assert User.objects.get(pk=target.pk).password == before
    refusals = AuditEvent.objects.filter(action=AuditEvent.REFUSED, object_id=str(target.pk))
    assert refusals.count() >= 4
    # another administrator of a different role approves: the reset is done, shown to them
    approver = next(getattr(users, r) for r in ("audit_admin", "security_admin")
                    if getattr(users, r) != target)
    stale = CredentialReset.objects.get(pk=request.pk)  # read by a second approver meanwhile
    password = services.approve_reset(request, by=approver)
    changed = User.objects.get(pk=target.pk)
    assert changed.check_password(password) and changed.must_change_password
    request.refresh_from_db()
    assert (request.status, request.decided_by) == (CredentialReset.DONE, approver)
    for again in (request, stale):  # decided once: the second decision finds it done
        with pytest.raises(AccountError, match="已复核"):
            services.approve_reset(again, by=approver)
    assert User.objects.get(pk=target.pk).check_password(password)


def test_an_administrators_second_factor_is_not_reset_by_one_person(users):
    target = users.sysadmin
    _enrol(target)
    with pytest.raises(AccountError, match="三员分立"):
        services.reset_totp(target, by=users.security_admin)
    assert User.objects.get(pk=target.pk).totp_confirmed_at is not None
    request = services.request_reset(target, CredentialReset.TOTP, by=users.security_admin)
    with pytest.raises(AccountError, match="待复核"):
        services.request_reset(target, CredentialReset.TOTP, by=users.security_admin)
    services.refuse_reset(request, by=users.audit_admin)
    assert User.objects.get(pk=target.pk).totp_confirmed_at is not None
    again = services.request_reset(target, CredentialReset.TOTP, by=users.security_admin)
    assert services.approve_reset(again, by=users.audit_admin) == ""
    assert User.objects.get(pk=target.pk).totp_confirmed_at is None


def test_only_the_duty_holder_asks_and_ordinary_accounts_need_no_second_person(users):
    # the audit administrator may not ask for a password reset, nor the system administrator
    # for a second factor's; both refusals audited
    for who, kind in ((users.audit_admin, CredentialReset.PASSWORD),
                      (users.sysadmin, CredentialReset.TOTP)):
        with pytest.raises(PermissionDenied):
            services.request_reset(users.security_admin, kind, by=who)
    assert AuditEvent.objects.filter(action=AuditEvent.REFUSED,
                                     object_id=str(users.security_admin.pk)).count() == 2
    assert services.reset_password(users.town_officer, by=users.sysadmin)
    with pytest.raises(AccountError, match="直接重置"):
        services.request_reset(users.town_officer, CredentialReset.PASSWORD, by=users.sysadmin)


def test_the_reset_of_an_administrator_through_the_pages(users):
    sysadmin, auditor = Client(), Client()
    sysadmin.force_login(users.sysadmin)
    auditor.force_login(users.audit_admin)
    target = users.security_admin
    detail = reverse("user_detail", kwargs={"user_id": target.pk})
    # the direct reset posted anyway is refused, shows no password, changes nothing
    direct = sysadmin.post(detail, {"action": "reset_password"}, follow=True).content.decode()
    assert "临时口令" not in direct and "另一类管理员" in direct
    assert User.objects.get(pk=target.pk).check_password(PASSWORD)
    asked = sysadmin.post(detail, {"action": "request_reset_password"}, follow=True)
    assert "已提交重置口令申请" in asked.content.decode()
    request = CredentialReset.objects.get(target=target)
    # the asker sees the request but no way to approve it
    page = sysadmin.get(detail).content.decode()
    assert "待复核" in page and 'value="approve_reset"' not in page
    sysadmin.post(detail, {"action": "approve_reset", "reset_id": request.pk})
    assert CredentialReset.objects.get(pk=request.pk).status == CredentialReset.PENDING
    # the audit administrator finds it in the user list and approves it
    listing = auditor.get(reverse("user_list")).content.decode()
    assert "待复核的管理员凭据重置申请" in listing and detail in listing
    done = auditor.post(detail, {"action": "approve_reset", "reset_id": request.pk},
                        follow=True).content.decode()
    temporary = re.search(r"临时口令 (\S+)（", done).group(1)
    assert User.objects.get(pk=target.pk).check_password(temporary)
    assert temporary not in sysadmin.get(detail).content.decode()
    assert auditor.post(detail, {"action": "approve_reset", "reset_id": "x"}).status_code == 404


# == 10. the client address behind trusted proxies; one answer to refused sign-ins ============

@pytest.mark.parametrize(("proxies", "remote", "forwarded", "client"), [
    ("", "10.0.0.5", "203.0.113.7", "10.0.0.5"),  # no trusted proxy: the header is ignored
    ("10.0.0.5", "10.0.0.5", "203.0.113.7", "203.0.113.7"),
    ("10.0.0.5", "10.0.0.5", "1.2.3.4, 203.0.113.7", "203.0.113.7"),  # spoofed left entry
    ("10.0.0.0/24", "10.0.0.9", "198.51.100.2, 10.0.0.3", "198.51.100.2"),  # two proxies
    ("10.0.0.5", "192.0.2.1", "203.0.113.7", "192.0.2.1"),  # not from the proxy: ignored
    ("10.0.0.5", "10.0.0.5", "", "10.0.0.5"),
    ("10.0.0.5", "10.0.0.5", "10.0.0.5", "10.0.0.5"),  # only proxies: the left-most one
    ("10.0.0.5", "10.0.0.5", "not-an-ip", "10.0.0.5"),
    ("10.0.0.5", "10.0.0.5", "203.0.113.7:51234", "203.0.113.7"),
    ("fd00::1, 10.0.0.5", "fd00::1", "2001:db8::7", "2001:db8::7"),
    ("fd00::/64", "fd00::2", "[2001:db8::8]:443", "2001:db8::8"),
])
def test_the_client_address(proxies, remote, forwarded, client):
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(DOUDI_TRUSTED_PROXIES=proxies):
        assert client_address(request) == client


def test_a_mistyped_proxy_address_stops_the_start(monkeypatch):
    import importlib

    import doudi.settings

    monkeypatch.setenv("DOUDI_TRUSTED_PROXIES", "10.0.0.5,proxy.local")
    with pytest.raises(ValueError):
        importlib.reload(doudi.settings)
    monkeypatch.delenv("DOUDI_TRUSTED_PROXIES")
    importlib.reload(doudi.settings)


def _via_proxy(address: str) -> dict:
    return {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": f"{address}, 10.0.0.5"}


@override_settings(DOUDI_TRUSTED_PROXIES="10.0.0.5", DOUDI_LOGIN_RATE_PER_MINUTE=3)
def test_behind_the_proxy_each_client_has_its_own_login_bucket(users):
    noisy, quiet = Client(**_via_proxy("203.0.113.7")), Client(**_via_proxy("198.51.100.9"))
    for i in range(3):
        noisy.post(reverse("login"), {"username": f"nobody{i}", "password": "x"})
    assert "过于频繁" in noisy.post(reverse("login"), {"username": "a", "password": "b"}) \
        .content.decode()
    assert _token(noisy, users.town_officer.username).status_code == 429  # same bucket
    # another client behind the same proxy signs in, on the page and through the API
    assert quiet.post(reverse("login"), {"username": users.town_officer.username,
                                         "password": PASSWORD}).status_code == 302
    assert _token(Client(**_via_proxy("198.51.100.10")),
                  users.town_officer.username).status_code == 200
    # the login history and the audit log carry the client's address, not the proxy's
    login = AuditEvent.objects.filter(action=AuditEvent.LOGIN,
                                      object_id=str(users.town_officer.pk)).latest("id")
    assert login.ip == "198.51.100.9"
    token = AuditEvent.objects.filter(action=AuditEvent.TOKEN).latest("id")
    assert token.ip == "198.51.100.10"
    # a client that writes the header itself, not through the proxy, stays in its own bucket
    spoofer = Client(REMOTE_ADDR="192.0.2.50")
    for i in range(3):
        spoofer.post(reverse("login"), {"username": f"x{i}", "password": "x"},
                     HTTP_X_FORWARDED_FOR=f"198.51.100.{100 + i}")
    assert "过于频繁" in spoofer.post(reverse("login"), {"username": "a", "password": "b"},
                                     HTTP_X_FORWARDED_FOR="198.51.100.200").content.decode()


@override_settings(DOUDI_TRUSTED_PROXIES="10.0.0.0/8")
def test_behind_the_proxy_online_applications_count_per_client(world, shipped_parameters):
    from doudi.casework.online import PER_ADDRESS_PER_HOUR

    def form(n: int) -> dict:
        return {"programme": "linshi", "name": "王小明", "phone": "13912345678",
                "village": VILLAGE, "address": "隆阜路8号", "hukou_type": "urban",
                "reason": "突发疾病", "consent": "1", "origin": "", "aid_type": "expenditure",
                "need": "800", "id_number": idnumber.make("341002", dt.date(1975, 3, 4),
                                                          n + 10, "M")}

    first = Client(**_via_proxy("203.0.113.7"))
    for n in range(PER_ADDRESS_PER_HOUR):
        assert 'id="submitted"' in first.post("/apply/", form(n)).content.decode()
    assert "过于频繁" in first.post("/apply/", form(90)).content.decode()
    second = Client(**_via_proxy("203.0.113.8"))
    assert 'id="submitted"' in second.post("/apply/", form(91)).content.decode()
    from doudi.casework.models import OnlineRequest

    assert set(OnlineRequest.objects.values_list("ip", flat=True)) == {"203.0.113.7",
                                                                        "203.0.113.8"}


@override_settings(DOUDI_LOCKOUT_FAILURES=3)
def test_a_refused_sign_in_says_nothing_about_the_name(users):
    locked, disabled, known = users.district_officer, users.town_approver, users.town_officer
    for _ in range(3):
        _token(Client(), locked.username, "wrong")
    assert User.objects.get(pk=locked.pk).locked_until > timezone.now()
    services.set_active(disabled, False, by=users.sysadmin)
    attempts = {
        "unknown name": ("no_such_user", PASSWORD),
        "wrong password": (known.username, "wrong-pass-1"),
        "locked, right password": (locked.username, PASSWORD),
        "locked, wrong password": (locked.username, "wrong-pass-2"),
        "disabled, right password": (disabled.username, PASSWORD),
    }
    pages, apis = {}, {}
    for label, (name, password) in attempts.items():
        form = Client().post(reverse("login"), {"username": name, "password": password})
        assert form.status_code == 200, label
        pages[label] = [str(e) for e in form.context["form"].non_field_errors()]
        api = _token(Client(), name, password)
        apis[label] = (api.status_code, api.json())
    assert len({json.dumps(v, ensure_ascii=False) for v in pages.values()}) == 1, pages
    assert len({json.dumps(v, ensure_ascii=False) for v in apis.values()}) == 1, apis
    assert next(iter(apis.values()))[0] == 401
    assert "锁定" in pages["unknown name"][0]  # the lockout rule is stated to everyone alike


# == 14. read-only roles write nothing; receiving a filing is a capability ====================

def test_receiving_a_filing_is_granted_explicitly(world):
    holders = {code for code, role in ROLES.items() if roles.RECEIVE_FILING in role.capabilities}
    assert holders == {"upper_officer"}
    assert "supervisor" in roles.READ_ONLY_ROLES and "upper_officer" not in roles.READ_ONLY_ROLES
    report = ReportInstance.objects.create(template="monthly_assistance", period="2026-10",
                                           due_on=dt.date(2026, 11, 10), area_code="341002",
                                           status=ReportInstance.SUBMITTED, data={})
    # readers above the district (the supervisor, the business administrator at the city)
    # may not receive; the city's officer may
    city_admin = services.create_user(username="city_admin", password=PASSWORD,
                                      area_code="3410", roles=["district_admin"])
    for reader in (world.users.supervisor, city_admin, world.users.district_approver):
        with pytest.raises(PermissionDenied):
            filing.receive(by=reader, report=report)
    client = Client()
    client.force_login(world.users.supervisor)
    page = reverse("filing_detail", kwargs={"filing_id": report.pk})
    assert 'value="receive"' not in client.get(page).content.decode()
    client.post(page, {"action": "receive"})
    assert ReportInstance.objects.get(pk=report.pk).status == ReportInstance.SUBMITTED
    client.force_login(world.users.upper_officer)
    assert 'value="receive"' in client.get(page).content.decode()
    client.post(page, {"action": "receive"})
    assert ReportInstance.objects.get(pk=report.pk).status == ReportInstance.RECEIVED


# What a request may write without changing the system's state: the audit log, sessions, the
# token the walk obtains, and the user's own sign-in time.
NOT_STATE = {"audit.auditevent", "sessions.session", "accounts.apitoken"}
USER_FIELDS_NOT_STATE = {"last_login"}


def _state() -> dict[str, list]:
    state = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        if label in NOT_STATE or model._meta.proxy:
            continue
        rows = list(model.objects.order_by("pk").values())
        if label == "accounts.user":
            rows = [{k: v for k, v in r.items() if k not in USER_FIELDS_NOT_STATE}
                    for r in rows]
        state[label] = rows
    return state


COMMON = {"opinion": "只读角色测试", "reason": "只读角色测试", "note": "只读角色测试",
          "role": "town_officer", "period": "2026-10", "template": "monthly_assistance",
          "confirmed": "1", "approve": "1"}


def _actions() -> list[str]:
    """Every action a form of Doudi posts: the templates' action buttons and the casework
    workflow's steps."""
    templates = Path(roles.__file__).parents[1] / "web" / "templates"
    actions = set(workflow.BY_ACTION)
    for path in templates.rglob("*.html"):
        actions |= set(re.findall(r'name="action" value="([a-z_]+)"', path.read_text("utf-8")))
    return sorted(actions)


def _bodies(route, actions: list[str]) -> list[dict]:
    """What a walk posts to a page: an empty body, one with the fields a business form usually
    asks for, and — when the view reads an "action" — one per action, so a route that forgot
    its permission check acts."""
    view = resolve(reverse(route.name, kwargs={k: 1 for k in route.kwargs})).func
    while hasattr(view, "__wrapped__"):
        view = view.__wrapped__
    try:
        source = inspect.getsource(inspect.getmodule(view))
    except (TypeError, OSError):
        source = "action"
    dispatches = '"action"' in source
    return [{}, COMMON] + ([{**COMMON, "action": a} for a in actions] if dispatches else [])


def _differences(before: dict, after: dict, allowed: set[str] = frozenset(),
                 assigned_codes: set[str] = frozenset()) -> list[str]:
    """The tables that changed; a table in `allowed` only when a row outside
    `assigned_codes` (by its area) was added, changed or deleted."""
    out = []
    for label in before:
        if before[label] == after[label]:
            continue
        if label in allowed:
            old = {r["id"]: r for r in before[label]}
            new = {r["id"]: r for r in after[label]}
            moved = [r for k, r in new.items() if old.get(k) != r] + [
                r for k, r in old.items() if k not in new]
            if all(r.get("area_code") in assigned_codes for r in moved):
                continue
        out.append(f"{label}: {len(before[label])} → {len(after[label])} rows"
                   + ("" if len(before[label]) != len(after[label]) else " (changed in place)"))
    return out


# The read-only roles, and the audit administrator, who reads too (its one write, approving
# another administrator's reset, needs a pending request: none exists in this world).
READERS = sorted(code for code, role in ROLES.items()
                 if role.capabilities <= roles.READ_CAPABILITIES)


def test_the_readers_are_walked():
    assert set(READERS) == roles.READ_ONLY_ROLES | {"audit_admin"}
    assert roles.READ_ONLY_ROLES == {"supervisor"}


@pytest.mark.parametrize("role", READERS)
def test_a_read_only_role_writes_nothing_anywhere(role, world, records, new_id):  # noqa: F811
    user = getattr(world.users, role)
    assert user.role_codes == [role]
    inside = [r for r in records.values() if r.area_code.startswith(user.area.prefix)]
    assert inside, "the walk needs records in the role's area"
    failures = _walk_writes(user, inside, new_id)
    assert not failures, f"{role} (read-only) changed state:\n  " + "\n  ".join(failures)


# Roles that read, and record one kind of thing on what is assigned to them (互查 / 第三方评估,
# 探访人员): each recording capability, and the tables its act writes.
RECORDS = {roles.CHECK_SAMPLE: {"reports.campaignsample", "reports.campaignfinding"},
           roles.RECORD_VISIT: {"care.visit", "care.visitphoto", "care.visittask"}}
RECORDERS = sorted(code for code, role in ROLES.items()
                   if not role.administrator and role.capabilities - roles.READ_CAPABILITIES
                   and role.capabilities - roles.READ_CAPABILITIES <= set(RECORDS))


def test_the_recorders_are_walked():
    assert RECORDERS == ["evaluator", "visitor"]
    assert roles.VIEW_FULL_PII not in ROLES["evaluator"].capabilities


@pytest.mark.parametrize("role", RECORDERS)
def test_an_assignee_writes_only_what_it_records_on_its_assignment(role, world, records,  # noqa: F811
                                                                   new_id):
    """The evaluator is read-only except the findings it records on the sample assigned to
    it; a visitor, except its visits to the persons assigned to it: every write route and
    form action is walked over its area's records and its assigned ones, and any other
    change — another table, or a row outside what is assigned — fails."""
    from tests.test_permission_matrix import assigned_records

    user = getattr(world.users, role)
    assert user.role_codes == [role]
    keys = set().union(*assigned_records(user, records).values())
    assert keys, "the walk needs an assignment in the world"
    targets = [r for r in records.values()
               if r.area_code.startswith(user.area.prefix) or r.key in keys]
    allowed = set().union(*(RECORDS[c] for c in ROLES[role].capabilities if c in RECORDS))
    failures = _walk_writes(user, targets, new_id, allowed=allowed,
                            assigned_codes={records[k].area_code for k in keys})
    assert not failures, f"{role} changed state:\n  " + "\n  ".join(failures)


def _walk_writes(user: User, targets: list[Record], new_id, *,
                 allowed: set[str] = frozenset(),
                 assigned_codes: set[str] = frozenset()) -> list[str]:
    """POST every write route and form action as `user` over `targets`; the state changes
    found, except rows of the `allowed` tables in `assigned_codes`."""
    # filings submitted, so that a receipt would show as a change
    ReportInstance.objects.update(status=ReportInstance.SUBMITTED)
    web, api = Client(raise_request_exception=False), Client(raise_request_exception=False)
    token_answer = _token(api, user.username)
    token = token_answer.json()["token"] if token_answer.status_code == 200 else ""
    actions = _actions()
    failures: list[str] = []
    state = _state()
    for route in discover_routes():
        if "POST" not in route.methods or route.name in ("api:issue_token", "logout") \
                or not route.name:
            continue
        paths = ([reverse(route.name, kwargs={k: KWARG_VALUES[k](r) for k in route.kwargs})
                  for r in targets] if route.kwargs else [reverse(route.name)])
        bodies = [] if route.api else _bodies(route, actions)
        for n, path in enumerate(sorted(set(paths))):
            if route.api:
                payloads = [json.dumps(b) for b in _api_bodies(route.name, targets[0], new_id)]
                for payload in payloads:
                    api.post(path, payload, content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {token}")
                continue
            for body in bodies if n == 0 else bodies[:2]:  # every action on one record
                web.force_login(user)
                response = web.post(path, body)
                if response.status_code >= 500:
                    failures.append(f"{route} {path} {body.get('action')}: server error")
        after = _state()
        for difference in _differences(state, after, allowed, assigned_codes):
            failures.append(f"{route}: {difference}")
        state = after
    return failures


def _api_bodies(name: str, record: Record, new_id) -> list[dict]:
    """An API operation's bodies: a valid one where the matrix knows it, and an empty one."""
    bodies: list[dict] = [{}]
    if name in HOUSEHOLD_CREATORS:
        bodies.append(HOUSEHOLD_CREATORS[name][0](record.area_code,
                                                  new_id(record.area_code[:6])))
    if name == "api:push_ticket":
        bodies.append({"ticket_no": "RO-1", "area_code": record.area_code, "name": "只读",
                       "summary": "只读角色测试"})
    if name == "api:answer_referral":
        bodies.append({"outcome": "granted", "amount": "3000"})
    return bodies


# == 15. the API's schema and docs are a setting ==============================================

@pytest.mark.parametrize(("env", "shown"), [
    ({}, False),  # production: DEBUG off
    ({"DOUDI_HTTPS": "1"}, False),
    ({"DOUDI_DEBUG": "1", "DOUDI_HTTPS": "1"}, False),  # behind TLS is production
    ({"DOUDI_DEBUG": "1"}, True),  # a development machine
    ({"DOUDI_HTTPS": "1", "DOUDI_API_DOCS": "1"}, True),  # asked for
    ({"DOUDI_DEBUG": "1", "DOUDI_API_DOCS": "0"}, False),
])
def test_the_api_docs_default(monkeypatch, env, shown):
    from doudi import settings as doudi_settings

    for name in ("DOUDI_DEBUG", "DOUDI_HTTPS", "DOUDI_API_DOCS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert doudi_settings._api_docs_default() is shown


@pytest.mark.parametrize("path", ["/api/openapi.json", "/api/docs"])
def test_the_api_docs_answer_only_when_enabled(client, path):
    with override_settings(DOUDI_API_DOCS=False):
        hidden = client.get(path)
        assert hidden.status_code == 404 and b"paths" not in hidden.content
    with override_settings(DOUDI_API_DOCS=True):
        assert client.get(path).status_code == 200


def test_the_walk_helpers_see_a_change(world):
    """The read-only walk's state comparison catches a write (the control)."""
    before = _state()
    with transaction.atomic():
        ReportInstance.objects.create(template="monthly_assistance", period="2026-11",
                                      due_on=dt.date(2026, 12, 10), area_code="341002", data={})
        assert _differences(before, _state())
        transaction.set_rollback(True)
    assert not _differences(before, _state())
