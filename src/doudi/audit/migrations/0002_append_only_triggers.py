"""The database itself refuses to change or delete audit rows (SQLite and PostgreSQL).

This migration installs the triggers as they were first written (`_SQLITE`, `_POSTGRES`, which
refuse everything). 0005 replaced them with ones that let an unsealed row be sealed once. The
public names `SQLITE`, `POSTGRES` and their `_REVERSE` are the triggers as they stand now
(doudi.audit.triggers), for code that lifts the triggers and puts them back.
"""

from django.db import migrations

from doudi.audit import triggers

_SQLITE = [
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;""",
]
_SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_event_no_update;",
    "DROP TRIGGER IF EXISTS audit_event_no_delete;",
]
_POSTGRES = [
    """CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit log is append-only'; END; $$ LANGUAGE plpgsql;""",
    """CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_auditevent
       FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();""",
    """CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_auditevent
       FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();""",
]
_POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_event_no_change ON audit_auditevent;",
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;",
    "DROP FUNCTION IF EXISTS audit_event_append_only();",
]

SQLITE, SQLITE_REVERSE = triggers.SQLITE, triggers.SQLITE_REVERSE
POSTGRES, POSTGRES_REVERSE = triggers.POSTGRES, triggers.POSTGRES_REVERSE


def _run(statements):
    def apply(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        for sql in statements.get(vendor, []):
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": _SQLITE, "postgresql": _POSTGRES}),
            _run({"sqlite": _SQLITE_REVERSE, "postgresql": _POSTGRES_REVERSE}),
        )
    ]
