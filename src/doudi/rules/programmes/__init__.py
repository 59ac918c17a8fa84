"""The programmes' rules modules, in evaluation order: a programme may read the results of those
before it (边缘 reads 低保, 单人保 reads 边缘, 两项补贴 reads all of them).

Which modules there are, and their order, comes from the programme catalogue
(`doudi.programmes.catalogue`: each entry's `rules` and `evaluation`), so a new programme's
rules module is picked up without editing this file.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from doudi.programmes import catalogue
from doudi.rules.programmes.base import Criterion, Programme, Step


class _Registry(Mapping[str, Programme]):
    """name → the `PROGRAMME` a rules module declares, rebuilt when the catalogue changes."""

    def __init__(self) -> None:
        self._built: dict[str, Programme] = {}
        self._version = -1

    def _current(self) -> dict[str, Programme]:
        if self._version != catalogue.version():
            built: dict[str, Programme] = {}
            for path in catalogue.rules_modules():
                programme = importlib.import_module(path).PROGRAMME
                built[programme.name] = programme
            self._built, self._version = built, catalogue.version()
        return self._built

    def __getitem__(self, name: str) -> Programme:
        return self._current()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())


PROGRAMMES: Mapping[str, Programme] = _Registry()

__all__ = ["PROGRAMMES", "Criterion", "Programme", "Step"]
