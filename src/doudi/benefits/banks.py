"""开户行与账号校验: the banks a payee's account may be held at, and how their account numbers
are checked before money is sent to them.

The table is data: each bank, the kinds of account it pays benefits into, and for each kind
the lengths its numbers have and whether they carry a Luhn (模10) check digit. Bank cards —
the 社保卡's bank account and ordinary debit cards — are 16–19 digits with a Luhn check digit
at every bank here. 一卡通 / 存折 accounts (passbook accounts, the usual way 惠民惠农 subsidies
reach rural residents) are account numbers, not card numbers, and carry no Luhn digit, so only
their length is checked. A district whose paying bank states other lengths in its 代发 agreement
changes them here; nothing else reads bank facts.

An account typed with spaces or full-width digits (copied from a card or from a Word form) is
read as its digits; anything else that is not a digit is refused, never dropped. Pure Python.
"""

from __future__ import annotations

from dataclasses import dataclass

from doudi.core.errors import FieldError, ServiceError

CARD, PASSBOOK = "card", "passbook"
KINDS: dict[str, str] = {CARD: "银行卡（社保卡/借记卡）", PASSBOOK: "一卡通/存折账户"}
KIND_CHOICES = list(KINDS.items())


class BankAccountError(ServiceError):
    """An account number, bank or account kind that cannot be paid into; Chinese reasons."""


@dataclass(frozen=True)
class AccountRule:
    """How numbers of one kind of account at one bank look: lengths (inclusive) and whether
    the last digit is a Luhn check digit."""

    shortest: int
    longest: int
    luhn: bool

    def lengths(self) -> str:
        if self.shortest == self.longest:
            return f"{self.shortest}位"
        return f"{self.shortest}–{self.longest}位"


@dataclass(frozen=True)
class Bank:
    name: str  # as written in 开户行 and in the bank file
    rules: tuple[tuple[str, AccountRule], ...]  # (kind, rule), in the order a form offers them
    aliases: tuple[str, ...] = ()  # other names clerks and older data use for it

    def rule(self, kind: str) -> AccountRule | None:
        return dict(self.rules).get(kind)

    @property
    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.rules]


_CARD = AccountRule(16, 19, luhn=True)

BANKS: tuple[Bank, ...] = (
    Bank("中国工商银行", ((CARD, _CARD),), ("工商银行", "工行")),
    Bank("中国农业银行", ((CARD, _CARD), (PASSBOOK, AccountRule(17, 19, luhn=False))),
         ("农业银行", "农行")),
    Bank("中国银行", ((CARD, _CARD),), ("中行",)),
    Bank("中国建设银行", ((CARD, _CARD),), ("建设银行", "建行")),
    Bank("交通银行", ((CARD, _CARD),), ("交行",)),
    Bank("中国邮政储蓄银行", ((CARD, _CARD), (PASSBOOK, AccountRule(18, 19, luhn=False))),
         ("邮政储蓄银行", "邮储银行", "邮政银行")),
    Bank("徽商银行", ((CARD, _CARD), (PASSBOOK, AccountRule(19, 19, luhn=False)))),
    Bank("农商银行", ((CARD, _CARD), (PASSBOOK, AccountRule(17, 22, luhn=False))),
         ("农村商业银行", "农村信用社", "农信社", "农村合作银行")),
)

_BY_NAME: dict[str, Bank] = {n: b for b in BANKS for n in (b.name, *b.aliases)}


def find(name: str) -> Bank | None:
    """The bank of a name as typed or stored (its own name or an alias)."""
    return _BY_NAME.get((name or "").strip())


def names() -> list[str]:
    return [b.name for b in BANKS]


_FULL_WIDTH = {ord("０") + i: ord("0") + i for i in range(10)}
_SPACES = {ord(c): None for c in " \u3000\u00a0\t"}


def normalise(raw: str) -> str:
    """Full-width digits to ASCII and spaces (ASCII, full-width, no-break, tab) removed;
    nothing else is changed."""
    return (raw or "").translate(_FULL_WIDTH).translate(_SPACES)


def luhn_ok(digits: str) -> bool:
    """Whether the last digit is the Luhn (ISO/IEC 7812, 模10) check digit of the others."""
    if not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        d = int(char)
        if position % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def check(raw: str, bank_name: str, kind: str) -> str:
    """The account number as it will be paid into, or `BankAccountError` naming the field
    (`bank`, `account_kind` or `account`) with a reason a clerk can act on."""
    bank = find(bank_name)
    if bank is None:
        raise BankAccountError("请从列表中选择开户行" if (bank_name or "").strip()
                           else "请选择开户行", field="bank")
    rule = bank.rule(kind)
    if rule is None:
        offered = "、".join(KINDS[k] for k in bank.kinds)
        raise BankAccountError(f"{bank.name}可登记的账户类型：{offered}；请选择账户类型",
                           field="account_kind")
    number = normalise(raw)
    if not number:
        raise BankAccountError("请填写账号", field="account")
    strange = [c for c in number if not (c.isascii() and c.isdigit())]
    if strange:
        raise BankAccountError(f"账号只能由数字组成，含有“{strange[0]}”，请核对后重新填写",
                           field="account")
    label = f"{bank.name}{KINDS[kind]}"
    if not rule.shortest <= len(number) <= rule.longest:
        raise BankAccountError(f"{label}账号应为{rule.lengths()}，所填为{len(number)}位，"
                           "请核对是否多输或漏输", field="account")
    if rule.luhn and not luhn_ok(number):
        raise BankAccountError("账号校验位不符，请核对是否抄错一位或相邻两位颠倒", field="account")
    return number


def problems(raw: str, bank_name: str, kind: str) -> list[FieldError]:
    """The reasons `check` would give (none when the account can be paid into)."""
    try:
        check(raw, bank_name, kind)
    except BankAccountError as exc:
        return exc.errors
    return []


def payable(account: str, bank_name: str, kind: str) -> bool:
    """Whether a stored account can be written to a bank file. `kind` "" is an account
    registered before accounts had a kind: it is payable if it fits any kind its bank pays
    into."""
    bank = find(bank_name)
    if bank is None or not account:
        return False
    kinds = [kind] if kind else bank.kinds
    return any(not problems(account, bank.name, k) for k in kinds)
