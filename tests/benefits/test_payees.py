"""Payees (收款人): the account checked by its bank's rules (length, Luhn check digit), the
holder a member or a named agent 代领人, and every change a request that a second person
with the capability approves in their area. Until then the old payee stays in force; an
approved change pays from the next approved run; every step is on the household's timeline."""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import random

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied
from hypothesis import given, settings
from hypothesis import strategies as st

from doudi.audit.models import AuditEvent
from doudi.benefits import bank_files, banks, payees, services
from doudi.benefits.models import Enrollment, PayeeChange, PaymentLine
from doudi.core import idnumber
from doudi.core.errors import ServiceError
from doudi.registry.models import Membership
from tests.conftest import PASSWORD
from tests.payees import AGENT_ID, card, give_payee

D = dt.date
DISTRICT = "341002000000"
CARD_BANKS = [b.name for b in banks.BANKS if banks.CARD in b.kinds]


def _reason(exc: ServiceError, field: str) -> str:
    found = [e.message for e in exc.errors if e.field == field]
    assert found, f"no reason on {field}: {exc.errors}"
    return found[0]


def _refused(account: str, bank: str = "徽商银行", kind: str = banks.CARD) -> ServiceError:
    with pytest.raises(banks.BankAccountError) as caught:
        banks.check(account, bank, kind)
    return caught.value


# -- the account: length and check digit, by bank -----------------------------------------

bodies = st.integers(min_value=15, max_value=18).flatmap(
    lambda n: st.text("0123456789", min_size=n, max_size=n))


@settings(max_examples=200, deadline=None)
@given(body=bodies, bank=st.sampled_from(CARD_BANKS))
def test_a_card_number_with_its_check_digit_is_accepted(body: str, bank: str) -> None:
    number = card(body)
    assert banks.check(number, bank, banks.CARD) == number
    assert banks.payable(number, bank, banks.CARD)


@settings(max_examples=200, deadline=None)
@given(body=bodies, data=st.data())
def test_one_digit_wrong_is_refused(body: str, data) -> None:
    number = card(body)
    at = data.draw(st.integers(0, len(number) - 1))
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != number[at]]))
    typo = number[:at] + wrong + number[at + 1:]
    assert "校验位不符" in _refused(typo).message
    assert _refused(typo).field == "account"
    assert not banks.payable(typo, "徽商银行", banks.CARD)


@settings(max_examples=200, deadline=None)
@given(body=bodies, data=st.data())
def test_two_neighbouring_digits_swapped_are_refused(body: str, data) -> None:
    number = card(body)
    # Luhn catches every swap of two neighbours except 0 and 9 (both count 9 either way)
    places = [i for i in range(len(number) - 1)
              if number[i] != number[i + 1] and {number[i], number[i + 1]} != {"0", "9"}]
    if not places:
        return
    at = data.draw(st.sampled_from(places))
    swapped = number[:at] + number[at + 1] + number[at] + number[at + 2:]
    assert "校验位不符" in _refused(swapped).message


@pytest.mark.parametrize("length", [8, 12, 15, 20, 23])
def test_a_card_number_of_the_wrong_length_is_refused_with_its_length(length: int) -> None:
    number = card("".join(random.Random(length).choice("0123456789")
                          for _ in range(length - 1)))
    refused = _refused(number, "中国工商银行")
    assert (refused.field, refused.message) == (
        "account", f"中国工商银行银行卡（社保卡/借记卡）账号应为16–19位，所填为{length}位，"
                   "请核对是否多输或漏输")


def test_spaces_and_full_width_digits_are_read_other_characters_refused() -> None:
    number = card("621700123456789")
    spaced = " ".join(number[i:i + 4] for i in range(0, len(number), 4))
    full_width = number.translate({ord("0") + i: ord("０") + i for i in range(10)})
    for typed in (spaced, full_width, f"\u3000{number}\u3000", f"{number[:8]}\t{number[8:]}",
                  number.replace("6", "６", 1)):
        assert banks.check(typed, "徽商银行", banks.CARD) == number
    for typed, shown in ((f"{number[:4]}-{number[4:]}", "-"), (number[:-1] + "X", "X"),
                         (number + ".", "."), ("６２１７ａ" + number[5:], "ａ"),
                         (number[:6] + "O" + number[7:], "O")):
        refused = _refused(typed)
        assert refused.field == "account"
        assert refused.message == f"账号只能由数字组成，含有“{shown}”，请核对后重新填写"
    assert _refused("  ").message == "请填写账号"


def test_passbook_accounts_carry_no_check_digit_but_their_length_is_checked() -> None:
    rng = random.Random(7)
    for _ in range(50):
        number = "6217" + "".join(rng.choice("0123456789") for _ in range(15))
        assert banks.check(number, "徽商银行", banks.PASSBOOK) == number  # Luhn or not
    assert "19位，所填为18位" in _refused("6" * 18, "徽商银行", banks.PASSBOOK).message
    assert banks.check("1" * 17, "农商银行", banks.PASSBOOK) == "1" * 17
    assert "17–22位，所填为16位" in _refused("1" * 16, "农商银行", banks.PASSBOOK).message
    # a bank whose benefits are paid to cards only offers no passbook account
    refused = _refused(card("621700123456789"), "中国工商银行", banks.PASSBOOK)
    assert refused.field == "account_kind" and "银行卡（社保卡/借记卡）" in refused.message


def test_the_bank_comes_from_the_list_by_its_name_or_a_known_alias() -> None:
    number = card("622848009999468")
    for alias in ("农行", "农业银行", " 中国农业银行 "):
        assert banks.find(alias).name == "中国农业银行"
        assert banks.check(number, alias, banks.CARD) == number
    assert _refused(number, "").message == "请选择开户行"
    refused = _refused(number, "花旗银行")
    assert (refused.field, refused.message) == ("bank", "请从列表中选择开户行")
    assert banks.names() == [b.name for b in banks.BANKS] and len(set(banks.names())) >= 8


def test_an_account_registered_before_kinds_is_payable_if_it_fits_any_kind() -> None:
    luhn = card("621700123456789")
    not_luhn = luhn[:-1] + str((int(luhn[-1]) + 1) % 10)
    assert banks.payable(luhn, "中国工商银行", "")
    assert not banks.payable(not_luhn, "中国工商银行", "")  # cards only: its digit is wrong
    assert banks.payable("6217" + "3" * 15, "徽商银行", "")  # a 19-digit 一卡通 account
    assert not banks.payable("", "徽商银行", "") and not banks.payable(luhn, "", "")
    assert not services.payee_is_usable(" ", luhn, "中国工商银行", banks.CARD)
    assert services.payee_is_usable("张三", luhn, "工行", banks.CARD)


# -- requests: the holder ------------------------------------------------------------------

def _enrolled(world, household=None, amount: int = 50_000) -> Enrollment:
    return services.enroll(by=world.users.district_approver,
                           household=household or world.village_hh, programme="dibao",
                           amount_fen=amount, start_date=D(2026, 1, 1))


def _request(world, e: Enrollment, by=None, **fields) -> PayeeChange:
    values = {"holder": "member", "person_id": e.payee_person_id, "bank": "徽商银行",
              "account_kind": "card", "account": card("621700123456789"), "reason": "补登账号"}
    values.update(fields)
    return payees.request_change(by=by or world.users.village_assistant, enrollment=e,
                                 **values)


@pytest.mark.django_db
def test_enrolment_sets_the_holder_and_no_account(world):
    e = _enrolled(world)
    head = world.village_hh.head()
    assert (e.payee_person, e.payee_name, e.payee_account, e.bank) == (head, head.name, "", "")
    spouse = Membership.objects.get(household=world.village_hh, relation="spouse").person
    own = services.enroll(by=world.users.district_approver, household=world.village_hh,
                          person=spouse, programme="dibao", amount_fen=1, start_date=D(2026, 1, 1))
    assert (own.payee_person, own.payee_name) == (spouse, spouse.name)


@pytest.mark.django_db
def test_an_agent_needs_a_name_a_valid_adult_id_and_a_reason(world):
    e = _enrolled(world)
    with pytest.raises(services.BenefitsError) as caught:
        _request(world, e, holder="agent", agent_name=" ", agent_id_number="",
                 agent_reason="")
    assert {x.field for x in caught.value.errors} == {"agent_name", "agent_id_number",
                                                       "agent_reason"}
    assert _reason(caught.value, "agent_name") == "请填写代领人姓名"
    bad_digit = AGENT_ID[:-1] + ("0" if AGENT_ID[-1] != "0" else "1")
    child = idnumber.make("341002", D(2015, 6, 1), 30, "F")
    for wrong, said in ((bad_digit, "校验码错误"), (AGENT_ID[:17], "应为18位"),
                        (child, "代领人须年满18周岁")):
        with pytest.raises(services.BenefitsError) as caught:
            _request(world, e, holder="agent", agent_name="王代领", agent_id_number=wrong,
                     agent_reason="本人失能")
        assert said in _reason(caught.value, "agent_id_number")
    assert not PayeeChange.objects.exists()
    change = _request(world, e, holder="agent", agent_name="王 代领",
                      agent_id_number=AGENT_ID.lower(), agent_reason="长期住院")
    assert (change.name, change.agent_id_number, change.agent_reason, change.person) == (
        "王 代领", AGENT_ID, "长期住院", None)


@pytest.mark.django_db
def test_a_member_holder_must_be_a_current_member_of_the_household(world):
    e = _enrolled(world)
    stranger = world.same_town_hh.head()
    for person_id in (stranger.pk, "", "abc", None):
        with pytest.raises(services.BenefitsError) as caught:
            _request(world, e, person_id=person_id)
        assert _reason(caught.value, "person") == "请选择本户的一名在册成员作为收款人"
    with pytest.raises(services.BenefitsError) as caught:
        _request(world, e, holder="")
    assert caught.value.field == "holder"


@pytest.mark.django_db
def test_every_reason_of_a_request_is_given_at_once_and_nothing_is_written(world):
    e = _enrolled(world)
    with pytest.raises(services.BenefitsError) as caught:
        _request(world, e, person_id=None, bank="", account="123", reason="")
    assert {x.field for x in caught.value.errors} == {"person", "bank", "reason"}
    good = card("621700123456789")
    with pytest.raises(services.BenefitsError) as caught:
        _request(world, e, account=good[:-1] + str((int(good[-1]) + 1) % 10))
    assert _reason(caught.value, "account") == "账号校验位不符，请核对是否抄错一位或相邻两位颠倒"
    assert not PayeeChange.objects.exists()


# -- requests: who may, and the payee in force ------------------------------------------------

@pytest.mark.django_db
def test_a_village_assistants_request_changes_nothing_until_a_second_person_approves(world):
    u = world.users
    e = _enrolled(world)
    account = card("621700555566667")
    change = _request(world, e, account=account)
    e.refresh_from_db()
    assert (change.status, change.old_account, change.account) == ("pending", "", account)
    assert e.payee_account == "" and e.bank == ""
    # January is approved meanwhile: the line waits for an account and is not in the file
    january = services.build_run(by=u.district_officer, month=D(2026, 1, 1),
                                 area_code=DISTRICT).run
    services.approve_run(by=u.district_approver, run=january, opinion="经审核，同意")
    assert PaymentLine.objects.get(run=january).status == PaymentLine.AWAITING_ACCOUNT
    assert _accounts(world, january) == []
    # the village assistant cannot approve (no capability), nor can the requester
    with pytest.raises(PermissionDenied):
        payees.approve_change(by=u.village_assistant, change=change)
    payees.approve_change(by=u.town_approver, change=change, note="已核对银行卡")
    e.refresh_from_db()
    change.refresh_from_db()
    assert (e.payee_account, e.bank, e.account_kind, e.payee_person) == (
        account, "徽商银行", "card", world.village_hh.head())
    assert (change.status, change.decided_by, change.decision_note) == (
        "approved", u.town_approver, "已核对银行卡")
    # January stays as approved; February pays both months to the new account
    assert _accounts(world, january) == []
    february = services.build_run(by=u.district_officer, month=D(2026, 2, 1),
                                  area_code=DISTRICT).run
    services.approve_run(by=u.district_approver, run=february, opinion="经审核，同意")
    line = PaymentLine.objects.get(run=february)
    assert (line.status, line.total_fen, line.payee_account) == ("pending", 100_000, account)
    assert _accounts(world, february) == [(account, "100000")]


def _accounts(world, run) -> list[tuple[str, str]]:
    data = bank_files.bank_file(by=world.users.district_officer, run=run)[0]
    return [(r["账号"], r["金额"].replace(".", "")) for r in
            csv.DictReader(io.StringIO(data.decode("utf-8-sig")))]


@pytest.mark.django_db
def test_nobody_approves_their_own_request(world):
    u = world.users
    e = _enrolled(world)
    change = _request(world, e, by=u.town_approver)
    with pytest.raises(PermissionDenied, match="不能审批本人提出的"):
        payees.approve_change(by=u.town_approver, change=change)
    with pytest.raises(PermissionDenied, match="不能审批本人提出的"):
        payees.reject_change(by=u.town_approver, change=change, note="不要了")
    assert not payees.may_decide(u.town_approver, change)
    assert payees.may_decide(u.district_approver, change)
    e.refresh_from_db()
    assert e.payee_account == ""
    payees.approve_change(by=u.district_approver, change=change)
    e.refresh_from_db()
    assert e.payee_account == change.account


@pytest.mark.django_db
def test_an_approver_or_requester_out_of_scope_is_refused(world):
    u = world.users
    other = _enrolled(world, world.other_town_hh)  # 屯光镇: not the town approver's town
    change = _request(world, other, by=u.district_officer)
    assert not payees.may_decide(u.town_approver, change)
    with pytest.raises(PermissionDenied):
        payees.approve_change(by=u.town_approver, change=change)
    with pytest.raises(PermissionDenied):
        payees.reject_change(by=u.town_approver, change=change, note="不在本镇")
    with pytest.raises(PermissionDenied):  # a district of another province
        payees.approve_change(by=world.gd_user, change=change)
    with pytest.raises(PermissionDenied):  # the village assistant's village is elsewhere
        _request(world, other, by=u.village_assistant)
    with pytest.raises(PermissionDenied):  # may view, may not ask
        _request(world, other, by=u.supervisor)
    change.refresh_from_db()
    other.refresh_from_db()
    assert change.status == "pending" and other.payee_account == ""


@pytest.mark.django_db
def test_a_rejection_keeps_the_old_payee_and_allows_a_new_request(world):
    u = world.users
    e = _enrolled(world)
    first = card("621700111122223")
    give_payee(u, e, first)
    change = _request(world, e, holder="agent", agent_name="王代领", agent_id_number=AGENT_ID,
                      agent_reason="本人失能", account=card("622848009999468"),
                      bank="农业银行", reason="改由代领人领取")
    with pytest.raises(services.BenefitsError, match="已有待审批"):  # one open request
        _request(world, e, account=card("621700999988887"))
    with pytest.raises(services.BenefitsError) as caught:
        payees.reject_change(by=u.town_approver, change=change, note=" ")
    assert (caught.value.field, caught.value.message) == ("note", "请填写驳回理由")
    payees.reject_change(by=u.town_approver, change=change, note="代领人未到场签字")
    e.refresh_from_db()
    change.refresh_from_db()
    assert (e.payee_account, e.payee_name, e.payee_is_agent) == (first, e.payee_person.name,
                                                                 False)
    assert (change.status, change.decision_note) == ("rejected", "代领人未到场签字")
    with pytest.raises(services.BenefitsError, match="已驳回"):
        payees.approve_change(by=u.district_approver, change=change)
    # the same payee as in force is no change
    with pytest.raises(services.BenefitsError, match="与现行的相同"):
        _request(world, e, account=first)
    again = _request(world, e, account=card("621700999988887"))
    payees.withdraw_change(by=u.village_assistant, change=again)
    with pytest.raises(PermissionDenied):
        payees.withdraw_change(by=u.town_approver, change=_request(world, e, reason="换卡"))


@pytest.mark.django_db
def test_an_approved_change_leaves_an_approved_runs_file_and_pays_from_the_next(world):
    u = world.users
    e = _enrolled(world)
    old, new = card("621700111122223"), card("622848009999468")
    give_payee(u, e, old)
    january = services.build_run(by=u.district_officer, month=D(2026, 1, 1),
                                 area_code=DISTRICT).run
    services.approve_run(by=u.district_approver, run=january, opinion="经审核，同意")
    before = _accounts(world, january)
    assert before == [(old, "50000")]
    change = _request(world, e, holder="agent", agent_name="王代领", agent_id_number=AGENT_ID,
                      agent_reason="长期住院", bank="农行", account=new, reason="本人住院")
    payees.approve_change(by=u.town_approver, change=change)
    e.refresh_from_db()
    assert (e.payee_name, e.payee_person, e.payee_agent_id_number, e.bank) == (
        "王代领", None, AGENT_ID, "中国农业银行")
    assert _accounts(world, january) == before
    february = services.build_run(by=u.district_officer, month=D(2026, 2, 1),
                                  area_code=DISTRICT).run
    services.approve_run(by=u.district_approver, run=february, opinion="经审核，同意")
    assert _accounts(world, february) == [(new, "50000")]
    line = PaymentLine.objects.get(run=february)
    assert (line.payee_name, line.bank, line.account_kind) == ("王代领", "中国农业银行", "card")


@pytest.mark.django_db
def test_a_change_based_on_a_payee_no_longer_in_force_is_not_applied(world):
    u = world.users
    e = _enrolled(world)
    change = _request(world, e)
    # the payee moved on behind the request's back (a load, an edit in the database)
    Enrollment.objects.filter(pk=e.pk).update(payee_name="别人")
    with pytest.raises(services.BenefitsError, match="请驳回后重新申请"):
        payees.approve_change(by=u.town_approver, change=change)
    assert PayeeChange.objects.get(pk=change.pk).status == "pending"


@pytest.mark.django_db
def test_a_member_who_left_before_approval_cannot_be_approved(world):
    u = world.users
    e = _enrolled(world)
    spouse = Membership.objects.get(household=world.village_hh, relation="spouse")
    change = _request(world, e, person_id=spouse.person_id)
    Membership.objects.filter(pk=spouse.pk).update(end_date=D(2026, 3, 1))
    with pytest.raises(services.BenefitsError) as caught:
        payees.approve_change(by=u.town_approver, change=change)
    assert caught.value.field == "person"
    e.refresh_from_db()
    assert e.payee_account == ""


@pytest.mark.django_db
def test_loading_refuses_an_account_its_bank_could_not_pay_into():
    number = "6217" + "0" * 14 + "1"
    fields = payees.loaded_payee(name="张三", account=number, bank="徽商银行",
                                 account_kind=banks.PASSBOOK)
    assert (fields["payee_account"], fields["account_kind"]) == (number, "passbook")
    with pytest.raises(banks.BankAccountError):
        payees.loaded_payee(name="张三", account=number, bank="徽商银行",
                            account_kind=banks.CARD)


# -- timeline, audit, pages ------------------------------------------------------------------

@pytest.mark.django_db
def test_every_request_approval_and_rejection_is_on_the_timeline_masked(client, world):
    u = world.users
    e = _enrolled(world)
    account, other = card("621700555566667"), card("622848009999468")
    payees.approve_change(by=u.town_approver, change=_request(world, e, account=account))
    payees.reject_change(by=u.district_approver, note="代领人身份证复印件不清", change=_request(
        world, e, holder="agent", agent_name="王代领", agent_id_number=AGENT_ID,
        agent_reason="本人失能", account=other, bank="中国农业银行", reason="改由代领"))
    events = AuditEvent.objects.filter(object_type="benefits.payeechange").order_by("id")
    assert [ev.action for ev in events] == ["create", "update", "create", "update"]
    logged = " ".join(f"{ev.object_label} {ev.changes}" for ev in events)
    assert account not in logged and other not in logged and AGENT_ID not in logged
    assert "王代领" not in logged and "王*领" in logged
    assert f"{account[:4]}****{account[-4:]}" in logged
    client.login(username="village_assistant", password=PASSWORD)
    page = client.get(f"/households/{world.village_hh.pk}/").content.decode()
    timeline = page[page.index('id="timeline"'):]
    # the agent's reason (health, here) is personal: the log and the timeline mask it
    assert "本人失能" not in logged
    for said in ("待审批", "已批准", "已驳回：代领人身份证复印件不清", "代领：本**能",
                 f"{account[:4]}{'*' * (len(account) - 8)}{account[-4:]}"):
        assert said in timeline, said
    assert account not in page and other not in page and AGENT_ID not in page


@pytest.mark.django_db
def test_the_pages_request_show_errors_and_decide(client, world):
    e = _enrolled(world)
    client.login(username="village_assistant", password=PASSWORD)
    page = client.get(f"/enrollments/{e.pk}/").content.decode()
    assert "未登记账号" in page and "申请变更收款人" in page and "批准变更" not in page
    good = card("621700555566667")
    typo = good[:5] + str((int(good[5]) + 3) % 10) + good[6:]
    form = {"action": "request", "holder": "member", "person": str(e.payee_person_id),
            "bank": "徽商银行", "account_kind": "card", "account": typo, "reason": "补登账号"}
    page = client.post(f"/enrollments/{e.pk}/payee/", form).content.decode()
    assert "账号校验位不符，请核对是否抄错一位或相邻两位颠倒" in page
    assert f'value="{typo}"' in page  # what was typed comes back to be corrected
    assert not PayeeChange.objects.exists()
    response = client.post(f"/enrollments/{e.pk}/payee/", form | {"account": good})
    assert response.status_code == 302
    change = PayeeChange.objects.get()
    page = client.get(f"/enrollments/{e.pk}/").content.decode()
    assert "待审批的变更申请" in page and "撤回申请" in page and "批准变更" not in page
    assert good not in page and good[-4:] in page
    # the village assistant's crafted approval is refused
    page = client.post(f"/enrollments/{e.pk}/payee/", {"action": "approve",
                                                       "change": change.pk}).content.decode()
    assert PayeeChange.objects.get().status == "pending"
    # a town approver finds it in the queue and approves it there
    client.login(username="town_approver", password=PASSWORD)
    queue = client.get("/payments/payees/").content.decode()
    assert world.village_hh.number in queue and "批准" in queue and good not in queue
    assert "收款人变更审批（1）" in client.get("/payments/").content.decode()
    response = client.post(f"/enrollments/{e.pk}/payee/", {
        "action": "approve", "change": change.pk, "back": "queue"})
    assert response.status_code == 302 and response["Location"].endswith("/payments/payees/")
    e.refresh_from_db()
    assert e.payee_account == good
    assert "暂无待审批的收款人变更" in client.get("/payments/payees/").content.decode()
    page = client.get(f"/households/{world.village_hh.pk}/").content.decode()
    assert f"{good[:4]}********{good[-4:]}" in page and good not in page


@pytest.mark.django_db
def test_a_viewer_without_the_capability_cannot_post(client, world):
    e = _enrolled(world)
    client.login(username="supervisor", password=PASSWORD)
    response = client.post(f"/enrollments/{e.pk}/payee/", {
        "action": "request", "holder": "member", "person": str(e.payee_person_id),
        "bank": "徽商银行", "account_kind": "card", "account": card("621700555566667"),
        "reason": "补登账号"})
    assert response.status_code == 403 and not PayeeChange.objects.exists()
    page = client.get(f"/enrollments/{e.pk}/").content.decode()
    assert "申请变更收款人" not in page


@pytest.mark.django_db
def test_the_migration_fills_the_holder_where_the_name_tells_it(world):
    u = world.users
    head = world.village_hh.head()
    by_name = _enrolled(world)
    renamed = _enrolled(world, world.same_town_hh)
    Enrollment.objects.filter(pk__in=[by_name.pk, renamed.pk]).update(payee_person=None)
    Enrollment.objects.filter(pk=renamed.pk).update(payee_name="旧系统收款人")
    spouse = Membership.objects.get(household=world.village_hh, relation="spouse").person
    own = services.enroll(by=u.district_approver, household=world.village_hh, person=spouse,
                          programme="dibao", amount_fen=1, start_date=D(2026, 1, 1))
    Enrollment.objects.filter(pk=own.pk).update(payee_person=None)
    migration = importlib.import_module("doudi.benefits.migrations.0010_payee_requests")
    migration.fill_holders(apps, None)
    holders = dict(Enrollment.objects.values_list("pk", "payee_person_id"))
    assert holders == {by_name.pk: head.pk, renamed.pk: None, own.pk: spouse.pk}
