"""The registry of programmes (救助项目), in evaluation order: a programme may read the results
of those before it (边缘 reads 低保, 单人保 reads 边缘, 两项补贴 reads all of them)."""

from __future__ import annotations

from doudi.rules.programmes import (
    child,
    dibao,
    disability,
    edge,
    hardship,
    linshi,
    single_person,
    taper,
    tekun,
)
from doudi.rules.programmes.base import Criterion, Programme, Step

PROGRAMMES: dict[str, Programme] = {
    m.PROGRAMME.name: m.PROGRAMME
    for m in (dibao, edge, single_person, hardship, taper, linshi, tekun, disability, child)
}

__all__ = ["PROGRAMMES", "Criterion", "Programme", "Step"]
