"""Official documents fit to sign or send: the 书面通知 names the applicant in full for a role
that may see it (and the reveal is audited), masked for any other; it carries a 文号 given
once per decision, the issuing body's real name, the documents it rests on, the remedies
(行政复议 60 days, 行政诉讼 6 months) and the office's phone or a blank line; the 申请审批表
prints no parameter key or enum value; the 公示 list names its unit and 监督电话; several
decisions print at once, one sheet each, only within the user's area."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from doudi.areas.models import Area
from doudi.audit import context
from doudi.audit.models import AuditEvent
from doudi.casework import documents, services
from doudi.casework.models import Application, DecisionDocument
from doudi.policy.services import add_value
from doudi.rules.parameters import TEXT_CHOICES
from tests.casework import flow
from tests.conftest import DISTRICT, PASSWORD, TOWN

pytestmark = pytest.mark.django_db

# a parameter key as the rules name them (dibao.standard.urban, casework.deadline.decision)
PARAMETER_KEY = re.compile(r"\b[a-z_]+\.[a-z_]+(?:\.[a-z_]+)*\b")


def _apply(world, hh=None, programme: str = "dibao") -> Application:
    return services.create_application(by=world.users.town_officer,
                                       household=hh or world.village_hh, programme=programme,
                                       channel="town_window", reason="无收入")


def _approved(world, hh=None, programme: str = "dibao") -> Application:
    return flow.approve_through(world.users, _apply(world, hh, programme), timezone.localdate())


def _refused(world, hh=None, by=None) -> Application:
    u = world.users
    app = services.act(by=u.town_officer, application=_apply(world, hh),
                       action="record_visit",
                       data={"members_present": "户主", "living_conditions": "自有住房"})
    app = services.act(by=u.town_officer, application=app, action="complete_verification")
    app = services.act(by=u.town_officer, application=app, action="town_opinion",
                       opinion="收入高于标准", data={"recommendation": "ineligible"})
    return services.act(by=by or u.town_approver, application=app, action="refuse",
                        opinion="家庭人均收入高于当地低保标准")


def _text(response) -> str:
    """The page's words without markup (a sentence may span tags)."""
    return re.sub(r"<[^>]+>", "", response.content.decode())


def test_notice_names_the_applicant_in_full_for_an_allowed_role_and_audits_it(
        client, world, shipped_parameters) -> None:
    app = _approved(world)
    head = app.applicant
    assert head.name == "张三丰"
    client.login(username="town_officer", password=PASSWORD)
    page = _text(client.get(f"/applications/{app.pk}/notice/"))
    assert f"{head.name}：" in page and head.masked_name not in page
    reveal = AuditEvent.objects.filter(action=AuditEvent.VIEW_FULL, actor_name="town_officer",
                                       object_type="registry.person", object_id=str(head.pk))
    assert reveal.count() == 1
    assert "打印书面通知" in reveal.get().object_label
    assert head.name not in reveal.get().object_label  # the log itself stays masked

    client.login(username="supervisor", password=PASSWORD)  # reads, may not see full names
    page = _text(client.get(f"/applications/{app.pk}/notice/"))
    assert head.name not in page and f"{head.masked_name}：" in page
    assert not AuditEvent.objects.filter(action=AuditEvent.VIEW_FULL,
                                         actor_name="supervisor").exists()


def test_approval_form_for_the_file_names_members_in_full_for_an_allowed_role_audited(
        client, world, shipped_parameters) -> None:
    app = _approved(world)
    head = app.applicant
    members = [m.person for m in app.household.memberships.filter(end_date__isnull=True)]
    client.login(username="town_officer", password=PASSWORD)
    page = _text(client.get(f"/applications/{app.pk}/print/"))
    for person in members:
        assert person.name in page and person.id_number in page
        assert person.masked_id not in page
    reveals = AuditEvent.objects.filter(action=AuditEvent.VIEW_FULL, actor_name="town_officer")
    assert {int(e.object_id) for e in reveals} == {p.pk for p in members}
    assert all("打印申请审批表" in e.object_label for e in reveals)
    assert head.name not in " ".join(e.object_label for e in reveals)

    client.login(username="supervisor", password=PASSWORD)  # reads, may not see full names
    page = _text(client.get(f"/applications/{app.pk}/print/"))
    assert head.name not in page and head.masked_name in page and head.masked_id in page
    assert not AuditEvent.objects.filter(action=AuditEvent.VIEW_FULL,
                                         actor_name="supervisor").exists()


def test_document_number_is_given_once_per_decision_in_the_issuers_sequence(
        client, world, shipped_parameters) -> None:
    first = _approved(world)
    second = _refused(world, world.same_town_hh)
    year = timezone.localdate().year
    numbers = dict(DecisionDocument.objects.values_list("application_id", "number"))
    assert numbers == {first.pk: f"黎阳镇人民政府〔{year}〕1号",
                       second.pk: f"黎阳镇人民政府〔{year}〕2号"}
    client.login(username="town_approver", password=PASSWORD)
    once = _text(client.get(f"/applications/{first.pk}/notice/"))
    again = _text(client.get(f"/applications/{first.pk}/notice/"))
    assert numbers[first.pk] in once and numbers[first.pk] in again
    assert numbers[second.pk] not in once
    assert DecisionDocument.objects.count() == 2  # a reprint numbers nothing
    # signed by the body that decided, by its real name
    assert "黎阳镇人民政府" in once and "（街道办事处）" not in once
    # the office's 机关代字 names the numbers given after it is entered; earlier ones stay
    documents.set_office(by=world.users.district_admin, area=Area.objects.get(code=TOWN + "000"),
                         document_prefix="黎民救", phone="0559-1234567", supervision_phone="")
    third = _approved(world, programme="edge")
    assert third.document.number == f"黎民救〔{year}〕3号"
    assert DecisionDocument.objects.get(application=first).number == numbers[first.pk]
    assert "0559-1234567" in _text(client.get(f"/applications/{first.pk}/notice/"))


def test_refusal_states_the_remedies_basis_and_a_blank_for_an_unknown_phone(
        client, world, shipped_parameters) -> None:
    app = _refused(world)
    client.login(username="town_approver", password=PASSWORD)
    page = _text(client.get(f"/applications/{app.pk}/notice/"))
    assert "决定不予批准。理由：家庭人均收入高于当地低保标准" in page
    assert ("如对本决定不服，可以自收到本通知书之日起六十日内向屯溪区人民政府申请行政复议，"
            "也可以自收到本通知书之日起六个月内依法向人民法院提起行政诉讼。") in page
    assert "《最低生活保障审核确认办法》（民发〔2021〕57号）" in page  # from the catalogue
    assert "联系电话：" in page and "blank-line" in client.get(
        f"/applications/{app.pk}/notice/").content.decode()
    assert "存根" in page and "盖章处" in page


def test_a_district_decision_is_signed_by_its_civil_affairs_bureau(
        client, world, shipped_parameters) -> None:
    with context.job("test: the district keeps 低保 decisions"):
        add_value(world.users.district_admin, "casework.approval_delegated", DISTRICT,
                  timezone.localdate() - dt.timedelta(days=1), False,
                  reference="区民政局通知（测试）", retroactive_reason="测试：区县审批")
    app = _refused(world, by=world.users.district_approver)
    year = timezone.localdate().year
    assert app.document.number == f"屯溪区民政局〔{year}〕1号"
    assert app.document.issuer.code == DISTRICT + "000000"
    client.login(username="district_approver", password=PASSWORD)
    page = _text(client.get(f"/applications/{app.pk}/notice/"))
    assert "屯溪区民政局" in page and "向屯溪区人民政府申请行政复议" in page


def test_approval_form_prints_no_parameter_key_badge_or_enum_value(
        client, world, shipped_parameters) -> None:
    app = _approved(world)
    client.login(username="town_officer", password=PASSWORD)
    response = client.get(f"/applications/{app.pk}/print/")
    html, page = response.content.decode(), _text(response)
    assert "申请审批表" in page and "政策测算依据" in page and "最低生活保障" in page
    assert "符合" in page and "盖章处" in page
    assert "unverified" not in html and "<code>" not in html
    body = page.split("政策测算依据", 1)[1]
    assert not PARAMETER_KEY.findall(body), PARAMETER_KEY.findall(body)[:5]
    codes = {v for values in TEXT_CHOICES.values() for v in values if len(v) > 3}
    assert not [c for c in codes if re.search(rf"\b{c}\b", body)]


def test_publicity_list_names_its_unit_and_supervision_phone_and_stays_masked(
        client, world, shipped_parameters) -> None:
    u = world.users
    app = services.act(by=u.village_assistant, application=_apply(world), action="record_visit",
                       data={"members_present": "户主", "living_conditions": "一般"})
    app = services.act(by=u.town_officer, application=app, action="complete_verification")
    app = services.act(by=u.town_officer, application=app, action="town_opinion",
                       opinion="符合", data={"recommendation": "eligible"})
    documents.set_office(by=u.district_admin, area=Area.objects.get(code=DISTRICT + "000000"),
                         document_prefix="", phone="", supervision_phone="0559-2345678")
    client.login(username="town_officer", password=PASSWORD)
    page = _text(client.get("/applications/publicity/"))
    assert "公示单位黎阳镇人民政府" in page.replace(" ", "").replace("\n", "")
    assert "屯溪区民政局　监督电话：0559-2345678" in page
    assert app.applicant.masked_name in page and app.applicant.name not in page


def test_batch_print_gives_one_sheet_per_decision_and_refuses_other_areas(
        client, world, shipped_parameters) -> None:
    apps = [_approved(world), _refused(world, world.same_town_hh)]
    client.login(username="town_approver", password=PASSWORD)
    ids = [a.pk for a in apps]
    html = client.get("/applications/documents/", {"application": ids, "doc": "notice"}
                      ).content.decode()
    assert html.count('<article class="sheet notice"') == 2
    assert all(a.document.number in html for a in apps)
    forms = client.get("/applications/documents/", {"application": ids, "doc": "form"})
    assert forms.content.decode().count('<article class="sheet form"') == 2
    # an application of another town: the whole batch is refused, nothing printed
    outside = services.create_application(by=world.users.district_officer,
                                          household=world.other_town_hh, programme="dibao",
                                          channel="town_window", reason="无收入")
    response = client.get("/applications/documents/",
                          {"application": [*ids, outside.pk], "doc": "notice"})
    assert response.status_code == 404
    assert 'class="sheet' not in response.content.decode()
    assert apps[0].document.number not in response.content.decode()


def test_offices_are_entered_by_the_districts_administrator_only(client, world) -> None:
    town = TOWN + "000"
    client.login(username="town_approver", password=PASSWORD)
    assert client.get("/offices/").status_code == 403
    assert client.post("/offices/", {"area": town, "phone": "1"}).status_code == 403
    client.login(username="district_admin", password=PASSWORD)
    page = client.get("/offices/").content.decode()
    assert "屯溪区民政局" in page and "黎阳镇人民政府" in page
    assert "荔湾区" not in page  # another county's bodies are not the district's to enter
    response = client.post("/offices/", {"area": town, "document_prefix": " 黎民救 ",
                                         "phone": "0559-1234567", "supervision_phone": ""})
    assert response.status_code == 302
    office = documents.office(Area.objects.get(code=town))
    assert (office.document_prefix, office.phone, office.supervision_phone) == (
        "黎民救", "0559-1234567", "")
    assert AuditEvent.objects.filter(object_type="casework.issuingoffice",
                                     actor_name="district_admin").exists()
    # an area outside the district: refused, nothing saved
    client.post("/offices/", {"area": "440103000000", "phone": "020-1"})
    assert not documents.IssuingOffice.objects.filter(area_id="440103000000").exists()
