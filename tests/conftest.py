"""Shared fixtures: a small real division tree, users of every role, households in and out of
each user's area."""

from __future__ import annotations

import atexit
import datetime as dt
import os
import shutil
import tempfile
from types import SimpleNamespace

import pytest

from doudi.accounts.roles import ROLES
from doudi.accounts.services import create_user
from doudi.areas import importer
from doudi.audit import context
from doudi.core import idnumber

PASSWORD = "test-pass-2026"

# Encrypted columns need a key (docs/key-management.md): the test run's own, made on first use,
# never an operator's; child processes the tests start inherit it.
_KEY_DIR = tempfile.mkdtemp(prefix="doudi-test-keys-")
os.environ["DOUDI_KEY_FILE"] = os.path.join(_KEY_DIR, "doudi.keys")
atexit.register(shutil.rmtree, _KEY_DIR, True)


# Fixtures that open the suite's database; a test that asks for none of them (and is not marked
# `database`) cannot reach it, so its result does not depend on which database the run uses.
_DATABASE_FIXTURES = frozenset({"db", "transactional_db", "django_db_reset_sequences",
                                "django_db_serialized_rollback", "live_server"})


def _reaches_database(item: pytest.Item) -> bool:
    return (bool(_DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())))
            or item.get_closest_marker("django_db") is not None
            or item.get_closest_marker("database") is not None)


def pytest_collection_modifyitems(config, items):
    """The PostgreSQL run repeats only what can differ on PostgreSQL: tests that touch the
    database. Pure tests (rules, engine, file reading, …) give the same result on either and run
    once, in the SQLite run. Browser tests walk pages, not SQL: they too run once, in the SQLite
    run (DOUDI_BROWSER_ON_POSTGRES=1 runs them on PostgreSQL too). Tests whose own processes
    open the suite's database (backups, fault drills) are marked `database`."""
    if not os.environ.get("DATABASE_URL"):
        return
    browsers_too = bool(os.environ.get("DOUDI_BROWSER_ON_POSTGRES"))
    pure = pytest.mark.skip(reason="touches no database: runs in the SQLite run of the suite")
    once = pytest.mark.skip(reason="browser tests run in the SQLite run of the suite")
    for item in items:
        if "browser" in item.keywords and not browsers_too:
            item.add_marker(once)
        elif not _reaches_database(item):
            item.add_marker(pure)


def pytest_configure(config):
    from django.conf import settings

    # Password hashing at production strength costs ~0.3 s a user; tests make many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Background jobs (imports) run inside the request, so a test sees their result at once.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    # Every test signs in from 127.0.0.1: the per-address login limit is tested on its own.
    settings.DOUDI_LOGIN_RATE_PER_MINUTE = 100_000
    # Tests read the figures right after writing the records: counted on every visit (the
    # cache is tested on its own, tests/reports/test_snapshots.py)
    settings.DOUDI_STATISTICS_CACHE_SECONDS = 0
    # The API schema is served, as in the demo: the schemathesis test reads it (production
    # hides it by default; tests/test_security_findings_auth.py checks both)
    settings.DOUDI_API_DOCS = True
VILLAGE = "341002102002"  # 隆阜（3）社区居委会, 黎阳镇
OTHER_VILLAGE_SAME_TOWN = "341002102006"  # 龙山社区居委会, 黎阳镇
TOWN = "341002102"  # 黎阳镇
OTHER_TOWN_VILLAGE = "341002100001"  # a village of 屯光镇
DISTRICT = "341002"
CITY = "3410"
GUANGDONG_VILLAGE_PREFIX = "440103"  # 荔湾区, a county outside the Anhui tree

ROLE_AREA = {
    "village_assistant": VILLAGE,
    "town_officer": TOWN,
    "town_approver": TOWN,
    "district_officer": DISTRICT,
    "district_approver": DISTRICT,
    "district_admin": DISTRICT,
    "supervisor": CITY,
    "upper_officer": CITY,
    "sysadmin": DISTRICT,
    "security_admin": DISTRICT,
    "audit_admin": DISTRICT,
    "department": DISTRICT,
    "hotline": DISTRICT,
    "org_staff": DISTRICT,
    "rural_staff": DISTRICT,
    "evaluator": DISTRICT,
    "visitor": VILLAGE,
}

_SHIPPED = None


def _shipped_sources():
    """The shipped tables cut down once to the two subtrees the tests use."""
    global _SHIPPED
    if _SHIPPED is None:
        keep = (DISTRICT, GUANGDONG_VILLAGE_PREFIX)
        _SHIPPED = []
        for f in importer.SHIPPED_FILES:
            header, *lines = (importer.SHIPPED_DIR / f).read_text(encoding="utf-8").splitlines()
            code = [line.split(",", 1)[0] for line in lines]
            kept = [ln for c, ln in zip(code, lines, strict=True)
                    if c.startswith(keep) or any(k.startswith(c) for k in keep)]
            _SHIPPED.append((f, "\n".join([header, *kept]) + "\n"))
    return _SHIPPED


@pytest.fixture
def areas(db):
    report = importer.load(_shipped_sources(), source_label="test",
                           prefixes=(DISTRICT, GUANGDONG_VILLAGE_PREFIX))
    assert report.ok, report.errors
    return report


@pytest.fixture
def shipped_parameters(db):
    """The parameters shipped with Doudi, in the database as the data migration (policy 0002)
    left them. Transactional tests (the browser tests) flush every table, so rows missing
    after one are loaded again here; otherwise this changes nothing."""
    from doudi.policy.models import PolicyParameter
    from doudi.policy.services import load_shipped
    from doudi.rules.shipped import shipped

    params = shipped()
    if PolicyParameter.objects.count() < len(params):
        with context.job("test shipped parameters"):
            load_shipped(params)
    assert PolicyParameter.objects.filter(source="shipped").count() == len(params)
    return params


@pytest.fixture
def shipped_feed_types(db):
    """The shipped feed types (数据接口类型) as the data migration (exchange 0002) left them,
    loaded again after a transactional test flushed them."""
    from doudi.exchange.feed_types import load_shipped, shipped_documents
    from doudi.exchange.models import FeedType

    if FeedType.objects.count() < len(shipped_documents()):
        with context.job("test shipped feed types"):
            load_shipped()


def set_audit_triggers(enabled: bool) -> None:
    """The audit log's append-only triggers (as the latest migration installs them: sealing
    allowed, every other change refused), put on or lifted."""
    from django.db import connection

    from doudi.audit import triggers
    statements = ({"sqlite": triggers.SQLITE, "postgresql": triggers.POSTGRES} if enabled else
                  {"sqlite": triggers.SQLITE_REVERSE, "postgresql": triggers.POSTGRES_REVERSE})
    with connection.cursor() as cursor:
        for sql in statements.get(connection.vendor, []):
            cursor.execute(sql)


@pytest.fixture(scope="module")
def flushable_audit_log(django_db_setup, django_db_blocker):
    """Transactional tests (a live server, threads) end with pytest-django emptying the test
    database (DELETE on SQLite, TRUNCATE on PostgreSQL), which the audit log's append-only
    triggers refuse: they are lifted while the module runs and put back afterwards, for the
    rest of the suite. Module scope sets this up before the function-scoped `transactional_db`
    and tears it down after the last flush."""
    with django_db_blocker.unblock():
        set_audit_triggers(False)
    yield
    with django_db_blocker.unblock():
        set_audit_triggers(True)


@pytest.fixture
def fresh_rate_limit():
    """API rate limits count per minute in the cache: each test starts and ends with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def kill_when(proc, marker: str) -> str:
    """Read a child process's output until a line shows `marker`, SIGKILL it there and wait;
    returns what it printed."""
    import signal

    seen = []
    for line in proc.stdout:
        seen.append(line)
        if marker in line:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=300)
    return "".join(seen)


@pytest.fixture
def shipped_bank_layouts(db):
    """The shipped bank file layouts (benefits 0006), loaded again after a flush."""
    from doudi.benefits.bank_layouts import SHIPPED_LAYOUTS, load_shipped
    from doudi.benefits.models import BankLayout

    if BankLayout.objects.filter(area_code="").count() < len(SHIPPED_LAYOUTS):
        with context.job("test shipped bank layouts"):
            load_shipped(BankLayout)


def valid_id(region: str = "341002", born: dt.date = dt.date(1980, 5, 17), seq: int = 10,
             sex: str = "M") -> str:
    return idnumber.make(region, born, seq, sex)


class IdFactory:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, region: str = "341002", sex: str = "M",
                 born: dt.date = dt.date(1975, 3, 9)) -> str:
        self.n += 1
        return idnumber.make(region, born + dt.timedelta(days=self.n), 10, sex)


@pytest.fixture
def new_id():
    return IdFactory()


@pytest.fixture
def users(areas):
    with context.job("test users"):
        made = {role: create_user(username=role, password=PASSWORD, area_code=ROLE_AREA[role],
                                  roles=[role]) for role in ROLES}
    return SimpleNamespace(**made)


def make_household(by, area_code: str, new_id, members: int = 2, hukou: str = "urban"):
    from doudi.registry.services import MemberInput, create_household

    rows = [MemberInput(id_number=new_id(area_code[:6]), name="张三丰", relation="head",
                        phone="13812345678")]
    for i in range(members - 1):
        rows.append(MemberInput(id_number=new_id(area_code[:6], sex="F"),
                                name=f"李小{'梅兰竹菊'[i % 4]}",
                                relation="spouse" if i == 0 else "child"))
    return create_household(by=by, area_code=area_code, hukou_type=hukou, members=rows,
                            address="测试路1号")


@pytest.fixture
def world(users, new_id):
    """Households placed so every role has one record in its area and one outside."""
    from doudi.accounts.services import create_user as cu

    with context.job("test world"):
        gd_admin = cu(username="gd_district", password=PASSWORD, area_code="440103",
                      roles=["district_officer"])
        from doudi.areas.models import Area

        gd_village = Area.objects.filter(code__startswith="440103", level=5).order_by("code")[0]
        return SimpleNamespace(
            users=users,
            village_hh=make_household(users.district_approver, VILLAGE, new_id),
            same_town_hh=make_household(users.district_approver, OTHER_VILLAGE_SAME_TOWN, new_id),
            other_town_hh=make_household(users.district_approver, OTHER_TOWN_VILLAGE, new_id,
                                         hukou="rural"),
            guangdong_hh=make_household(gd_admin, gd_village.code, new_id),
            gd_user=gd_admin,
        )


@pytest.fixture(autouse=True)
def _exchange_dir(settings, tmp_path):
    """Imported batches, error reports, the inbox and the outbox live in each test's own
    directory."""
    settings.EXCHANGE_DIR = tmp_path / "exchange"
    settings.FEEDS_INBOX = tmp_path / "inbox"
    settings.OUTBOX_DIR = tmp_path / "outbox"
    settings.ATTACHMENTS_DIR = tmp_path / "attachments"


@pytest.fixture
def own_keys(tmp_path, monkeypatch):
    """This test's copy of the test run's key file, so a rotation stays inside the test."""
    import shutil

    from doudi.core import crypto
    from doudi.registry.fields import STORE

    STORE.ring()  # the test run's file exists from here on
    path = tmp_path / "keys" / "doudi.keys"
    path.parent.mkdir()
    shutil.copy(crypto.default_key_path(), path)
    os.chmod(path, 0o600)
    monkeypatch.setenv("DOUDI_KEY_FILE", str(path))
    STORE.reset()
    yield path
    STORE.reset()
