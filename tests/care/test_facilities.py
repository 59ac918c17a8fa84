"""设施: the facility register by kind, its services and users, 敬老院 改造提升 projects and the
towns' annual targets of new nursing-type beds. The figures are checked against counts made
independently from what the test itself registered; every read is the user's area's; each
register downloads as a workbook with its headers."""

from __future__ import annotations

import datetime as dt
import io
import random

import pytest
from django.core.exceptions import PermissionDenied
from python_calamine import CalamineWorkbook

from doudi.areas.models import Area
from doudi.audit import context
from doudi.audit.models import AuditEvent
from doudi.care import facilities, services
from doudi.care.models import (
    Facility,
    FacilityService,
    FacilityUser,
    ImprovementProject,
    Institution,
    NursingBedChange,
)
from doudi.core import clock
from doudi.registry.models import Membership
from tests.conftest import OTHER_TOWN_VILLAGE, OTHER_VILLAGE_SAME_TOWN, PASSWORD, TOWN, VILLAGE
from tests.raw_codes import assert_no_raw_codes

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 30)


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: TODAY)


def _sheet(response) -> list[list]:
    assert response.status_code == 200, response.status_code
    assert "spreadsheetml" in response["Content-Type"]
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    return book.get_sheet_by_name(book.sheet_names[0]).to_python()


def _facility(by, kind: str, area: str, name: str, **facts) -> Facility:
    return services.save_facility(by=by, facility=Facility(), kind=kind, name=name,
                                  area_code=area, operator=facts.pop("operator", "public"),
                                  **facts)


def _home(by, name: str, area: str, beds: int, nursing: int, operator: str = "public",
          reason: str = "registered") -> Institution:
    return services.save_institution(by=by, institution=Institution(), name=name,
                                     kind="nursing_home", operator=operator, beds=beds,
                                     nursing_beds=nursing, area_code=area, bed_reason=reason)


# -- the register ---------------------------------------------------------------------------

def test_every_kind_is_declared_with_labels_facts_and_figures() -> None:
    assert {"day_care", "happiness_home", "mutual_aid", "mental_rehab", "child_welfare",
            "minor_protection", "village_service"} == set(facilities.KINDS)
    for kind in facilities.KINDS.values():
        assert kind.label and kind.group and kind.services
        assert set(kind.facts) <= set(facilities.FACT_LABELS)
        assert set(kind.figures) <= set(facilities.FIGURE_LABELS)
        assert ("users" in kind.figures) == kind.users
    assert set(facilities.PROJECT_STEPS.values()) <= set(facilities.PROJECT_STATES)


def test_a_facility_keeps_the_facts_of_its_kind_and_only_the_district_registers(world):
    officer = world.users.district_officer
    with context.job("test facilities"):
        station = _facility(officer, "minor_protection", TOWN + "000", "黎阳镇未成年人保护工作站",
                            capacity="30", staff="3", floor_area="80")
        assert (station.capacity, station.staff, station.floor_area, station.operator) == \
            (0, 3, 0, "")  # a 工作站 counts its staff only
        centre = _facility(officer, "village_service", VILLAGE, "隆阜村级综合服务中心",
                           floor_area="650", staff="4")
        assert centre.floor_area == 650
        with pytest.raises(services.CareError, match="设施类型"):
            _facility(officer, "bogus", VILLAGE, "x")
        with pytest.raises(services.CareError, match="整数"):
            _facility(officer, "day_care", VILLAGE, "x", capacity="1e3")
        for user, area in ((world.users.town_officer, VILLAGE),  # no capability
                           (world.users.supervisor, VILLAGE),
                           (officer, world.guangdong_hh.area_code)):  # outside the area
            with pytest.raises(PermissionDenied):
                _facility(user, "day_care", area, "越权日间照料中心")
    assert not Facility.objects.filter(name="越权日间照料中心").exists()
    assert AuditEvent.objects.filter(object_type="care.facility").count() >= 2


def test_services_and_users_open_and_end(world):
    officer = world.users.district_officer
    person = world.village_hh.head()
    with context.job("test facilities"):
        rehab = _facility(officer, "mental_rehab", VILLAGE, "隆阜精康融合服务站", capacity="20")
        services.add_service(by=officer, facility=rehab, name="职业康复",
                             started_on="2026-01-05")
        with pytest.raises(services.CareError, match="已在提供"):
            services.add_service(by=officer, facility=rehab, name="职业康复",
                                 started_on="2026-02-01")
        use = services.add_user(by=officer, facility=rehab, person=person,
                                started_on=dt.date(2026, 3, 1), service="职业康复")
        with pytest.raises(services.CareError, match="已在本设施"):
            services.add_user(by=officer, facility=rehab, person=person,
                              started_on=dt.date(2026, 3, 2))
        with pytest.raises(services.CareError, match="不能早于"):
            services.end_user(by=officer, use=use, ended_on="2026-02-01")
        with pytest.raises(services.CareError, match="不能晚于今天"):
            services.end_user(by=officer, use=use, ended_on="2026-07-01")
        services.end_user(by=officer, use=use, ended_on="2026-06-01")
        services.add_user(by=officer, facility=rehab, person=person,
                          started_on=dt.date(2026, 6, 10))  # back again
        home = _facility(officer, "happiness_home", VILLAGE, "隆阜幸福院")
        with pytest.raises(services.CareError, match="不登记服务对象"):
            services.add_user(by=officer, facility=home, person=person,
                              started_on=dt.date(2026, 3, 1))
        with pytest.raises(PermissionDenied):
            services.add_service(by=world.users.town_approver, facility=rehab, name="心理疏导",
                                 started_on="2026-01-05")
    assert FacilityUser.objects.filter(person=person).count() == 2
    assert services.facility_figures("341002")["mental_rehab"]["users"] == 1


def test_figures_agree_with_independent_counts(world):
    """Random facilities, services and users; each kind's figures equal what the test counts
    from its own list of what it registered."""
    officer = world.users.district_officer
    rng = random.Random(7)
    villages = list(Area.objects.filter(code__startswith="341002", level=5)
                    .values_list("code", flat=True))
    towns = list(Area.objects.filter(code__startswith="341002", level=4)
                 .values_list("code", flat=True))
    persons = [m.person for hh in (world.village_hh, world.same_town_hh, world.other_town_hh)
               for m in Membership.objects.filter(household=hh).select_related("person")]
    made = []  # (kind, area, active, capacity, staff, floor_area, open services, user ids)
    with context.job("test figures"):
        for n in range(40):
            kind = facilities.KINDS[rng.choice(list(facilities.KINDS))]
            area = rng.choice(villages if kind.code != "minor_protection" else towns)
            facts = {f: str(rng.randint(0, 90)) for f in ("capacity", "staff", "floor_area")}
            row = _facility(officer, kind.code, area, f"设施{n}", **facts)
            active = rng.random() > 0.2
            if not active:
                services.save_facility(by=officer, facility=row, name=row.name,
                                       operator="public", active=False, **facts)
            open_services = 0
            for name in rng.sample(kind.services, rng.randint(0, len(kind.services))):
                start = TODAY - dt.timedelta(days=rng.randint(0, 400))
                service = services.add_service(by=officer, facility=row, name=name,
                                               started_on=start)
                if rng.random() < 0.3:
                    services.end_service(by=officer, service=service, ended_on=min(
                        TODAY, start + dt.timedelta(days=rng.randint(0, 200))))
                elif active:
                    open_services += 1
            users = set()
            for person in rng.sample(persons, rng.randint(0, len(persons))) if kind.users \
                    else []:
                use = services.add_user(by=officer, facility=row, person=person,
                                        started_on=TODAY - dt.timedelta(days=rng.randint(0, 99)))
                if rng.random() < 0.3:
                    services.end_user(by=officer, use=use, ended_on=TODAY)
                else:
                    users.add(person.pk)
            stored = Facility.objects.get(pk=row.pk)
            made.append((kind.code, area, active,
                         *(getattr(stored, f) for f in ("capacity", "staff", "floor_area")),
                         open_services, users))
            assert all(getattr(stored, f) == (int(facts[f]) if f in kind.facts else 0)
                       for f in ("capacity", "staff", "floor_area"))
    for prefix in ("341002", TOWN, VILLAGE):
        figures = services.facility_figures(prefix)
        for code in facilities.KINDS:
            mine = [m for m in made if m[0] == code and m[1].startswith(prefix)]
            live = [m for m in mine if m[2]]
            want = {"facilities": len(mine), "operating": len(live),
                    "capacity": sum(m[3] for m in live), "staff": sum(m[4] for m in live),
                    "floor_area": sum(m[5] for m in live), "services": sum(m[6] for m in live),
                    "users": len(set().union(*(m[7] for m in mine)))}
            assert {k: figures[code][k] for k in want} == want, (prefix, code)
        covered = {m[1] for m in made if m[0] == "village_service" and m[2]
                   and m[1].startswith(prefix)}
        all_villages = [v for v in villages if v.startswith(prefix)]
        village = figures["village_service"]
        assert (village["covered_villages"], village["villages"]) == (len(covered),
                                                                      len(all_villages))
        assert village["coverage_bp"] == (len(covered) * 20000 + len(all_villages)) // (
            2 * len(all_villages))


# -- 改造提升 projects ----------------------------------------------------------------------

def test_a_project_goes_from_plan_to_acceptance_and_adds_its_nursing_beds(world):
    officer = world.users.district_officer
    with context.job("test projects"):
        home = _home(officer, "黎阳镇敬老院", TOWN + "000", beds=60, nursing=20)
        project = services.save_project(
            by=officer, project=ImprovementProject(), institution=home, name="适老化改造",
            plan="护理床位改造、消防设施", year="2026", budget_fen=1_200_000_00,
            new_nursing_beds="16")
        with pytest.raises(services.CareError, match="开工后"):
            services.advance_project(by=officer, project=project, action="progress",
                                     progress="10")
        with pytest.raises(services.CareError, match="不能验收通过"):
            services.advance_project(by=officer, project=project, action="accept",
                                     day=TODAY)
        services.advance_project(by=officer, project=project, action="start",
                                 day="2026-03-01")
        with pytest.raises(services.CareError, match="0 到 100"):
            services.advance_project(by=officer, project=project, action="progress",
                                     progress="120")
        services.advance_project(by=officer, project=project, action="progress",
                                 progress="60", spent_fen=500_000_00)
        with pytest.raises(PermissionDenied):
            services.advance_project(by=world.users.town_approver, project=project,
                                     action="accept", day=TODAY)
        with pytest.raises(services.CareError, match="早于开工"):
            services.advance_project(by=officer, project=project, action="accept",
                                     day="2026-02-01")
        services.advance_project(by=officer, project=project, action="accept",
                                 day="2026-06-20", spent_fen=1_150_000_00)
        with pytest.raises(services.CareError, match="已验收"):
            services.save_project(by=officer, project=project, name="改名", plan="x",
                                  year=2026, budget_fen=1)
    project.refresh_from_db()
    home.refresh_from_db()
    assert (project.status, project.progress_pct, project.spent_fen) == ("accepted", 100,
                                                                         1_150_000_00)
    assert home.nursing_beds == 36
    change = NursingBedChange.objects.get(project=project)
    assert (change.reason, change.day, change.nursing_delta) == ("project", dt.date(2026, 6, 20),
                                                                 16)
    figures = services.project_figures("341002", 2026)
    assert (figures.projects, figures.by_status["accepted"], figures.budget_fen,
            figures.spent_fen, figures.spent_bp, figures.accepted_new_nursing_beds) == (
        1, 1, 1_200_000_00, 1_150_000_00, 9583, 16)


def test_a_project_that_would_overfill_the_beds_is_refused(world):
    officer = world.users.district_officer
    with context.job("test projects"):
        home = _home(officer, "屯光镇敬老院", OTHER_TOWN_VILLAGE, beds=30, nursing=25)
        project = services.save_project(by=officer, project=ImprovementProject(),
                                        institution=home, name="扩建", plan="增设护理床位",
                                        year=2026, budget_fen=100, new_nursing_beds=10)
        services.advance_project(by=officer, project=project, action="start", day=TODAY)
        with pytest.raises(services.CareError, match="多于总床位"):
            services.advance_project(by=officer, project=project, action="accept", day=TODAY)
        private = _home(officer, "康馨养老院", VILLAGE, 50, 10)
        private.kind = "elderly_home"
        private.save()
        with pytest.raises(services.CareError, match="敬老院"):
            services.save_project(by=officer, project=ImprovementProject(), institution=private,
                                  name="x", plan="x", year=2026, budget_fen=1)
    project.refresh_from_db()
    home.refresh_from_db()
    assert project.status == "construction" and home.nursing_beds == 25


# -- annual targets -------------------------------------------------------------------------

def test_targets_by_town_count_only_new_public_nursing_beds_of_the_year(world, monkeypatch):
    officer = world.users.district_officer
    towns = dict(Area.objects.filter(code__startswith="341002", level=4)
                 .values_list("code", "name"))
    litang, tunguang = TOWN + "000", OTHER_TOWN_VILLAGE[:9] + "000"
    with context.job("test targets"):
        monkeypatch.setattr(clock, "today", lambda: dt.date(2025, 12, 1))
        last_year = _home(officer, "黎阳镇敬老院", TOWN + "000", 60, 20, reason="opened")
        monkeypatch.setattr(clock, "today", lambda: TODAY)
        stock = _home(officer, "屯光镇敬老院", OTHER_TOWN_VILLAGE, 40, 10)  # 存量: not counted
        opened = _home(officer, "隆阜护理院", VILLAGE, 50, 30, reason="opened")  # +30
        _home(officer, "龙山民办院", OTHER_VILLAGE_SAME_TOWN, 80, 40, operator="private",
              reason="opened")  # private: not counted
        services.save_institution(by=officer, institution=last_year, name=last_year.name,
                                  kind="nursing_home", beds=60, nursing_beds=28,
                                  bed_reason="added")  # +8
        with pytest.raises(services.CareError, match="变化原因"):
            services.save_institution(by=officer, institution=stock, name=stock.name,
                                      kind="nursing_home", beds=40, nursing_beds=12)
        services.save_institution(by=officer, institution=stock, name=stock.name,
                                  kind="nursing_home", beds=40, nursing_beds=12,
                                  bed_reason="correction")  # not counted
        services.save_institution(by=officer, institution=stock, name=stock.name,
                                  kind="nursing_home", beds=40, nursing_beds=17,
                                  bed_reason="added")  # +5
        services.save_institution(by=officer, institution=opened, name=opened.name,
                                  kind="nursing_home", beds=50, nursing_beds=27,
                                  bed_reason="added")  # −3, net
        services.set_bed_target(by=officer, town_code=litang, year=2026, target="50")
        services.set_bed_target(by=officer, town_code=tunguang, year=2026, target="4")
        services.set_bed_target(by=officer, town_code=litang, year=2026, target="40")  # again
        with pytest.raises(PermissionDenied):
            services.set_bed_target(by=world.users.town_officer, town_code=litang, year=2026,
                                    target=1)
        with pytest.raises(services.CareError, match="乡镇"):
            services.set_bed_target(by=officer, town_code=VILLAGE, year=2026, target=1)
    rows = {r.code: r for r in services.bed_targets("341002", 2026)}
    # independently: the counted changes of public institutions, as the test made them
    assert (rows[TOWN].target, rows[TOWN].achieved, rows[TOWN].rate_bp) == (40, 8 + 30 - 3, 8750)
    assert (rows[TOWN[:9]].beds, rows[TOWN].nursing_beds) == (60 + 50, 28 + 27)
    assert (rows[tunguang[:9]].target, rows[tunguang[:9]].achieved) == (4, 5)
    assert rows[tunguang[:9]].rate_bp == 12500
    assert set(rows) == {c[:9] for c in towns}
    assert all(r.name == towns[r.code + "000"] for r in rows.values())
    assert {r.code: r.achieved for r in services.bed_targets("341002", 2025)
            if r.achieved} == {TOWN: 20}
    town_view = services.bed_targets(TOWN, 2026)
    assert [r.code for r in town_view] == [TOWN]


# -- pages: scoping and Excel ---------------------------------------------------------------

def _world_of_facilities(world):
    officer = world.users.district_officer
    with context.job("test pages"):
        inside = _facility(officer, "day_care", VILLAGE, "隆阜日间照料中心", capacity="40",
                           staff="5")
        services.add_service(by=officer, facility=inside, name="助餐", started_on="2026-01-01")
        outside = _facility(officer, "day_care", OTHER_TOWN_VILLAGE, "屯光日间照料中心",
                            capacity="25", staff="3")
        home = _home(officer, "黎阳镇敬老院", TOWN + "000", 60, 20)
        far = _home(officer, "屯光镇敬老院", OTHER_TOWN_VILLAGE, 40, 10)
        for h, name in ((home, "黎阳敬老院改造"), (far, "屯光敬老院改造")):
            services.save_project(by=officer, project=ImprovementProject(), institution=h,
                                  name=name, plan="改造", year=2026, budget_fen=300_000_00)
    return inside, outside


def test_the_pages_show_only_the_users_area(client, world):
    inside, outside = _world_of_facilities(world)
    assert client.login(username="town_officer", password=PASSWORD)
    page = client.get("/care/facilities/?kind=day_care").content.decode()
    assert inside.name in page and outside.name not in page
    projects = client.get("/care/facilities/projects/").content.decode()
    assert "黎阳敬老院改造" in projects and "屯光敬老院改造" not in projects
    assert client.get(f"/care/facilities/{outside.pk}/").status_code == 404
    far = ImprovementProject.objects.get(name="屯光敬老院改造")
    assert client.get(f"/care/facilities/projects/{far.pk}/").status_code == 404
    # the town's officer reads but registers nothing
    response = client.post("/care/facilities/", {"kind": "day_care", "name": "镇办中心",
                                                 "area_code": VILLAGE})
    assert response.status_code == 200 and "区县民政部门" in response.content.decode()
    assert not Facility.objects.filter(name="镇办中心").exists()
    targets = client.get("/care/facilities/bed-targets/?year=2026").content.decode()
    assert "黎阳镇" in targets and "屯光镇" not in targets


def test_the_district_registers_through_the_pages(client, world):
    assert client.login(username="district_officer", password=PASSWORD)
    response = client.post("/care/facilities/", {
        "kind": "village_service", "name": "隆阜村综合服务中心", "area_code": VILLAGE,
        "floor_area": "600", "staff": "3"})
    assert response.status_code == 302
    row = Facility.objects.get(name="隆阜村综合服务中心")
    detail = f"/care/facilities/{row.pk}/"
    assert client.post(detail, {"action": "add_service", "name": "儿童之家",
                                "started_on": "2026-05-01"}).status_code == 302
    assert FacilityService.objects.filter(facility=row, name="儿童之家").exists()
    home = _home(world.users.district_officer, "黎阳镇敬老院", TOWN + "000", 60, 20)
    response = client.post("/care/facilities/projects/", {
        "institution": str(home.pk), "name": "消防改造", "plan": "喷淋", "year": "2026",
        "budget": "85000.50", "new_nursing_beds": "0"})
    assert response.status_code == 302
    project = ImprovementProject.objects.get(name="消防改造")
    assert project.budget_fen == 8_500_050
    page = f"/care/facilities/projects/{project.pk}/"
    assert client.post(page, {"action": "start", "day": "2026-05-01"}).status_code == 302
    assert client.post(page, {"action": "progress", "progress": "40",
                              "spent": "1000"}).status_code == 302
    project.refresh_from_db()
    assert (project.status, project.progress_pct, project.spent_fen) == ("construction", 40,
                                                                         100_000)
    assert client.post("/care/facilities/bed-targets/", {
        "town": TOWN + "000", "year": "2026", "target": "12"}).status_code == 302
    # every page speaks words, not codes
    for path in ("/care/facilities/", "/care/facilities/?kind=village_service", detail,
                 "/care/facilities/projects/", page, "/care/facilities/bed-targets/",
                 f"/care/institutions/{home.pk}/", "/care/institutions/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_no_raw_codes(response.content.decode(), path)


def test_each_register_downloads_with_its_headers_and_figures(client, world):
    _world_of_facilities(world)
    assert client.login(username="district_officer", password=PASSWORD)
    rows = _sheet(client.get("/care/facilities/?kind=day_care&format=xlsx"))
    header = rows[2]
    assert header[:3] == ["名称", "类型", "所在区划"] and "床位（张）" in header
    body = {r[0]: r for r in rows[3:]}
    assert set(body) == {"隆阜日间照料中心", "屯光日间照料中心"}
    assert body["隆阜日间照料中心"][header.index("床位（张）")] == 40
    assert body["隆阜日间照料中心"][header.index("在提供服务项")] == 1
    figures = _sheet(client.get("/care/facilities/?format=xlsx&list=figures"))
    assert figures[2][:4] == ["类别", "设施类型", "设施数", "运营中"]
    day_care = next(r for r in figures[3:] if r[1] == "社区日间照料中心")
    assert day_care[2:6] == [2, 2, 65, 8]
    projects = _sheet(client.get("/care/facilities/projects/?format=xlsx"))
    assert projects[2][:2] == ["项目名称", "机构"] and "预算（元）" in projects[2]
    assert sorted(r[0] for r in projects[3:]) == ["屯光敬老院改造", "黎阳敬老院改造"]
    assert {r[projects[2].index("预算（元）")] for r in projects[3:]} == {"300000.00"}
    targets = _sheet(client.get("/care/facilities/bed-targets/?year=2026&format=xlsx"))
    assert targets[2][:4] == ["乡镇（街道）", "目标新增护理型床位", "已新增护理型床位", "完成率"]
    assert AuditEvent.objects.filter(action=AuditEvent.EXPORT,
                                     object_type__startswith="care.").count() == 4
    # a town's download holds its own rows only
    client.logout()
    assert client.login(username="town_officer", password=PASSWORD)
    rows = _sheet(client.get("/care/facilities/?kind=day_care&format=xlsx"))
    assert [r[0] for r in rows[3:]] == ["隆阜日间照料中心"]


def test_the_users_of_a_facility_are_masked_and_their_download_needs_the_export_right(
        client, world):
    officer = world.users.district_officer
    person = world.village_hh.head()
    with context.job("test users"):
        rehab = _facility(officer, "mental_rehab", VILLAGE, "隆阜精康融合服务站")
        services.add_user(by=officer, facility=rehab, person=person, started_on=TODAY)
    assert client.login(username="district_officer", password=PASSWORD)
    page = client.get(f"/care/facilities/{rehab.pk}/").content.decode()
    assert person.masked_name in page and person.name not in page
    assert person.id_number not in page
    rows = _sheet(client.get(f"/care/facilities/{rehab.pk}/?format=xlsx&list=users"))
    assert rows[2][:2] == ["姓名", "身份证号"]
    assert rows[3][:2] == [person.masked_name, person.masked_id]
    client.logout()
    assert client.login(username="village_assistant", password=PASSWORD)
    assert client.get(f"/care/facilities/{rehab.pk}/").status_code == 200
    assert client.get(f"/care/facilities/{rehab.pk}/?format=xlsx&list=users"
                      ).status_code == 403
