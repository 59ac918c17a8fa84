"""The audit log becomes a hash chain (see doudi/audit/chain.py): two columns, and the rows
already there chained in id order.

Runs after the data migrations that wrote audit rows through their historical models (policy
0002, exchange 0002): their rows are chained here. A later data migration that writes audit
rows must use `doudi.audit.chain.append(AuditEvent, using, ...)`, or `doudi audit verify`
reports its rows as unchained.

The append-only triggers refuse the UPDATE that fills the new columns: lifted for this one
migration and put back. On SQLite adding a column rebuilds the table, which drops its
triggers; they are created again here, forwards and backwards.
"""

from django.db import migrations, models

from doudi.audit.chain import GENESIS, row_hash

SQLITE_TRIGGERS = [
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS audit_event_no_update;",
    "DROP TRIGGER IF EXISTS audit_event_no_delete;",
]
CONTENT = ("at", "actor_id", "actor_name", "action", "object_type", "object_id", "object_label",
           "area_code", "changes", "request_id", "job", "ip")
BATCH = 2000


def _sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_DROP + SQLITE_TRIGGERS:
            schema_editor.execute(sql)


def chain_existing(apps, schema_editor):
    connection = schema_editor.connection
    vendor = connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_no_change")
    elif vendor == "sqlite":
        for sql in SQLITE_DROP:
            schema_editor.execute(sql)
    AuditEvent = apps.get_model("audit", "AuditEvent")
    rows = AuditEvent.objects.using(connection.alias).order_by("id")
    prev, last_id = GENESIS, 0
    with connection.cursor() as cursor:
        while True:
            batch = list(rows.filter(id__gt=last_id).values("id", *CONTENT)[:BATCH])
            if not batch:
                break
            updates = []
            for row in batch:
                digest = row_hash(row, prev)
                updates.append((prev, digest, row["id"]))
                prev = digest
            cursor.executemany(
                "UPDATE audit_auditevent SET prev_hash = %s, row_hash = %s WHERE id = %s", updates)
            last_id = batch[-1]["id"]
    if vendor == "postgresql":
        schema_editor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_no_change")
    elif vendor == "sqlite":
        for sql in SQLITE_TRIGGERS:
            schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0004_alter_auditevent_action"),
        ("policy", "0002_load_shipped"),
        ("exchange", "0002_load_shipped"),
    ]

    operations = [
        # backwards this runs last: removing the columns rebuilt the SQLite table
        migrations.RunPython(migrations.RunPython.noop, _sqlite_triggers),
        migrations.AddField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(blank=True, default="", editable=False, max_length=64,
                                   verbose_name="上一条哈希"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="row_hash",
            field=models.CharField(blank=True, default="", editable=False, max_length=64,
                                   verbose_name="本条哈希"),
            preserve_default=False,
        ),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
    ]
