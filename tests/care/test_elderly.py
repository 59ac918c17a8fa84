"""特殊困难老年人 (高龄, 独居, 空巢, 失能, 计生特殊家庭): who belongs to which group is read from
the registry (birth date, who else lives in the household, self-care items) and the care facts
(计生特殊家庭); each group gets its visit tasks at its own interval, nobody else gets them, and
the 探访关爱 page counts them."""

from __future__ import annotations

import datetime as dt

import pytest

from doudi.audit import context
from doudi.care import plans, services
from doudi.care.models import Institution, VisitTask
from doudi.policy.models import PolicyParameter
from doudi.registry.models import Membership, Person
from doudi.registry.services import MemberInput, create_household
from tests.conftest import PASSWORD, VILLAGE

pytestmark = pytest.mark.django_db
D = dt.date
MONTH = D(2026, 11, 1)


def test_the_groups_follow_the_facts() -> None:
    groups = plans.elderly_groups
    assert groups(plans.ElderlyFacts(age=59, others=())) == set()
    assert groups(plans.ElderlyFacts(age=85, others=())) == {"advanced_age", "living_alone"}
    assert groups(plans.ElderlyFacts(age=70, others=(66,))) == {"empty_nest"}
    assert groups(plans.ElderlyFacts(age=70, others=(66, 40))) == set()  # a son at home
    assert groups(plans.ElderlyFacts(age=70, others=(40,), adl_failed=2)) == {"disabled_elderly"}
    assert groups(plans.ElderlyFacts(age=64, others=(35,), family_planning_special=True)) == {
        "family_planning_special"}
    # the ages are parameters: a place counting 高龄 from 90 and elderly from 65
    assert groups(plans.ElderlyFacts(age=85, others=()), 65, 90) == {"living_alone"}
    assert groups(plans.ElderlyFacts(age=63, others=()), 65, 90) == set()
    assert set(plans.ELDERLY_GROUPS) == {"advanced_age", "living_alone", "empty_nest",
                                         "disabled_elderly", "family_planning_special"}


def _household(world, new_id, *people: tuple[str, D]):
    members = [MemberInput(id_number=new_id("341002", born=born), name=f"王{'甲乙丙丁'[i]}",
                           relation=relation)
               for i, (relation, born) in enumerate(people)]
    with context.job("test elderly"):
        hh = create_household(by=world.users.district_approver, area_code=VILLAGE,
                              hukou_type="rural", members=members, address="测试路2号")
    Membership.objects.filter(household=hh).update(start_date=D(2020, 1, 1))
    return hh


@pytest.fixture
def elderly(world, new_id):
    Membership.objects.update(start_date=D(2020, 1, 1))
    out = {
        "alone_86": _household(world, new_id, ("head", D(1940, 3, 1))),
        "couple": _household(world, new_id, ("head", D(1955, 3, 1)), ("spouse", D(1958, 3, 1))),
        "with_son": _household(world, new_id, ("head", D(1962, 3, 1)), ("child", D(1990, 3, 1))),
        "alone_56": _household(world, new_id, ("head", D(1970, 3, 1))),
        "in_home": _household(world, new_id, ("head", D(1938, 3, 1))),
    }
    people = {k: list(Person.objects.filter(memberships__household=hh).order_by("birth_date"))
              for k, hh in out.items()}
    Person.objects.filter(pk=people["couple"][1].pk).update(adl_failed=2)  # 失能 (the younger)
    services.save_profile(by=world.users.village_assistant, person=people["with_son"][0],
                          family_planning_special="on")
    home = services.save_institution(by=world.users.district_officer, institution=Institution(),
                                     name="黎阳敬老院", kind="nursing_home", beds=40,
                                     nursing_beds=20, area_code="341002102000")
    services.admit(by=world.users.district_officer, institution=home,
                   person=people["in_home"][0], care_level="moderate", admitted_on=D(2026, 1, 5),
                   concentrated_tekun=False)
    return people


def test_each_group_gets_tasks_at_its_interval_and_nobody_else(world, elderly) -> None:
    # 高龄 visited each quarter in 屯溪 (a local row); the others monthly (shipped rows)
    PolicyParameter.objects.create(key="care.visit.advanced_age", area_code="341002",
                                   effective_from=D(2026, 1, 1), value="3", unit="months",
                                   reference="测试", source="local")
    services.generate_tasks(MONTH, "341002")
    tasks = {(t.person_id, t.group): (t.period_start, t.due_on)
             for t in VisitTask.objects.filter(group__in=plans.ELDERLY_GROUPS)}
    alone, (older, younger), (parent, son) = (elderly["alone_86"][0], elderly["couple"],
                                              elderly["with_son"])
    monthly, quarterly = (D(2026, 11, 1), D(2026, 11, 30)), (D(2026, 10, 1), D(2026, 12, 31))
    assert tasks == {
        (alone.pk, "advanced_age"): quarterly,
        (alone.pk, "living_alone"): monthly,
        (older.pk, "empty_nest"): monthly,
        (younger.pk, "empty_nest"): monthly,
        (younger.pk, "disabled_elderly"): monthly,
        (parent.pk, "family_planning_special"): monthly,
    }
    # not the son, not the 56-year-old living alone, not the 88-year-old in the 敬老院
    assert not VisitTask.objects.filter(person__in=[son, elderly["alone_56"][0],
                                                    elderly["in_home"][0]]).exists()
    again = services.generate_tasks(D(2026, 11, 20), "341002")
    assert again.created == 0
    assert again.by_group["empty_nest"] == 2 and again.by_group["living_alone"] == 1
    # December: the monthly groups again, 高龄 still in its quarter
    december = services.generate_tasks(D(2026, 12, 1), "341002")
    assert december.created == 5 and december.by_group["advanced_age"] == 1


def test_a_visit_closes_every_group_task_of_the_person(world, elderly) -> None:
    services.generate_tasks(MONTH, "341002")
    alone = elderly["alone_86"][0]
    assert VisitTask.objects.filter(person=alone, status=VisitTask.OPEN).count() == 2
    services.record_visit(by=world.users.village_assistant, person=alone,
                          data=services.VisitInput(visited_on=D(2026, 11, 3), seen="本人",
                                                   living="独居，身体尚可"))
    assert not VisitTask.objects.filter(person=alone, status=VisitTask.OPEN).exists()


def test_the_care_page_counts_each_group(client, world, elderly, monkeypatch) -> None:
    from doudi.core import clock

    monkeypatch.setattr(clock, "today", lambda: D(2026, 11, 10))
    services.generate_tasks(MONTH, "341002")
    assert client.login(username="district_officer", password=PASSWORD)
    page = client.get("/care/")
    assert page.status_code == 200
    html = page.content.decode()
    table = html[html.index('id="care-by-group"'):]
    table = table[:table.index("</table>")]
    row = table[table.index("空巢老年人"):]
    assert row[:row.index("</tr>")].count('<td class="num">2</td>') == 2  # 2 tasks, 2 open
    for label in ("高龄老年人", "独居老年人", "失能老年人", "计生特殊家庭老年人"):
        assert label in table


def test_the_family_planning_mark_is_a_checkbox(world, elderly) -> None:
    person = elderly["with_son"][0]
    assert person.care_profile.family_planning_special
    services.save_profile(by=world.users.village_assistant, person=person,
                          family_planning_special="")
    person.care_profile.refresh_from_db()
    assert not person.care_profile.family_planning_special
