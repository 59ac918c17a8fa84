"""Policy parameters in the database (政策参数): resolution, audited dated changes, who may
change what, the pages and the loader of shipped parameters."""

from __future__ import annotations

import datetime as dt
import importlib
import io
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django.utils.html import escape

from doudi.accounts.roles import ROLES
from doudi.accounts.services import create_user
from doudi.audit import context
from doudi.audit.models import AuditEvent
from doudi.policy import services
from doudi.policy.models import PolicyParameter, RowInForce
from doudi.policy.services import PolicyError
from doudi.policy.values import as_text, from_text, to_json, to_parameter
from doudi.rules.parameters import make_parameter
from tests.conftest import CITY, DISTRICT, PASSWORD, VILLAGE

pytestmark = pytest.mark.django_db

KEY = "dibao.standard.urban"
OTHER_HUANGSHAN_COUNTY = "341003000000"  # 黄山区: same city, another county
GUANGZHOU_VILLAGE = "440103001001"


def today() -> dt.date:
    return timezone.localdate()


def next_month() -> dt.date:
    return (today().replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def add(user, value="800", day=None, area=DISTRICT, key=KEY, **extra):
    with context.job("test policy", user=user):
        return services.add_value(user, key, area, day or next_month(), value,
                                  reference=extra.pop("reference", "屯民〔2026〕1号"), **extra)


def field_errors(exc: pytest.ExceptionInfo) -> dict[str, str]:
    return {e.field: e.message for e in exc.value.errors}


# -- the database holds the shipped parameters and resolves like the files -------------------

def test_database_resolves_exactly_like_the_shipped_files(shipped_parameters):
    from_db = services.parameter_set()
    assert len(from_db) == len(shipped_parameters)
    assert from_db.keys == shipped_parameters.keys
    areas = ["", "34", VILLAGE, OTHER_HUANGSHAN_COUNTY, GUANGZHOU_VILLAGE, "440305000000",
             "440781000000", "441900000000", "110101000000"]
    days = [dt.date(2019, 6, 1), dt.date(2021, 6, 1), dt.date(2023, 6, 1), today()]
    for key in shipped_parameters.keys:
        for area in areas:
            for day in days:
                assert from_db.find(key, area, day) == shipped_parameters.find(key, area, day), (
                    key, area, day)


def test_the_data_migration_loads_every_shipped_parameter(shipped_parameters):
    migration = importlib.import_module("doudi.policy.migrations.0002_load_shipped")
    PolicyParameter.objects.all().delete()
    migration.load(django_apps, SimpleNamespace(connection=connection))
    rows = PolicyParameter.objects.all()
    assert rows.count() == len(shipped_parameters)
    assert {r.source for r in rows} == {"shipped"} and not rows.filter(created_by__isnull=False)
    assert AuditEvent.objects.filter(action=AuditEvent.IMPORT, job="migrate policy 0002",
                                     object_type="policy.policyparameter").exists()


def test_values_are_stored_as_decimal_text_never_floats(shipped_parameters):
    for row in PolicyParameter.objects.all():
        assert not isinstance(row.value, float)
        if isinstance(row.value, list | dict):
            items = row.value.values() if isinstance(row.value, dict) else row.value
            assert not any(isinstance(v, float) for v in items)
    taper = shipped_parameters.history("taper.shares")[0]
    assert to_json(taper.value) == [f"{v:f}" for v in taper.value]


def test_parameter_set_is_rebuilt_when_a_row_is_added_or_withdrawn(users, shipped_parameters):
    first = services.parameter_set()
    assert services.parameter_set() is first  # unchanged table: the same object
    row = add(users.district_admin)
    second = services.parameter_set()
    assert second is not first and len(second) == len(first) + 1
    with context.job("test"):
        services.delete_future_value(users.district_admin, row)
    assert len(services.parameter_set()) == len(first)


# -- adding a dated value -----------------------------------------------------------------------

def test_add_value_writes_a_local_row_and_its_audit_record(users, shipped_parameters):
    row = add(users.district_admin, "800.50", verified=True, url="https://example.gov.cn/a")
    row.refresh_from_db()
    assert (row.key, row.area_code, row.effective_from) == (KEY, DISTRICT, next_month())
    assert row.value == "800.50" and row.unit == "yuan_month" and row.verified
    assert row.source == "local" and row.created_by == users.district_admin
    event = AuditEvent.objects.get(action=AuditEvent.CREATE,
                                   object_type="policy.policyparameter", object_id=str(row.pk))
    assert event.actor_name == "district_admin" and event.area_code == DISTRICT
    assert event.changes["value"][1] == "800.50"
    assert event.changes["reference"][1] == "屯民〔2026〕1号"


def test_a_future_value_takes_effect_on_its_date_and_only_below_its_area(users,
                                                                         shipped_parameters):
    old = shipped_parameters.resolve(KEY, VILLAGE, today())
    start = next_month()
    add(users.district_admin, "800", day=start)
    params = services.parameter_set()
    assert params.resolve(KEY, VILLAGE, start - dt.timedelta(days=1)) == old
    assert params.resolve(KEY, VILLAGE, today()) == old
    new = params.resolve(KEY, VILLAGE, start)
    assert new.value == Decimal("800") and new.area == DISTRICT
    assert params.resolve(KEY, VILLAGE, start + dt.timedelta(days=400)) == new
    assert params.resolve(KEY, OTHER_HUANGSHAN_COUNTY, start) == shipped_parameters.resolve(
        KEY, OTHER_HUANGSHAN_COUNTY, start)


def test_a_past_date_needs_a_reason_which_the_audit_record_keeps(users, shipped_parameters):
    past = today() - dt.timedelta(days=10)
    with pytest.raises(PolicyError) as exc:
        add(users.district_admin, day=past)
    assert "追溯生效" in field_errors(exc)["effective_from"]
    assert not PolicyParameter.objects.filter(area_code=DISTRICT, key=KEY).exists()
    row = add(users.district_admin, day=past, retroactive_reason="市文件晚到，按文件日期执行")
    assert row.retroactive_reason == "市文件晚到，按文件日期执行"
    event = AuditEvent.objects.get(action=AuditEvent.CREATE, object_id=str(row.pk),
                                   object_type="policy.policyparameter")
    assert event.changes["retroactive_reason"][1] == "市文件晚到，按文件日期执行"
    assert services.parameter_set().resolve(KEY, VILLAGE, past).value == Decimal("800")


def test_today_is_not_retroactive(users, shipped_parameters):
    row = add(users.district_admin, day=today(), retroactive_reason="无须理由")
    assert row.retroactive_reason == ""  # only a back-dated value has anything to justify


@pytest.mark.parametrize("area", ["3410", "34", "", "440103", "341003"])
def test_an_area_outside_the_users_subtree_is_refused(users, shipped_parameters, area):
    with pytest.raises(PermissionDenied):
        add(users.district_admin, area=area)
    assert not PolicyParameter.objects.filter(source="local").exists()


def test_a_city_admin_sets_city_and_county_rows_but_not_the_province(areas, shipped_parameters):
    with context.job("test"):
        city_admin = create_user(username="city_admin", password=PASSWORD, area_code=CITY,
                                 roles=["district_admin"])
    assert add(city_admin, area=CITY).area_code == CITY
    assert add(city_admin, area=DISTRICT).area_code == DISTRICT
    with pytest.raises(PermissionDenied):
        add(city_admin, area="34")


def test_district_admin_is_not_a_town_or_village_role():
    assert ROLES["district_admin"].levels == (1, 2, 3)


def test_an_unknown_area_code_under_the_subtree_is_refused(users, shipped_parameters):
    with pytest.raises(PolicyError) as exc:
        add(users.district_admin, area=DISTRICT + "999")
    assert "不存在" in field_errors(exc)["area_code"]


def test_unknown_key_and_bad_values_are_refused_in_chinese(users, shipped_parameters):
    with pytest.raises(PolicyError) as exc:
        add(users.district_admin, key="dibao.no_such_thing")
    assert "未定义" in field_errors(exc)["key"]
    for value, says in [("八百", "应为数值"), ("-5", "不能为负数"), ("800.123", "最多两位小数")]:
        with pytest.raises(PolicyError) as exc:
            add(users.district_admin, value)
        assert says in field_errors(exc)["value"], value
    with pytest.raises(PolicyError) as exc:
        add(users.district_admin, "也许", key="dibao.asset.business_allowed")
    assert "是/否" in field_errors(exc)["value"]
    with pytest.raises(PolicyError) as exc:
        add(users.district_admin, reference=" ", url="javascript:alert(1)")
    assert set(field_errors(exc)) == {"reference", "url"}
    assert not PolicyParameter.objects.filter(source="local").exists()


def test_a_second_value_for_the_same_key_area_and_date_is_refused(users, shipped_parameters):
    add(users.district_admin)
    with pytest.raises(PolicyError) as exc:
        add(users.district_admin, "900")
    assert "已有取值" in field_errors(exc)["effective_from"]


@pytest.mark.parametrize("role", ["sysadmin", "security_admin", "audit_admin",
                                  "district_officer", "district_approver", "supervisor"])
def test_roles_without_policy_edit_cannot_set_values(users, shipped_parameters, role):
    user = getattr(users, role)
    with pytest.raises(PermissionDenied):
        add(user, area=user.area.prefix)


def test_three_administrators_hold_no_policy_or_rules_capability():
    for role in ("sysadmin", "security_admin", "audit_admin"):
        caps = ROLES[role].capabilities
        assert not caps & {"policy.edit", "rules.simulate", "registry.view"}, role
    assert "rules.simulate" in ROLES["district_officer"].capabilities
    assert "rules.simulate" in ROLES["district_approver"].capabilities
    assert ROLES["district_admin"].capabilities == {"registry.view", "policy.edit",
                                                    "rules.simulate", "exchange.import",
                                                    "exchange.manage", "monitoring.run",
                                                    "monitoring.tune", "sync.export",
                                                    "golive.import"}


# -- rows are never changed once in force; a value not yet in force may be withdrawn ---------

def test_a_row_in_force_is_never_changed_in_place(shipped_parameters):
    row = PolicyParameter.objects.filter(key=KEY, area_code="3410").first()
    row.value = "1"
    with pytest.raises(RowInForce):
        row.save()


def test_withdrawing_a_future_value(users, shipped_parameters):
    row = add(users.district_admin)
    pk = row.pk
    with context.job("test", user=users.district_admin):
        services.delete_future_value(users.district_admin, row)
    assert not PolicyParameter.objects.filter(pk=pk).exists()
    assert AuditEvent.objects.filter(action=AuditEvent.DELETE, object_id=str(pk),
                                     object_type="policy.policyparameter").exists()


def test_values_in_force_and_shipped_values_cannot_be_withdrawn(users, shipped_parameters):
    in_force = add(users.district_admin, day=today())
    with pytest.raises(PolicyError):
        services.delete_future_value(users.district_admin, in_force)
    shipped_row = PolicyParameter.objects.filter(source="shipped", area_code="3410").first()
    with context.job("test"):
        city_admin = create_user(username="city_admin", password=PASSWORD, area_code=CITY,
                                 roles=["district_admin"])
    with pytest.raises(PolicyError):
        services.delete_future_value(city_admin, shipped_row)
    future = add(users.district_admin)
    with pytest.raises(PermissionDenied):
        services.delete_future_value(users.district_officer, future)


# -- loading the shipped parameters -------------------------------------------------------------

def load_shipped_quietly() -> str:
    out = io.StringIO()
    call_command("policy", "load-shipped", stdout=out)
    return out.getvalue()


def test_load_shipped_is_idempotent(shipped_parameters):
    rows, events = PolicyParameter.objects.count(), AuditEvent.objects.count()
    assert "新增 0 条" in load_shipped_quietly()
    assert "新增 0 条" in load_shipped_quietly()
    assert (PolicyParameter.objects.count(), AuditEvent.objects.count()) == (rows, events)


def test_load_shipped_adds_only_what_is_missing_with_one_audit_record(shipped_parameters):
    PolicyParameter.objects.filter(key=KEY).delete()  # as if the key came in a new release
    missing = len(shipped_parameters.history(KEY))
    before = AuditEvent.objects.filter(action=AuditEvent.IMPORT).count()
    assert f"新增 {missing} 条" in load_shipped_quietly()
    assert PolicyParameter.objects.filter(key=KEY).count() == missing
    assert AuditEvent.objects.filter(action=AuditEvent.IMPORT).count() == before + 1
    event = AuditEvent.objects.filter(action=AuditEvent.IMPORT).first()
    assert event.job == "policy load-shipped" and len(event.changes["added"]) == missing


def test_load_shipped_leaves_local_rows_alone(users, shipped_parameters):
    local = add(users.district_admin, "800")
    release = shipped_parameters.with_rows(
        [make_parameter(KEY, DISTRICT, local.effective_from, "999", "yuan_month")])
    with context.job("test"):
        report = services.load_shipped(release)
    assert report.kept_local == [(KEY, DISTRICT, local.effective_from)] and not report.added
    local.refresh_from_db()
    assert local.value == "800"


def test_load_shipped_refreshes_a_citation_but_never_a_value(shipped_parameters):
    """A newer release that read a standard's source (文号, 发文机关, 印发日期, 已核实) updates the
    row's citation; a changed value is reported, not written."""
    row = PolicyParameter.objects.filter(key=KEY, source="shipped").order_by("effective_from")[0]
    old = to_parameter(row)
    cited = make_parameter(KEY, old.area, old.effective, old.value, old.unit,
                           reference=old.reference, url="https://mz.example.gov.cn/1.html",
                           verified=True, document="屯民〔2020〕3号", issuer="屯溪区民政局",
                           issued=old.effective + dt.timedelta(days=90))
    revalued = make_parameter(KEY, old.area, old.effective, old.value + 1, old.unit,
                              reference=old.reference, document="屯民〔2020〕4号")
    with context.job("test"):
        report = services.load_shipped(shipped_parameters.with_rows([cited]))
    assert report.refreshed == [(KEY, old.area, old.effective)] and not report.added
    row.refresh_from_db()
    assert (row.document, row.issuer, row.issued_on, row.verified, row.value) == (
        "屯民〔2020〕3号", "屯溪区民政局", old.effective + dt.timedelta(days=90), True,
        to_json(old.value))
    event = AuditEvent.objects.filter(action=AuditEvent.IMPORT).first()
    assert event.changes["refreshed"] == [f"{KEY} {old.area or '全国'} {old.effective}"]
    with context.job("test"):
        report = services.load_shipped(shipped_parameters.with_rows([revalued]))
    row.refresh_from_db()
    assert report.differing == [(KEY, old.area, old.effective)] and not report.refreshed
    assert row.value == to_json(old.value) and row.document == "屯民〔2020〕3号"
    with context.job("test"):  # the same release again: nothing to do
        assert not services.load_shipped(shipped_parameters.with_rows([cited])).refreshed


def test_policy_list_command_prints_the_history_along_the_chain(users, shipped_parameters):
    add(users.district_admin, "800")
    out = io.StringIO()
    call_command("policy", "list", KEY, "--area", VILLAGE, stdout=out)
    text = out.getvalue()
    assert "屯溪区" in text and "800.00 元/人·月" in text and "待生效" in text
    assert "现行" in text and "广州" not in text


# -- the pages --------------------------------------------------------------------------------

def test_list_page_for_a_village_user(client, users, shipped_parameters):
    client.force_login(users.village_assistant)
    html = client.get("/policy/").content.decode()
    current = shipped_parameters.resolve(KEY, VILLAGE, today())
    assert KEY in html and "最低生活保障" in html
    assert escape(current.reference) in html
    assert 'class="badge unverified"' in html  # the shipped Anhui figures are unverified
    assert "政策参数" in client.get("/").content.decode()  # in the navigation


def test_detail_page_for_a_village_user_has_history_but_no_form(client, users,
                                                                shipped_parameters):
    add(users.district_admin, "800")
    client.force_login(users.village_assistant)
    response = client.get(f"/policy/{KEY}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "待生效" in html and "现行" in html and "800.00" in html
    assert "设定新的取值" not in html and "广州" not in html
    assert client.post(f"/policy/{KEY}/values/", {}).status_code == 403


def test_the_list_page_shows_another_day(client, users, shipped_parameters):
    client.force_login(users.village_assistant)
    day = dt.date(2022, 6, 1)
    html = client.get("/policy/", {"day": day.isoformat()},
                      HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in html and "2022年6月1日" in html
    rate = shipped_parameters.resolve("dibao.employment_deduction.rate", VILLAGE, day)
    assert escape(rate.reference) in html


def test_unverified_badge_only_for_unverified_values(client, users, shipped_parameters):
    add(users.district_admin, "800", day=today(), verified=True, reference="屯民〔2026〕9号")
    client.force_login(users.district_admin)
    html = client.get(f"/policy/{KEY}/").content.decode()
    current = html.split("现行取值", 1)[1].split("历次取值", 1)[0]
    assert "屯民〔2026〕9号" in current and "未核实" not in current
    assert 'class="badge unverified"' in html  # the older shipped rows in the history


def test_unknown_key_page_is_404(client, users, shipped_parameters):
    client.force_login(users.village_assistant)
    assert client.get("/policy/no.such.key/").status_code == 404


@pytest.mark.parametrize("role", ["sysadmin", "security_admin", "audit_admin"])
def test_three_administrators_see_no_policy_pages(client, users, shipped_parameters, role):
    client.force_login(getattr(users, role))
    assert client.get("/policy/").status_code == 403
    assert client.get(f"/policy/{KEY}/").status_code == 403
    assert client.post(f"/policy/{KEY}/values/", form_body()).status_code == 403
    assert "政策参数" not in client.get("/").content.decode()
    assert not PolicyParameter.objects.filter(source="local").exists()


def form_body(**changes) -> dict:
    body = {"area_code": DISTRICT, "effective_from": next_month().isoformat(), "value": "800",
            "reference": "屯民〔2026〕1号", "url": "", "note": ""}
    return {**body, **changes}


def test_admin_sets_a_value_through_the_form(client, users, shipped_parameters):
    client.force_login(users.district_admin)
    page = client.get(f"/policy/{KEY}/").content.decode()
    assert "设定新的取值" in page and next_month().isoformat() in page
    response = client.post(f"/policy/{KEY}/values/", form_body(verified="on"))
    assert response.status_code == 302
    row = PolicyParameter.objects.get(source="local")
    assert row.value == "800" and row.verified and row.created_by == users.district_admin
    assert AuditEvent.objects.filter(object_id=str(row.pk), actor_name="district_admin",
                                     object_type="policy.policyparameter").exists()


def test_the_form_keeps_the_document_issuer_and_issue_date(client, users, shipped_parameters):
    client.force_login(users.district_admin)
    issued = today().isoformat()
    response = client.post(f"/policy/{KEY}/values/", form_body(
        document="屯民〔2026〕7号", issuer="屯溪区民政局 屯溪区财政局", issued_on=issued))
    assert response.status_code == 302
    row = PolicyParameter.objects.get(source="local")
    assert (row.document, row.issuer, row.issued_on) == (
        "屯民〔2026〕7号", "屯溪区民政局 屯溪区财政局", today())
    html = client.get(f"/policy/{KEY}/").content.decode()
    assert "屯溪区民政局 屯溪区财政局 屯民〔2026〕7号" in html and f"（{issued} 印发）" in html
    future = (today() + dt.timedelta(days=3)).isoformat()
    response = client.post(f"/policy/{KEY}/values/", form_body(
        effective_from=(next_month() + dt.timedelta(days=1)).isoformat(), issued_on=future))
    assert response.status_code == 200 and "印发日期不能晚于今天" in response.content.decode()


def test_form_refuses_a_past_date_without_a_reason_and_keeps_the_input(client, users,
                                                                       shipped_parameters):
    client.force_login(users.district_admin)
    past = (today() - dt.timedelta(days=31)).isoformat()
    response = client.post(f"/policy/{KEY}/values/", form_body(effective_from=past,
                                                               value="812.34"))
    html = response.content.decode()
    assert response.status_code == 200 and "追溯生效" in html and "812.34" in html
    response = client.post(f"/policy/{KEY}/values/",
                           form_body(effective_from=past, retroactive="on"))
    assert response.status_code == 200 and "追溯生效须填写理由" in response.content.decode()
    assert not PolicyParameter.objects.filter(source="local").exists()
    response = client.post(f"/policy/{KEY}/values/", form_body(
        effective_from=past, retroactive="on", retroactive_reason="按市文件日期执行"))
    assert response.status_code == 302
    assert PolicyParameter.objects.get(source="local").retroactive_reason == "按市文件日期执行"


def test_form_shows_the_services_reasons(client, users, shipped_parameters):
    client.force_login(users.district_admin)
    html = client.post(f"/policy/{KEY}/values/", form_body(value="八百")).content.decode()
    assert "应为数值" in html
    response = client.post(f"/policy/{KEY}/values/", form_body(area_code="440103"))
    assert response.status_code == 200 and "适用区划" in response.content.decode()
    assert not PolicyParameter.objects.filter(source="local").exists()


def test_rates_and_tables_are_typed_as_policy_staff_write_them(client, users,
                                                              shipped_parameters):
    client.force_login(users.district_admin)
    response = client.post("/policy/dibao.employment_deduction.rate/values/",
                           form_body(value="25%"))
    assert response.status_code == 302
    row = PolicyParameter.objects.get(source="local")
    assert row.value == "0.25"
    assert as_text(to_parameter(row)) == "25%"
    table = from_text("table", "any: 2；mental：4")
    assert table == {"any": "2", "mental": "4"}
    assert from_text("rates", "100%, 80%") == [Decimal("1"), Decimal("0.8")]


def test_withdraw_through_the_page(client, users, shipped_parameters):
    row = add(users.district_admin)
    client.force_login(users.district_admin)
    assert "撤销" in client.get(f"/policy/{KEY}/").content.decode()
    response = client.post(f"/policy/{KEY}/values/withdraw/", {"row_id": row.pk})
    assert response.status_code == 302
    assert not PolicyParameter.objects.filter(pk=row.pk).exists()
    shipped_row = PolicyParameter.objects.filter(key=KEY, area_code="3410").first()
    client.post(f"/policy/{KEY}/values/withdraw/", {"row_id": shipped_row.pk})
    assert PolicyParameter.objects.filter(pk=shipped_row.pk).exists()
