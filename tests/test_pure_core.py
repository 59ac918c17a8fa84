"""The pure core imports nothing from Django (DESIGN §3): the rules, the batch engine, the core
helpers and the programme catalogue run in a bare Python process (a Spark worker, a script)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# package → at least this many modules walked (so a broken walk cannot pass)
PURE = {"doudi.rules": 15, "doudi.engine": 10, "doudi.core": 8, "doudi.programmes": 2}


@pytest.mark.parametrize("package", PURE)
def test_package_imports_no_django(package: str) -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        f"package = importlib.import_module({package!r})\n"
        f"names = [{package!r}] + [m.name for m in pkgutil.walk_packages(package.__path__, "
        f"{package!r} + '.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "assert not bad, bad[:5]\n"
        "print(len(names))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= PURE[package]
