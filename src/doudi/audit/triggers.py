"""The audit log's append-only triggers as they stand now (installed by migration 0005).

The database refuses every UPDATE and DELETE of an audit row, and TRUNCATE on PostgreSQL,
with one exception: sealing (see chain.py). A row may be updated once, from unsealed
(`row_hash` empty, `chain_seq` null) to sealed (both set), and only if every other column,
its id and its content, comes out unchanged. Re-sealing a sealed row, or changing content
together with the seal, is refused like any other change.

Comparisons are null-safe (`IS` on SQLite, `IS NOT DISTINCT FROM` on PostgreSQL): a plain
`=` against NULL yields NULL, which a trigger condition would read as "not refused".

These lists are the single definition: migration 0005 installs them and code that lifts the
triggers for a moment (tests flushing the database) puts these back. Changing them needs a
new migration that installs the new lists; freeze a copy in 0005 then.
"""

from __future__ import annotations

# every column but the three the seal fills
KEPT = ("id", "at", "actor_id", "actor_name", "action", "object_type", "object_id",
        "object_label", "area_code", "changes", "request_id", "job", "ip")

_SQLITE_SEALING = " AND ".join([
    "OLD.row_hash IS ''", "OLD.chain_seq IS NULL",
    "NEW.chain_seq IS NOT NULL", "NEW.row_hash IS NOT NULL", "NEW.row_hash IS NOT ''",
    "NEW.prev_hash IS NOT NULL",
    *(f"NEW.{c} IS OLD.{c}" for c in KEPT),
])

SQLITE = [
    f"""CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent
       WHEN NOT ({_SQLITE_SEALING})
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_event_no_update;",
    "DROP TRIGGER IF EXISTS audit_event_no_delete;",
]

_PG_SEALING = " AND ".join([
    "OLD.row_hash = ''", "OLD.chain_seq IS NULL",
    "NEW.chain_seq IS NOT NULL", "coalesce(NEW.row_hash, '') <> ''",
    "NEW.prev_hash IS NOT NULL",
    *(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in KEPT),
])

# The function keeps the name migration 0002 gave it, so its triggers need not be recreated.
POSTGRES_FUNCTION = f"""CREATE OR REPLACE FUNCTION audit_event_append_only()
    RETURNS trigger AS $$ BEGIN
        -- nested, not one AND: OLD is not a row in the statement-level TRUNCATE trigger
        IF TG_OP = 'UPDATE' THEN
            IF {_PG_SEALING} THEN
                RETURN NEW;
            END IF;
        END IF;
        RAISE EXCEPTION 'audit log is append-only';
    END; $$ LANGUAGE plpgsql;"""
# migration 0002's body: refuses everything (put back when 0005 is migrated backwards)
POSTGRES_FUNCTION_0002 = """CREATE OR REPLACE FUNCTION audit_event_append_only()
       RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit log is append-only'; END;
       $$ LANGUAGE plpgsql;"""

POSTGRES = [
    POSTGRES_FUNCTION,
    """CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_auditevent
       FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();""",
    """CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_auditevent
       FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();""",
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_event_no_change ON audit_auditevent;",
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;",
    "DROP FUNCTION IF EXISTS audit_event_append_only();",
]
