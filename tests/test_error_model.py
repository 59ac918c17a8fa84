"""One error model (issue #20 item 4): every service refusal is a `ServiceError` carrying
fields and Chinese reasons; the web turns it into a form error or a page message, the API into
a 422 naming each field, each in one place; views and API handlers never write models."""

from __future__ import annotations

import ast
import datetime as dt
import importlib
import pathlib

import pyotp
import pytest
from django.utils import timezone

from doudi.accounts import services as account_services
from doudi.accounts import totp
from doudi.accounts.models import User
from doudi.audit import context
from doudi.audit.models import AuditEvent
from doudi.benefits import services as benefits_services
from doudi.benefits.models import Budget
from doudi.core.errors import FieldError, ServiceError, field_path
from doudi.exchange.models import Consent
from doudi.exchange.verification import ConsentError, record_consent
from doudi.policy import services as policy_services
from doudi.policy.models import PolicyParameter
from doudi.registry import inputs
from doudi.registry.models import Household
from tests.conftest import DISTRICT, PASSWORD, VILLAGE

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "doudi"

# -- the base class -------------------------------------------------------------------------

# every user-facing refusal of the services, by the name its callers know it by
SERVICE_ERRORS = [
    ("doudi.accounts.services", "AccountError"),
    ("doudi.benefits.bank_layouts", "LayoutError"),
    ("doudi.benefits.banks", "BankAccountError"),
    ("doudi.benefits.services", "BenefitsError"),
    ("doudi.care.services", "CareError"),
    ("doudi.casework.calendar_days", "CalendarError"),
    ("doudi.casework.case_status", "LookupRefused"),
    ("doudi.casework.services", "CaseworkError"),
    ("doudi.casework.workflow", "TransitionError"),
    ("doudi.community.services", "CommunityError"),
    ("doudi.core.money", "AmountError"),
    ("doudi.engine.feeds.feedspec", "FeedSpecError"),
    ("doudi.engine.monitoring.indicators", "IndicatorError"),
    ("doudi.exchange.outbound_types", "OutboundSpecError"),
    ("doudi.exchange.verification", "ConsentError"),
    ("doudi.exchange.verification", "ConsentRequired"),
    ("doudi.golive.caseload", "CaseloadError"),
    ("doudi.golive.history", "HistoryError"),
    ("doudi.golive.key_custody", "KeyCustodyError"),
    ("doudi.golive.layouts", "LayoutError"),
    ("doudi.golive.reconcile", "ReconcileError"),
    ("doudi.golive.staff", "StaffImportError"),
    ("doudi.monitoring.services", "MonitoringError"),
    ("doudi.ops.demo_clock", "DemoError"),
    ("doudi.placenames.services", "PlaceNameError"),
    ("doudi.platform_sync.export", "SyncError"),
    ("doudi.policy.services", "PolicyError"),
    ("doudi.policy.simulation", "SimulationError"),
    ("doudi.referrals.services", "ReferralError"),
    ("doudi.registry.queries", "SearchRefused"),
    ("doudi.registry.services", "RegistryError"),
    ("doudi.reports.campaigns", "CampaignError"),
    ("doudi.reports.filing", "FilingError"),
]


@pytest.mark.parametrize(("module", "name"), SERVICE_ERRORS)
def test_every_service_error_derives_from_the_one_base(module, name):
    error = getattr(importlib.import_module(module), name)
    assert issubclass(error, ServiceError)
    refused = error("请填写日期", field="day")
    assert (str(refused), refused.field, refused.messages) == ("请填写日期", "day", ["请填写日期"])


def test_every_error_class_in_src_is_a_service_error_or_named_internal():
    """A new error class is either a ServiceError or listed here as not user-facing."""
    internal = {"AuditImmutable", "BackupError", "CryptoError", "InputError", "InvalidCiphertext",
                "InvalidIdNumber", "KeyFileError", "MissingColumns", "ParameterError",
                "ParameterMissing", "ReadError", "RowInForce", "ScenarioError", "UnknownKey",
                "WorkerLost", "ServiceError",
                "Refused", "UnsafeCell",  # pdfscan, csvfile: pure, wrapped by their callers
                "PackageError",  # platform_sync.layout: pure, wrapped as SyncError by the import
                "Unreadable"}  # golive.words: pure, a refused row's reason in the caseload plan
    known = {name for _, name in SERVICE_ERRORS}
    found = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                    getattr(b, "id", getattr(b, "attr", "")).endswith(("Error", "Exception"))
                    for b in node.bases):
                found.add(node.name)
    assert found - internal - known == set()
    assert known <= found


def test_one_error_carries_every_reason_of_a_form():
    refused = ServiceError([FieldError("members[1].id_number", "校验码错误"),
                            FieldError(None, "应有且仅有一名户主")])
    assert refused.message == "校验码错误；应有且仅有一名户主"
    assert [e.field for e in refused.field_errors()] == ["members[1].id_number"]
    assert [e.message for e in refused.general_errors()] == ["应有且仅有一名户主"]
    assert ServiceError("该预警已核实").field is None
    assert field_path(("members", 1, "id_number")) == "members[1].id_number"


# -- the member input, declared once ----------------------------------------------------------

@pytest.mark.django_db
def test_api_schema_service_and_form_share_the_member_limits(client, users):
    spec = client.get("/api/openapi.json").json()["components"]["schemas"]
    member = spec["MemberInput"]["properties"]
    assert member["name"]["maxLength"] == inputs.NAME_MAX
    assert member["phone"]["maxLength"] == inputs.PHONE_MAX
    assert member["adl_failed"]["maximum"] == inputs.choices.ADL_ITEM_COUNT
    assert "head" in member["relation"]["enum"]
    assert spec["HouseholdIn"]["properties"]["members"]["maxItems"] == inputs.MAX_MEMBERS
    from doudi.web import household_form

    assert household_form.MAX_MEMBERS == inputs.MAX_MEMBERS
    client.force_login(users.village_assistant)
    form = client.get("/households/new/").content.decode()
    assert f'name="m-0-name" value="" maxlength="{inputs.NAME_MAX}"' in form
    assert f'name="m-0-phone" value="" maxlength="{inputs.PHONE_MAX}"' in form
    _, errors = inputs.member_errors(inputs.MemberInput(
        id_number="", name="张" * (inputs.NAME_MAX + 1), relation="head", adl_failed=9))
    said = {e.field: e.message for e in errors}
    assert said["member.name"] == f"姓名过长（至多{inputs.NAME_MAX}字）"
    assert said["member.adl_failed"] == "生活不能自理项数应为0–6项"


# -- the API: one handler ------------------------------------------------------------------

def _token(client, username: str) -> dict:
    response = client.post("/api/token", {"username": username, "password": PASSWORD},
                           content_type="application/json")
    assert response.status_code == 200, response.content
    return {"HTTP_AUTHORIZATION": f"Bearer {response.json()['token']}"}


@pytest.mark.django_db
def test_api_validation_answers_422_per_field_in_chinese(client, users, new_id):
    body = {"area_code": VILLAGE, "hukou_type": "urban", "members": [
        {"id_number": new_id(), "name": "张" * 51, "relation": "head", "phone": "1" * 25}]}
    response = client.post("/api/households", body, content_type="application/json",
                           **_token(client, "village_assistant"))
    assert response.status_code == 422
    detail = {tuple(d["loc"][-3:]): d["msg"] for d in response.json()["detail"]}
    assert detail[("members", 0, "name")] == "姓名过长（至多50字）"
    assert detail[("members", 0, "phone")] == "联系电话过长（至多20位）"
    assert not Household.objects.exists()


@pytest.mark.django_db
def test_api_service_refusal_answers_422_with_field_and_message(client, world, fresh_rate_limit):
    from doudi.exchange.department_api import issue_department_token

    with context.job("test hotline"):
        world.users.hotline.department = "12345"
        world.users.hotline.save()
        hotline = issue_department_token("hotline")
    response = client.post("/api/hotline/tickets", {
        "ticket_no": "T-1", "area_code": VILLAGE, "name": "王奶奶", "summary": "   "},
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {hotline}")
    assert response.status_code == 422
    assert response.json() == {"detail": [{"loc": ["body", "payload", "summary"],
                                           "msg": "请填写困难情况", "type": "value_error"}]}


# -- pages: a form error, or a page message ---------------------------------------------------

@pytest.mark.django_db
def test_a_refusal_a_view_lets_go_is_a_page_message_back_on_the_form_page(
        client, users, shipped_parameters):
    with context.job("test policy", user=users.district_admin):
        row = policy_services.add_value(users.district_admin, "dibao.standard.urban", DISTRICT,
                                        timezone.localdate(), "800", reference="屯民〔2026〕1号")
    client.force_login(users.district_admin)
    page = "/policy/dibao.standard.urban/"
    url = f"{page}values/withdraw/"
    back = client.post(url, {"row_id": row.pk}, HTTP_REFERER=f"http://testserver{page}")
    assert back.status_code == 302 and back["Location"] == f"http://testserver{page}"
    assert "已生效的取值不能撤销" in client.get(page).content.decode()
    htmx = client.post(url, {"row_id": row.pk}, HTTP_REFERER=f"http://testserver{page}",
                       HTTP_HX_REQUEST="true")
    assert htmx["HX-Redirect"] == f"http://testserver{page}"  # the page, not a fragment
    assert "已生效的取值不能撤销" in client.get(page).content.decode()
    # a page of another site is not "back"
    elsewhere = client.post(url, {"row_id": row.pk}, HTTP_REFERER="https://evil.example/")
    assert elsewhere.status_code == 400
    # a request from no page of ours: a 400 page with the reason, never a 500
    alone = client.post(url, {"row_id": row.pk})
    assert alone.status_code == 400 and "已生效的取值不能撤销" in alone.content.decode()
    assert PolicyParameter.objects.filter(pk=row.pk).exists()


@pytest.mark.django_db
def test_a_refusal_of_a_form_is_shown_on_the_field_it_names(client, users, shipped_parameters):
    client.force_login(users.district_admin)
    next_month = (timezone.localdate().replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    response = client.post("/policy/dibao.standard.urban/values/", {
        "area_code": DISTRICT, "effective_from": next_month.isoformat(), "value": "812.34",
        "reference": "屯民〔2026〕1号", "url": "javascript:alert(1)"})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["url"] == ["原文链接应为 http:// 或 https:// 开头的网址"]
    assert "812.34" in response.content.decode()  # everything as typed
    assert not PolicyParameter.objects.filter(source="local").exists()


@pytest.mark.django_db
def test_a_household_page_refusal_is_shown_in_chinese(client, world):
    client.force_login(world.users.village_assistant)
    hh = world.village_hh
    response = client.post(f"/households/{hh.pk}/consents/", {
        "signed_on": (timezone.localdate() + dt.timedelta(days=3)).isoformat(),
        "signed_by": "张三丰"})
    assert response.status_code == 200
    assert "签署日期不能晚于今天" in response.content.decode()
    assert not Consent.objects.exists()


# -- the writes the views did themselves, now services ---------------------------------------

@pytest.mark.django_db
def test_budget_is_set_by_the_service_and_audited(users):
    officer = users.district_officer
    with context.job("test budget", user=officer):
        row = benefits_services.set_budget(by=officer, year=2026, area_code="341002102000",
                                           programme="dibao", amount_fen=1_200_000)
        again = benefits_services.set_budget(by=officer, year=2026, area_code="341002102000",
                                             programme="dibao", amount_fen=1_300_000)
    assert again.pk == row.pk and Budget.objects.get().amount_fen == 1_300_000
    assert AuditEvent.objects.filter(object_type="benefits.budget").count() == 2
    for kwargs, says in [({"by": users.village_assistant}, "区县民政部门"),
                         ({"area_code": "440103000000"}, "管辖范围"),
                         ({"programme": ""}, "救助项目"), ({"amount_fen": -1}, "负数")]:
        with pytest.raises(benefits_services.BenefitsError, match=says):
            benefits_services.set_budget(**{"by": officer, "year": 2026,
                                            "area_code": "341002102000", "programme": "dibao",
                                            "amount_fen": 1, **kwargs})


@pytest.mark.django_db
def test_consent_is_recorded_by_the_service(world):
    hh, by = world.village_hh, world.users.village_assistant
    with pytest.raises(ConsentError) as refused:
        record_consent(by=by, household=hh, signed_on=timezone.localdate(), signer=None,
                       evidence="", signed_by=" ")
    assert {e.field for e in refused.value.errors} == {"signer", "evidence"}
    with context.job("test consent", user=by):
        row = record_consent(by=by, household=hh, signed_on=timezone.localdate(),
                             signer=hh.head(), evidence="in_person", attested=True,
                             note="入户时签署")
    assert (row.signed_by, row.recorded_by, row.area_code) == ("张三丰", by, hh.area_code)
    assert AuditEvent.objects.filter(object_type="exchange.consent").exists()


@pytest.mark.django_db
def test_second_factor_is_turned_off_by_the_service(users):
    user = users.village_assistant
    secret = totp.new_secret()
    with context.job("test totp", user=user):
        assert account_services.enrol_totp(user, secret=secret, code=pyotp.TOTP(secret).now())
        with pytest.raises(account_services.AccountError, match="动态码错误") as refused:
            account_services.disable_totp(user, code="000000")
        assert refused.value.field == "code"
        User.objects.filter(pk=user.pk).update(totp_last_step=None)  # the same step again
        user.totp_last_step = None
        account_services.disable_totp(user, code=pyotp.TOTP(secret).now())
    user.refresh_from_db()
    assert not totp.enrolled(user)


@pytest.mark.django_db
def test_an_api_token_is_issued_and_read_through_the_service(users):
    user = users.village_assistant
    token, expires_at = account_services.issue_api_token(user, actor=context.as_user(user))
    assert expires_at > timezone.now()
    assert account_services.token_owner(token) == user
    assert account_services.token_owner("no-such-token") is None
    assert AuditEvent.objects.filter(action=AuditEvent.TOKEN, object_id=str(user.pk)).exists()


# -- views never write models -----------------------------------------------------------------

# model writes: a manager's create…, an instance's save()/delete(), a queryset's update(...)
ALWAYS = {"create", "get_or_create", "update_or_create", "bulk_create", "bulk_update"}
QUERYSET = {"objects", "filter", "exclude", "all", "select_for_update", "select_related"}


def _receiver(node: ast.expr) -> set[str]:
    names = set()
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
            node = node.value
        else:
            if isinstance(node, ast.Name):
                names.add(node.id)
            return names


def model_writes(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        attr, receiver = node.func.attr, _receiver(node.func.value)
        if ((attr in ALWAYS and (not node.args or "objects" in receiver))
                or (attr in ("save", "delete") and not node.args)
                or (attr == "update" and not node.args and node.keywords
                    and QUERYSET & receiver)):
            found.append((node.lineno, attr))
    return found


def test_the_write_check_finds_writes_and_only_writes():
    writes = model_writes(
        "Budget.objects.update_or_create(year=1)\nuser.save()\nrow.delete()\n"
        "ApiToken.objects.filter(pk=1).update(last_used_at=now)\n"
        "household.consents.create(signed_by='x')\nForm(data).save()\n")
    assert [attr for _, attr in writes] == ["update_or_create", "save", "delete", "update",
                                            "create", "save"]
    assert model_writes("context.update({'a': 1})\nrow.update(relation='head')\n"
                        "feed_types.save(spec)\nbackup.create(path)\ncache.delete(key)\n"
                        "digest.update(chunk)\n") == []


def test_views_and_api_handlers_never_write_models():
    """Pages and API handlers call services; a write in them is a service not yet written.
    Management commands under web/ are commands, not views (operations code)."""
    offenders = []
    for folder in ("web", "api"):
        for path in sorted((SRC / folder).rglob("*.py")):
            if "management" in path.parts:
                continue
            offenders += [f"{path.relative_to(SRC)}:{line} {attr}"
                          for line, attr in model_writes(path.read_text())]
    assert offenders == []
