"""Policy parameters (政策参数) as data and their resolution for an area on a day.

A parameter is a key, an area-code prefix ("" for the national default, "44" for Guangdong,
"4401" for Guangzhou, "341002" for 屯溪区 …), an effective date, a value, a unit and the legal
reference it comes from. For (area, day): among the rows of the key in force on that day
(effective ≤ day), take the one with the longest prefix of the area code; among those, the
latest effective date. A change therefore takes effect on its date and never reaches back.

Money is written in yuan (元) as decimal text and used in fen; shares and multiples are used
in basis points (万分之一), so the engine never multiplies money by a float.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from doudi.core.money import AmountError, parse_yuan

#: unit → (中文, kind). kind decides how a value is checked and scaled for the engine.
UNITS: dict[str, tuple[str, str]] = {
    "yuan_month": ("元/人·月", "money"),
    "yuan_household_month": ("元/户·月", "money"),
    "yuan_year": ("元/人·年", "money"),
    "yuan_household_year": ("元/户·年", "money"),
    "yuan": ("元", "money"),
    "rate": ("比例", "ratio"),
    "multiple": ("倍", "ratio"),
    "months": ("个月", "integer"),
    "days": ("天", "integer"),
    "years": ("岁", "integer"),
    "count": ("个", "integer"),
    "bool": ("是/否", "bool"),
    "text": ("文本", "text"),
    "list": ("列表", "list"),
    "rates": ("比例序列", "ratio_list"),
    "table": ("对照表", "table"),
}
BASIS = 10_000  # ratios are carried as integer basis points
#: text parameters whose values the engine branches on
TEXT_CHOICES: dict[str, tuple[str, ...]] = {
    "dibao.rounding.mode": ("half_up", "up", "down"),
    "edge.asset_basis": ("hukou", "urban"),
    "benefits.start_rule": ("full", "none", "daily"),
    "benefits.stop_rule": ("full", "none", "daily"),
}


class ParameterError(ValueError):
    """A parameter row or value that cannot be used; the message is Chinese and names the key."""


class ParameterMissing(ParameterError):
    pass


@dataclass(frozen=True)
class Parameter:
    key: str
    area: str  # significant area-code prefix; "" = national default
    effective: dt.date
    value: Any
    unit: str
    reference: str = ""
    url: str = ""
    verified: bool = False
    note: str = ""

    @property
    def unit_label(self) -> str:
        return UNITS[self.unit][0]

    @property
    def kind(self) -> str:
        return UNITS[self.unit][1]


def _decimal(key: str, value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ParameterError(f"参数 {key} 应为数值，收到 {value!r}")
    try:
        number = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        raise ParameterError(f"参数 {key} 应为数值，收到 {value!r}") from None
    if not number.is_finite():
        raise ParameterError(f"参数 {key} 应为有限数值，收到 {value!r}")
    return number


def _money(key: str, value: Any) -> Decimal:
    """A non-negative amount in yuan through the one parser of typed amounts (no exponents,
    infinities or third decimals; at most `MAX_FEN`), kept as the Decimal it was written."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ParameterError(f"参数 {key} 的金额应为数值，收到 {value!r}")
    # a Decimal or int is written out in full ("8E+2" is 800, not an exponent typed by hand)
    text = f"{value:f}" if isinstance(value, Decimal) and value.is_finite() else str(value)
    try:
        parse_yuan(text, field="value", label=f"参数 {key} 的金额")
    except AmountError as exc:
        raise ParameterError(exc.message) from None
    if isinstance(value, Decimal):
        return value
    return Decimal(unicodedata.normalize("NFKC", text).replace(",", "").strip())


def normalise_value(key: str, unit: str, value: Any) -> Any:
    """Check a value against its unit and return it in canonical form (Decimal for numbers)."""
    if unit not in UNITS:
        raise ParameterError(f"参数 {key} 的单位 {unit!r} 未知")
    kind = UNITS[unit][1]
    if kind == "money":
        return _money(key, value)
    if kind == "ratio":
        text = str(value).strip()
        # "20%" as policy staff write it
        percent = text.endswith(("%", "％"))
        number = _decimal(key, text[:-1]) / 100 if percent else _decimal(key, value)
        if number < 0 or number * BASIS != int(number * BASIS):
            raise ParameterError(f"参数 {key} 应为非负比例，最多四位小数，收到 {value!r}")
        return number
    if kind == "integer":
        number = _decimal(key, value)
        if number < 0 or number != int(number):
            raise ParameterError(f"参数 {key} 应为非负整数，收到 {value!r}")
        return Decimal(int(number))
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "1", "是", "yes"}:
            return True
        if text in {"false", "0", "否", "no"}:
            return False
        raise ParameterError(f"参数 {key} 应为 是/否，收到 {value!r}")
    if kind == "list":
        if isinstance(value, str):
            value = [v.strip() for v in value.replace("，", ",").split(",") if v.strip()]
        if not isinstance(value, list | tuple):
            raise ParameterError(f"参数 {key} 应为列表，收到 {value!r}")
        return tuple(str(v) for v in value)
    if kind == "ratio_list":
        if isinstance(value, str):
            value = [v for v in value.replace("，", ",").split(",") if v.strip()]
        if not isinstance(value, list | tuple):
            raise ParameterError(f"参数 {key} 应为比例序列，收到 {value!r}")
        return tuple(normalise_value(key, "rate", v) for v in value)
    if kind == "table":
        if not isinstance(value, Mapping):
            raise ParameterError(f"参数 {key} 应为对照表（键: 值），收到 {value!r}")
        table = {str(k): _decimal(f"{key}.{k}", v) for k, v in value.items()}
        for k, v in table.items():
            if v < 0 or v != int(v):
                raise ParameterError(f"参数 {key} 的 {k} 应为非负整数，收到 {v}")
        return table
    text = str(value).strip()
    if key in TEXT_CHOICES and text not in TEXT_CHOICES[key]:
        allowed = "、".join(TEXT_CHOICES[key])
        raise ParameterError(f"参数 {key} 应为 {allowed} 之一，收到 {value!r}")
    return text


def engine_value(param: Parameter) -> Any:
    """The value as the engine computes with it: fen, basis points, int, bool, list, dict."""
    kind = param.kind
    if kind == "money":
        return int(param.value * 100)
    if kind == "ratio":
        return int(param.value * BASIS)
    if kind == "integer":
        return int(param.value)
    if kind == "table":
        return {k: int(v) for k, v in param.value.items()}
    if kind == "ratio_list":
        return [int(v * BASIS) for v in param.value]
    if kind == "list":
        return list(param.value)
    return param.value


def display_value(param: Parameter) -> str:
    """The value as policy staff write it: 1165.00 元/人·月, 60%, 1.6 倍, [学生, 老年人]."""
    kind, value = param.kind, param.value
    if kind == "money":
        return f"{value:,.2f} {param.unit_label}"
    if kind == "ratio" and param.unit == "rate":
        return f"{(value * 100).normalize():f}%"
    if kind in {"ratio", "integer"}:
        return f"{value.normalize():f} {param.unit_label}"
    if kind == "bool":
        return "是" if value else "否"
    if kind == "list":
        return "、".join(value) if value else "（空）"
    if kind == "ratio_list":
        return "、".join(f"{(v * 100).normalize():f}%" for v in value)
    if kind == "table":
        return "；".join(f"{k}: {v.normalize():f}" for k, v in value.items())
    return str(value)


def make_parameter(
    key: str, area: str, effective: dt.date | str, value: Any, unit: str, **meta: Any
) -> Parameter:
    if isinstance(effective, str):
        try:
            effective = dt.date.fromisoformat(effective)
        except ValueError:
            raise ParameterError(f"参数 {key} 的生效日期 {effective!r} 不是 YYYY-MM-DD") from None
    area = str(area or "").strip()
    if area and not (area.isdigit() and len(area) <= 12):
        raise ParameterError(f"参数 {key} 的区划代码 {area!r} 应为不超过 12 位的数字前缀")
    return Parameter(key, area, effective, normalise_value(key, unit, value), unit, **meta)


class ParameterSet:
    """An immutable collection of parameter rows with (area, day) resolution."""

    def __init__(self, parameters: Iterable[Parameter]) -> None:
        rows: dict[str, list[Parameter]] = {}
        seen: set[tuple[str, str, dt.date]] = set()
        for p in parameters:
            ident = (p.key, p.area, p.effective)
            if ident in seen:
                raise ParameterError(
                    f"参数 {p.key} 在区划 {p.area or '全国'} 于 {p.effective} 重复定义"
                )
            seen.add(ident)
            rows.setdefault(p.key, []).append(p)
        # latest first, so the first row in force wins among rows of the same prefix
        self._rows = {
            k: sorted(v, key=lambda p: p.effective, reverse=True) for k, v in rows.items()
        }
        self._prefix_lengths = sorted({len(p.area) for v in rows.values() for p in v}, reverse=True)
        self._areas = {p.area for v in rows.values() for p in v}
        self._cached_resolve = lru_cache(maxsize=65_536)(self._resolve_uncached)

    def __iter__(self):  # noqa: ANN204 - a plain iterator over rows
        for rows in self._rows.values():
            yield from rows

    def __len__(self) -> int:
        return sum(len(v) for v in self._rows.values())

    @property
    def keys(self) -> list[str]:
        return sorted(self._rows)

    def history(self, key: str) -> list[Parameter]:
        return list(self._rows.get(key, []))

    def resolve(self, key: str, area_code: str, day: dt.date) -> Parameter:
        found = self._cached_resolve(key, self.signature(area_code), day)
        if found is None:
            raise ParameterMissing(f"缺少参数 {key}：区划 {area_code} 在 {day} 没有生效的取值")
        return found

    def find(self, key: str, area_code: str, day: dt.date) -> Parameter | None:
        return self._cached_resolve(key, self.signature(area_code), day)

    def signature(self, area_code: str) -> tuple[str, ...]:
        """The defining prefixes that contain `area_code`, longest first. Areas with the same
        signature resolve every key alike, which is what makes batch resolution cheap."""
        return tuple(
            area_code[:n] for n in self._prefix_lengths
            if len(area_code) >= n and area_code[:n] in self._areas
        )

    def _resolve_uncached(
        self, key: str, signature: tuple[str, ...], day: dt.date
    ) -> Parameter | None:
        rows = self._rows.get(key, ())
        for prefix in signature:  # longest prefix first
            for p in rows:  # latest effective first
                if p.area == prefix and p.effective <= day:
                    return p
        return None

    def resolved(self, area_code: str, day: dt.date, keys: Iterable[str]) -> dict[str, Parameter]:
        return {k: self.resolve(k, area_code, day) for k in keys}

    def with_rows(self, extra: Iterable[Parameter]) -> ParameterSet:
        """A new set with `extra` rows added; a row with the same key, area and date replaces."""
        extra = list(extra)
        replaced = {(p.key, p.area, p.effective) for p in extra}
        kept = [p for p in self if (p.key, p.area, p.effective) not in replaced]
        return ParameterSet([*kept, *extra])

    def with_overrides(
        self, overrides: Mapping[str, Any], area_code: str, day: dt.date, note: str = ""
    ) -> ParameterSet:
        """Values set for one area from `day` on (scenario files, what-if simulation). The unit of
        each key is taken from the rows already defined for it."""
        extra = []
        for key, value in overrides.items():
            known = self._rows.get(key)
            if not known:
                raise ParameterError(f"参数 {key} 未定义，无法覆盖")
            extra.append(
                replace(known[0], area=area_code, effective=day,
                        value=normalise_value(key, known[0].unit, value),
                        reference=note or "测算覆盖值", url="", verified=False, note=note)
            )
        return self.with_rows(extra)
