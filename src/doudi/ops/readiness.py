"""Is the database there, and built? Asked once by the `doudi` command before any subcommand
that reads or writes data, so a missing, unreachable or unmigrated database is one Chinese
sentence saying what to run — never a "no such table" traceback from deep inside a command."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

# Subcommands that make the database, or need none, or must work on any state of it (a backup
# taken before an upgrade, a shell that migrates): they run whatever its state.
NEEDS_NO_DATABASE = frozenset({
    "demo", "migrate", "restore", "backup", "shell", "dbshell", "makemigrations",
    "squashmigrations", "sqlmigrate",
    "showmigrations", "check", "help", "version", "--help", "-h", "--version",
    "collectstatic", "findstatic", "diffsettings", "startapp", "startproject",
})
# what to run, said once for every refusal
WHAT_TO_RUN = ("演示请运行 `doudi demo`（或 `./dev demo`）；正式使用请先运行 `doudi migrate`，"
               "再导入区划并用 `doudi adduser` 建账号（见 docs/operations.md）")


def needs_database(args: list[str]) -> bool:
    if not args or args[0] in NEEDS_NO_DATABASE:
        return False
    if args[0] == "synth":  # writes files; the database only with --into-db
        return "--into-db" in args
    if args[0] == "rules":  # scenarios run on the shipped parameters; simulate reads the registry
        return len(args) > 1 and args[1] == "simulate"
    return True


def problem() -> str | None:
    """Why the database cannot serve a command (a Chinese sentence), or None when it can."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        name = str(db["NAME"])
        where = f"数据库文件 {name}"
        if name != ":memory:" and not Path(name).exists():
            return f"{where} 不存在。{WHAT_TO_RUN}。"
    else:
        where = f"数据库 {db.get('NAME')}（{db.get('HOST') or '本机'}，DATABASE_URL）"
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        return f"无法连接{where}：{str(exc).strip()}。请检查 DATABASE_URL 与数据库服务。"
    if not executor.loader.applied_migrations:
        return f"{where} 是空的（尚未建表）。{WHAT_TO_RUN}。"
    if pending:
        return (f"{where} 的表结构不是本版本的（还有 {len(pending)} 个迁移未执行）："
                "请先运行 `doudi migrate`。")
    return None
