"""Scenario files (测算案例): YAML lists of cases policy staff can read and extend.

    - name: 单人户，收入恰好等于标准，不符合
      area: "440103"          # area code (any prefix length)
      date: 2023-06-01
      parameters: {dibao.rounding: 1}   # optional overrides for this case
      household: {hukou: urban, members: [{id: a, age: 45, income: 1238}]}
      expect: {dibao.eligible: false, dibao.amount: 0}

Output names are the programme outputs (`dibao.amount`) and, for member programmes,
`<programme>.<member id>.<output>` (`tekun.a.amount`); every programme also has `status`
(符合 / 不符合 / 不可计算) and `reason` (why it could not be computed). Unknown case keys,
inputs and outputs are refused with the nearest known name. See docs/rules.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from doudi.rules.engine import UNAVAILABLE, Result, evaluate, missing_column, unavailable_reason
from doudi.rules.frames import InputError, from_records
from doudi.rules.parameters import ParameterError, ParameterSet, unknown_name
from doudi.rules.programmes import PROGRAMMES
from doudi.rules.shipped import read_yaml


class ScenarioError(ValueError):
    pass


CASE_KEYS = ("name", "area", "date", "parameters", "household", "expect")
ELIGIBLE, INELIGIBLE = "符合", "不符合"


@dataclass
class Case:
    name: str
    area: str
    day: dt.date
    household: dict[str, Any]
    expect: dict[str, Any]
    parameters: dict[str, Any] = field(default_factory=dict)
    origin: str = ""


@dataclass
class Mismatch:
    output: str
    expected: Any
    actual: Any


@dataclass
class Outcome:
    case: Case
    mismatches: list[Mismatch]
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and not self.mismatches


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ScenarioError(f"{where}: date 应为 YYYY-MM-DD") from None


def load_cases(path: Path) -> list[Case]:
    doc = read_yaml(path, ScenarioError)
    if isinstance(doc, dict):
        doc = [doc]
    if not isinstance(doc, list):
        raise ScenarioError(f"{path}: 应为案例列表")
    cases = []
    for n, item in enumerate(doc, start=1):
        where = f"{path.name} 第 {n} 个案例"
        if not isinstance(item, dict):
            raise ScenarioError(f"{where}: 应为键值对")
        for key in item:
            if key not in CASE_KEYS:
                raise ScenarioError(f"{where}: {unknown_name('案例键', str(key), CASE_KEYS)}")
        missing = [k for k in ("name", "area", "date", "household") if k not in item]
        if missing:
            raise ScenarioError(f"{where}: 缺少 {', '.join(missing)}")
        for part in ("household", "expect", "parameters"):
            if item.get(part) is not None and not isinstance(item[part], dict):
                raise ScenarioError(f"{where}: {part} 应为键值对")
        cases.append(Case(
            name=str(item["name"]), area=str(item["area"]), day=_date(item["date"], where),
            household=dict(item["household"]), expect=dict(item.get("expect") or {}),
            parameters=dict(item.get("parameters") or {}), origin=f"{path.name}#{n}",
        ))
    return cases


def find_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted([*p.rglob("*.yaml"), *p.rglob("*.yml")])
        elif p.exists():
            files.append(p)
        else:
            raise ScenarioError(f"{p}: 文件不存在")
    return files


def run_case(case: Case, parameters: ParameterSet) -> Result:
    params = parameters
    if case.parameters:
        params = parameters.with_overrides(case.parameters, case.area, case.day, note="案例覆盖值")
    household = {**case.household, "id": case.household.get("id", "case"), "area": case.area}
    h, m = from_records([household])
    return evaluate(h, m, params, case.day)


def _as_output(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "yuan":
        return (Decimal(value) / 100).quantize(Decimal("0.01"))
    if kind == "yuan_list":
        return [(Decimal(v) / 100).quantize(Decimal("0.01")) for v in value]
    if kind == "bool":
        return bool(value)
    return value


def _status(row: dict[str, Any], programme: Any, result: Result) -> tuple[str, str | None]:
    """(status, reason) of a programme for one household or member row."""
    key = row.get(missing_column(programme.name))
    if key is not None:
        return UNAVAILABLE, unavailable_reason(key, row["area_code"], result.day)
    return (ELIGIBLE if row.get(programme.eligible) else INELIGIBLE), None


def outputs(result: Result, household_id: str) -> dict[str, Any]:
    """Every output of one household, keyed as scenario files name them. A programme that could
    not be computed has null outputs, `status` 不可计算 and the `reason`."""
    hh = result.households.filter(household_id=household_id).to_dicts()[0]
    members = result.members.filter(household_id=household_id).to_dicts()
    out: dict[str, Any] = {}
    for programme in PROGRAMMES.values():
        if programme.eligible not in {*result.households.columns, *result.members.columns}:
            continue  # not evaluated in this run
        if programme.level == "household":
            out[f"{programme.name}.status"], out[f"{programme.name}.reason"] = _status(
                hh, programme, result)
        for name, (column, kind) in programme.outputs.items():
            if programme.level == "household" and kind == "ids":
                out[name] = sorted(str(m["member_id"]) for m in members if m.get(column))
            elif programme.level == "household" and kind.startswith("member_"):
                for member in members:
                    if column in member:
                        out[f"{programme.name}.{member['member_id']}.{name}"] = _as_output(
                            member[column], kind.removeprefix("member_"))
            elif programme.level == "household":
                if column in hh:
                    out[name] = _as_output(hh[column], kind)
            else:
                for member in members:
                    if column in member:
                        out[f"{programme.name}.{member['member_id']}.{name}"] = _as_output(
                            member[column], kind)
        if programme.level == "member":
            for member in members:
                prefix = f"{programme.name}.{member['member_id']}"
                out[f"{prefix}.status"], out[f"{prefix}.reason"] = _status(
                    {**hh, **member}, programme, result)
    return out


def _shown(name: str, actual: dict[str, Any]) -> Any:
    """What a mismatch reports: the reason where the output's programme was not computed."""
    value = actual[name]
    if value is not None:
        return value
    head, _, rest = name.partition(".")
    member = rest.rsplit(".", 1)[0] if "." in rest else ""
    reason = (actual.get(f"{head}.{member}.reason") if member else None) \
        or actual.get(f"{head}.reason")
    return reason if reason else value


def _matches(expected: Any, actual: Any) -> bool:
    if isinstance(actual, Decimal):
        try:
            return Decimal(str(expected)) == actual
        except (InvalidOperation, ValueError):
            return False
    if isinstance(actual, list) and actual and isinstance(actual[0], Decimal):
        try:
            return [Decimal(str(v)) for v in expected] == actual
        except (InvalidOperation, TypeError, ValueError):
            return False
    if isinstance(actual, list):
        return isinstance(expected, list) and sorted(map(str, expected)) == actual
    return expected == actual


def check(case: Case, parameters: ParameterSet) -> Outcome:
    try:
        result = run_case(case, parameters)
    except (InputError, ParameterError, ValueError) as exc:
        return Outcome(case, [], error=str(exc))
    actual = outputs(result, str(case.household.get("id", "case")))
    unknown = [name for name in case.expect if name not in actual]
    if unknown:
        return Outcome(case, [], error="expect: " + "；".join(
            unknown_name("输出", str(name), actual) for name in unknown))
    mismatches = []
    for name, expected in case.expect.items():
        if not _matches(expected, actual[name]):
            mismatches.append(Mismatch(name, expected, _shown(name, actual)))
    return Outcome(case, mismatches)


def show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return str(value)
