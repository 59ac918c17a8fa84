"""行政区划 Area: one row per division, keyed by its 12-digit code."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models

from doudi.core import areacode


class Area(models.Model):
    """省/市/县/乡镇/村 with a 12-digit code; `prefix` is what scoping compares against."""

    LEVEL_CHOICES = [(level, label) for level, label in areacode.LEVEL_LABELS.items()]

    code = models.CharField("区划代码", max_length=12, primary_key=True)
    prefix = models.CharField("有效前缀", max_length=12, db_index=True)
    name = models.CharField("名称", max_length=100)
    level = models.PositiveSmallIntegerField("层级", choices=LEVEL_CHOICES)
    parent = models.ForeignKey(
        "self", verbose_name="上级", null=True, blank=True, on_delete=models.PROTECT,
        related_name="children",
    )
    is_urban = models.BooleanField("城镇(社区/居委会)", default=False)
    source = models.CharField("来源", max_length=100, blank=True)

    class Meta:
        verbose_name = "行政区划"
        verbose_name_plural = "行政区划"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def level_label(self) -> str:
        return areacode.LEVEL_LABELS[self.level]

    def ancestors(self) -> list[Area]:
        """From the province down to the parent (one query per level; the tree is 5 deep)."""
        chain: list[Area] = []
        node = self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return list(reversed(chain))

    def full_name(self) -> str:
        return "".join(a.name for a in [*self.ancestors(), self] if a.name != "市辖区")

    def descendants(self) -> models.QuerySet[Area]:
        return Area.objects.filter(code__startswith=self.prefix).exclude(code=self.code)


def area_names(codes: Iterable[str]) -> dict[str, str]:
    """Area code or significant prefix (341002102, 341002102000 …) → the area's name, for those
    loaded: what a page shows instead of the code. One query."""
    full = {c: c.ljust(12, "0") for c in codes if c and c.isdigit() and len(c) <= 12}
    found = dict(Area.objects.filter(code__in=set(full.values())).values_list("code", "name"))
    return {c: found[f] for c, f in full.items() if f in found}


def area_names_under(prefix: str) -> dict[str, str]:
    """Code (12 digits) or significant prefix (a town's 9) → name, for the district, towns and
    villages under `prefix`: what a list of that subtree shows instead of codes. One query."""
    names: dict[str, str] = {}
    for code, short, name in Area.objects.filter(
            code__startswith=prefix or "-", level__in=(3, 4, 5)).values_list(
            "code", "prefix", "name"):
        names[code] = names[short] = name
    return names
