"""Roles are data, actions are capabilities (accounts.roles).

Code asks `user.can(CAPABILITY)`, never which role a user holds: a role-code literal or a
look at a user's roles outside the few places that manage roles fails here with its file and
line. Every capability is declared once, granted to some role, checked somewhere, and
documented.
"""

from __future__ import annotations

import ast
import io
import os
import re
import subprocess
import sys
import tokenize
from pathlib import Path

from doudi.accounts import roles
from doudi.accounts.roles import CAPABILITIES, ROLES
from doudi.casework import workflow
from doudi.monitoring import workflow as monitoring_workflow

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "doudi"
DOCS = ROOT / "docs" / "security.md"

# The places that legitimately handle role codes: the role table and the accounts app (grant,
# revoke, 三员分立, TOTP-required roles), the account pages, the demo's users. Migrations
# (anywhere) record the field's choices. Paths relative to src/doudi.
ROLE_CODE_FILES = frozenset({
    "accounts/roles.py",
    "accounts/models.py",
    "accounts/services.py",
    "accounts/revocation.py",
    "accounts/totp.py",
    "accounts/management/commands/adduser.py",
    "web/account_views.py",
    "ops/management/commands/demo.py",
    "golive/staff_roles.py",  # the staff list's role words (go-live grants roles with accounts)
})
# Role codes that are also ordinary words of the data model — "department" (a feed's or an
# observation's source), "hotline" (a warning's and an application's channel), "visitor" (a
# visit's visitor, an assignment's), "evaluator" (a finding's source and an assignment's kind,
# 第三方评估) — so their literals cannot be told from role checks; a role check on them would
# still have to read the user's roles, which `test_no_role_lookup_outside_accounts` catches.
ALSO_WORDS = frozenset({"department", "hotline", "visitor", "evaluator"})
# How code reads a user's roles: the property, the rows, the model, the table, the union.
ROLE_LOOKUP = re.compile(r"role_codes|role_rows|\bUserRole\b|\bROLES\b|\bEXCLUSIVE_ROLES\b|"
                         r"\bcapabilities_of\b")


def _sources() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(SRC.rglob("*")):
        rel = path.relative_to(SRC).as_posix()
        if path.suffix not in (".py", ".html", ".txt") or "/migrations/" in f"/{rel}":
            continue
        out.append((rel, path))
    return out


def _string_literals(path: Path) -> list[tuple[int, str]]:
    """(line, value) of every plain string literal in a Python file; for a template, every
    quoted word."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        return [(text.count("\n", 0, m.start()) + 1, m.group(2))
                for m in re.finditer(r"([\"'])([a-z_]+)\1", text)]
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.STRING:
            try:
                value = ast.literal_eval(tok.string)
            except (ValueError, SyntaxError):  # an f-string: its parts are not literals
                continue
            if isinstance(value, str):
                found.append((tok.start[0], value))
    return found


def test_the_allow_list_names_real_files() -> None:
    missing = sorted(f for f in ROLE_CODE_FILES if not (SRC / f).is_file())
    assert not missing, f"allow-listed files that no longer exist: {missing}"
    assert ALSO_WORDS <= set(ROLES)


def test_no_role_code_literal_outside_accounts() -> None:
    codes = set(ROLES) - ALSO_WORDS
    hits = [f"src/doudi/{rel}:{line}: {value!r}"
            for rel, path in _sources() if rel not in ROLE_CODE_FILES
            for line, value in _string_literals(path) if value in codes]
    assert not hits, ("role codes outside the role table; ask for a capability "
                      "(accounts.roles) instead:\n" + "\n".join(hits))


def test_no_role_lookup_outside_accounts() -> None:
    hits = [f"src/doudi/{rel}:{n}: {line.strip()}"
            for rel, path in _sources() if rel not in ROLE_CODE_FILES
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if ROLE_LOOKUP.search(line)]
    assert not hits, ("a user's roles read outside accounts; ask `user.can(CAPABILITY)` "
                      "instead:\n" + "\n".join(hits))


def test_the_scans_see_what_they_look_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('x = {"town_approver", f"{y}"}\nif set(u.role_codes) & x: pass\n')
    assert (1, "town_approver") in _string_literals(sample)
    assert ROLE_LOOKUP.search(sample.read_text().splitlines()[1])
    assert not ROLE_LOOKUP.search("DOUDI_TOTP_ROLES = frozenset()")


# -- the capabilities --------------------------------------------------------------------------

def _constants() -> dict[str, str]:
    """Capability constants of accounts.roles: NAME → capability."""
    return {name: value for name, value in vars(roles).items()
            if name.isupper() and isinstance(value, str) and value in CAPABILITIES}


def test_every_capability_is_declared_once_and_granted() -> None:
    constants = _constants()
    assert sorted(constants.values()) == sorted(CAPABILITIES), "a capability without a constant"
    granted = {c for r in ROLES.values() for c in r.capabilities}
    declared = set(CAPABILITIES)
    assert not granted - declared, f"granted but not declared: {granted - declared}"
    assert not declared - granted, f"granted to no role: {declared - granted}"
    for code, label in CAPABILITIES.items():
        assert re.fullmatch(r"[a-z]+\.[a-z_]+(\.[a-z_]+)?", code), code
        assert re.search(r"[\u4e00-\u9fff]", label), f"{code}: the label says it in Chinese"


def test_every_capability_named_in_src_exists_and_is_checked() -> None:
    constants = _constants()
    used: dict[str, list[str]] = {}
    for rel, path in _sources():
        if rel == "accounts/roles.py" or path.suffix != ".py":
            continue
        text = path.read_text(encoding="utf-8")
        names = set(re.findall(r"\broles\.([A-Z][A-Z0-9_]*)\b", text))
        for imported in re.findall(r"from doudi\.accounts\.roles import ([^\n(]+|\([^)]*\))",
                                   text):
            names |= {n.strip() for n in imported.strip("()").split(",") if n.strip()}
        for name in names:
            used.setdefault(name, []).append(rel)
        for line, value in _string_literals(path):
            assert value not in CAPABILITIES, (
                f"src/doudi/{rel}:{line}: {value!r} — use the constant in accounts.roles")
    unknown = {n: files for n, files in used.items() if not hasattr(roles, n)}
    assert not unknown, f"names not in accounts.roles: {unknown}"
    unchecked = sorted(set(constants) - set(used))
    assert not unchecked, f"capabilities nothing checks: {unchecked}"


def test_workflow_tables_name_declared_capabilities() -> None:
    for t in workflow.TRANSITIONS:
        assert t.capability in CAPABILITIES, t.action
        assert not t.delegated_capability or t.delegated_capability in CAPABILITIES, t.action
    assert set(monitoring_workflow.HANDLER.values()) <= set(CAPABILITIES)
    assert set(monitoring_workflow.HANDLER) == set(monitoring_workflow.LEVEL_PREFIX)


def test_handling_a_level_implies_the_levels_below() -> None:
    """Who may act on a town's warning may act on a village's; a district's, on both."""
    order = [roles.HANDLE_VILLAGE_WARNING, roles.HANDLE_TOWN_WARNING,
             roles.HANDLE_DISTRICT_WARNING]
    for role in ROLES.values():
        held = [c in role.capabilities for c in order]
        assert held == sorted(held, reverse=True), role.code


def test_exclusive_roles_hold_no_casework() -> None:
    for role in ROLES.values():
        if role.exclusive:
            assert not role.capabilities & {roles.VIEW_REGISTRY, roles.EDIT_REGISTRY}, role.code


def test_the_role_table_imports_no_django() -> None:
    code = ("import sys\nimport doudi.accounts.roles, doudi.casework.workflow, "
            "doudi.monitoring.workflow\n"
            "assert not [m for m in sys.modules if m.split('.')[0] == 'django']\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert done.returncode == 0, done.stderr


def test_the_documented_table_is_the_role_table() -> None:
    """docs/security.md: one row per capability, `| `code` | 说明 | the roles holding it |`."""
    rows = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"`[a-z_.]+`", cells[0]):
            rows[cells[0].strip("`")] = cells[2]
    want = {code: "、".join(r.label for r in ROLES.values() if code in r.capabilities)
            for code in CAPABILITIES}
    wrong = {code: (rows.get(code), held) for code, held in want.items()
             if rows.get(code) != held}
    assert not wrong, f"{DOCS.relative_to(ROOT)} (documented, granted): {wrong}"
    assert not set(rows) - set(want), f"documented, not declared: {set(rows) - set(want)}"
