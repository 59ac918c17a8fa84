"""The audit log becomes a hash chain (see doudi/audit/chain.py): three columns, the rows
already there sealed in id order, and append-only triggers that allow the one sealing update.

Runs after the data migrations that wrote audit rows through their historical models (policy
0002, exchange 0002): their rows are sealed here. A later data migration that writes audit
rows needs nothing special: its rows are inserted unsealed and the next seal (the next audited
commit, or `doudi audit seal`) chains them.

The triggers are replaced before the existing rows are sealed, so the sealing update goes
through the same check as every later one. On SQLite adding or removing a column may rebuild
the table, which drops its triggers; they are created again here, forwards and backwards.
"""

import importlib

from django.db import migrations, models

from doudi.audit import chain, triggers


def _install(apps, schema_editor):
    """The sealing-aware triggers in place, then every row there sealed in id order."""
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for sql in triggers.SQLITE_REVERSE + triggers.SQLITE:
            schema_editor.execute(sql)
    elif vendor == "postgresql":
        schema_editor.execute(triggers.POSTGRES_FUNCTION)
    chain.seal_pending(schema_editor.connection.alias,
                       model=apps.get_model("audit", "AuditEvent"))


def _before_removal(apps, schema_editor):
    """Backwards: nothing may refer to the columns about to go (SQLite refuses to drop a
    column a trigger names; PostgreSQL's function would fail at its next call)."""
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for sql in triggers.SQLITE_REVERSE:
            schema_editor.execute(sql)
    elif vendor == "postgresql":
        schema_editor.execute(triggers.POSTGRES_FUNCTION_0002)


def _restore_0002(apps, schema_editor):
    """Backwards, last: 0002's refuse-everything triggers, as that state had them."""
    if schema_editor.connection.vendor == "sqlite":
        m0002 = importlib.import_module("doudi.audit.migrations.0002_append_only_triggers")
        for sql in m0002._SQLITE_REVERSE + m0002._SQLITE:
            schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0004_alter_auditevent_action"),
        ("policy", "0002_load_shipped"),
        ("exchange", "0002_load_shipped"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, _restore_0002),
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
        migrations.AddField(
            model_name="auditevent",
            name="chain_seq",
            field=models.BigIntegerField(blank=True, editable=False, null=True, unique=True,
                                         verbose_name="链序号"),
        ),
        migrations.RunPython(_install, _before_removal),
    ]
