"""推送名单 (outbound lists) on a synthetic district (any seed: `DOUDI_TEST_SEED`): each shipped
list equals a query written here another way — plain loops over enrollments, memberships,
categories and persons — and a department's incremental pull after changes (a new enrollment,
an ended one, a moved category date) carries exactly those changes; a pull with nothing new is
empty. Fields are masked as each list declares; another department, staff and another district
are refused; the Excel file carries the declared layout; every delivery is recorded and
audited; the schedule writes files into the outbox."""

from __future__ import annotations

import datetime as dt
import io
import os
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from python_calamine import CalamineWorkbook

from doudi.accounts.services import create_user
from doudi.audit import context
from doudi.audit.models import AuditEvent
from doudi.benefits import services
from doudi.benefits.models import Enrollment
from doudi.core import clock
from doudi.core.masking import mask_id_number, mask_name, mask_phone
from doudi.exchange import outbound, outbound_types
from doudi.exchange.department_api import issue_department_token
from doudi.exchange.models import OutboundDelivery
from doudi.exchange.outbound_types import OutboundSpecError, parse
from doudi.registry.models import CategoryAssignment, Household, Membership, Person
from tests.conftest import DISTRICT, PASSWORD

pytestmark = pytest.mark.django_db
SEED = int(os.environ.get("DOUDI_TEST_SEED", "23"))

# ---- the independent oracle: the lists as a clerk would write them down ----------------------

WHOLE_HOUSEHOLD = {"dibao", "edge", "hardship"}
LABEL = {"dibao": "低保", "single_person": "低保", "tekun": "特困", "edge": "低保边缘",
         "hardship": "支出型困难", "child": "孤儿/事实无人抚养儿童",
         "relapse_watch": "防返贫监测对象"}
# key → (programmes enrolled, categories, who among those, age bounds)
LISTS = {
    "medical_insurance_subsidy": ({"dibao", "single_person", "tekun", "edge"},
                                  {"edge", "relapse_watch"}, "all", (None, None)),
    "education_aid": ({"dibao", "single_person", "tekun", "edge", "hardship", "child"},
                      {"relapse_watch"}, "school", (3, 25)),
    "housing_assistance": ({"dibao", "single_person", "tekun", "edge"}, set(), "head",
                           (None, None)),
    "employment_assistance": ({"dibao", "single_person", "edge", "hardship"},
                              {"relapse_watch"}, "work", (16, 59)),
}


def _live(start: dt.date, end: dt.date | None, day: dt.date) -> bool:
    return start <= day and (end is None or end > day)


def _age(born: dt.date, day: dt.date) -> int:
    years = day.year - born.year
    return years - 1 if (day.month, day.day) < (born.month, born.day) else years


def expected(key: str, day: dt.date, area: str = DISTRICT) -> dict[int, tuple]:
    """person id → (category labels, since, until) on `day`, by hand."""
    programmes, categories, who, (low, high) = LISTS[key]
    living: dict[int, set[int]] = {}
    for m in Membership.objects.all():
        if m.co_resident and _live(m.start_date, m.end_date, day):
            living.setdefault(m.household_id, set()).add(m.person_id)
    found: dict[int, list[tuple[str, dt.date, dt.date | None]]] = {}
    for e in Enrollment.objects.all():
        if e.programme not in programmes or not e.area_code.startswith(area) \
                or not _live(e.start_date, e.end_date, day):
            continue
        whom = living.get(e.household_id, set()) \
            if e.person_id is None or e.programme in WHOLE_HOUSEHOLD else {e.person_id}
        for pid in whom:
            found.setdefault(pid, []).append((LABEL[e.programme], e.start_date, e.end_date))
    for c in CategoryAssignment.objects.all():
        if c.category not in categories or not c.area_code.startswith(area) \
                or not _live(c.start_date, c.end_date, day):
            continue
        whom = {c.person_id} if c.person_id else living.get(c.household_id, set())
        for pid in whom:
            found.setdefault(pid, []).append((LABEL[c.category], c.start_date, c.end_date))
    out = {}
    for p in Person.objects.filter(pk__in=list(found)):
        age = _age(p.birth_date, day)
        if (low is not None and age < low) or (high is not None and age > high):
            continue
        if who == "school" and not p.student_status:
            continue
        if who == "work" and (p.labour_capacity == "none" or p.student_status):
            continue
        if who == "head":
            ms = [m for m in Membership.objects.filter(person=p)
                  if _live(m.start_date, m.end_date, day)]
            ms.sort(key=lambda m: (not m.co_resident, m.start_date))
            if not ms or ms[0].relation != "head":
                continue
        items = found[p.pk]
        ends = [i[2] for i in items]
        out[p.pk] = (frozenset(i[0] for i in items), min(i[1] for i in items).isoformat(),
                     "" if None in ends else max(ends).isoformat())
    return out


def produced(key: str, day: dt.date, area: str = DISTRICT) -> dict[int, tuple]:
    frame = outbound.produce(outbound_types.get(key), area, day)
    assert frame["person_id"].n_unique() == frame.height
    return {r["person_id"]: (frozenset(r["category"].split("、")), r["since"], r.get("until", ""))
            for r in frame.iter_rows(named=True)}


def _without_until(rows: dict[int, tuple]) -> dict[int, tuple]:
    return {k: v[:2] for k, v in rows.items()}


# ---- the district -------------------------------------------------------------------------

@pytest.fixture
def district(users, tmp_path, shipped_parameters):
    call_command("synth", "--area", "341002", "--households", "300", "--seed", str(SEED),
                 "--out", str(tmp_path / "synth"), "--into-db", stdout=StringIO())
    today = clock.today()
    rows = list(Enrollment.objects.order_by("id"))
    assert any(e.person_id is None for e in rows) and any(e.person_id for e in rows)
    with context.job("test outbound district"):
        for e in rows[::9]:  # some ended last month, some start later: the day matters
            e.end_date = today.replace(day=1) - dt.timedelta(days=3)
            e.save(update_fields=["end_date"])
        for e in rows[4::13]:
            e.start_date = today + dt.timedelta(days=40)
            e.save(update_fields=["start_date"])
        # 防返贫监测对象: households with and without an enrollment, one ended, one later
        plain = list(Household.objects.filter(enrollments__isnull=True).order_by("id")[:12])
        covered = list(Household.objects.filter(enrollments__isnull=False).distinct()
                       .order_by("-id")[:4])
        for n, h in enumerate(plain[:8] + covered):
            CategoryAssignment.objects.create(
                household=h, category="relapse_watch", area_code=h.area_code,
                start_date=today - dt.timedelta(days=200 + n),
                end_date=today - dt.timedelta(days=5) if n == 6 else
                today + dt.timedelta(days=100) if n == 5 else None)
        CategoryAssignment.objects.create(household=plain[8], category="relapse_watch",
                                          area_code=plain[8].area_code,
                                          start_date=today + dt.timedelta(days=10))
    return users


def department(username: str, name: str, area: str = DISTRICT) -> dict:
    with context.job("test department account"):
        user = create_user(username=username, password=PASSWORD, area_code=area,
                           roles=["department"])
        user.department = name
        user.save()
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_department_token(username)}"}


# ---- tests --------------------------------------------------------------------------------

def test_each_shipped_list_equals_an_independent_query(district) -> None:
    today = clock.today()
    month_end = today.replace(day=1) - dt.timedelta(days=1)
    sizes = {}
    for key in LISTS:
        for day in (today, month_end):
            want, got = expected(key, day), produced(key, day)
            if key in ("housing_assistance", "employment_assistance"):  # no 终止日期 column
                want, got = _without_until(want), _without_until(got)
            assert got == want, (key, day, set(got) ^ set(want))
        sizes[key] = len(expected(key, today))
    assert all(sizes.values()), sizes
    # the lists reach different people: a member filter that did nothing would show here
    assert sizes["medical_insurance_subsidy"] > sizes["employment_assistance"] > 0
    assert sizes["medical_insurance_subsidy"] > sizes["housing_assistance"]
    # 防返贫 alone puts a household's members on the 医保 list, in force only
    relapse = produced("medical_insurance_subsidy", today)
    assert any(v[0] == frozenset({"防返贫监测对象"}) for v in relapse.values())
    # 家庭人口 is the co-resident members on the day
    frame = outbound.produce(outbound_types.get("housing_assistance"), DISTRICT, today)
    for r in frame.head(20).iter_rows(named=True):
        h = Household.objects.get(number=r["household_number"])
        assert r["household_size"] == sum(
            1 for m in h.memberships.all() if m.co_resident and _live(m.start_date, m.end_date,
                                                                       today))
    # another district's view of the same data is empty
    assert outbound.produce(outbound_types.get("medical_insurance_subsidy"), "440103",
                            today).height == 0


def _changes(client: Client, key: str, token: dict, since: int | None = None) -> dict:
    url = f"/api/outbound/{key}/changes" + (f"?since={since}" if since else "")
    got = client.get(url, **token)
    assert got.status_code == 200, got.content
    return got.json()


def test_an_incremental_pull_carries_exactly_the_changes(district, client,
                                                        fresh_rate_limit) -> None:
    today = clock.today()
    key = "medical_insurance_subsidy"
    token = department("yibao", "医保")
    first = client.get(f"/api/outbound/{key}", **token)
    assert first.status_code == 200, first.content
    body = first.json()
    before = expected(key, today)
    by_id = {p.id_number: p.pk for p in Person.objects.all()}
    assert {by_id[r["id_number"]] for r in body["rows"]} == set(before)
    assert body["total"] == len(before) == len(body["rows"]) and body["kind"] == "full"
    assert [c["label"] for c in body["columns"]][:2] == ["公民身份号码", "参保人姓名"]

    with context.job("test outbound changes"):
        # a new enrollment: a household on no list
        listed = {m.household_id for m in Membership.objects.filter(person_id__in=before)}
        fresh = (Household.objects.exclude(pk__in=listed)
                 .exclude(categories__isnull=False).order_by("id").first())
        services.enroll(by=district.district_approver, household=fresh, programme="dibao",
                        amount_fen=60_000, start_date=today - dt.timedelta(days=2))
        # an ended one: a 低保 household whose members nothing else lists
        ended = next(e for e in Enrollment.objects.filter(
            programme="dibao", person__isnull=True, end_date__isnull=True,
            start_date__lte=today).order_by("id")
            if not CategoryAssignment.objects.filter(
                household=e.household, category__in=["edge", "relapse_watch"]).exists()
            and not Enrollment.objects.filter(household=e.household).exclude(pk=e.pk).exists())
        ended.end_date = today - dt.timedelta(days=1)
        ended.save(update_fields=["end_date"])
        # a changed category date: a 防返贫 household with nothing else
        moved = next(c for c in CategoryAssignment.objects.filter(
            category="relapse_watch", end_date__isnull=True, start_date__lte=today)
            if not c.household.enrollments.exists())
        moved.start_date -= dt.timedelta(days=30)
        moved.save(update_fields=["start_date"])

    after = expected(key, today)
    members = {h: {m.person_id for m in Membership.objects.filter(household=h, co_resident=True,
                                                                   end_date__isnull=True)}
               for h in (fresh, ended.household, moved.household)}
    want = ({pid: "新增" for pid in set(after) - set(before)}
            | {pid: "退出" for pid in set(before) - set(after)}
            | {pid: "变更" for pid in set(after) & set(before) if after[pid] != before[pid]})
    assert want == ({p: "新增" for p in members[fresh]} | {p: "退出" for p in
                                                            members[ended.household]}
                    | {p: "变更" for p in members[moved.household]})

    delta = _changes(client, key, token)
    got = {by_id[r["id_number"]]: r["change"] for r in delta["rows"]}
    assert got == want
    assert (delta["added"], delta["changed"], delta["removed"]) == (
        len(members[fresh]), len(members[moved.household]), len(members[ended.household]))
    assert delta["since"] == body["delivery"] and delta["total"] == len(after)
    for r in delta["rows"]:
        pid = by_id[r["id_number"]]
        if r["change"] == "退出":  # who, and the day the record that listed them ended
            assert r["until"] == ended.end_date.isoformat() and r["category"] == ""
            assert r["name"] == Person.objects.get(pk=pid).name
        else:
            assert (frozenset(r["category"].split("、")), r["since"], r["until"]) == after[pid]
    assert {r["since"] for r in delta["rows"] if r["change"] == "变更"} == {
        moved.start_date.isoformat()}

    # nothing changed since: an empty pull; asking again from the first one repeats the delta
    again = _changes(client, key, token)
    assert again["rows"] == [] and again["since"] == delta["delivery"]
    retry = _changes(client, key, token, since=body["delivery"])
    assert {by_id[r["id_number"]]: r["change"] for r in retry["rows"]} == want

    # what was sent is recorded, and audited: what left, to whom, how many persons
    d = OutboundDelivery.objects.get(pk=delta["delivery"])
    assert (d.channel, d.kind, d.department, d.area_code, d.persons, d.since_id) == (
        "api", "changes", "医保", DISTRICT, len(want), body["delivery"])
    assert len(d.state) == len(after) and len(d.digest) == 64
    event = AuditEvent.objects.get(object_type="exchange.outbounddelivery", object_id=str(d.pk))
    assert event.action == AuditEvent.EXPORT and event.changes["to"] == "医保"
    assert event.changes["persons"] == len(want) and event.changes["unmasked"] == [
        "id_number", "name"]
    sent_ids = {r["id_number"] for r in delta["rows"]}
    assert not any(i in event.object_label or i in str(event.changes) for i in sent_ids)
    assert AuditEvent.objects.filter(action=AuditEvent.API, actor_name="yibao").count() == 4


def test_fields_are_masked_as_each_list_declares(district, client, fresh_rate_limit) -> None:
    people = {p.pk: p for p in Person.objects.all()}
    today = clock.today()
    seen = {}
    for key, dept, username in (("education_aid", "教育", "jiaoyu"),
                                ("housing_assistance", "住建", "zhujian"),
                                ("employment_assistance", "人社", "renshe")):
        got = client.get(f"/api/outbound/{key}", **department(username, dept))
        assert got.status_code == 200, got.content
        seen[key] = got.json()["rows"]
        frame = outbound.produce(outbound_types.get(key), DISTRICT, today)
        full = frame.to_dicts()
        assert len(full) == len(seen[key]) > 0
        for sent, row in zip(seen[key], full, strict=True):
            p = people[row["person_id"]]
            if key == "education_aid":  # the ID to find the 学籍; the name masked
                assert sent["id_number"] == p.id_number and sent["name"] == mask_name(p.name)
            elif key == "housing_assistance":  # the address to visit; the head masked
                assert sent["id_number"] == mask_id_number(p.id_number)
                assert sent["name"] == mask_name(p.name)
                assert sent["address"] == row["address"] and sent["address"]
            else:
                assert sent["id_number"] == p.id_number and sent["name"] == mask_name(p.name)
                assert sent["birth_date"] == f"{p.birth_date:%Y}-**-**"
                assert sent["phone"] == mask_phone(p.phone)
    assert all(len(r["name"]) < 2 or "*" in r["name"] for rows in seen.values() for r in rows)


def test_other_departments_staff_and_districts_are_refused(district, client,
                                                           fresh_rate_limit) -> None:
    key = "medical_insurance_subsidy"
    yibao = department("yibao", "医保")
    first = client.get(f"/api/outbound/{key}", **yibao).json()
    # a list addressed to another department: not found, as one that does not exist
    jiaoyu = department("jiaoyu", "教育")
    assert client.get(f"/api/outbound/{key}", **jiaoyu).status_code == 404
    assert client.get(f"/api/outbound/{key}/changes", **jiaoyu).status_code == 404
    assert client.get("/api/outbound/no_such_list", **yibao).status_code == 404
    # staff hold no department token: refused
    staff = client.post("/api/token", {"username": "district_officer", "password": PASSWORD},
                        content_type="application/json").json()["token"]
    assert client.get(f"/api/outbound/{key}",
                      HTTP_AUTHORIZATION=f"Bearer {staff}").status_code == 403
    assert client.get(f"/api/outbound/{key}").status_code == 401
    # the same department in another district: its own area only, and not the other's pulls
    other = department("yibao_gd", "医保", area="440103")
    got = client.get(f"/api/outbound/{key}", **other)
    assert got.status_code == 200 and got.json()["rows"] == []
    assert got.json()["area_code"] == "440103"
    assert client.get(f"/api/outbound/{key}/changes?since={first['delivery']}",
                      **other).status_code == 404
    # nor may the district's page be used without the capability
    web = Client()
    web.login(username="village_assistant", password=PASSWORD)
    assert web.get("/exchange/outbound/").status_code == 403
    assert web.post(f"/exchange/outbound/{key}/download/", {"kind": "full"}).status_code == 403
    assert OutboundDelivery.objects.count() == 2


def _sheet(data: bytes) -> tuple[list[str], list[list]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return book.sheet_names, book.get_sheet_by_index(0).to_python()


def test_the_page_previews_and_downloads_the_departments_layout(district) -> None:
    today = clock.today()
    web = Client()
    web.login(username="district_officer", password=PASSWORD)
    page = web.get("/exchange/outbound/")
    assert page.status_code == 200
    text = page.content.decode()
    for key in LISTS:
        assert f'id="outbound-{key}-total">{len(expected(key, today))}<' in text
    assert OutboundDelivery.objects.count() == 0  # a preview sends nothing

    list_type = outbound_types.get("medical_insurance_subsidy")
    got = web.post(f"/exchange/outbound/{list_type.key}/download/", {"kind": "full"})
    assert got.status_code == 200 and got["Content-Disposition"].endswith(".xlsx")
    sheets, rows = _sheet(got.content)
    assert sheets == ["资助参保名单"]
    assert rows[0] == ["公民身份号码", "参保人姓名", "性别", "资助类别", "认定日期", "终止日期",
                       "所在村（社区）", "区划代码"]
    want = expected(list_type.key, today)
    ids = {p.pk: p.id_number for p in Person.objects.filter(pk__in=list(want))}
    assert sorted(str(r[0]) for r in rows[1:]) == sorted(ids.values())
    d = OutboundDelivery.objects.get()
    assert (d.channel, d.kind, d.persons, d.produced_by) == ("file", "full", len(want),
                                                             district.district_officer)
    assert AuditEvent.objects.filter(object_type="exchange.outbounddelivery",
                                     object_id=str(d.pk), action=AuditEvent.EXPORT).exists()
    # nothing changed since the file: a file of changes holds its header only
    got = web.post(f"/exchange/outbound/{list_type.key}/download/", {"kind": "changes"})
    sheets, rows = _sheet(got.content)
    assert rows == [["变动类型", *[f.label for f in list_type.fields]]]
    # the employment list in its own order, the ID in full and the phone masked
    got = web.post("/exchange/outbound/employment_assistance/download/", {"kind": "changes"})
    sheets, rows = _sheet(got.content)
    assert sheets == ["就业援助名单"]
    assert rows[0] == ["变动类型", "身份证号码", "姓名", "性别", "出生日期", "劳动能力",
                       "联系电话", "家庭困难类别", "认定日期", "所在村（社区）"]
    assert {r[0] for r in rows[1:]} == {"新增"}
    assert len(rows) - 1 == len(expected("employment_assistance", today))
    assert all(str(r[4]).endswith("-**-**") for r in rows[1:])


def test_the_schedule_writes_files_into_the_outbox(district, settings) -> None:
    out = StringIO()
    call_command("outbound", "produce", "--all", "--area", DISTRICT, stdout=out)
    files = sorted(p.relative_to(settings.OUTBOX_DIR).parts[0]
                   for p in settings.OUTBOX_DIR.rglob("*.xlsx"))
    assert files == sorted(["人社", "住建", "医保", "教育"])
    assert OutboundDelivery.objects.filter(channel="schedule").count() == 4
    d = OutboundDelivery.objects.get(list_key="housing_assistance")
    sheets, rows = _sheet(open(d.file_path, "rb").read())
    assert sheets == ["住房救助候选"] and rows[0][0] == "变动类型"
    assert len(rows) - 1 == d.persons == d.total == d.added
    # run again with nothing changed: no file, no delivery
    out = StringIO()
    call_command("outbound", "produce", "--all", "--area", DISTRICT, stdout=out)
    assert out.getvalue().count("无变动") == 4
    assert OutboundDelivery.objects.count() == 4


@pytest.mark.parametrize(("change", "message"), [
    ({"selection": {"categories": ["dibao"]}}, "随在保认定，不能单独选取"),
    ({"selection": {"programmes": ["linshi"]}}, "不是按月在保的救助项目"),
    ({"selection": {"programmes": ["dibao"], "members": {"filter": "students"}}},
     "selection.members.filter"),
    ({"fields": [{"key": "salary", "label": "工资"}]}, "未知字段“salary”"),
    ({"fields": [{"key": "sex", "label": "性别", "masked": True}]}, "无需脱敏"),
    ({"layout": {"sheet": "名单", "columns": ["name"]}}, "layout.columns 缺少字段 id_number"),
    ({"key": "Bad Key"}, "key 应为小写字母开头"),
])
def test_a_wrong_list_type_is_refused_in_chinese(change, message) -> None:
    doc = {"key": "made_up", "department": "殡葬", "name": "测试名单",
           "selection": {"programmes": ["dibao"]},
           "fields": [{"key": "id_number", "label": "身份证号", "masked": False},
                      {"key": "name", "label": "姓名"}]}
    with pytest.raises(OutboundSpecError, match=message):
        parse({**doc, **change}, "测试.yaml")


def test_the_shipped_lists_are_valid_and_reach_departments_accounts_may_have(db) -> None:
    from doudi.exchange.feed_types import departments

    types = outbound_types.shipped()
    assert {t.department for t in types} == {"医保", "教育", "住建", "人社"}
    assert {"医保", "教育", "住建", "人社"} <= set(departments())  # 住建 sends no feed
    for t in types:
        assert t.field("id_number")
        assert t.headers(False) == [t.field(c).label for c in t.columns if c != "change"]
