"""Hostile files and forms at every way in: whatever arrives, the answer is a Chinese message
or a row-level error report, never an unhandled exception or a 500, and a refused input writes
nothing (the row counts of every table, the audit log's included, are as before).

Files: the malformed-file corpus (tests/data/fuzz/make_corpus.py: truncated, disguised and
bomb-shaped Excel, badly encoded or shaped CSV, damaged Parquet) built in each path's own
layout and fed to the department feed import (`doudi import`, the upload page, the push API),
the division import (`doudi areas import`), the bank's result file (回盘, on the payment run
page), application attachments, the holiday schedule (`doudi calendar year`) and feed types
(`doudi feeds load`). Forms: Hypothesis posts random text, control characters and huge values
into every field of the household, application, visit, online-application and login forms.

Each file is tried inside a savepoint rolled back afterwards, so one test covers a whole
corpus against the same starting rows. DOUDI_FUZZ_EXAMPLES sets the form examples (default
25); the run is derandomized."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doudi.audit import context
from doudi.core import idnumber
from tests.conftest import PASSWORD, VILLAGE
from tests.data.fuzz.make_corpus import build
from tests.payees import card, give_payee

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limit")]

FORMS = settings(max_examples=int(os.environ.get("DOUDI_FUZZ_EXAMPLES", "25")), deadline=None,
                 derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture,
                                        HealthCheck.too_slow, HealthCheck.data_too_large])
CHINESE = re.compile(r"[\u4e00-\u9fff]")


# ---------------------------------------------------------------------------------------------
# what a request or a command wrote


def counts() -> dict[str, int]:
    """Rows of every table of the project (the audit log included)."""
    return {m._meta.label: m._default_manager.count() for m in apps.get_models()
            if m.__module__.startswith("doudi.")}


def written(before: dict[str, int]) -> set[str]:
    after = counts()
    return {label for label, n in after.items() if before.get(label) != n}


class Rollback(Exception):
    """Raised at the end of a savepoint to undo what one attempt wrote."""


def attempt(fn):
    """Run fn() in a savepoint and undo it; returns (what fn returned or raised, tables written)."""
    result: dict = {}
    try:
        with transaction.atomic():
            before = counts()
            try:
                result["value"] = fn()
            except Exception as exc:
                result["error"] = exc
            try:
                result["written"] = written(before)
            except transaction.TransactionManagementError:  # a database error went unhandled
                result["written"] = {"<transaction broken>"}
            raise Rollback
    except Rollback:
        pass
    return result


def vid(n: int) -> str:
    return idnumber.make("341002", dt.date(1970, 1, 1) + dt.timedelta(days=97 * n), n, "M")


VEHICLE_HEADER = ["号牌号码", "车辆类型", "机动车所有人", "身份证明号码", "中文品牌",
                  "初次登记日期", "机动车状态"]
VEHICLE_ROWS = [[f"皖J{n:05d}", "小型轿车", f"张{n}", vid(n), "比亚迪", "2020-03-01", "正常"]
                for n in range(1, 4)]
VEHICLE_CORPUS = build(VEHICLE_HEADER, VEHICLE_ROWS)
# files that are damaged beyond reading: every path must refuse them
UNREADABLE = {"empty.xlsx", "truncated.xlsx", "zip_not_xlsx.xlsx", "far_cell.xlsx",
              "ods_bomb.xlsx", "ole_garbage.xls", "empty.csv", "binary.csv",
              "truncated.parquet", "not_parquet.parquet"}
# what a failed department import leaves: the job that says why, and the audit of the upload
FEED_FAILURE_TABLES = {"exchange.ImportJob", "audit.AuditEvent"}


def test_the_corpus_covers_each_kind_of_damage():
    names = set(VEHICLE_CORPUS)
    assert UNREADABLE <= names
    assert {"formula.xlsx", "huge_cell.xlsx", "wrong_sheet.xlsx", "html.xls", "gbk.csv",
            "utf8_bom.csv", "nul.csv", "unbalanced_quotes.csv", "wide_10k.csv",
            "long_field.csv", "mixed_line_endings.csv", "header_only.csv",
            "wrong_schema.parquet", "wrong_types.parquet"} <= names
    assert len(VEHICLE_CORPUS["long_field.csv"]) > 1_000_000


# ---------------------------------------------------------------------------------------------
# department feeds: the command, the upload page, the push API


@pytest.fixture
def feeds(users, shipped_feed_types, settings):
    settings.DOUDI_API_RATE_PER_MINUTE = 1_000_000
    return users


def _feed_outcome(name: str, got: dict, problems: list[str]) -> None:
    error = got.get("error")
    if error is not None and not isinstance(error, CommandError):
        problems.append(f"{name}: {type(error).__name__}: {error}")
    elif error is not None and not CHINESE.search(str(error)):
        problems.append(f"{name}: message not in Chinese: {error}")
    elif error is not None and not got["written"] <= FEED_FAILURE_TABLES:
        problems.append(f"{name}: refused but wrote {sorted(got['written'])}")
    elif error is None and name in UNREADABLE:
        problems.append(f"{name}: an unreadable file was imported")


def test_feed_import_command_with_every_corpus_file(feeds, tmp_path):
    from doudi.exchange.models import FeedBatch, ImportJob

    problems: list[str] = []
    for name, data in VEHICLE_CORPUS.items():
        path = tmp_path / name
        path.write_bytes(data)

        def run(path: Path = path) -> dict:
            call_command("import", "vehicle", str(path), stdout=io.StringIO())
            job = ImportJob.objects.order_by("-pk").first()
            batch = job.batch
            assert job.status in (ImportJob.DONE, ImportJob.DUPLICATE), job.status
            assert batch.good_rows + batch.error_rows + batch.duplicate_rows == batch.rows
            assert FeedBatch.objects.count() == 1
            return {"status": job.status, "counts": job.counts}

        got = attempt(run)
        _feed_outcome(name, got, problems)
    assert problems == []


def test_feed_upload_page_with_every_corpus_file(client, feeds, django_capture_on_commit_callbacks):
    from doudi.exchange.models import ImportJob

    client.login(username="district_officer", password=PASSWORD)
    problems: list[str] = []
    for name, data in VEHICLE_CORPUS.items():
        def post(name: str = name, data: bytes = data) -> tuple[int, str]:
            with django_capture_on_commit_callbacks(execute=True):
                response = client.post("/exchange/vehicle/upload/",
                                       {"file": SimpleUploadedFile(name, data)})
            if response.status_code == 302:
                page = client.get(response["Location"])
                job = ImportJob.objects.order_by("-pk").first()
                assert page.status_code == 200, page.status_code
                assert job.status in (ImportJob.DONE, ImportJob.DUPLICATE, ImportJob.FAILED)
                assert CHINESE.search(job.message), job.message
                return 302, job.status
            return response.status_code, response.content.decode()[:100]

        got = attempt(post)
        if "error" in got:
            problems.append(f"{name}: {type(got['error']).__name__}: {got['error']}")
            continue
        code, status = got["value"]
        if code not in (200, 302):
            problems.append(f"{name}: HTTP {code}")
        elif status == ImportJob.FAILED and not got["written"] <= FEED_FAILURE_TABLES:
            problems.append(f"{name}: failed job but wrote {sorted(got['written'])}")
        elif name in UNREADABLE and status != ImportJob.FAILED:
            problems.append(f"{name}: an unreadable file was imported ({status})")
    assert problems == []


def test_feed_push_api_with_every_corpus_file(client, feeds, django_capture_on_commit_callbacks):
    from doudi.accounts.models import ApiToken
    from doudi.exchange.models import ImportJob

    token = ApiToken.issue(feeds.district_officer)
    problems: list[str] = []
    for name, data in VEHICLE_CORPUS.items():
        def push(name: str = name, data: bytes = data):
            with django_capture_on_commit_callbacks(execute=True):
                response = client.post("/api/feeds/vehicle/batches",
                                       {"file": SimpleUploadedFile(name, data)},
                                       HTTP_AUTHORIZATION=f"Bearer {token}")
            if response.status_code != 202:
                return response, {}
            # the job ran once the request's transaction committed: read what became of it
            job = client.get(f"/api/feeds/jobs/{response.json()['id']}",
                             HTTP_AUTHORIZATION=f"Bearer {token}")
            return response, job.json()

        got = attempt(push)
        if "error" in got:
            problems.append(f"{name}: {type(got['error']).__name__}: {got['error']}")
            continue
        response, job = got["value"]
        if response.status_code != 202:
            problems.append(f"{name}: HTTP {response.status_code}")
        elif job["status"] == ImportJob.FAILED:
            if not CHINESE.search(job["message"]):
                problems.append(f"{name}: {job['message']}")
            if not got["written"] <= FEED_FAILURE_TABLES:
                problems.append(f"{name}: failed job but wrote {sorted(got['written'])}")
        elif name in UNREADABLE:
            problems.append(f"{name}: an unreadable file was imported ({job['status']})")
    assert problems == []


# ---------------------------------------------------------------------------------------------
# divisions: doudi areas import


AREA_CORPUS = build(["code", "name"], [["34", "安徽省"], ["3401", "合肥市"],
                                       ["340102", "瑶海区"]])


def test_areas_import_with_every_corpus_file(areas, tmp_path):
    problems: list[str] = []
    for name, data in AREA_CORPUS.items():
        path = tmp_path / name
        path.write_bytes(data)
        got = attempt(lambda path=path: call_command(
            "areas", "import", str(path), stdout=io.StringIO(),
            stderr=io.StringIO()))
        error = got.get("error")
        if error is not None and not isinstance(error, CommandError):
            problems.append(f"{name}: {type(error).__name__}: {error}")
        elif error is not None and (got["written"] or not CHINESE.search(str(error))):
            problems.append(f"{name}: refused ({error}) but wrote {sorted(got['written'])}")
        elif error is None and name in UNREADABLE | {"nul.csv"}:
            problems.append(f"{name}: imported")
        elif error is None and got["written"] - {"areas.Area", "audit.AuditEvent"}:
            problems.append(f"{name}: wrote {sorted(got['written'])}")
    assert problems == []


def test_areas_import_reports_the_row_and_writes_nothing(areas, tmp_path):
    from doudi.areas.models import Area

    cases = {
        "nul.csv": "code,name\n3401,合肥市\n340102,瑶\x00海区\n",
        "quote.csv": 'code,name\n3401,"合肥市\n340102,瑶海区\n',
        "long.csv": "code,name\n3401," + "合" * 200_000 + "\n",
        "name101.csv": "code,name\n3401," + "合" * 101 + "\n",
        "fullwidth.csv": "code,name\n３４０１,合肥市\n",
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        before = Area.objects.count()
        with pytest.raises(CommandError, match="未写入任何数据"):
            call_command("areas", "import", str(tmp_path / name), stdout=io.StringIO(),
                         stderr=io.StringIO())
        assert Area.objects.count() == before, name
    (tmp_path / "gbk.csv").write_bytes("code,name\n3401,合肥市\n".encode("gbk"))
    call_command("areas", "import", str(tmp_path / "gbk.csv"), stdout=io.StringIO())
    assert Area.objects.get(code="340100000000").name == "合肥市"
    with pytest.raises(CommandError, match="未写入任何数据"):  # a directory, not a file
        call_command("areas", "import", str(tmp_path), stdout=io.StringIO(),
                     stderr=io.StringIO())


# ---------------------------------------------------------------------------------------------
# the bank's result file (回盘) on the payment run page


@pytest.fixture
def exported_run(world, shipped_parameters, shipped_bank_layouts):
    from doudi.benefits import bank_files, services
    from doudi.benefits.models import PaymentRun

    u = world.users
    with context.job("fuzz payment run"):
        e = services.enroll(by=u.district_approver, household=world.village_hh,
                            programme="dibao", amount_fen=61_050, start_date=dt.date(2026, 1, 1))
        give_payee(u, e, card("621700123456789"))
        run = services.build_run(by=u.district_officer, month=dt.date(2026, 3, 1),
                                 area_code="341002").run
        services.approve_run(by=u.district_approver, run=run, opinion="经审核，同意")
        bank_files.bank_file(by=u.district_officer, run=run)
    run.refresh_from_db()
    assert run.status == PaymentRun.EXPORTED
    return run


def test_bank_result_with_every_corpus_file(client, exported_run):
    from doudi.benefits.models import PaymentRun

    line = exported_run.lines.get()
    corpus = build(["流水号", "结果", "失败原因"], [[str(line.pk), "失败", "账户已冻结"],
                                              ["999999999", "成功", ""]])
    client.login(username="district_officer", password=PASSWORD)
    problems: list[str] = []
    for name, data in corpus.items():
        def upload(name: str = name, data: bytes = data):
            response = client.post(f"/payments/{exported_run.pk}/act/", {
                "action": "bank_result", "file": SimpleUploadedFile(name, data)})
            exported_run.refresh_from_db()
            return response.status_code, exported_run.status, response.content.decode()

        got = attempt(upload)
        if "error" in got:
            problems.append(f"{name}: {type(got['error']).__name__}: {got['error']}")
            continue
        code, status, page = got["value"]
        if code == 302:  # settled: the one line is failed, the unknown line counted
            if status != PaymentRun.SETTLED or name in UNREADABLE:
                problems.append(f"{name}: {code} {status}")
        elif code == 200:  # refused, the reason on the page, nothing written
            if got["written"]:
                problems.append(f"{name}: refused but wrote {sorted(got['written'])}")
            if status != PaymentRun.EXPORTED or not CHINESE.search(page):
                problems.append(f"{name}: {status}")
        else:
            problems.append(f"{name}: HTTP {code}")
    assert problems == []


def test_bank_result_of_another_run_settles_nothing(client, exported_run):
    from doudi.benefits.models import PaymentLine, PaymentRun

    client.login(username="district_officer", password=PASSWORD)
    data = "流水号,结果,失败原因\n999999,成功,\n999998,失败,销户\n".encode()
    page = client.post(f"/payments/{exported_run.pk}/act/", {
        "action": "bank_result", "file": SimpleUploadedFile("其他批次.csv", data)})
    assert page.status_code == 200 and "都不是本批次的流水号" in page.content.decode()
    exported_run.refresh_from_db()
    assert exported_run.status == PaymentRun.EXPORTED
    assert set(exported_run.lines.values_list("status", flat=True)) == {PaymentLine.PENDING}


# ---------------------------------------------------------------------------------------------
# application attachments


def test_attachments_with_every_corpus_file(client, world, settings):
    from doudi.casework import services

    with context.job("fuzz application"):
        app = services.create_application(by=world.users.village_assistant,
                                          household=world.village_hh, programme="dibao",
                                          channel="village", reason="收入减少")
    client.login(username="village_assistant", password=PASSWORD)
    corpus = dict(VEHICLE_CORPUS)
    corpus["fake.pdf"] = b"%PDF-" + b"\x00" * 10
    corpus["huge.png"] = b"\x89PNG\r\n\x1a\n" + b"\x00" * (settings.DOUDI_ATTACHMENT_MAX_BYTES + 1)
    problems: list[str] = []
    for name, data in corpus.items():
        got = attempt(lambda name=name, data=data: client.post(
            f"/applications/{app.pk}/attachments/", {"kind": "document",
                                                 "file": SimpleUploadedFile(name, data)}))
        if "error" in got:
            problems.append(f"{name}: {type(got['error']).__name__}: {got['error']}")
        elif got["value"].status_code == 302:
            if name != "fake.pdf":
                problems.append(f"{name}: stored")
        elif got["value"].status_code != 200 or got["written"]:
            problems.append(f"{name}: {got['value'].status_code} {sorted(got['written'])}")
    assert problems == []


# ---------------------------------------------------------------------------------------------
# holiday schedule and feed types from files


@pytest.mark.parametrize(("text", "encoding"), [
    ("2030-01-01 放假 元旦\n", "gbk"),
    ("2030-01-01 放假 元\x00旦\n", "utf-8"),
    ("2030-01-01 放假 元旦\n2030-01-01 上班 调休\n", "utf-8"),
    ("2030-01-01 放假 元旦\r2030-01-02 放假\n", "utf-8"),
    ("2030-13-01 放假\n", "utf-8"),
    ("2029-01-01 放假\n", "utf-8"),
    ("\ufeff2030-01-01 放假\n", "utf-8"),
    ("", "utf-8"),
])
def test_calendar_year_file(db, tmp_path, text, encoding):
    from doudi.casework.models import CalendarDay

    path = tmp_path / "2030.txt"
    path.write_bytes(text.encode(encoding))
    before = counts()
    try:
        call_command("calendar", "year", "2030", str(path), "--source", "国办发明电〔2029〕1号",
                     stdout=io.StringIO())
    except CommandError as exc:
        assert CHINESE.search(str(exc)), exc
        assert not written(before)
    else:
        assert CalendarDay.objects.filter(day__year=2030).exists() or not text.strip()


def test_calendar_source_too_long(db, tmp_path):
    path = tmp_path / "2030.txt"
    path.write_text("2030-01-01 放假 元旦\n", encoding="utf-8")
    before = counts()
    with pytest.raises(CommandError, match="200"):
        call_command("calendar", "year", "2030", str(path), "--source", "号" * 201)
    assert not written(before)


@pytest.mark.parametrize("text", [
    b"key: [unclosed\n", b"\xff\xfe\x00bad", b"- 1\n- 2\n", b"feed_types: 7\n", b"",
    b"!!python/object:os.system ls\n",
])
def test_feeds_load_malformed_yaml(shipped_feed_types, tmp_path, text):
    path = tmp_path / "types.yaml"
    path.write_bytes(text)
    before = counts()
    with pytest.raises(CommandError) as raised:
        call_command("feeds", "load", str(path), stdout=io.StringIO())
    assert CHINESE.search(str(raised.value)), raised.value
    assert not written(before)


def test_feeds_load_is_all_or_nothing(shipped_feed_types, tmp_path):
    """The second type of the file may not be saved (a shipped type): the first is not either."""
    import yaml

    from doudi.exchange.feed_types import shipped_documents

    own = {**shipped_documents()[0], "key": "fuzz_own_type", "name": "自建类型"}
    path = tmp_path / "types.yaml"
    path.write_text(yaml.safe_dump({"feed_types": [own, dict(shipped_documents()[0])]},
                                   allow_unicode=True), encoding="utf-8")
    before = counts()
    with pytest.raises(CommandError):
        call_command("feeds", "load", str(path), stdout=io.StringIO())
    assert not written(before)


# ---------------------------------------------------------------------------------------------
# forms: random text, control characters and huge values in every field


nasty = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\r\n", "'; DROP TABLE x;--", "<script>",
                     "=1+1", "１２３", "²", "٣", "9" * 30, "-1", "0", "1e309", "NaN",
                     "2026-02-30", "0000-01-01", "9999-12-31", "张" * 5000, "x" * 100_000,
                     VILLAGE, "341002102002\x00", "urban", "rural", "head", "dibao", "on", "1"]),
)


def _assert_answer(response, before: dict[str, int], allowed: set[str]) -> None:
    assert response.status_code in (200, 302, 400, 403, 404), response.status_code
    if response.status_code != 302:
        assert not written(before) - allowed, written(before)


HOUSEHOLD_FIELDS = ["area_code", "hukou_type", "address", *[
    f"m-{i}-{f}" for i in (0, 1) for f in (
        "name", "id_number", "relation", "phone", "disability_category", "disability_grade",
        "serious_illness", "labour_capacity", "student_status", "has_supporter", "adl_failed",
        "co_resident")]]


@pytest.fixture
def editor(client, world):
    client.login(username="village_assistant", password=PASSWORD)
    return world


_serial = iter(range(1, 10**6))


def _valid_household() -> dict[str, str]:
    born = dt.date(1980, 1, 1) + dt.timedelta(days=next(_serial))
    return {"area_code": VILLAGE, "hukou_type": "urban", "address": "模糊路1号",
            "m-0-name": "测试", "m-0-id_number": idnumber.make("341002", born, 7, "M"),
            "m-0-relation": "head",
            "m-0-labour_capacity": "full", "m-0-co_resident": "on"}


@FORMS
@given(st.dictionaries(st.sampled_from(HOUSEHOLD_FIELDS), nasty, max_size=8),
       st.booleans())
def test_household_form(client, editor, fields, from_valid):
    data = {**(_valid_household() if from_valid else {}), **fields}
    before = counts()
    response = client.post("/households/new/", data)
    _assert_answer(response, before, set())


@FORMS
@given(st.dictionaries(st.sampled_from(["programme", "channel", "reason", "emergency",
                                        "reference"]), nasty, max_size=5))
def test_application_form(client, editor, fields):
    before = counts()
    response = client.post(f"/households/{editor.village_hh.pk}/applications/", fields)
    _assert_answer(response, before, set())


VISIT_FIELDS = ["visited_on", "seen", "living", "health", "safety", "needs", "carer", "place",
                "follow_up", "programme"]


@FORMS
@given(st.dictionaries(st.sampled_from(VISIT_FIELDS), nasty, max_size=10), st.booleans())
def test_visit_form(client, editor, fields, from_valid):
    valid = {"visited_on": "2026-03-01", "seen": "yes", "living": "ok", "health": "ok",
             "safety": "ok", "needs": "", "carer": "na", "place": "home", "follow_up": "none"}
    person = editor.village_hh.head()
    before = counts()
    response = client.post(f"/care/persons/{person.pk}/visit/",
                           {**(valid if from_valid else {}), **fields})
    _assert_answer(response, before, set())


PUBLIC_FIELDS = ["programme", "name", "id_number", "phone", "village", "address", "hukou_type",
                 "reason", "origin", "consent"]


@FORMS
@given(st.dictionaries(st.sampled_from(PUBLIC_FIELDS), nasty, max_size=10))
def test_public_apply_form(client, areas, fields):
    before = counts()
    response = client.post("/apply/", fields)
    _assert_answer(response, before, set())


@FORMS
@given(st.dictionaries(st.sampled_from(["username", "password", "next", "code"]), nasty,
                       max_size=4))
def test_login_form(client, users, fields):
    """A refused login may only record itself (the audit log, the login history, a lockout
    counter); it never answers 500."""
    before = counts()
    response = client.post("/login/", fields)
    assert response.status_code in (200, 302, 400, 403, 429), response.status_code
    assert not {w for w in written(before) if not w.startswith(("accounts.", "audit."))}
    client.logout()


@pytest.mark.parametrize(("field", "value"), [
    ("m-0-disability_grade", "²"), ("m-0-disability_grade", "9" * 30),
    ("m-0-adl_failed", "9" * 30), ("m-0-adl_failed", "²"), ("m-0-name", "张\x00三"),
    ("address", "路" * 100_000), ("m-0-phone", "1" * 1000), ("m-0-name", "名" * 1000),
    ("area_code", VILLAGE + "\x00"), ("m-0-relation", "x" * 300),
])
def test_household_form_values_no_column_holds(client, editor, field, value):
    before = counts()
    response = client.post("/households/new/", {**_valid_household(), field: value})
    assert response.status_code in (200, 400, 403), response.status_code  # 400: a NUL
    assert not written(before)


POLICY_FIELDS = ["area_code", "effective_from", "value", "reference", "url", "verified", "note",
                 "retroactive", "retroactive_reason"]


@FORMS
@given(st.dictionaries(st.sampled_from(POLICY_FIELDS), nasty, max_size=9),
       st.sampled_from(["dibao.standard.urban", "dibao.standard.rural"]))
def test_policy_value_form(client, users, shipped_parameters, fields, key):
    """设定新的取值 (typed in the key's unit, e.g. 元) as a district's business administrator."""
    client.login(username="district_admin", password=PASSWORD)
    before = counts()
    response = client.post(f"/policy/{key}/values/", {
        "area_code": "341002", "effective_from": "2031-01-01", "reference": "文号",
        "verified": "on", **fields})
    _assert_answer(response, before, set())
