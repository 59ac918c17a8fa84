"""The `doudi` command. Every subcommand is a Django management command, so `doudi migrate`,
`doudi demo`, `doudi serve`, `doudi areas import FILE.csv` and `doudi adduser` all run through
one entry point with the project's settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doudi.settings")
    if args[:1] == ["demo"]:
        # The demo always lives in its own embedded SQLite file, never in a real database.
        os.environ.pop("DATABASE_URL", None)
        home = Path(os.environ.get("DOUDI_HOME", Path.cwd() / "var"))
        os.environ.setdefault("DOUDI_SQLITE", str(home / "demo.sqlite3"))
    from django.core.management import execute_from_command_line

    execute_from_command_line(["doudi", *args])


if __name__ == "__main__":
    main()
