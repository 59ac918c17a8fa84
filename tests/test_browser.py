"""Headless Chromium (Playwright driving Debian's chromium package) logs in, searches a household
and opens it, against a live Django server.

Run with `python -m pytest tests/test_browser.py`. The browser is never downloaded: Debian's
`chromium` must be on PATH. Without it these tests skip, except under CI where they fail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connections

from doudi.audit import context
from doudi.audit.models import AuditEvent
from doudi.registry.models import Membership
from doudi.registry.services import MemberInput, create_household
from tests.browser_support import CHROMIUM_ARGS, TIMEOUT_MS, chromium, open_page, screenshot
from tests.conftest import PASSWORD, VILLAGE
from tests.payees import AGENT_ID, card, give_payee

pytestmark = pytest.mark.browser

ACCOUNT = card("621700123456789")


@pytest.fixture(scope="module", autouse=True)
def _flushable(flushable_audit_log) -> Iterator[None]:
    """A live server needs committed data, so every test here ends with a flush (see
    `flushable_audit_log`)."""
    yield


@pytest.fixture
def live(transactional_db, live_server, monkeypatch, shipped_parameters, shipped_feed_types,
         shipped_bank_layouts):
    """The live server over a database holding what the data migrations ship (an earlier
    transactional test's flush may have emptied those tables)."""
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # between browser steps are still plain synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    return live_server


@pytest.fixture
def page(live) -> Iterator:
    with open_page(1280, 900) as pg:
        yield pg


def _login(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name="登录").click()


def _approve_run(page, opinion: str = "经核对与上月变化，同意发放") -> None:
    """The checker's two steps: the opinion, then the confirmation with the run's totals."""
    page.fill("#approve-form textarea[name=opinion]", opinion)
    page.get_by_role("button", name="审核并锁定").click()
    page.get_by_role("button", name="确认审核锁定").click()


def _head(household):
    return Membership.objects.select_related("person").get(
        household=household, relation="head", end_date__isnull=True).person


def _search_term(url: str) -> str | None:
    """The `q` of a household-list URL, None for any other URL."""
    parts = urlsplit(url)
    if parts.path != "/households/":
        return None
    return parse_qs(parts.query, keep_blank_values=True).get("q", [None])[0]


def test_login_search_open_and_reveal(page, live, world, new_id) -> None:
    from playwright.sync_api import expect

    # A third household in the same village whose members do not match "zsf", so the live
    # search visibly narrows the list.
    with context.job("browser test data"):
        other = create_household(
            by=world.users.district_approver, area_code=VILLAGE, hukou_type="urban",
            members=[MemberInput(id_number=new_id("341002"), name="王五", relation="head")])
    in_area = [world.village_hh, world.same_town_hh]
    out_of_area = [world.guangdong_hh, world.other_town_hh]
    head = _head(world.village_hh)
    assert head.name == "张三丰"

    _login(page, live.url, "town_approver", PASSWORD)
    page.wait_for_url(f"{live.url}/")
    expect(page.locator("h1")).to_contain_text("黎阳镇")
    nav = page.locator("header nav")
    expect(nav.get_by_role("link", name="首页")).to_be_visible()
    expect(nav.get_by_role("link", name="家庭档案")).to_be_visible()
    expect(page.locator(".stat").first).to_contain_text("登记家庭（户）")
    assert AuditEvent.objects.filter(action=AuditEvent.LOGIN, actor_name="town_approver").exists()

    nav.get_by_role("link", name="家庭档案").click()
    page.wait_for_url(f"{live.url}/households/")
    expect(page.locator("h1")).to_have_text("家庭档案")
    rows = page.locator("#rows")
    expect(rows).to_contain_text("共 3 户")
    expect(rows).to_contain_text(other.number)
    search = page.locator("input[name=q]")
    page.evaluate("window.__same_page = true")  # lost if the browser loads a new page

    # 查询: the button submits the filter form through htmx. The value is set without an input
    # event so that only the button can have sent the request.
    search.evaluate("el => { el.value = '王五'; }")
    with page.expect_response(lambda r: _search_term(r.url) == "王五") as resp:
        page.get_by_role("button", name="查询").click()
    assert resp.value.ok
    assert resp.value.request.headers.get("hx-request") == "true"
    expect(rows).to_contain_text("共 1 户")
    expect(rows.get_by_role("link", name=other.number)).to_be_visible()

    # Live search by pinyin initials: htmx swaps #rows in place while the user types.
    search.fill("")
    with page.expect_response(lambda r: _search_term(r.url) == "zsf") as resp:
        search.press_sequentially("zsf", delay=40)
    assert resp.value.ok
    assert resp.value.request.headers.get("hx-request") == "true"
    expect(rows).to_contain_text("共 2 户")
    assert page.evaluate("window.__same_page") is True
    assert _search_term(page.url) == "zsf"  # hx-push-url keeps the search in the address bar
    for hh in in_area:
        expect(rows.get_by_role("link", name=hh.number)).to_be_visible()
    expect(rows).to_contain_text("张*丰")
    listed = rows.inner_text()
    assert other.number not in listed
    for hh in out_of_area:
        assert hh.number not in listed
    assert head.id_number not in page.content()
    screenshot(page, "household-list.png")

    rows.get_by_role("link", name=world.village_hh.number).click()
    page.wait_for_url(f"{live.url}/households/{world.village_hh.pk}/")
    expect(page.locator("h1")).to_have_text(f"家庭 {world.village_hh.number}")
    row = page.locator(f"#person-{head.pk}")
    expect(row.locator(".pii-name")).to_have_text("张*丰")
    expect(row.locator(".pii-id")).to_have_text(f"{head.id_number[:4]}{'*' * 10}"
                                                f"{head.id_number[-4:]}")
    expect(row.locator(".pii-phone")).to_have_text("138****5678")
    html = page.content()
    for person in world.village_hh.memberships.select_related("person"):
        assert person.person.id_number not in html
        assert person.person.name not in html
    assert "13812345678" not in html
    screenshot(page, "household-detail.png")

    assert not AuditEvent.objects.filter(action=AuditEvent.VIEW_FULL).exists()
    dialogs: list[str] = []

    def accept(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    with page.expect_response(lambda r: f"/persons/{head.pk}/reveal/" in r.url) as resp:
        row.get_by_role("button", name="查看完整信息").click()
    assert resp.value.ok
    assert dialogs == ["查看完整信息将记入审计日志，确定查看？"]
    revealed = page.locator(f"#person-{head.pk}.revealed")
    expect(revealed.locator(".pii-id")).to_have_text(head.id_number)
    expect(revealed.locator(".pii-name")).to_have_text("张三丰")
    expect(revealed.locator(".pii-phone")).to_have_text("13812345678")
    expect(revealed).to_contain_text("已记入审计")
    screenshot(page, "household-detail-revealed.png")

    events = AuditEvent.objects.filter(action=AuditEvent.VIEW_FULL)
    assert events.count() == 1
    event = events.get()
    assert (event.actor_name, event.object_type, event.object_id) == (
        "town_approver", "registry.person", str(head.pk))
    assert event.area_code == VILLAGE
    assert head.id_number not in str(event.object_label)


def test_wrong_password_is_refused_and_audited(page, live, users) -> None:
    from playwright.sync_api import expect

    from doudi.accounts.lockout import refused_message

    _login(page, live.url, "town_approver", "not-the-password")
    # the one answer to every refused sign-in: it names neither the account nor its state
    expect(page.locator(".error")).to_have_text(refused_message())
    assert refused_message().startswith("用户名或密码错误")
    expect(page.locator("h1")).to_have_text("登录")
    assert page.url.startswith(f"{live.url}/login/")
    expect(page.locator("input[name=username]")).to_have_value("town_approver")
    expect(page.locator("header nav")).to_have_count(0)

    failed = AuditEvent.objects.filter(action=AuditEvent.LOGIN_FAILED)
    assert [(e.actor_name, e.actor_id) for e in failed] == [("town_approver", None)]
    assert not AuditEvent.objects.filter(action=AuditEvent.LOGIN).exists()

    page.goto(f"{live.url}/households/")
    page.wait_for_url(f"{live.url}/login/?next=/households/")


def test_household_rules_section_and_simulation(page, live, world, shipped_parameters) -> None:
    """The household page computes 政策测算 by htmx; a district administrator runs 调标测算."""
    from playwright.sync_api import expect

    from doudi.registry.services import record_observation

    hh = world.village_hh
    with context.job("browser test income"):
        record_observation(by=world.users.district_approver, household=hh, kind="income",
                           item="wage", amount_fen=60000, observed_on=dt.date(2023, 1, 1),
                           person=_head(hh))
    _login(page, live.url, "town_officer", PASSWORD)
    page.goto(f"{live.url}/households/{hh.pk}/")
    rules = page.locator("#household-rules")
    expect(rules.locator("details.rule.eligible summary").first).to_contain_text("最低生活保障")
    expect(rules).to_contain_text("1148.00")
    expect(rules.locator("li.pass").first).to_be_visible()
    expect(rules.locator(".badge.unverified").first).to_be_visible()
    screenshot(page, "household-rules.png")

    page.context.clear_cookies()  # log out (logout is a POST form)
    _login(page, live.url, "district_admin", PASSWORD)
    page.goto(f"{live.url}/rules/simulate/")
    page.select_option("select[name=key0]", "dibao.standard.urban")
    page.fill("input[name=value0]", "900")
    page.get_by_role("button", name="开始测算").click()
    expect(page.locator("h2")).to_contain_text("测算结果")
    expect(page.locator("table.list").nth(1)).to_contain_text("最低生活保障")
    screenshot(page, "rules-simulate.png")


def test_upload_a_department_file_then_verify_a_household(page, live, world, tmp_path,
                                                          shipped_parameters,
                                                          shipped_feed_types) -> None:
    """A district officer uploads a 车管 file (one row with a bad check digit) and sees it
    imported with its error report; a town officer records the 授权书 and produces the 核对报告,
    which shows the vehicle the household never declared."""
    from playwright.sync_api import expect

    head = _head(world.village_hh)
    bad = head.id_number[:-1] + ("0" if head.id_number[-1] != "0" else "1")
    csv = tmp_path / "车管_机动车登记信息.csv"
    csv.write_text(
        "号牌号码,车辆类型,机动车所有人,身份证明号码,中文品牌,初次登记日期,机动车状态\n"
        f"皖J·A1234,小型普通客车,{head.name},{head.id_number},奇瑞,2026/3/5,正常\n"
        f"皖J·B5678,小型普通客车,{head.name},{bad},吉利,2026/4/1,正常\n", encoding="gb18030")
    _login(page, live.url, "district_officer", PASSWORD)
    page.get_by_role("link", name="部门数据").click()
    row = page.locator("tr", has_text="机动车登记信息")
    row.get_by_role("link", name="上传文件").click()
    page.set_input_files("input[name=file]", str(csv))
    page.fill("input[name=period]", "2026-10")
    page.get_by_role("button", name="上传并导入").click()
    expect(page.locator("#job-state")).to_have_text("已完成")
    expect(page.locator("#error-report")).to_contain_text("身份证号校验码错误")
    expect(page.locator("#error-report")).not_to_contain_text(bad)  # masked
    screenshot(page, "exchange-import-job.png")

    page.context.clear_cookies()
    _login(page, live.url, "town_officer", PASSWORD)
    page.goto(f"{live.url}/households/{world.village_hh.pk}/")
    page.get_by_role("button", name="生成核对报告").click()
    # refused until the consent is on file
    expect(page.locator("#verification .error")).to_contain_text("要求先登记有效的授权书")
    # the signer is chosen among the members; the officer attests the in-person signature
    page.select_option("select[name=signer]", str(head.pk))
    page.check("input[name=evidence][value=in_person]")
    page.check("input[name=attested]")
    page.get_by_role("button", name="登记授权书").click()
    expect(page.locator("#verification")).to_contain_text("经办人见证本人当面签字")
    page.get_by_role("button", name="生成核对报告").click()
    expect(page.locator("h1")).to_have_text("家庭经济状况核对报告")
    expect(page.locator("tr.difference")).to_contain_text("皖J·A1234")
    expect(page.locator("#difference-count")).to_have_text("1")
    screenshot(page, "exchange-verification-report.png")


def test_a_dibao_application_end_to_end(page, live, world, shipped_parameters) -> None:
    """Village intake and home visit → town verification and review → 公示 → town approval
    under delegated power → notice: the household is covered with the rules' amount."""
    from playwright.sync_api import expect

    from doudi.casework.models import Application
    from doudi.registry.models import CategoryAssignment, Observation

    hh = world.village_hh
    Observation.objects.filter(household=hh).delete()  # no income, no assets: eligible
    Membership.objects.filter(household=hh).update(start_date="2020-01-01")

    def act(label: str, opinion: str = "", **fields: str) -> None:
        form = page.locator("form.action-form",
                            has=page.get_by_role("button", name=label, exact=True))
        for name, value in fields.items():
            if name == "recommendation":
                form.locator(f"input[name=recommendation][value={value}]").check()
            else:
                form.locator(f"[name={name}]").fill(value)
        if opinion:
            form.locator("textarea[name=opinion]").fill(opinion)
        form.get_by_role("button", name=label, exact=True).click()

    _login(page, live.url, "village_assistant", PASSWORD)
    page.goto(f"{live.url}/households/{hh.pk}/")
    page.select_option("select[name=programme]", "dibao")
    page.fill("input[name=reason]", "夫妻均无固定收入")
    page.get_by_role("button", name="受理申请").click()
    expect(page.locator("#app-state")).to_have_text("受理（待入户调查）")
    act("登记入户调查", members_present="户主、配偶", living_conditions="租住平房，家具简陋")
    expect(page.locator("#app-state")).to_have_text("家庭经济状况核对")
    # the village may only help withdraw now; verification is the town's
    expect(page.get_by_role("button", name="完成经济状况核对")).to_have_count(0)
    expect(page.get_by_role("button", name="申请人撤回")).to_have_count(1)
    url = page.url

    page.context.clear_cookies()
    _login(page, live.url, "town_approver", PASSWORD)
    page.get_by_role("link", name="待办", exact=True).click()
    expect(page.locator("#my-queue")).to_contain_text(hh.number)
    page.goto(url)
    act("完成经济状况核对")
    expect(page.locator("#app-state")).to_have_text("镇街初审")
    act("提出初审意见", "家庭无收入、无财产，符合低保条件", recommendation="eligible")
    expect(page.locator("#app-state")).to_have_text("公示")
    act("公示期满无异议")
    expect(page.locator("#action-error")).to_contain_text("公示期")  # 7 days not yet over
    app = Application.objects.get(household=hh)
    page.goto(f"{live.url}/applications/publicity/")
    expect(page.locator("#publicity")).to_contain_text(app.applicant.masked_name)
    expect(page.locator("#publicity")).not_to_contain_text(app.applicant.id_number)
    expect(page.locator("#publicity")).not_to_contain_text(app.applicant.name)
    # seven days pass
    Application.objects.filter(pk=app.pk).update(
        publicity_ends_on=dt.date.today() - dt.timedelta(days=1))
    page.goto(url)
    act("公示期满无异议")
    expect(page.locator("#app-state")).to_have_text("审批/确认")
    act("批准", "经审核，同意纳入低保")
    expect(page.locator("#app-state")).to_have_text("书面通知")
    act("送达书面通知")
    expect(page.locator("#app-state")).to_have_text("已批准（纳入保障）")
    app.refresh_from_db()
    assert app.amount_fen and app.amount_fen > 0
    from doudi.web.templatetags.doudi import yuan

    expect(page.locator("dl.facts").first).to_contain_text(f"月保障金 {yuan(app.amount_fen)} 元")
    screenshot(page, "casework-approved.png")
    page.goto(f"{live.url}/households/{hh.pk}/")
    expect(page.locator("#applications")).to_contain_text("已批准")
    assert CategoryAssignment.objects.filter(household=hh, category="dibao",
                                             end_date__isnull=True).exists()


def test_a_month_of_payments_through_the_pages(page, live, world, shipped_parameters,
                                               shipped_bank_layouts, tmp_path) -> None:
    """A district administrator sets the bank's own layout; the officer builds the month's
    roster, another approver locks it, the officer downloads the bank file in that layout and
    reads back the bank's answer; the failed payment lands in the 发放失败 queue."""
    from playwright.sync_api import expect

    from doudi.benefits import services as benefits
    from doudi.benefits.models import PaymentLine

    u = world.users
    month = dt.date.today().replace(day=1)
    e = benefits.enroll(by=u.district_approver, household=world.village_hh, programme="dibao",
                        amount_fen=61_050, start_date=month)
    give_payee(u, e, ACCOUNT, bank="农商银行")

    _login(page, live.url, "district_admin", PASSWORD)
    page.goto(f"{live.url}/payments/bank-layouts/")
    page.get_by_role("link", name="新增格式").click()
    page.fill("input[name=code]", "nongshang")
    page.fill("input[name=name]", "农商银行代发格式")
    page.select_option("select[name=encoding]", "gb18030")
    page.fill("textarea[name=columns]", "序号=流水号\n卡号=账号\n金额=金额")
    page.fill("input[name=result_line]", "序号")
    page.fill("input[name=result_status]", "状态")
    page.fill("input[name=success_values]", "00")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#layouts")).to_contain_text("农商银行代发格式")

    page.context.clear_cookies()
    _login(page, live.url, "district_officer", PASSWORD)
    page.goto(f"{live.url}/payments/")
    page.fill("input[name=month]", f"{month:%Y-%m}")
    page.get_by_role("button", name="生成发放花名册").click()
    expect(page.locator("#run-total")).to_contain_text("610.50")
    expect(page.locator("#lines")).not_to_contain_text(ACCOUNT)  # masked
    run_url = page.url

    page.context.clear_cookies()
    _login(page, live.url, "district_approver", PASSWORD)
    page.goto(run_url)
    _approve_run(page)
    expect(page.locator("h1")).to_contain_text("已审核锁定")

    page.context.clear_cookies()
    _login(page, live.url, "district_officer", PASSWORD)
    page.goto(run_url)
    page.select_option("select[name=layout]", "nongshang")
    with page.expect_download() as download:
        page.get_by_role("button", name="下载银行发放文件").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    text = saved.read_bytes().decode("gb18030")
    line = PaymentLine.objects.get()
    assert text.splitlines() == ["序号,卡号,金额", f"{line.pk},{ACCOUNT},610.50"]
    answer = tmp_path / "回盘.csv"
    answer.write_bytes(f"序号,状态,失败原因\n{line.pk},E1,卡已挂失\n".encode("gb18030"))
    page.goto(run_url)
    page.set_input_files("input[name=file]", str(answer))
    page.get_by_role("button", name="导入回盘").click()
    expect(page.locator("#lines")).to_contain_text("卡已挂失")
    screenshot(page, "payment-run-settled.png")
    page.goto(f"{live.url}/payments/")
    page.get_by_role("link", name="发放失败 1 笔，待核实账户").click()
    expect(page.locator("#failed")).to_contain_text("卡已挂失")
    expect(page.locator("#failed")).to_contain_text(world.village_hh.number)


def _months_back(n: int) -> dt.date:
    month = dt.date.today().replace(day=1)
    for _ in range(n):
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return month


def test_a_payee_is_changed_by_request_and_approval(page, live, world, shipped_parameters,
                                                     shipped_bank_layouts, tmp_path) -> None:
    """Enrolled without an account, the line waits as 待补账号 and is absent from the bank
    file; the village assistant asks for the account, nothing changes until a town approver
    approves; after a run is approved, a further change leaves that run's bank file as it was
    and pays from the next run."""
    from playwright.sync_api import expect

    from doudi.benefits import services as benefits
    from doudi.benefits.models import Enrollment, PaymentRun

    u = world.users
    first, second, third = _months_back(2), _months_back(1), _months_back(0)
    waiting = benefits.enroll(by=u.district_approver, household=world.village_hh,
                              programme="dibao", amount_fen=61_050, start_date=first)
    paid = benefits.enroll(by=u.district_approver, household=world.same_town_hh,
                           programme="dibao", amount_fen=40_000, start_date=first)
    give_payee(u, paid, ACCOUNT)
    new_account = card("622848009999468")
    later_account = card("621700246813579")

    def as_user(username: str) -> None:
        page.context.clear_cookies()
        _login(page, live.url, username, PASSWORD)

    def build_and_approve(month: dt.date) -> str:
        as_user("district_officer")
        page.goto(f"{live.url}/payments/")
        page.fill("input[name=month]", f"{month:%Y-%m}")
        page.get_by_role("button", name="生成发放花名册").click()
        expect(page.locator("h1")).to_contain_text("待审核")
        url = page.url
        as_user("district_approver")
        page.goto(url)
        _approve_run(page)
        expect(page.locator("h1")).to_contain_text("已审核锁定")
        return url

    def bank_file(url: str, name: str) -> list[str]:
        as_user("district_officer")
        page.goto(url)
        with page.expect_download() as download:
            page.get_by_role("button", name="下载银行发放文件").click()
        saved = tmp_path / name
        download.value.save_as(saved)
        return saved.read_bytes().decode("utf-8-sig").splitlines()[1:]

    # 1. no account: the first month's line waits and is not in the bank file
    first_url = build_and_approve(first)
    expect(page.locator("#awaiting-account")).to_contain_text(world.village_hh.number)
    expect(page.locator("#run-awaiting")).to_contain_text("610.50")
    first_file = bank_file(first_url, "first.csv")
    assert len(first_file) == 1 and ACCOUNT in first_file[0]
    assert world.village_hh.number not in "".join(first_file)

    # 2. the village assistant asks for the account; a typo is refused on its field
    as_user("village_assistant")
    page.goto(f"{live.url}/households/{world.village_hh.pk}/")
    expect(page.locator("#household-enrollments")).to_contain_text("未登记账号")
    page.locator("#household-enrollments").get_by_role("link", name="最低生活保障").click()
    expect(page.locator("#payee-account")).to_contain_text("未登记账号")
    screenshot(page, "payee-form.png")
    form = page.locator("#payee-form")
    form.locator("select[name=person]").select_option(str(waiting.payee_person_id))
    form.locator("select[name=bank]").select_option("中国农业银行")
    form.locator("select[name=account_kind]").select_option("card")
    typo = new_account[:-2] + new_account[-1] + new_account[-2]  # two digits swapped
    assert typo != new_account
    form.locator("input[name=account]").fill(typo)
    form.locator("input[name=reason]").fill("补登社保卡账号")
    form.get_by_role("button", name="提交变更申请").click()
    expect(page.locator("#payee-account-error")).to_have_text(
        "账号校验位不符，请核对是否抄错一位或相邻两位颠倒")
    form = page.locator("#payee-form")
    # typed as printed on the card, in groups of four
    form.locator("input[name=account]").fill(
        " ".join(new_account[i:i + 4] for i in range(0, len(new_account), 4)))
    form.get_by_role("button", name="提交变更申请").click()
    expect(page.locator("#payee-pending")).to_contain_text("补登社保卡账号")
    expect(page.locator("#payee-account")).to_contain_text("未登记账号")  # still in force
    expect(page.locator("#payee-pending")).not_to_contain_text(new_account)
    expect(page.get_by_role("button", name="批准变更")).to_have_count(0)
    assert Enrollment.objects.get(pk=waiting.pk).payee_account == ""
    screenshot(page, "payee-requested.png")

    # a run approved now still holds the line: nothing changed before approval
    second_url = build_and_approve(second)
    expect(page.locator("#awaiting-account")).to_contain_text(world.village_hh.number)
    assert ACCOUNT in "".join(bank_file(second_url, "second.csv"))
    assert new_account not in "".join(bank_file(second_url, "second-again.csv"))

    # 3. the town approver approves it from the queue
    as_user("town_approver")
    page.goto(f"{live.url}/payments/")
    page.get_by_role("link", name="收款人变更审批（1）").click()
    expect(page.locator("#payee-queue")).to_contain_text(world.village_hh.number)
    expect(page.locator("#payee-queue")).to_contain_text(new_account[-4:])
    expect(page.locator("#payee-queue")).not_to_contain_text(new_account)
    screenshot(page, "payee-queue.png")
    page.locator("#payee-queue").get_by_role("button", name="批准").click()
    expect(page.locator("#payee-queue")).to_contain_text("暂无待审批的收款人变更")
    waiting.refresh_from_db()
    assert (waiting.payee_account, waiting.bank) == (new_account, "中国农业银行")

    # 4. the third run pays the three months to the approved account
    third_url = build_and_approve(third)
    third_file = bank_file(third_url, "third.csv")
    line = [row for row in third_file if new_account in row]
    assert len(line) == 1 and ",1831.50," in line[0]

    # 5. another change after approval: the approved run's file stays as approved
    as_user("village_assistant")
    page.goto(f"{live.url}/enrollments/{waiting.pk}/")
    form = page.locator("#payee-form")
    form.locator("input[name=holder][value=agent]").check()
    form.locator("input[name=agent_name]").fill("王代领")
    form.locator("input[name=agent_id_number]").fill(AGENT_ID)
    form.locator("input[name=agent_reason]").fill("长期住院")
    form.locator("select[name=bank]").select_option("徽商银行")
    form.locator("input[name=account]").fill(later_account)
    form.locator("input[name=reason]").fill("本人住院，改由代领人领取")
    form.get_by_role("button", name="提交变更申请").click()
    expect(page.locator("#payee-pending")).to_contain_text("本人住院，改由代领人领取")
    as_user("town_approver")
    page.goto(f"{live.url}/enrollments/{waiting.pk}/")
    page.locator("#payee-decide input[name=note]").fill("已核对代领人身份证")
    page.get_by_role("button", name="批准变更").click()
    expect(page.locator("#payee-in-force")).to_contain_text("代领人")
    expect(page.locator("#payee-account")).to_contain_text(later_account[-4:])
    assert bank_file(third_url, "third-again.csv") == third_file
    assert PaymentRun.objects.get(month=third).status == "exported"

    # 6. the household's timeline shows the requests and approvals, masked
    as_user("village_assistant")
    page.goto(f"{live.url}/households/{world.village_hh.pk}/")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("收款人变更")
    expect(timeline).to_contain_text("已批准")
    expect(timeline).to_contain_text("代领：长**院")
    html = page.content()
    assert new_account not in html and later_account not in html
    screenshot(page, "payee-timeline.png")
    # a phone: the enrollment page fits 375 px
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{live.url}/enrollments/{waiting.pk}/")
    screenshot(page, "payee-enrollment-375.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_a_warning_from_dashboard_to_village_verification_to_a_case(
        page, live, world, shipped_parameters, shipped_feed_types) -> None:
    """人社 reports an unemployment registration; the district runs the monitoring; the village
    assistant finds the warning from the dashboard, records the home visit and starts a 低保
    application from it."""
    from playwright.sync_api import expect

    from doudi.audit import context
    from doudi.exchange.imports import import_bytes
    from doudi.exchange.models import FeedType
    from doudi.monitoring import services as monitoring
    from doudi.monitoring.models import Warning

    head = _head(world.village_hh)
    registered = dt.date.today() - dt.timedelta(days=10)
    csv_text = (f"身份证号,姓名,失业登记日期,失业原因,领取失业保险金,失业保险金月标准\n"
                f"{head.id_number},{head.name},{registered:%Y-%m-%d},单位裁员,是,1620\n")
    with context.job("browser test feed"):
        out = import_bytes(FeedType.objects.get(key="unemployment"), csv_text.encode(),
                           "失业登记.csv", user=world.users.district_officer, channel="cli")
        assert out.counts["good"] == 1
        run = monitoring.start_run(by=world.users.district_officer)
        monitoring.execute(run)
    warning = Warning.objects.get(indicator="unemployment")
    assert warning.handler_level == "village" and warning.person_id == head.pk

    _login(page, live.url, "village_assistant", PASSWORD)
    page.get_by_role("link", name="监测预警", exact=True).click()
    expect(page.locator("#by-indicator")).to_contain_text("失业")
    page.locator("#by-indicator").get_by_role("link", name="失业").click()
    expect(page.locator("#warnings")).to_contain_text(world.village_hh.number)
    expect(page.locator("#warnings")).not_to_contain_text(head.name)  # masked
    page.locator("#warnings").get_by_role("link", name="失业").click()
    expect(page.locator("#evidence")).to_contain_text("单位裁员")
    expect(page.locator("#evidence")).to_contain_text("1620.00")
    expect(page.locator("#evidence")).not_to_contain_text(head.id_number)
    page.fill("textarea[name=finding]", "入户核实：户主于上月被裁员，家庭无其他收入")
    page.get_by_role("button", name="记录核实情况").click()
    expect(page.locator("#warning-state")).to_contain_text("已核实待处置")
    page.select_option("select[name=disposition]", "case_dibao")
    page.get_by_role("button", name="办结").click()
    expect(page.locator("#app-state")).to_have_text("受理（待入户调查）")
    screenshot(page, "warning-to-case.png")
    warning.refresh_from_db()
    assert warning.status == "closed" and warning.application.channel == "warning"
    page.goto(f"{live.url}/monitoring/warnings/{warning.pk}/")
    expect(page.locator("#disposition")).to_contain_text("纳入低保")
    expect(page.locator("#warning-events")).to_contain_text("核实属实")


def test_a_visit_on_a_phone_raises_a_warning(live, world, shipped_parameters) -> None:
    """At 375 px, the village assistant opens the visit task of a dispersed 特困 person, records
    the visit with a photo, and the finding goes to the town as a warning."""
    from playwright.sync_api import expect, sync_playwright

    from doudi.care import services as care
    from doudi.monitoring.models import Warning
    from doudi.registry.services import assign_category

    head = _head(world.village_hh)
    with context.job("browser test tekun"):
        assign_category(by=world.users.district_approver, category="tekun",
                        start_date=dt.date(2026, 1, 1), person=head, decided_by="测试数据")
        care.generate_tasks(dt.date.today())
    photo = Path(__file__).parent / "data" / "photo.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            ctx = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 740},
                                      is_mobile=True, has_touch=True)
            ctx.set_default_timeout(TIMEOUT_MS)
            page = ctx.new_page()
            _login(page, live.url, "village_assistant", PASSWORD)
            page.goto(f"{live.url}/care/")
            tasks = page.locator("#visit-tasks")
            expect(tasks).to_contain_text(head.masked_name)
            expect(tasks).to_contain_text("分散供养特困人员")
            tasks.get_by_role("link", name="登记探访").first.click()
            page.fill("input[name=seen]", "本人及邻居")
            page.fill("textarea[name=living]", "独居，屋顶漏雨")
            page.fill("input[name=health]", "腿部摔伤，行动不便")
            page.select_option("select[name=carer]", "no")
            page.set_input_files("input[name=photos]", str(photo))
            page.select_option("select[name=follow_up]", "warning")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, f"the visit form is {width} px wide on a 375 px screen"
            screenshot(page, "visit-phone.png")
            page.get_by_role("button", name="保存探访记录").click()
            expect(page.locator("#visit-follow-up")).to_contain_text("转监测预警")
            expect(page.locator("#visit-facts")).to_contain_text("照片")
            expect(page.locator("#visit-facts")).to_contain_text("1 张")
            expect(page.get_by_alt_text("探访照片 1")).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            # every page of care fits the phone: wide tables scroll inside themselves
            for path in ("/care/", f"/care/persons/{head.pk}/", "/care/children/",
                         "/care/institutions/", "/care/home-care/", "/care/cross-province/",
                         "/monitoring/", "/monitoring/warnings/"):
                page.goto(f"{live.url}{path}")
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 375, f"{path} is {width} px wide on a 375 px screen"
        finally:
            browser.close()
            connections.close_all()
    w = Warning.objects.get(channel="discovery")
    assert w.person_id == head.pk and "摔伤" in w.summary and w.owner_code == "341002102"


def test_the_district_dashboard_drills_from_a_chart_to_a_household(
        page, live, world, shipped_parameters) -> None:
    """统计分析: the district's bar of a town leads to the town's figures, a figure to its
    records, a record to the household."""
    from playwright.sync_api import expect

    from doudi.benefits import services as benefits

    month = dt.date.today().replace(day=1)
    benefits.enroll(by=world.users.district_approver, household=world.village_hh,
                    programme="dibao", amount_fen=61_050, start_date=month)
    _login(page, live.url, "district_officer", PASSWORD)
    page.get_by_role("link", name="统计分析", exact=True).click()
    expect(page.locator("#figures")).to_contain_text("在保户数")
    bar = page.locator("xpath=//*[@id='chart-areas']//*[local-name()='a']"
                       "[contains(@*[local-name()='href'], 'area=341002102')]")
    expect(bar).to_have_count(1)
    bar.click()
    expect(page.locator("h1")).to_contain_text("黎阳镇")
    screenshot(page, "reports-town.png")
    page.locator("#figures tr", has_text="在保户数").locator("td.num a").first.click()
    expect(page.locator("#report-rows")).to_contain_text(world.village_hh.number)
    page.locator("#report-rows").get_by_role("link", name=world.village_hh.number).click()
    expect(page).to_have_url(f"{live.url}/households/{world.village_hh.pk}/")


def test_a_need_goes_from_a_household_to_an_organisation_and_back(page, live, world) -> None:
    """救助需求统一发布: the village assistant publishes a household's need (with consent) to the
    town's social-work station; its account sees it without name or number, takes it up and
    reports the outcome, which shows on the household's page and timeline."""
    from playwright.sync_api import expect

    from doudi.accounts.services import create_user
    from doudi.community.models import Organisation, OrganisationMember

    station = Organisation.objects.create(name="黎阳镇社工站", kind="station",
                                          area_code="341002102")
    with context.job("browser test org"):
        staff = create_user(username="shegong", password=PASSWORD, area_code="341002102",
                            roles=["org_staff"])
    OrganisationMember.objects.create(user=staff, organisation=station)
    head = _head(world.village_hh)

    _login(page, live.url, "village_assistant", PASSWORD)
    page.goto(f"{live.url}/households/{world.village_hh.pk}/")
    page.get_by_role("link", name="发布救助需求").click()
    page.select_option("select[name=kind]", "care")
    page.fill("input[name=summary]", "独居老人术后需要短期上门照护")
    page.fill("input[name=consent_on]", dt.date.today().isoformat())
    page.get_by_label("黎阳镇社工站（镇街社工站）").check()
    page.get_by_role("button", name="发布").click()
    expect(page.locator("#needs")).to_contain_text("待认领")

    page.context.clear_cookies()
    _login(page, live.url, "shegong", PASSWORD)
    page.get_by_role("link", name="救助需求", exact=True).click()
    queue = page.locator("#need-queue")
    expect(queue).to_contain_text("独居老人术后需要短期上门照护")
    expect(queue).to_contain_text("隆阜")  # the village, nothing closer
    for secret in (head.name, head.id_number, world.village_hh.number):
        expect(queue).not_to_contain_text(secret)
    queue.get_by_role("button", name="认领").click()
    page.fill("input[name=outcome]", "安排社工上门照护两周")
    page.get_by_role("button", name="反馈结果").click()
    expect(queue).to_contain_text("结果：安排社工上门照护两周")
    assert page.goto(f"{live.url}/households/{world.village_hh.pk}/").status == 403

    page.context.clear_cookies()
    _login(page, live.url, "village_assistant", PASSWORD)
    page.goto(f"{live.url}/households/{world.village_hh.pk}/")
    expect(page.locator("#needs")).to_contain_text("安排社工上门照护两周")
    expect(page.locator("ol.timeline")).to_contain_text("救助需求")


def test_second_factor_enrolment_and_login(page, live, world) -> None:
    """An approver turns on the second factor from their account page and signs in with the
    password and then the code; the security administrator sees it on the account's page."""
    import time

    import pyotp

    from tests.conftest import PASSWORD as password

    _login(page, live.url, "district_approver", password)
    page.get_by_role("link", name="district_approver").first.click()
    page.get_by_role("link", name="启用双因素认证").click()
    secret = page.locator("#totp-secret").inner_text().strip()
    screenshot(page, "account-totp.png")
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.get_by_role("button", name="启用").click()
    page.get_by_text("已启用双因素认证").wait_for()
    page.get_by_role("button", name="退出").click()

    _login(page, live.url, "district_approver", password)
    page.get_by_text("请打开手机上的验证器").wait_for()
    page.fill("input[name=code]", pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="确认").click()
    page.get_by_role("link", name="家庭档案").wait_for()
    page.get_by_role("button", name="退出").click()

    _login(page, live.url, "security_admin", password)
    page.get_by_role("link", name="用户管理").click()
    page.get_by_role("link", name="district_approver").click()
    page.get_by_text("双因素认证：已启用").wait_for()
    screenshot(page, "user-detail-security-admin.png")


def test_a_village_assistants_pages_fit_a_phone(live, world, shipped_parameters) -> None:
    """At 375 px: home, the household list and page, and the visit form reached from the
    household page for a person without a task — no page wider than the screen, no table row
    stretched tall by cells wrapping a character per line (wide tables scroll inside)."""
    from playwright.sync_api import expect, sync_playwright

    head = _head(world.village_hh)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            ctx = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 740},
                                      is_mobile=True, has_touch=True)
            ctx.set_default_timeout(TIMEOUT_MS)
            page = ctx.new_page()
            _login(page, live.url, "village_assistant", PASSWORD)

            def fits(name: str) -> None:
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 375, f"{page.url} is {width} px wide on a 375 px screen"
                tall = page.evaluate("Math.max(0, ...[...document.querySelectorAll('tr')]"
                                     ".map(r => r.getBoundingClientRect().height))")
                assert tall <= 120, f"{page.url}: a table row {tall} px tall"
                screenshot(page, f"village-{name}-375.png")

            for name, path in (("home", "/"), ("households", "/households/"),
                               ("household", f"/households/{world.village_hh.pk}/")):
                page.goto(f"{live.url}{path}")
                fits(name)
            page.locator("#visit-actions").get_by_role(
                "link", name=f"登记探访：{head.masked_name}").click()
            expect(page.locator("h1")).to_contain_text(head.masked_name)
            fits("visit-form")
        finally:
            browser.close()
            connections.close_all()


def test_the_checker_compares_sends_back_and_approves_a_roster(page, live, world,
                                                               shipped_parameters) -> None:
    """The roster page of a month after an approved one: the summary against last month, the
    roster a page at a time with its filters; the checker sends it back with a reason, the
    maker builds it again, the checker approves it with an opinion after confirming. The page
    fits 1280 px and a 375-px phone (screenshots kept)."""
    from playwright.sync_api import expect

    from doudi.benefits import services as benefits
    from doudi.benefits.models import PaymentRun

    u = world.users
    first = dt.date.today().replace(day=1)
    second = (first + dt.timedelta(days=32)).replace(day=1)
    for n, household in enumerate((world.village_hh, world.same_town_hh)):
        e = benefits.enroll(by=u.district_approver, household=household, programme="dibao",
                            amount_fen=40_000 + n * 10_000, start_date=first)
        give_payee(u, e, card(f"62170012345678{n}"))
    january = benefits.build_run(by=u.district_officer, month=first, area_code="341002").run
    benefits.approve_run(by=u.district_approver, run=january, opinion="同意")
    e = benefits.enroll(by=u.district_approver, household=world.other_town_hh,
                        programme="dibao", amount_fen=55_000, start_date=second)
    give_payee(u, e, card("622848009999468"))
    run = benefits.build_run(by=u.district_officer, month=second, area_code="341002").run

    _login(page, live.url, "district_approver", PASSWORD)
    page.goto(f"{live.url}/payments/{run.pk}/")
    expect(page.locator("#comparison-table")).to_contain_text("屯光镇")
    expect(page.locator("#lines")).to_contain_text(world.other_town_hh.number)
    screenshot(page, "roster-approval-1280.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.fill("#return-form textarea[name=reason]", "屯光镇新增对象请补审批表")
    page.get_by_role("button", name="退回修改").click()
    expect(page.locator("h1")).to_contain_text("已退回")
    expect(page.locator("#run-history")).to_contain_text("屯光镇新增对象请补审批表")

    page.context.clear_cookies()
    _login(page, live.url, "district_officer", PASSWORD)
    page.goto(f"{live.url}/payments/{run.pk}/")
    page.get_by_role("button", name="重新生成并送审核").click()
    expect(page.locator("h1")).to_contain_text("待审核")

    page.context.clear_cookies()
    _login(page, live.url, "district_approver", PASSWORD)
    page.goto(f"{live.url}/payments/{run.pk}/")
    page.fill("#approve-form textarea[name=opinion]", "已补审批表，同意发放")
    page.get_by_role("button", name="审核并锁定").click()
    expect(page.locator("#approve-confirm")).to_contain_text("新增 1 户")
    screenshot(page, "roster-approval-confirm-1280.png")
    page.get_by_role("button", name="确认审核锁定").click()
    expect(page.locator("h1")).to_contain_text("已审核锁定")
    expect(page.locator("#run-history")).to_contain_text("已补审批表，同意发放")
    assert PaymentRun.objects.get(pk=run.pk).status == "approved"
    # the roster narrowed to one town, and on a phone
    page.select_option("#roster select[name=area]", "341002102")
    page.locator("#roster").get_by_role("button", name="筛选").click()
    expect(page.locator("#lines")).not_to_contain_text(world.other_town_hh.number)
    page.set_viewport_size({"width": 375, "height": 740})
    page.reload()
    screenshot(page, "roster-approval-375.png")
    wide = page.evaluate("""[...document.querySelectorAll('body *')].filter(
        e => e.getBoundingClientRect().right > 376).map(e => e.tagName + '.' + e.className
        + '#' + e.id).slice(0, 8)""")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, wide


def test_official_documents_print_on_a4(page, live, world, shipped_parameters,
                                        tmp_path) -> None:
    """The 书面通知, the 申请审批表 and the 公示 list as the printer gets them (print media, A4):
    screenshots kept as artefacts (and in the test's own directory) to be looked at; a batch of
    two notices prints as exactly two A4 pages."""
    from playwright.sync_api import expect

    from doudi.casework import services
    from tests.casework import flow

    u = world.users
    today = dt.date.today()
    with context.job("browser test documents"):
        approved = flow.approve_through(u, services.create_application(
            by=u.town_officer, household=world.village_hh, programme="dibao",
            channel="town_window", reason="夫妻均无稳定收入，子女就学"), today)
        refused = services.create_application(
            by=u.town_officer, household=world.same_town_hh, programme="dibao",
            channel="village", reason="因病致贫")
        refused = services.act(by=u.town_officer, application=refused, action="record_visit",
                               data={"members_present": "户主", "living_conditions": "自有住房"})
        refused = services.act(by=u.town_officer, application=refused,
                               action="complete_verification")
        refused = services.act(by=u.town_officer, application=refused, action="town_opinion",
                               opinion="收入高于标准", data={"recommendation": "ineligible"})
        refused = services.act(by=u.town_approver, application=refused, action="refuse",
                               opinion="家庭人均收入高于当地低保标准")
        publicised = create_household(
            by=u.district_approver, area_code=VILLAGE, hukou_type="urban",
            members=[MemberInput(id_number=_browser_id(), name="王小明", relation="head")])
        shown = services.create_application(by=u.town_officer, household=publicised,
                                            programme="dibao", channel="village", reason="无收入")
        shown = services.act(by=u.town_officer, application=shown, action="record_visit",
                             data={"members_present": "户主", "living_conditions": "一般"})
        shown = services.act(by=u.town_officer, application=shown,
                             action="complete_verification")
        services.act(by=u.town_officer, application=shown, action="town_opinion", opinion="符合",
                     data={"recommendation": "eligible"})

    def keep(name: str) -> None:
        page.screenshot(path=str(tmp_path / name), full_page=True)
        screenshot(page, name)

    _login(page, live.url, "town_approver", PASSWORD)
    page.wait_for_url(f"{live.url}/")
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    page.goto(f"{live.url}/applications/{refused.pk}/notice/")
    sheet = page.locator("article.sheet.notice")
    expect(sheet).to_have_count(1)
    expect(sheet.locator(".salutation")).to_have_text(f"{refused.applicant.name}：")
    expect(sheet).to_contain_text(refused.document.number)
    expect(sheet).to_contain_text("向屯溪区人民政府申请行政复议")
    expect(page.locator(".doc-toolbar")).to_be_hidden()
    keep("document-notice-refusal.png")
    page.goto(f"{live.url}/applications/{approved.pk}/notice/")
    expect(page.locator("article.sheet.notice")).to_contain_text("月保障金额")
    keep("document-notice-approval.png")
    page.goto(f"{live.url}/applications/{approved.pk}/print/")
    expect(page.locator("article.sheet.form h1")).to_contain_text("申请审批表")
    keep("document-approval-form.png")

    page.goto(f"{live.url}/applications/documents/?doc=notice"
              f"&application={approved.pk}&application={refused.pk}")
    expect(page.locator("article.sheet.notice")).to_have_count(2)
    pages = page.pdf(format="A4", prefer_css_page_size=True)
    (tmp_path / "notices.pdf").write_bytes(pages)
    assert _pdf_pages(pages) == 2  # one notice (with its 存根) per A4 page

    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 375, "height": 800})  # a phone: read, never overflows
    page.goto(f"{live.url}/applications/{approved.pk}/notice/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    keep("document-notice-phone.png")
    page.set_viewport_size({"width": 794, "height": 1123})
    page.goto(f"{live.url}/applications/publicity/")
    expect(page.locator("#publicity")).to_contain_text("王*明")
    expect(page.locator("#publicity-bodies")).to_contain_text("黎阳镇人民政府")
    expect(page.locator("#publicity-bodies")).to_contain_text("监督电话")
    assert "王小明" not in page.content()
    page.emulate_media(media="print")
    keep("document-publicity-list.png")
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "document-approval-form.png", "document-notice-approval.png",
        "document-notice-phone.png", "document-notice-refusal.png",
        "document-publicity-list.png"]


def _browser_id() -> str:
    from doudi.core import idnumber

    return idnumber.make("341002", dt.date(1966, 6, 6), 77, "M")


def _pdf_pages(data: bytes) -> int:
    """The number of pages of a PDF Chromium printed (its page objects)."""
    import re

    return len(re.findall(rb"/Type\s*/Page(?![a-z])", data))
