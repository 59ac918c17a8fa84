"""Payees for tests: card numbers with a Luhn check digit (computed here with the doubling
table, independently of `doudi.benefits.banks`), and a payee registered the way the product
registers one — requested by one person, approved by a second."""

from __future__ import annotations

import datetime as dt

from doudi.core import idnumber

_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # d → the digit sum of 2d
AGENT_ID = idnumber.make("341002", dt.date(1968, 4, 2), 21, "M")


def luhn_digit(body: str) -> str:
    """The check digit to append to `body`: every second digit from the right of the full
    number (so the last of `body`) counts doubled."""
    total = sum(_DOUBLED[int(d)] if i % 2 == 0 else int(d)
                for i, d in enumerate(reversed(body)))
    return str(-total % 10)


def card(body: str) -> str:
    """A card number: `body` and its Luhn check digit."""
    return body + luhn_digit(body)


def give_payee(users, enrollment, account: str, *, bank: str = "徽商银行",
               kind: str = "card", agent: str | None = None, requester=None,
               approver=None, reason: str = "补登账号"):
    """The enrollment paid into `account` from the next approved run: the holder in force
    (or the agent named `agent`), requested by the district officer and approved by the
    district approver unless others are given."""
    from doudi.benefits import payees

    holder = {"holder": "member", "person_id": enrollment.payee_person_id
              or enrollment.household.head().pk}
    if agent is not None:
        holder = {"holder": "agent", "agent_name": agent, "agent_id_number": AGENT_ID,
                  "agent_reason": "本人失能"}
    change = payees.request_change(by=requester or users.district_officer,
                                   enrollment=enrollment, bank=bank, account_kind=kind,
                                   account=account, reason=reason, **holder)
    payees.approve_change(by=approver or users.district_approver, change=change)
    enrollment.refresh_from_db()
    return enrollment
