"""The restore drill (恢复演练), as an operator runs it: a small district is built in a database of
its own, `doudi backup` and `doudi restore` run as real processes against it, and what comes
back is compared with what was there — every table's row count, a checksum of the key tables,
the bytes of every uploaded file. A damaged archive is refused and changes nothing.

The drill runs on the suite's database vendor (the suite runs once on SQLite and once on
PostgreSQL): SQLite files in a temporary directory, or PostgreSQL databases `doudi_drill_<pid>_*`
created and dropped on the server of DATABASE_URL (skipped when it does not answer).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from doudi.ops import backup

pytestmark = pytest.mark.database  # backed up and restored: the suite's database kind
HOUSEHOLDS = 120
KEY_TABLES = ("registry_household", "registry_person", "benefits_enrollment",
              "benefits_paymentline", "casework_attachment", "audit_auditevent")

# Builds the district in the drill database: the demo's steps (division tree, users, synthetic
# households with enrolments, department feeds imported, a payment roster, monitoring, care),
# then an application with two attachments, so the archive carries both kinds of files. Only
# 屯溪区's division tree is loaded (Guangdong's 28,000 areas would add time, not coverage).
BUILD = r"""
import io, os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doudi.settings")
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0, interactive=False)
from doudi.areas import importer
shipped = importer.load_shipped
importer.load_shipped = lambda which="all": shipped("tunxi")
from doudi.ops.management.commands.demo import Command
Command(stdout=io.StringIO())._build(int(os.environ["DRILL_HOUSEHOLDS"]), 1)
from doudi.accounts.models import User
from doudi.audit import context
from doudi.casework import attachments, services
from doudi.registry.models import Household
user = User.objects.get(username="district")
with context.job("restore drill", user=user):
    app = services.create_application(by=user, household=Household.objects.order_by("id")[0],
                                      programme="linshi", channel="town_window",
                                      reason="恢复演练：突发困难")
    for n, (magic, name, kind) in enumerate(((b"\x89PNG\r\n\x1a\n", "入户照片.png", "photo"),
                                            (b"%PDF-1.4\n", "收入证明.pdf", "document"))):
        attachments.add(by=user, application=app, data=magic + bytes(range(256)) * (n + 3),
                        file_name=name, kind=kind)
"""


class Drill:
    """One vendor's databases for the drill, each with its own DOUDI_HOME (uploaded files)."""

    vendor = ""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.made: list[str] = []
        self.key_file = os.environ.get("DOUDI_KEY_FILE") or str(tmp / "keys" / "doudi.keys")

    def home(self, name: str) -> Path:
        return self.tmp / name

    def env(self, name: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("DOUDI_") and k != "DATABASE_URL"}
        # The key file is shared by every database of the drill: it is the one restored from
        # the key's own backup on a real spare machine.
        env.update(DOUDI_HOME=str(self.home(name)), DOUDI_KEY_FILE=self.key_file,
                   DRILL_HOUSEHOLDS=str(HOUSEHOLDS))
        return env

    def create(self, name: str) -> str:
        self.home(name).mkdir(parents=True)
        self.made.append(name)
        return name

    def clone(self, source: str, name: str) -> str:
        shutil.copytree(self.home(source), self.home(name), symlinks=True)
        self.made.append(name)
        return name

    def connect(self, name: str) -> Any:
        raise NotImplementedError

    def tables(self, db: Any) -> list[str]:
        raise NotImplementedError

    def execute(self, name: str, *statements: str) -> None:
        db = self.connect(name)
        try:
            for sql in statements:
                db.execute(sql)
            db.commit()
        finally:
            db.close()

    def drop_all(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


class SqliteDrill(Drill):
    vendor = "sqlite"

    def database(self, name: str) -> Path:
        return self.home(name) / "doudi.sqlite3"

    def env(self, name: str) -> dict[str, str]:
        return {**super().env(name), "DOUDI_SQLITE": str(self.database(name))}

    def connect(self, name: str) -> Any:
        return sqlite3.connect(self.database(name))

    def tables(self, db: Any) -> list[str]:
        return [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND name NOT LIKE 'sqlite_%' ORDER BY name")]


class PostgresDrill(Drill):
    vendor = "postgresql"

    def __init__(self, tmp: Path, url: str) -> None:
        super().__init__(tmp)
        self.url = urlsplit(url)
        self.prefix = f"doudi_drill_{os.getpid()}"

    def _connect(self, dbname: str) -> Any:
        import psycopg

        return psycopg.connect(host=self.url.hostname, port=self.url.port or 5432,
                               user=self.url.username, password=self.url.password,
                               dbname=dbname, connect_timeout=3)

    def admin(self, sql: str) -> None:
        with self._connect("postgres") as db:
            db.autocommit = True
            db.execute(sql)

    def dbname(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    def env(self, name: str) -> dict[str, str]:
        url = urlunsplit(self.url._replace(path="/" + self.dbname(name)))
        return {**super().env(name), "DATABASE_URL": url}

    def create(self, name: str) -> str:
        self.admin(f'CREATE DATABASE "{self.dbname(name)}"')
        return super().create(name)

    def clone(self, source: str, name: str) -> str:
        self.admin(f'CREATE DATABASE "{self.dbname(name)}" TEMPLATE "{self.dbname(source)}"')
        return super().clone(source, name)

    def connect(self, name: str) -> Any:
        return self._connect(self.dbname(name))

    def tables(self, db: Any) -> list[str]:
        # a partitioned table counts once, as its parent (which holds its partitions' rows)
        return [r[0] for r in db.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
            "ORDER BY c.relname")]

    def drop_all(self) -> None:
        for name in self.made:
            self.admin(f'DROP DATABASE IF EXISTS "{self.dbname(name)}" WITH (FORCE)')
        super().drop_all()


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drill]:
    tmp = tmp_path_factory.mktemp("drill")
    url = os.environ.get("DATABASE_URL", "")
    made: Drill
    if url.startswith(("postgres://", "postgresql://")):
        made = PostgresDrill(tmp, url)
        try:
            made.admin("SELECT 1")
        except Exception as exc:  # any failure to connect means: skip
            pytest.skip(f"PostgreSQL not reachable: {exc}")
    else:
        made = SqliteDrill(tmp)
    yield made
    made.drop_all()


def doudi(drill: Drill, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "doudi.cli", *args], env=drill.env(name),
                          cwd=drill.tmp, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def source(drill: Drill) -> str:
    name = drill.create("source")
    built = subprocess.run([sys.executable, "-c", BUILD], env=drill.env(name), cwd=drill.tmp,
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    return name


def state(drill: Drill, name: str) -> dict[str, Any]:
    """Every table's row count and a checksum of the key tables' rows (audit rows written by
    a restore itself left out: a restore records itself in the database it restored)."""
    db = drill.connect(name)
    try:
        tables = drill.tables(db)
        counts = {t: db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
        sums = {}
        for table in KEY_TABLES:
            where = " WHERE job <> 'restore'" if table == "audit_auditevent" else ""
            rows = db.execute(f'SELECT * FROM "{table}"{where} ORDER BY id').fetchall()
            sums[table] = hashlib.sha256(repr(rows).encode()).hexdigest()
        restores = db.execute("SELECT action, object_type FROM audit_auditevent "
                              "WHERE job = 'restore'").fetchall()
    finally:
        db.close()
    return {"counts": counts, "sums": sums, "restores": [tuple(r) for r in restores]}


def files(drill: Drill, name: str) -> dict[str, str]:
    """Relative path → SHA-256 of every uploaded and imported file."""
    found = {}
    for sub in ("attachments", "exchange"):
        root = drill.home(name) / sub
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(drill.home(name)).as_posix()
            if path.is_file() and not rel.startswith("exchange/tmp/"):
                found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def restored_as(before: dict[str, Any], after: dict[str, Any]) -> None:
    """`after` is `before` plus the restore's own audit row."""
    assert after["sums"] == before["sums"]
    assert after["restores"] == [*before["restores"], ("import", "backup")]
    expected = dict(before["counts"], audit_auditevent=before["counts"]["audit_auditevent"] + 1)
    assert after["counts"] == expected


@pytest.fixture(scope="module")
def taken(drill: Drill, source: str) -> dict[str, Any]:
    """The source's state and files just before `doudi backup`, and the archive it wrote."""
    before, before_files = state(drill, source), files(drill, source)
    run = doudi(drill, source, "backup", "--out", str(drill.tmp / "backups") + "/")
    assert run.returncode == 0, run.stderr[-3000:]
    archive = Path(run.stdout.split("备份完成：", 1)[1].splitlines()[0].strip())
    return {"before": before, "files": before_files, "archive": archive, "stdout": run.stdout}


def test_backup_writes_a_checked_archive_without_the_key(drill: Drill, source: str,
                                                         taken: dict[str, Any]) -> None:
    archive: Path = taken["archive"]
    assert archive.name.startswith("doudi-backup-") and archive.suffix == ".tar"
    assert archive.stat().st_mode & 0o777 == 0o600  # it holds every person's data
    assert f"{archive.stat().st_size:,} 字节" in taken["stdout"]
    assert "DOUDI_KEY_FILE" in taken["stdout"] and "另行备份" in taken["stdout"]
    digest, name = (archive.parent / f"{archive.name}.sha256").read_text().split()
    assert name == archive.name and digest == hashlib.sha256(archive.read_bytes()).hexdigest()
    manifest = backup.verify(archive)
    # the counts are the snapshot's own, and equal what the database held
    assert manifest["row_counts"] == taken["before"]["counts"]
    assert manifest["database"]["vendor"] == drill.vendor
    assert manifest["migrations"]["registry"].startswith("00")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert {f"files/{p}" for p in taken["files"]} <= set(names)
    assert sum(n.startswith("files/attachments/") for n in names) == 2
    key_name = Path(drill.key_file).name
    assert not any(key_name in n or "secret_key" in n for n in names)
    # the backup is audited in the database it was taken from (not in the archive)
    after = state(drill, source)
    assert after["counts"]["audit_auditevent"] == taken["before"]["counts"]["audit_auditevent"] + 1
    db = drill.connect(source)
    try:
        row = db.execute("SELECT action, object_type, object_label, job FROM audit_auditevent "
                         "ORDER BY id DESC LIMIT 1").fetchone()
    finally:
        db.close()
    assert tuple(row) == ("export", "backup", archive.name, "backup")


@pytest.fixture(scope="module")
def spare(drill: Drill) -> str:
    """An empty database, as on the spare machine of the monthly drill."""
    return drill.create("spare")


def test_restore_on_a_spare_machine_gives_back_the_same_data(drill: Drill, spare: str,
                                                             taken: dict[str, Any]) -> None:
    run = doudi(drill, spare, "restore", str(taken["archive"]))  # empty: no --yes needed
    assert run.returncode == 0, run.stderr[-3000:]
    assert "校验通过" in run.stdout and "行数与备份时一致" in run.stdout
    restored_as(taken["before"], state(drill, spare))
    assert files(drill, spare) == taken["files"]


def test_restore_over_changed_data_needs_yes_then_brings_the_backup_back(
        drill: Drill, source: str, taken: dict[str, Any]) -> None:
    work = drill.clone(source, "work")
    drill.execute(work, "UPDATE registry_household SET hukou_type = 'rural'",
                  "DELETE FROM registry_observation WHERE id % 3 = 0",
                  "DELETE FROM benefits_paymentline")
    home = drill.home(work)
    photo = next((home / "attachments").rglob("*.png"))
    photo.unlink()
    next((home / "exchange" / "batches").rglob("*.parquet")).write_bytes(b"changed")
    (home / "attachments" / "later.pdf").write_bytes(b"%PDF-1.4 uploaded after the backup")
    changed, changed_files = state(drill, work), files(drill, work)
    assert changed["sums"] != taken["before"]["sums"]

    refused = doudi(drill, work, "restore", str(taken["archive"]))
    assert refused.returncode != 0
    assert "目标数据库不是空的" in refused.stderr and "--yes" in refused.stderr
    assert state(drill, work) == changed and files(drill, work) == changed_files

    run = doudi(drill, work, "restore", str(taken["archive"]), "--yes")
    assert run.returncode == 0, run.stderr[-3000:]
    restored_as(taken["before"], state(drill, work))
    assert files(drill, work) == taken["files"]
    # the files found in place are kept aside, not deleted (one may have come after the backup)
    aside = [p for p in home.iterdir() if p.name.startswith("attachments.before-restore-")]
    assert len(aside) == 1 and (aside[0] / "later.pdf").exists()


def _damaged(archive: Path, out: Path, member: str) -> Path:
    """A copy of the archive with one byte of a member's data flipped."""
    with tarfile.open(archive) as tar:
        info = tar.getmember(member)
    data = bytearray(archive.read_bytes())
    data[info.offset_data + info.size // 2] ^= 0x01
    out.write_bytes(bytes(data))
    return out


def test_a_damaged_archive_is_refused_and_nothing_is_touched(drill: Drill, source: str,
                                                             taken: dict[str, Any]) -> None:
    archive: Path = taken["archive"]
    manifest = backup.verify(archive)
    flipped = _damaged(archive, drill.tmp / "flipped.tar", manifest["database"]["member"])
    photo = next(n for n in manifest["members"] if n.endswith(".png"))
    bad_photo = _damaged(archive, drill.tmp / "photo.tar", photo)
    truncated = drill.tmp / "truncated.tar"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    for bad in (flipped, bad_photo, truncated):
        with pytest.raises(backup.BackupError, match="已损坏或不完整"):
            backup.verify(bad)

    # refused against the source itself: the test is that nothing there changes
    before, before_files = state(drill, source), files(drill, source)
    listing = sorted(p.name for p in drill.home(source).iterdir())
    raw = drill.database(source).read_bytes() if isinstance(drill, SqliteDrill) else b""
    run = doudi(drill, source, "restore", str(flipped), "--yes")
    assert run.returncode != 0
    assert "备份文件已损坏或不完整，未做任何改动" in run.stderr and "校验值不符" in run.stderr
    assert state(drill, source) == before and files(drill, source) == before_files
    if isinstance(drill, SqliteDrill):
        assert drill.database(source).read_bytes() == raw
    # no staging directory or set-aside copy left behind
    assert sorted(p.name for p in drill.home(source).iterdir()) == listing
    # `--check` (off-site copies, the monthly drill) only reads the archive: run in-process
    out = io.StringIO()
    call_command("restore", "--check", str(archive), stdout=out)
    assert "校验通过" in out.getvalue()
    with pytest.raises(CommandError, match="已损坏或不完整"):
        call_command("restore", "--check", str(truncated), stdout=io.StringIO())


def test_an_older_backup_is_migrated_on_restore(drill: Drill, source: str, spare: str) -> None:
    """A backup from before an upgrade restores into the newer Doudi and is migrated."""
    older = drill.clone(source, "older")
    # one process: step back before policy 0003 (it only changes a field's choices), then back up
    made = subprocess.run(
        [sys.executable, "-c", "import sys; from doudi.cli import main; "
         "main(['migrate', 'policy', '0002_load_shipped', '-v0']); main(sys.argv[1:])",
         "backup", "--out", str(drill.tmp / "older-backups") + "/"],
        env=drill.env(older), cwd=drill.tmp, capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr[-3000:]
    archive = next((drill.tmp / "older-backups").glob("*.tar"))
    assert backup.verify(archive)["migrations"]["policy"] == "0002_load_shipped"
    run = doudi(drill, spare, "restore", str(archive), "--yes")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "已补做数据库迁移" in run.stdout and "policy.0003_days_unit" in run.stdout
    db = drill.connect(spare)
    try:
        assert db.execute("SELECT COUNT(*) FROM django_migrations WHERE app = 'policy' "
                          "AND name = '0003_days_unit'").fetchone()[0] == 1
    finally:
        db.close()


def _rewritten(archive: Path, out: Path, **changes: Any) -> Path:
    """A copy of the archive whose manifest says something else (its members unchanged)."""
    with tarfile.open(archive) as tar, tarfile.open(out, "w") as new:
        for info in tar.getmembers():
            data = tar.extractfile(info).read()  # type: ignore[union-attr]
            if info.name == backup.MANIFEST:
                manifest = json.loads(data)
                for key, value in changes.items():
                    manifest[key] = value
                data = json.dumps(manifest).encode()
                info.size = len(data)
            new.addfile(info, io.BytesIO(data))
    return out


def test_another_vendors_a_newer_doudis_or_another_keys_backup_is_refused(
        drill: Drill, taken: dict[str, Any]) -> None:
    """All are refused before the database is opened (this test has no database access)."""
    from django.db import connection

    archive: Path = taken["archive"]
    manifest = backup.verify(archive)
    other = "sqlite" if connection.vendor == "postgresql" else "postgresql"
    foreign = _rewritten(archive, drill.tmp / "foreign.tar",
                         database=dict(manifest["database"], vendor=other))
    with pytest.raises(backup.BackupError, match="不支持跨数据库类型恢复"):
        backup.restore(foreign, yes=True)
    newer = _rewritten(archive, drill.tmp / "newer.tar",
                       database=dict(manifest["database"], vendor=connection.vendor),
                       migrations=dict(manifest["migrations"], registry="9999_from_the_future"))
    with pytest.raises(backup.BackupError, match="较新版本"):
        backup.restore(newer, yes=True)
    other_key = _rewritten(archive, drill.tmp / "other-key.tar",
                           database=dict(manifest["database"], vendor=connection.vendor),
                           encryption_keys={"k1": "0" * 16})
    with pytest.raises(backup.BackupError, match="密钥"):
        backup.restore(other_key, yes=True)
