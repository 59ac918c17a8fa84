"""Small builders the exchange tests share: IDs of nobody, a wrong check digit, a 车管 header."""

from __future__ import annotations

import datetime as dt

from doudi.core import idnumber

VEHICLE_HEADER = "号牌号码,车辆类型,机动车所有人,身份证明号码,中文品牌,初次登记日期,机动车状态"


def outsider_id(n: int) -> str:
    """A valid ID of nobody in the registry (born 1950, a year no test household uses)."""
    return idnumber.make("341002", dt.date(1950, 1, 1) + dt.timedelta(days=n), 20, "M")


def bad_check_digit(id_number: str) -> str:
    return id_number[:-1] + ("0" if id_number[-1] != "0" else "1")
