"""A department feed type added as docs/adding-a-feed-type.md says is imported, matched,
reported, kept, verified and monitored with no other edit. The made-up 殡葬 · 火化信息
(`tests/exchange/made_up_feed/`) goes both ways the guide describes: a district's own type
loaded from YAML (A), and a shipped type with a risk indicator (B), whose entries the test
appends to copies of the two shipped YAML files, as a developer appends them to the files."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import xlsxwriter
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from doudi.accounts.services import create_user
from doudi.audit import context
from doudi.core.masking import mask_id_number
from doudi.engine.monitoring import indicators
from doudi.exchange import feed_types
from doudi.exchange.department_api import issue_department_token
from doudi.exchange.imports import batch_rows, report_rows
from doudi.exchange.models import FeedBatch, FeedType, ImportJob
from doudi.exchange.verification import build
from doudi.monitoring import services as monitoring
from doudi.monitoring.models import Warning
from tests.conftest import DISTRICT, PASSWORD
from tests.exchange.helpers import bad_check_digit, outsider_id

pytestmark = pytest.mark.django_db

HERE = Path(__file__).parent / "made_up_feed"
SPEC = HERE / "cremation.yaml"  # the feed type
INDICATOR = HERE / "indicator.yaml"  # its risk indicator
HEADER = ["火化证明编号", "逝者姓名", "身份证号", "死亡日期", "火化日期", "殡仪馆"]


# -- the two routes of the guide ----------------------------------------------------------

@pytest.fixture
def own_type(shipped_feed_types) -> FeedType:
    """A: the district loads its own type: `doudi feeds load cremation.yaml`."""
    out = io.StringIO()
    call_command("feeds", "load", str(SPEC), stdout=out)
    assert "已保存：殡葬·火化信息" in out.getvalue()
    return FeedType.objects.get(key="cremation")


def _appended(shipped: Path, entry: Path) -> str:
    """The shipped file with the entry as the last item of its list (comments left out)."""
    lines = [ln for ln in entry.read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.startswith("#")]
    item = ["  - " + lines[0], *("    " + ln for ln in lines[1:])]
    return shipped.read_text(encoding="utf-8").rstrip("\n") + "\n" + "\n".join(item) + "\n"


def _forget_shipped() -> None:
    feed_types.shipped_documents.cache_clear()
    indicators._shipped.cache_clear()


@pytest.fixture
def shipped_type(shipped_feed_types, tmp_path) -> Iterator[FeedType]:
    """B: the entry under `feed_types:` in shipped_feed_types.yaml, the indicator under
    `indicators:` in shipped_indicators.yaml, then `doudi feeds load-shipped`."""
    edits: list[tuple[ModuleType, Path]] = [(feed_types, SPEC), (indicators, INDICATOR)]
    with pytest.MonkeyPatch.context() as patch:
        for module, entry in edits:
            copy = tmp_path / module.SHIPPED_FILE.name
            copy.write_text(_appended(module.SHIPPED_FILE, entry), encoding="utf-8")
            patch.setattr(module, "SHIPPED_FILE", copy)
        _forget_shipped()
        try:
            out = io.StringIO()
            call_command("feeds", "load-shipped", stdout=out)
            assert "更新系统提供的数据接口类型 1 个" in out.getvalue()
            yield FeedType.objects.get(key="cremation")
        finally:
            patch.undo()
            _forget_shipped()


# -- what a department sends ----------------------------------------------------------------

def _cn(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def cremation_csv(rows: list[tuple[str, str, str, str, str]]) -> bytes:
    """rows: (火化证明编号, 逝者姓名, 身份证号, 死亡日期, 火化日期); GB18030, as many departments
    still write CSV."""
    lines = [",".join(HEADER)] + [",".join([*r, "屯溪区殡仪馆"]) for r in rows]
    return ("\n".join(lines) + "\n").encode("gb18030")


def cremation_xlsx(rows: list[tuple[str, str, str, dt.date]]) -> bytes:
    """rows: (火化证明编号, 逝者姓名, 身份证号, 火化日期); real Excel dates, a title row above the
    header, the sheet the spec names."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet("火化登记")
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write(0, 0, "屯溪区殡仪馆火化信息")
    sheet.write_row(1, 0, HEADER)
    for n, (cert, name, idn, day) in enumerate(rows, start=2):
        sheet.write_row(n, 0, [cert, name, idn])
        for col, d in ((3, day - dt.timedelta(days=2)), (4, day)):
            sheet.write_datetime(n, col, dt.datetime.combine(d, dt.time()), date)
        sheet.write(n, 5, "屯溪区殡仪馆")
    book.close()
    return buf.getvalue()


def _people(world):
    head = world.village_hh.head()
    spouse = world.same_town_hh.current_memberships().get(relation="spouse").person
    return head, spouse


def _import_csv(world, tmp_path, day: dt.date) -> tuple[str, str]:
    """`doudi import cremation FILE`: two registry persons, one nobody, one bad ID."""
    head, spouse = _people(world)
    bad = bad_check_digit(world.other_town_hh.head().id_number)
    ago = [day - dt.timedelta(days=n) for n in (12, 10, 5, 3)]
    path = tmp_path / "殡葬_火化信息_10月.csv"
    path.write_bytes(cremation_csv([
        ("HH2026100001", head.name, head.id_number, _cn(ago[0]), f"{ago[1]:%Y/%-m/%-d}"),
        ("HH2026100002", spouse.name, spouse.id_number, f"{ago[1]:%Y%m%d}", ago[2].isoformat()),
        ("HH2026100003", "王大力", outsider_id(1), ago[2].isoformat(), ago[3].isoformat()),
        ("HH2026100004", "赵四", bad, ago[2].isoformat(), ago[3].isoformat()),
    ]))
    out = io.StringIO()
    call_command("import", "cremation", str(path), "--period", f"{day:%Y-%m}", stdout=out)
    return out.getvalue(), bad


# -- A: a district's own type -----------------------------------------------------------------

def test_a_districts_own_type_is_imported_matched_reported_verified_and_purged(
        own_type, world, shipped_parameters, tmp_path) -> None:
    assert not own_type.shipped and own_type.parsed().verification == "death"
    day = timezone.localdate()
    printed, bad = _import_csv(world, tmp_path, day)
    head, spouse = _people(world)

    # matching: by resident ID; the person nobody registered is kept, unmatched
    batch = FeedBatch.objects.get(feed_type=own_type)
    assert (batch.version, batch.rows, batch.good_rows, batch.error_rows) == (1, 4, 3, 1)
    assert (batch.matched_id, batch.matched_weak, batch.unmatched) == (2, 0, 1)
    stored = {r["certificate_no"]: r for r in batch_rows(batch).iter_rows(named=True)}
    assert (stored["HH2026100001"]["person_id"], stored["HH2026100001"]["match"]) == \
        (head.pk, "id")
    assert stored["HH2026100002"]["person_id"] == spouse.pk
    assert stored["HH2026100002"]["died_on"] == day - dt.timedelta(days=10)  # 20261023
    assert stored["HH2026100001"]["died_on"] == day - dt.timedelta(days=12)  # 2026年…月…日
    assert stored["HH2026100003"]["match"] == "none"

    # the error report: the bad row refused, with a Chinese reason and the ID masked
    report = report_rows(ImportJob.objects.get(batch=batch)).to_dicts()
    assert report == [{"row": 5, "field": "id_number", "label": "身份证号",
                       "value": mask_id_number(bad), "reason": "身份证号校验码错误",
                       "sheet": "", "level": "拒收"}]
    assert "第 5 行 身份证号" in printed and "身份证号校验码错误" in printed

    # the 核对报告 reads it under the section its `verification:` names
    content, used = build(world.village_hh, day)
    section = next(s for s in content["sections"] if s["feed"] == "cremation")
    assert section["key"] == "death" and section["title"] == "殡葬 · 死亡信息"
    line = section["lines"][0]
    assert line["person_id"] == head.pk and line["difference"]  # the registry lacks the death
    assert line["sources"][0]["row"] == 2 and batch in used

    # retention: past `exchange.unmatched_retention_days` the unmatched row is deleted
    later = day + dt.timedelta(days=400)
    call_command("feeds", "purge", "--today", later.isoformat(), stdout=io.StringIO())
    batch.refresh_from_db()
    assert (batch.good_rows, batch.unmatched) == (2, 0)
    assert set(batch_rows(batch)["certificate_no"]) == {"HH2026100001", "HH2026100002"}


def test_the_page_takes_the_same_yaml_and_offers_the_upload(client, users,
                                                            shipped_feed_types) -> None:
    client.force_login(users.district_admin)
    response = client.post("/exchange/types/new/", {"spec": SPEC.read_text(encoding="utf-8")})
    assert response.status_code == 302, response.content.decode()[:500]
    feed = FeedType.objects.get(key="cremation")
    assert not feed.shipped and [f.label for f in feed.parsed().fields] == HEADER
    assert "/exchange/cremation/upload/" in client.get("/exchange/").content.decode()
    page = client.get("/exchange/cremation/upload/").content.decode()
    assert all(h in page for h in HEADER) and "公民身份号码" in page  # headers and aliases


@pytest.mark.usefixtures("fresh_rate_limit")
def test_its_department_pushes_an_excel_file_through_the_api(
        own_type, world, client, django_capture_on_commit_callbacks) -> None:
    with context.job("test department accounts"):
        for username, department in (("binzang", "殡葬"), ("cheguan", "车管")):
            user = create_user(username=username, password=PASSWORD, area_code=DISTRICT,
                               roles=["department"])
            user.department = department
            user.save()
    person = world.other_town_hh.head()
    day = timezone.localdate() - dt.timedelta(days=3)
    data = cremation_xlsx([("HH2026110001", person.name, person.id_number, day),
                           ("HH2026110002", "钱七", bad_check_digit(outsider_id(2)), day)])

    def push(username: str):
        auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_department_token(username)}"}
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/api/feeds/cremation/batches",
                                   {"file": SimpleUploadedFile("火化信息.xlsx", data)}, **auth)
        return response, auth

    refused, _ = push("cheguan")  # another department's type
    assert refused.status_code == 403
    response, auth = push("binzang")
    assert response.status_code == 202, response.content
    job = client.get(f"/api/feeds/jobs/{response.json()['id']}", **auth).json()
    assert job["status"] == "done", job
    assert (job["counts"]["good"], job["counts"]["errors"], job["counts"]["matched_id"]) == \
        (1, 1, 1)
    batch = FeedBatch.objects.get(pk=job["batch_id"])
    assert batch.sheet == "火化登记"
    row = batch_rows(batch).row(0, named=True)
    assert (row["person_id"], row["cremated_on"]) == (person.pk, day)
    errors = client.get(job["errors_url"], **auth).json()
    assert [(e["column"], e["reason"]) for e in errors] == [("身份证号", "身份证号校验码错误")]


# -- B: a shipped type with a risk indicator --------------------------------------------------

def test_a_shipped_type_and_its_indicator_raise_a_warning_for_the_matched_person(
        shipped_type, world, shipped_parameters, tmp_path) -> None:
    assert shipped_type.shipped
    with pytest.raises(CommandError, match="系统提供的数据接口类型不能修改"):
        call_command("feeds", "load", str(SPEC))
    assert "cremated" in {i.key for i in monitoring.indicators_for(DISTRICT)}

    day = timezone.localdate()
    _import_csv(world, tmp_path, day)
    run = monitoring.execute(monitoring.start_run(by=None, area_code=DISTRICT, trigger="cli",
                                                  as_of=day))
    assert run.status == run.DONE, run.message
    assert run.inputs["feeds"]["cremation"] == [1] and run.counts["cremated"] == 2

    head, spouse = _people(world)
    found = Warning.objects.filter(indicator="cremated")
    assert {(w.household_id, w.person_id) for w in found} == {
        (world.village_hh.pk, head.pk), (world.same_town_hh.pk, spouse.pk)}
    w = found.get(person=head)
    assert (w.summary, w.level, w.source, w.handler_level) == ("火化人员仍在册", 2, "cremation",
                                                               "town")
    assert w.owner_code == world.village_hh.area_code[:9]  # the town that handles it
    assert w.event_date == day - dt.timedelta(days=10)  # the 火化日期
    evidence = json.dumps(w.evidence, ensure_ascii=False)
    assert "HH2026100001" in evidence and head.id_number not in evidence

    # the same data again raises nothing new: one open warning per subject
    again = monitoring.execute(monitoring.start_run(by=None, area_code=DISTRICT, trigger="cli",
                                                    as_of=day))
    assert again.created == 0 and found.count() == 2


def test_without_the_entries_nothing_is_shipped() -> None:
    assert "cremation" not in {d["key"] for d in feed_types.shipped_documents()}
    assert "cremated" not in {i.key for i in indicators.shipped()}
