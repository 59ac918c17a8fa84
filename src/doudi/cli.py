"""The `doudi` command. Every subcommand is a Django management command, so `doudi migrate`,
`doudi demo`, `doudi serve`, `doudi areas import FILE.csv` and `doudi adduser` all run through
one entry point with the project's settings.

Every subcommand acts on the same database: DATABASE_URL when set, else the SQLite file
DOUDI_SQLITE names, else the embedded `$DOUDI_HOME/doudi.sqlite3` — where `doudi demo` builds
the demo, so after the demo every command acts on it. A subcommand that needs data is refused
with one sentence saying what to run when that database is missing or not built."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doudi.settings")
    if args[:1] == ["demo"] and args[1:2] != ["advance"]:
        # The demo is built only in the embedded SQLite database, never in a real one.
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from doudi.ops import readiness

    if readiness.needs_database(args) and (why := readiness.problem()):
        sys.stderr.write(why + "\n")
        raise SystemExit(1)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["doudi", *args])


if __name__ == "__main__":
    main()
