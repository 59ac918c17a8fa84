"""Children: the register shows guardianship and the standard; 跨省通办 cases received for a
child registered here start the application; bad input is refused."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from doudi.audit import context
from doudi.care import services
from doudi.care.models import CrossProvinceCase
from doudi.registry.models import Membership
from doudi.registry.services import assign_category
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _child(world):
    return Membership.objects.filter(household=world.village_hh).exclude(
        relation="head").first().person


def test_a_case_received_from_another_province_starts_the_application(world) -> None:
    child = _child(world)
    case = services.record_cross_province(
        by=world.users.town_officer, direction="in", province="浙江省", reference="ZJ2026-0088",
        child_name=child.name, child_id_number=child.id_number, kind="de_facto_unsupported",
        received_on=dt.date(2026, 11, 2))
    app = case.application
    assert (app.programme, app.channel, app.reference, app.applicant_id) == (
        "child", "cross_province", "ZJ2026-0088", child.pk)
    out = services.record_cross_province(
        by=world.users.town_officer, direction="out", province="江西省", reference="",
        child_name="王小明", child_id_number=world.guangdong_hh.head().id_number,
        kind="orphan", received_on=dt.date(2026, 11, 2))
    assert out.application is None and CrossProvinceCase.objects.count() == 2


def test_bad_cases_are_refused(world) -> None:
    with pytest.raises(services.CareError, match="身份证号无效"):
        services.record_cross_province(by=world.users.town_officer, direction="in",
                                       province="浙江省", reference="", child_name="王小明",
                                       child_id_number="341002201001011234", kind="orphan",
                                       received_on=dt.date(2026, 11, 2))
    with pytest.raises(PermissionDenied):
        services.record_cross_province(by=world.users.village_assistant, direction="in",
                                       province="浙江省", reference="", child_name="王小明",
                                       child_id_number=_child(world).id_number, kind="orphan",
                                       received_on=dt.date(2026, 11, 2))
    assert not CrossProvinceCase.objects.exists()


def test_the_register_shows_guardianship_and_the_standard(client, world,
                                                         shipped_parameters) -> None:
    child = _child(world)
    with context.job("test"):
        assign_category(by=world.users.district_approver, category="de_facto_unsupported",
                        start_date=dt.date(2026, 1, 1), person=child)
    services.save_profile(by=world.users.village_assistant, person=child,
                          guardian_name="张三丰", guardian_relation="祖父",
                          guardian_situation="父亲服刑，母亲失联", child_director="李主任")
    client.login(username="village_assistant", password=PASSWORD)
    page = client.get("/care/children/?kind=de_facto_unsupported").content.decode()
    assert "父亲服刑，母亲失联" in page and "张*丰（祖父）" in page and "李主任" in page
    assert child.name not in page
    from doudi.web.care_views import _child_standards

    standard = _child_standards("341002")["de_facto_unsupported"]
    assert standard > 0 and f"{standard // 100:,}.{standard % 100:02d}" in page
