"""No module under src/doudi reaches into another module's private names (`_name`): what one
module offers another is a public, documented name. Checked on the source (no import), for
`from m import _x` and for `m._x` on a module bound by an import."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _is_module(dotted: str) -> bool:
    path = SRC.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _dotted(node: ast.expr) -> str | None:
    """`a.b.c` for a chain of names, else None (a call, a subscript…)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


def _base(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[:len(parts) - node.level + 1]
    return ".".join([*parts, node.module] if node.module else parts)


def private_uses(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, what) for each private name of another doudi module that `source` uses."""
    tree = ast.parse(source)
    found: list[tuple[int, str]] = []
    modules: dict[str, str] = {}  # a local name bound to a doudi module → the module
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = _base(node, module, is_package)
            if base.split(".")[0] != "doudi":
                continue
            for alias in node.names:
                if _private(alias.name):
                    found.append((node.lineno, f"from {base} import {alias.name}"))
                elif _is_module(f"{base}.{alias.name}"):
                    modules[alias.asname or alias.name] = f"{base}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "doudi":
                    modules[alias.asname or "doudi"] = alias.name if alias.asname else "doudi"
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _private(node.attr)):
            continue
        dotted = _dotted(node.value)
        head, _, rest = (dotted or "").partition(".")
        if head in modules:
            target = modules[head] + (f".{rest}" if rest else "")
            if _is_module(target):
                found.append((node.lineno, f"{target}.{node.attr}"))
    return sorted(found)


def test_no_module_uses_another_modules_private_names() -> None:
    offenders = []
    for path in sorted((SRC / "doudi").rglob("*.py")):
        module = ".".join(path.relative_to(SRC).with_suffix("").parts)
        is_package = path.name == "__init__.py"
        if is_package:
            module = module.rsplit(".", 1)[0]
        offenders += [f"{path.relative_to(SRC)}:{line} {what}" for line, what in
                      private_uses(path.read_text(encoding="utf-8"), module, is_package)]
    assert offenders == []


def test_the_check_sees_every_way_of_reaching_in() -> None:
    source = """
from doudi.casework.services import CaseworkError, _param
from doudi.synth.feeds import build
import doudi.web.views as views
import doudi.core.areacode
from .services import _local
from . import services

def f(self):
    build._pick(1)
    build.pick(1)
    views._need(2)
    doudi.core.areacode._hidden
    services._helper
    self._own
    build.__name__
"""
    assert private_uses(source, "doudi.casework.reserve_fund") == [
        (2, "from doudi.casework.services import _param"),
        (6, "from doudi.casework.services import _local"),
        (10, "doudi.synth.feeds.build._pick"),
        (12, "doudi.web.views._need"),
        (13, "doudi.core.areacode._hidden"),
        (14, "doudi.casework.services._helper"),
    ]
