"""The background-job worker `doudi serve` runs beside the web server: django-tasks' `db_worker`,
which also ends as soon as the server that started it is gone, however it ended (its stdin, a
pipe the server holds, reaches end of file). A worker outliving a killed server would go on
with a job the restarted server has already recovered and queued again.

    python -m doudi.ops.worker   (started by `doudi serve`; not meant to be run by hand)
"""

from __future__ import annotations

import os
import sys
import threading


def _end_with_server() -> None:
    sys.stdin.buffer.read()  # returns at end of file: the server has ended
    os._exit(1)  # a job cut short stores nothing (all or nothing); the server's restart recovers it


def main() -> None:
    threading.Thread(target=_end_with_server, name="end-with-server", daemon=True).start()
    from doudi.cli import main as doudi

    doudi(["db_worker", *sys.argv[1:]])


if __name__ == "__main__":
    main()
