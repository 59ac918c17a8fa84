"""Backups and restores (备份与恢复): one archive holds the database, the uploaded files and a
manifest, and a restore checks every byte of it before it touches anything.

An archive is a plain tar (`doudi-backup-YYYYmmdd-HHMMSS.tar`, local time) with

    database.pgdump          PostgreSQL: `pg_dump --format=custom` (already compressed), or
    database.sqlite3.gz      SQLite: a copy made with the online backup API, gzipped
    files/attachments/…      settings.ATTACHMENTS_DIR (attachments and visit photos, by SHA-256)
    files/exchange/…         settings.EXCHANGE_DIR (imported batches, error reports, uploads)
    manifest.json            last: Doudi version, latest migration per app, database vendor,
                             every table's row count, SHA-256 and size of every member

and a `.sha256` file beside it (`sha256sum -c` checks an off-site copy without Doudi).

Consistency: the database is copied first, as one snapshot (PostgreSQL: pg_dump runs inside a
snapshot exported by a REPEATABLE READ transaction, which also counts the rows, so the counts
are the dump's; SQLite: a single-step online backup holds one read transaction, which in WAL
mode does not block the server's writers). Files are copied after it: a file is stored before
the row that names it and never changed in place, so every file the snapshot names is there.

Deliberately left out: the encryption key file (DOUDI_KEY_FILE) — an archive and its key kept
together protect nothing, so the key is backed up separately; Django's `secret_key` (a new
one only logs everyone out); the import inbox (a drop folder of files that are not yet data).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.apps import apps
from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

import doudi

FORMAT = "doudi-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PG_MEMBER = "database.pgdump"
SQLITE_MEMBER = "database.sqlite3.gz"
NAME_PREFIX = "doudi-backup-"
CHUNK = 1024 * 1024
# The tables whose row counts a restore prints first (the rest are compared silently).
KEY_MODELS = (
    ("registry.Household", "家庭"),
    ("registry.Person", "人员"),
    ("benefits.Enrollment", "保障对象"),
    ("benefits.PaymentLine", "发放明细"),
    ("casework.Application", "救助申请"),
    ("casework.Attachment", "申请材料"),
    ("monitoring.Warning", "监测预警"),
    ("accounts.User", "用户"),
    ("audit.AuditEvent", "审计记录"),
)
VENDOR_LABEL = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
KEY_FILE_NOTE = ("加密密钥文件（DOUDI_KEY_FILE）不在备份中，须另行备份、与备份文件分开保存；"
                 "没有它，备份中加密的数据无法读出。")


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message is for the operator, in Chinese."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    sha256: str
    seconds: float
    manifest: dict[str, Any]


@dataclass
class Restored:
    manifest: dict[str, Any]
    seconds: float
    migrations_applied: list[str]
    # table → (count in the manifest, count now)
    counts: dict[str, tuple[int, int]]
    set_aside: list[Path] = field(default_factory=list)

    @property
    def mismatched(self) -> dict[str, tuple[int, int]]:
        return {t: c for t, c in self.counts.items() if c[0] != c[1]}


def key_tables() -> dict[str, str]:
    """Table name → Chinese label of the key tables."""
    return {apps.get_model(m)._meta.db_table: label for m, label in KEY_MODELS}


def file_roots() -> list[tuple[str, Path]]:
    """The directories of uploaded and imported files, by their name inside the archive."""
    return [("attachments", Path(settings.ATTACHMENTS_DIR)),
            ("exchange", Path(settings.EXCHANGE_DIR))]


def _never_copied() -> set[Path]:
    """Secrets that must not travel with the data, even if someone put them under a data
    directory: the encryption key file and Django's secret key."""
    paths = [os.environ.get("DOUDI_KEY_FILE", ""), _key_path(),
             str(Path(settings.HOME) / "secret_key")]
    return {Path(p).resolve() for p in paths if p}


def key_fingerprints(*, strict: bool = False) -> dict[str, str]:
    """Short fingerprints of the encryption keys in the key file (never the keys), so a
    restore can tell whether the key file in place is the one the data was encrypted with.
    `strict`: a key file that exists but cannot be read is an error, not "no keys"."""
    try:
        from doudi.core import crypto
    except ImportError:  # a Doudi without encryption at rest
        return {}
    path = crypto.default_key_path()
    if not path.is_file():
        return {}
    try:
        ring = crypto.read_key_file(path)
    except (crypto.KeyFileError, OSError) as exc:
        if strict:
            raise BackupError(f"密钥文件无法读取，未做任何改动：{exc}") from None
        return {}
    return {kid: hashlib.sha256(b"doudi-key-fingerprint:" + key).hexdigest()[:16]
            for kid, key in sorted(ring.keys.items())}


def _key_path() -> str:
    try:
        from doudi.core import crypto
    except ImportError:
        return os.environ.get("DOUDI_KEY_FILE", "")
    return str(crypto.default_key_path())


def _skipped(label: str, relative: str) -> bool:
    # Half-written files: exchange tmp/ (renamed into place by the import that writes them) and
    # attachments' .part files (renamed once complete).
    return ((label == "exchange" and relative.startswith("tmp/"))
            or relative.endswith(".part"))


def _files() -> Iterator[tuple[str, Path]]:
    excluded = _never_copied()
    for label, root in file_roots():
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_symlink() or not path.is_file():
                continue
            relative = path.relative_to(root).as_posix()
            if _skipped(label, relative) or path.resolve() in excluded:
                continue
            yield f"files/{label}/{relative}", path


# --- hashing while streaming ---------------------------------------------------------------

class _HashingReader:
    """A file object that hashes what is read through it (tarfile reads members in chunks)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.digest.update(data)
        self.size += len(data)
        return data


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _add(tar: tarfile.TarFile, name: str, path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        stat = os.fstat(f.fileno())
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = stat.st_size, int(stat.st_mtime), 0o644
        reader = _HashingReader(f)
        tar.addfile(info, reader)  # type: ignore[arg-type]  # has read(), which is all it uses
    return {"sha256": reader.digest.hexdigest(), "size": info.size}


# --- database snapshots ----------------------------------------------------------------------

def _database() -> dict[str, Any]:
    return settings.DATABASES["default"]


def _pg_env() -> dict[str, str]:
    """libpq's environment for pg_dump, pg_restore and psql: the connection comes from
    Django's settings and the password travels in PGPASSWORD, never on a command line (where
    `ps` would show it to every user of the machine)."""
    db = _database()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    values = {"PGHOST": db.get("HOST"), "PGPORT": db.get("PORT"), "PGUSER": db.get("USER"),
              "PGPASSWORD": db.get("PASSWORD"), "PGDATABASE": db.get("NAME")}
    options = db.get("OPTIONS") or {}
    for option, variable in (("sslmode", "PGSSLMODE"), ("sslrootcert", "PGSSLROOTCERT"),
                             ("sslcert", "PGSSLCERT"), ("sslkey", "PGSSLKEY")):
        values[variable] = options.get(option)
    env.update({k: str(v) for k, v in values.items() if v})
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    return env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"找不到 {name}：请安装 PostgreSQL 客户端工具"
                          "（大版本不低于数据库服务器）")
    return found


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _latest(rows: list[tuple[str, str]]) -> dict[str, str]:
    """Latest applied migration per app (Django's migration names start with a number)."""
    latest: dict[str, str] = {}
    for app, name in rows:
        if name > latest.get(app, ""):
            latest[app] = name
    return dict(sorted(latest.items()))


def _snapshot_postgres(dest: Path) -> tuple[dict[str, int], dict[str, str], str]:
    """pg_dump into `dest` and the row counts and migrations of the very same snapshot."""
    pg_dump = _tool("pg_dump")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        done = subprocess.run(
            [pg_dump, "--format=custom", "--no-password", f"--snapshot={snapshot}",
             f"--file={dest}"], env=_pg_env(), capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"pg_dump 失败：{done.stderr.strip()[-800:]}")
        tables = connection.introspection.table_names(cursor)
        counts = {}
        for table in sorted(tables):
            cursor.execute(f"SELECT COUNT(*) FROM {_quote(table)}")
            counts[table] = cursor.fetchone()[0]
        cursor.execute("SELECT app, name FROM django_migrations")
        migrations = _latest(cursor.fetchall())
        server = str(connection.pg_version)  # e.g. 150020 for 15.20
    return counts, migrations, server


def _sqlite_tables(db: sqlite3.Connection) -> list[str]:
    return [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name")]


def _sqlite_counts(db: sqlite3.Connection) -> dict[str, int]:
    return {t: db.execute(f"SELECT COUNT(*) FROM {_quote(t)}").fetchone()[0]
            for t in _sqlite_tables(db)}


def _snapshot_sqlite(dest: Path) -> tuple[dict[str, int], dict[str, str], str]:
    """The online backup API into a plain file, counted there (so the counts are the copy's)."""
    source = Path(_database()["NAME"])
    if not source.is_file():
        raise BackupError(f"数据库文件不存在：{source}")
    src = sqlite3.connect(source, timeout=30)
    copy = sqlite3.connect(dest)
    try:
        # One step (pages=-1): one read transaction for the whole copy, a consistent snapshot
        # that in WAL mode lets the server keep writing. (Several steps restart whenever
        # another connection writes.)
        src.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        counts = _sqlite_counts(copy)
        migrations = _latest(copy.execute("SELECT app, name FROM django_migrations").fetchall())
    finally:
        copy.close()
        src.close()
    return counts, migrations, sqlite3.sqlite_version


# --- backup ----------------------------------------------------------------------------------

def _target(out: str | Path | None, stamp: str) -> Path:
    name = f"{NAME_PREFIX}{stamp}.tar"
    if out is None:
        return Path(settings.HOME) / "backups" / name
    path = Path(out).absolute()
    if path.is_dir() or str(out).endswith(("/", os.sep)):
        return path / name
    return path


def create(out: str | Path | None = None) -> Backup:
    """Write a backup archive (see the module's docstring) and return where and how big."""
    started = time.monotonic()
    now = timezone.now()
    stamp = timezone.localtime(now).strftime("%Y%m%d-%H%M%S")
    target = _target(out, stamp)
    if target.exists():
        raise BackupError(f"文件已存在：{target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    vendor = connection.vendor
    if vendor not in VENDOR_LABEL:
        raise BackupError(f"不支持备份该类型的数据库：{vendor}")
    partial = target.with_name(f".{target.name}.part")
    # Scratch space beside the archive: the dump may be as large as the archive, and /tmp is
    # often a small separate file system.
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".doudi-backup-") as scratch:
        if vendor == "postgresql":
            member, dump = PG_MEMBER, Path(scratch) / PG_MEMBER
            counts, migrations, server = _snapshot_postgres(dump)
        else:
            member, copy = SQLITE_MEMBER, Path(scratch) / "database.sqlite3"
            counts, migrations, server = _snapshot_sqlite(copy)
            dump = Path(scratch) / SQLITE_MEMBER
            with copy.open("rb") as f, gzip.open(dump, "wb", compresslevel=6) as z:
                shutil.copyfileobj(f, z, CHUNK)
            copy.unlink()
        members: dict[str, dict[str, Any]] = {}
        files = {label: 0 for label, _ in file_roots()}
        try:
            # Readable by its owner only: the archive holds every person's data.
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as raw, \
                    tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
                members[member] = _add(tar, member, dump)
                dump.unlink()
                for name, path in _files():
                    try:
                        members[name] = _add(tar, name, path)
                    except FileNotFoundError:
                        continue  # an upload the worker finished and removed meanwhile
                    files[name.split("/")[1]] += 1
                manifest = {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "doudi_version": doudi.__version__,
                    "created_at": now.isoformat(),
                    "created_local": timezone.localtime(now).isoformat(),
                    "database": {"vendor": vendor, "name": Path(str(_database()["NAME"])).name,
                                 "server_version": server, "member": member},
                    "migrations": migrations,
                    "row_counts": counts,
                    "key_tables": key_tables(),
                    "files": files,
                    "encryption_keys": key_fingerprints(),
                    "not_included": ["加密密钥文件 DOUDI_KEY_FILE", "secret_key",
                                     "待导入收件箱 inbox"],
                    "members": members,
                }
                data = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime, info.mode = len(data), int(now.timestamp()), 0o644
                tar.addfile(info, io.BytesIO(data))
                tar.close()  # writes the end-of-archive blocks before the sync below
                raw.flush()
                os.fsync(raw.fileno())  # on disk before it carries the final name
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    digest = _sha256_file(target)
    target.with_name(target.name + ".sha256").write_text(f"{digest}  {target.name}\n")
    size = target.stat().st_size
    try:
        _record_backup(target, size, digest, manifest)
    except Exception:
        # Every export is audited: an archive whose audit row could not be written goes.
        target.unlink(missing_ok=True)
        target.with_name(target.name + ".sha256").unlink(missing_ok=True)
        raise
    return Backup(target, size, digest, time.monotonic() - started, manifest)


def _record_backup(target: Path, size: int, digest: str, manifest: dict[str, Any]) -> None:
    from doudi.audit import context
    from doudi.audit.models import AuditEvent
    from doudi.audit.services import record

    with context.job("backup"):
        record(AuditEvent.EXPORT, object_type="backup", object_label=target.name,
               changes={"path": str(target), "size": size, "sha256": digest,
                        "vendor": manifest["database"]["vendor"], "files": manifest["files"],
                        "key_file_included": False})


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the `keep` newest archives (by the time in their names) in a directory."""
    archives = sorted(directory.glob(f"{NAME_PREFIX}*.tar"), key=lambda p: p.name)
    removed = archives[:-keep] if keep > 0 else []
    for path in removed:
        path.unlink()
        path.with_name(path.name + ".sha256").unlink(missing_ok=True)
    return removed


# --- verification ----------------------------------------------------------------------------

def _corrupt(archive: Path, why: str) -> BackupError:
    return BackupError(f"备份文件已损坏或不完整，未做任何改动：{archive.name}（{why}）")


def _safe_member(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ValueError(f"不安全的路径 {name}")
    return path


def _read_manifest(tar: tarfile.TarFile, archive: Path) -> dict[str, Any]:
    try:
        info = tar.getmember(MANIFEST)
        raw = tar.extractfile(info)
        manifest = json.loads(raw.read().decode("utf-8")) if raw else None
    except KeyError:
        raise _corrupt(archive, "缺少 manifest.json") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise _corrupt(archive, f"manifest.json 无法读取：{exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{archive.name} 不是兜底的备份文件")
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise BackupError("该备份由较新版本的兜底生成，格式无法识别：请先升级兜底再恢复")
    return manifest


def verify(archive: str | Path) -> dict[str, Any]:
    """Check every member against the manifest's SHA-256 and size, and that nothing is
    missing or added; return the manifest. Reads only."""
    archive = Path(archive)
    if not archive.is_file():
        raise BackupError(f"找不到备份文件：{archive}")
    try:
        with tarfile.open(archive, "r:") as tar:
            manifest = _read_manifest(tar, archive)
            expected: dict[str, dict[str, Any]] = manifest["members"]
            seen = set()
            for info in tar.getmembers():
                if info.name == MANIFEST:
                    continue
                if info.name not in expected:
                    raise _corrupt(archive, f"清单中没有的文件 {info.name}")
                if not info.isfile():
                    raise _corrupt(archive, f"{info.name} 不是普通文件")
                _safe_member(info.name)
                raw = tar.extractfile(info)
                reader = _HashingReader(raw)  # type: ignore[arg-type]
                while reader.read(CHUNK):
                    pass
                want = expected[info.name]
                if reader.size != want["size"] or reader.digest.hexdigest() != want["sha256"]:
                    raise _corrupt(archive, f"{info.name} 的校验值不符")
                seen.add(info.name)
            if missing := sorted(set(expected) - seen):
                raise _corrupt(archive, f"缺少 {len(missing)} 个文件，如 {missing[0]}")
    except BackupError:
        raise
    except (tarfile.TarError, OSError, EOFError, KeyError, TypeError, ValueError) as exc:
        raise _corrupt(archive, str(exc) or type(exc).__name__) from None
    if manifest["database"]["member"] not in expected:
        raise _corrupt(archive, "缺少数据库文件")
    return manifest


# --- restore ---------------------------------------------------------------------------------

def _refuse_newer(manifest: dict[str, Any]) -> None:
    """A backup from a newer Doudi holds tables this version does not know: refuse it rather
    than run old code on them. (An older backup is fine: `migrate` brings it up to date.)"""
    from django.db.migrations.loader import MigrationLoader

    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    for app, name in manifest["migrations"].items():
        if (app, name) not in known:
            raise BackupError(
                f"该备份来自较新版本的兜底（{manifest.get('doudi_version')}，{app} 的迁移 "
                f"{name} 本版本没有）：请先把兜底升级到不低于该版本，再恢复")


def _refuse_other_key(manifest: dict[str, Any]) -> None:
    """Encrypted data without its key is noise: check the key file in place holds the keys the
    backup's data was written with before replacing a database that may still be readable."""
    wanted: dict[str, str] = manifest.get("encryption_keys") or {}
    if not wanted:
        return
    have = key_fingerprints(strict=True)
    if missing := sorted(kid for kid, fp in wanted.items() if have.get(kid) != fp):
        raise BackupError(
            f"备份中的数据用密钥 {'、'.join(missing)} 加密，但当前密钥文件 {_key_path()} 中"
            "没有这些密钥（或不是同一把）：请先从密钥备份取回密钥文件，用 DOUDI_KEY_FILE "
            "指向它，再恢复；未做任何改动")


def _describe(counts: dict[str, int]) -> str:
    labels = key_tables()
    shown = [f"{labels[t]} {counts[t]:,}" for t in labels if counts.get(t)]
    return "、".join(shown[:4]) or f"{len(counts)} 张表"


def _existing_sqlite(path: Path) -> dict[str, int] | None:
    """Row counts of an existing SQLite database, None when there is none (or it has no
    tables). Opened read-only, so checking does not create the file."""
    if not path.is_file() or path.stat().st_size == 0:
        return None
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        counts = _sqlite_counts(db)
    finally:
        db.close()
    return counts or None


def _existing_postgres() -> dict[str, int] | None:
    return _counts_now() or None


def _other_postgres_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


def _copy_member(tar: tarfile.TarFile, info: tarfile.TarInfo, dest: Path, want: dict[str, Any],
                 archive: Path, gunzip: bool = False) -> None:
    """Write a member to `dest`, hashing it again on the way (the archive could have changed
    since it was verified)."""
    raw = tar.extractfile(info)
    if raw is None:
        raise _corrupt(archive, f"{info.name} 无法读取")
    reader = _HashingReader(raw)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("wb") as out:
        if gunzip:
            with gzip.open(reader, "rb") as z:  # type: ignore[call-overload]
                shutil.copyfileobj(z, out, CHUNK)
            while reader.read(CHUNK):  # the gzip trailer's padding, if any
                pass
        else:
            shutil.copyfileobj(reader, out, CHUNK)  # type: ignore[misc]
    if reader.size != want["size"] or reader.digest.hexdigest() != want["sha256"]:
        raise _corrupt(archive, f"{info.name} 的校验值不符")


def _unpack(archive: Path, manifest: dict[str, Any], database_dest: Path,
            staged: dict[str, Path]) -> None:
    """The database member to `database_dest`, each file directory's members under its
    staging directory."""
    members = manifest["members"]
    db_member = manifest["database"]["member"]
    with tarfile.open(archive, "r:") as tar:
        for info in tar:
            if info.name == MANIFEST:
                continue
            if info.name == db_member:
                _copy_member(tar, info, database_dest, members[info.name], archive,
                             gunzip=db_member.endswith(".gz"))
                continue
            path = _safe_member(info.name)
            if len(path.parts) < 3 or path.parts[0] != "files" or path.parts[1] not in staged:
                raise _corrupt(archive, f"无法识别的文件 {info.name}")
            _copy_member(tar, info, staged[path.parts[1]].joinpath(*path.parts[2:]),
                         members[info.name], archive)


def _swap_sqlite(staged_db: Path, target: Path) -> None:
    """Put the restored file in place atomically. The old database's write-ahead log is
    folded in and removed first: a stale -wal beside a different database file would be
    replayed into it."""
    if target.exists():
        db = sqlite3.connect(target, timeout=5)
        try:
            busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.OperationalError:
            busy = 1
        finally:
            db.close()
        if busy:
            raise BackupError("数据库正被其他进程使用：请先停止 doudi serve 和 doudi db_worker，"
                              "再恢复")
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(staged_db, target)


# Everything Doudi's migrations create lives in schema public: drop it all (not extensions'
# members), so tables a newer Doudi added do not survive to confuse `migrate`.
_PG_CLEAR = r"""
SET lock_timeout = '30s';
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.oid, c.relkind, c.relname FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm', 'r', 'p', 'f', 'S')
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                             AND d.objid = c.oid AND d.deptype = 'e')
           ORDER BY CASE c.relkind WHEN 'v' THEN 0 WHEN 'm' THEN 1 WHEN 'S' THEN 3 ELSE 2 END
  LOOP
    IF EXISTS (SELECT 1 FROM pg_class WHERE oid = r.oid) THEN
      EXECUTE format('DROP %s public.%I CASCADE',
                     CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                    WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE'
                                    ELSE 'TABLE' END, r.relname);
    END IF;
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS f FROM pg_proc p
           JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'public' AND p.prokind = 'f'
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                             AND d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', r.f);
  END LOOP;
END $$;
"""


def _load_postgres(dump: Path) -> None:
    """Replace the configured database's contents with the dump, in one transaction: the
    schema is cleared and the dump's SQL (pg_restore's script, without owners or grants, so
    it loads under another role on a spare machine) runs inside the same `psql -1`; if any
    statement fails, the database stays as it was."""
    pg_restore, psql = _tool("pg_restore"), _tool("psql")
    env = _pg_env()
    with tempfile.TemporaryFile() as restore_err, tempfile.TemporaryFile() as psql_err:
        producer = subprocess.Popen(
            [pg_restore, "--no-owner", "--no-privileges", "--file=-", str(dump)],
            stdout=subprocess.PIPE, stderr=restore_err, env=env)
        consumer = subprocess.Popen(
            [psql, "-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1", "--single-transaction",
             "-f", "-"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=psql_err,
            env=env)
        assert producer.stdout is not None and consumer.stdin is not None
        # a broken pipe means psql stopped at an error: its exit code and message are
        # reported below, with pg_restore's
        with contextlib.suppress(BrokenPipeError):
            consumer.stdin.write(_PG_CLEAR.encode())
            shutil.copyfileobj(producer.stdout, consumer.stdin, CHUNK)
            consumer.stdin.close()
        producer.stdout.close()
        produced, consumed = producer.wait(), consumer.wait()
        if produced != 0 or consumed != 0:
            errors = []
            for stream in (restore_err, psql_err):
                stream.seek(0)
                errors.append(stream.read().decode("utf-8", "replace").strip())
            raise BackupError("恢复 PostgreSQL 数据库失败，数据库保持原样：" +
                              " ".join(e for e in errors if e)[-800:])


def _set_aside(root: Path, stamp: str) -> Path | None:
    """Move the current directory out of the way (kept: it may hold files uploaded after
    the backup); an empty one is simply removed."""
    if not root.exists():
        return None
    if root.is_dir() and not any(root.iterdir()):
        root.rmdir()
        return None
    aside = root.with_name(f"{root.name}.before-restore-{stamp}")
    root.rename(aside)
    return aside


def _counts_now() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT COUNT(*) FROM {_quote(table)}")
            counts[table] = cursor.fetchone()[0]
    return counts


def restore(archive: str | Path, *, yes: bool = False,
            log: Callable[[str], None] = lambda _: None) -> Restored:
    """Verify, then restore the database and the files, then migrate; see the module's
    docstring. Refuses (BackupError, nothing changed) a corrupted archive, another vendor's,
    a newer Doudi's, and without `yes` a target database that is not empty."""
    from django.core.management import call_command
    from django.db.migrations.executor import MigrationExecutor

    started = time.monotonic()
    archive = Path(archive)
    manifest = verify(archive)
    log(f"校验通过：{len(manifest['members'])} 个文件与清单一致"
        f"（备份于 {when(manifest)}，"
        f"兜底 {manifest.get('doudi_version')}）")
    vendor, source = connection.vendor, manifest["database"]["vendor"]
    if vendor != source:
        raise BackupError(
            f"该备份来自 {VENDOR_LABEL.get(source, source)} 数据库，当前配置的是 "
            f"{VENDOR_LABEL.get(vendor, vendor)}：不支持跨数据库类型恢复，请在同类数据库上恢复")
    _refuse_newer(manifest)
    _refuse_other_key(manifest)
    target = Path(_database()["NAME"])
    existing = _existing_sqlite(target) if vendor == "sqlite" else _existing_postgres()
    if existing and not yes:
        raise BackupError(f"目标数据库不是空的（{_describe(existing)}）：恢复将覆盖其中全部数据。"
                          "确认无误后加 --yes 重新运行")
    if vendor == "postgresql" and (others := _other_postgres_connections()):
        raise BackupError(f"还有 {others} 个连接在使用该数据库：请先停止 doudi serve 和 "
                          "doudi db_worker，再恢复")
    connections.close_all()

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    roots = dict(file_roots())
    staged = {label: root.with_name(f"{root.name}.restoring") for label, root in roots.items()}
    for path in staged.values():
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
    if vendor == "sqlite":
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=target.parent, prefix=".doudi-restore-"))
    else:  # the dump can be large: beside the data, not in a possibly small /tmp
        Path(settings.HOME).mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=settings.HOME, prefix=".doudi-restore-"))
    set_aside: list[Path] = []
    try:
        database = scratch / ("database.sqlite3" if vendor == "sqlite" else PG_MEMBER)
        _unpack(archive, manifest, database, staged)
        log("正在恢复数据库…")
        if vendor == "sqlite":
            _swap_sqlite(database, target)
        else:
            _load_postgres(database)
        for label, root in roots.items():
            if (aside := _set_aside(root, stamp)) is not None:
                set_aside.append(aside)
            staged[label].rename(root)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        for path in staged.values():
            shutil.rmtree(path, ignore_errors=True)
    log(f"已恢复上传文件 {sum(manifest['files'].values()):,} 个")

    connections.close_all()
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    applied = [f"{m.app_label}.{m.name}" for m, backwards in plan if not backwards]
    call_command("migrate", interactive=False, verbosity=0)
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
    now = _counts_now()
    counts = {t: (n, now.get(t, 0)) for t, n in manifest["row_counts"].items()}
    result = Restored(manifest, time.monotonic() - started, applied, counts, set_aside)
    _record_restore(archive, result)
    return result


def _record_restore(archive: Path, result: Restored) -> None:
    from doudi.audit import context
    from doudi.audit.models import AuditEvent
    from doudi.audit.services import record

    with context.job("restore"):
        record(AuditEvent.IMPORT, object_type="backup", object_label=archive.name,
               changes={"created_at": result.manifest["created_at"],
                        "doudi_version": result.manifest.get("doudi_version"),
                        "migrations_applied": result.migrations_applied,
                        "mismatched_counts": {t: list(c) for t, c in result.mismatched.items()}})


def human_size(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    if size < 1024 ** 3:
        return f"{size / 1024 ** 2:.1f} MB"
    return f"{size / 1024 ** 3:.2f} GB"


def when(manifest: dict[str, Any]) -> str:
    """The backup's time, local, for messages."""
    created = dt.datetime.fromisoformat(manifest["created_at"])
    return timezone.localtime(created).strftime("%Y-%m-%d %H:%M:%S")
