"""What the benchmarks share: the commit measured, and scratch PostgreSQL databases
(only ones named doudi_bench…, dropped and created per run)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlparse


def source_state() -> str:
    """The commit the measured code comes from, and whether src/ differs from it."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", str(root), "log", "-1", "--format=%h %cd",
                               "--date=format:%Y-%m-%d %H:%M"], capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "src"],
                               capture_output=True, text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    return f"commit {head}" + (f", {len(dirty)} uncommitted file(s) in src/" if dirty else "")


def scratch(url: str) -> tuple[str, str]:
    """(database name, URL of the server's postgres database); refuses non-scratch names."""
    name = urlparse(url).path.lstrip("/")
    if not name.startswith("doudi_bench"):
        raise SystemExit("DATABASE_URL must name a scratch database called doudi_bench…")
    return name, urlparse(url)._replace(path="/postgres").geturl()


def database_exists(url: str) -> bool:
    import psycopg

    name, admin = scratch(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            [name]).fetchone() is not None


def drop_postgres_database(url: str) -> None:
    import psycopg

    name, admin = scratch(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def recreate_postgres_database(url: str) -> None:
    """The bench's PostgreSQL database is scratch: dropped and created on every run."""
    import psycopg

    name, admin = scratch(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
