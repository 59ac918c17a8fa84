"""Where imported data lives on disk (settings.EXCHANGE_DIR) and how it gets there safely.

    batches/<feed>/<sha256>.parquet   the good rows of a batch (row, fields, person_id, match)
    reports/<sha256>.parquet          a file's error report (row, field, value, reason)
    uploads/<uuid>-<name>             a file uploaded for a background import, kept until done
    tmp/<pid>-<uuid>.parquet          being written; renamed into place inside the transaction

A file is written under tmp/ and renamed (atomic on one file system) only while the database
transaction that records it is open, so a killed process leaves at most a tmp file of a dead
process, which the next import sweeps away.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from pathlib import Path

import polars as pl
from django.conf import settings

ROW_GROUP_SIZE = 256 * 1024


def root() -> Path:
    return Path(settings.EXCHANGE_DIR)


def _dir(name: str) -> Path:
    path = root() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def batch_path(feed_key: str, checksum: str) -> Path:
    return _dir(f"batches/{feed_key}") / f"{checksum}.parquet"


def report_path(checksum: str) -> Path:
    return _dir("reports") / f"{checksum}.parquet"


def upload_path(filename: str) -> Path:
    safe = re.sub(r"[^\w.\-\u4e00-\u9fff]", "_", Path(filename).name)[-120:] or "file"
    return _dir("uploads") / f"{uuid.uuid4().hex}-{safe}"


def relative(path: Path) -> str:
    return str(path.relative_to(root()))


def absolute(stored: str) -> Path:
    return root() / stored


def write_tmp(frame: pl.DataFrame) -> Path:
    path = _dir("tmp") / f"{os.getpid()}-{uuid.uuid4().hex}.parquet"
    frame.write_parquet(path, compression="zstd", compression_level=3, statistics=True,
                        row_group_size=ROW_GROUP_SIZE)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_tmp() -> int:
    """Remove tmp files left by processes that no longer run."""
    removed = 0
    for path in _dir("tmp").glob("*.parquet"):
        pid = path.name.split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
    return removed
