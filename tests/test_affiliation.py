"""所属部门 / 所属社会力量: a department account's department and a 社会力量 account's
organisation are set from the command line (`doudi adduser`) or by the system administrator's
pages — validated (a known department; an organisation in the administrator's area and on the
account's chain of areas) and audited."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from doudi.accounts import services
from doudi.accounts.models import User
from doudi.audit import context
from doudi.audit.models import AuditEvent
from doudi.community import services as community
from doudi.community.models import Organisation, OrganisationMember
from doudi.exchange.feed_types import departments
from tests.conftest import PASSWORD


@pytest.fixture
def station(users) -> Organisation:
    return community.save_organisation(by=users.town_officer, organisation=Organisation(),
                                       name="黎阳镇社工站", kind="station", area_code="341002102")


@pytest.fixture
def far_station(users) -> Organisation:
    with context.job("test"):
        return Organisation.objects.create(name="屯光镇社工站", kind="station",
                                           area_code="341002100000")


@pytest.mark.django_db
def test_adduser_sets_a_department_and_an_organisation(users, station, shipped_feed_types,
                                                       capsys) -> None:
    department = departments()[0]
    call_command("adduser", "yibao", "--area", "341002", "--role", "department",
                 "--password", PASSWORD, "--department", department)
    assert User.objects.get(username="yibao").department == department
    call_command("adduser", "shegong", "--area", "341002102", "--role", "org_staff",
                 "--password", PASSWORD, "--organisation", "黎阳镇社工站")
    staff = User.objects.get(username="shegong")
    assert OrganisationMember.objects.get(user=staff).organisation == station
    assert community.organisation_of(staff) == station
    assert "黎阳镇社工站" in capsys.readouterr().out
    linked = AuditEvent.objects.filter(object_type="accounts.user", object_id=str(staff.pk),
                                       object_label__contains="所属社会力量")
    assert linked.count() == 1


@pytest.mark.django_db
def test_adduser_refuses_an_unknown_department_and_a_far_organisation(
        users, far_station, shipped_feed_types) -> None:
    with pytest.raises(CommandError, match="未知部门"):
        call_command("adduser", "x1", "--area", "341002", "--role", "department",
                     "--password", PASSWORD, "--department", "不存在的局")
    with pytest.raises(CommandError, match="不在"):  # 屯光镇's station, a 黎阳镇 account
        call_command("adduser", "x2", "--area", "341002102", "--role", "org_staff",
                     "--password", PASSWORD, "--organisation", "屯光镇社工站")
    with pytest.raises(CommandError, match="只有社会力量账号"):
        call_command("adduser", "x3", "--area", "341002", "--role", "district_officer",
                     "--password", PASSWORD, "--organisation", str(far_station.pk))
    # nothing half-made: the refused accounts do not exist
    assert not User.objects.filter(username__in=["x1", "x2", "x3"]).exists()


@pytest.mark.django_db
def test_the_system_administrator_sets_them_on_the_user_pages(users, station, far_station,
                                                              shipped_feed_types,
                                                              client) -> None:
    client.force_login(users.sysadmin)
    department = departments()[-1]
    page = client.get("/users/new/")
    assert department in page.content.decode() and "黎阳镇社工站" in page.content.decode()
    made = client.post("/users/new/", {"username": "cjl", "area_code": "341002",
                                       "department": department, "organisation": ""})
    assert made.status_code == 302, made.content.decode()
    account = User.objects.get(username="cjl")
    assert account.department == department
    events = AuditEvent.objects.filter(object_type="accounts.user", object_id=str(account.pk))
    assert any("department" in (e.changes or {}) for e in events)

    with context.job("test"):
        staff = services.create_user(username="sg", password=PASSWORD,
                                     area_code="341002102", roles=["org_staff"])
    url = f"/users/{staff.pk}/"
    done = client.post(url, {"action": "affiliation", "department": "",
                             "organisation": str(station.pk)}, follow=True)
    assert "所属社会力量：黎阳镇社工站" in done.content.decode()
    assert community.organisation_of(User.objects.get(pk=staff.pk)) == station
    refused = client.post(url, {"action": "affiliation", "department": department,
                                "organisation": str(station.pk)})
    assert "只有部门数据接口账号" in refused.content.decode()
    assert User.objects.get(pk=staff.pk).department == ""
    elsewhere = client.post(url, {"action": "affiliation", "organisation": str(far_station.pk)})
    assert "不在" in elsewhere.content.decode()
    assert community.organisation_of(User.objects.get(pk=staff.pk)) == station
    assert "保存所属单位" in client.get(url).content.decode()
    # a case worker's account belongs to no department or organisation: no such form
    assert "保存所属单位" not in client.get(f"/users/{users.district_approver.pk}/") \
        .content.decode()
    client.post(url, {"action": "affiliation", "organisation": ""})
    assert community.organisation_of(User.objects.get(pk=staff.pk)) is None
    assert AuditEvent.objects.filter(object_type="accounts.user", object_id=str(staff.pk),
                                     object_label__contains="所属社会力量").count() == 2


@pytest.mark.django_db
def test_only_the_system_administrator_of_the_area_sets_them(users, station,
                                                             shipped_feed_types) -> None:
    with context.job("test"):
        staff = services.create_user(username="sg", password=PASSWORD,
                                     area_code="341002102", roles=["org_staff"])
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.set_organisation(staff, station, by=users.security_admin)
    with pytest.raises(PermissionDenied):
        services.set_department(staff, departments()[0], by=users.district_approver)
