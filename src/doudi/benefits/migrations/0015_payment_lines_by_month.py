"""花名册明细按月分区: on PostgreSQL `benefits_paymentline` becomes a table partitioned by
`month` — one partition per month present, and a default partition — so each month's lines
and their indexes are their own and a month's roster costs the same after years of history
(`doudi.benefits.partitions`). The rows are copied over with their ids; the ids keep coming
from the same sequence. Partitioning asks the primary key to hold the partition column:
it becomes (id, month); `id` stays unique, as every id comes from one sequence.

The index on the enrollment alone is dropped everywhere: the (enrollment, month) unique
key's index answers the same lookups.

Reversible: going back copies the rows into one plain table again.
"""

from django.db import migrations, models

TABLE = "benefits_paymentline"
COLUMNS = ("id, area_code, month, regular_fen, arrears_fen, recovery_fen, total_fen, status, "
           "failure, enrollment_id, run_id, bank, payee_account, payee_name, account_kind")
COLUMN_TYPES = """
    area_code varchar(12) NOT NULL,
    month date NOT NULL,
    regular_fen bigint NOT NULL,
    arrears_fen bigint NOT NULL,
    recovery_fen bigint NOT NULL,
    total_fen bigint NOT NULL,
    status varchar(20) NOT NULL,
    failure varchar(100) NOT NULL,
    enrollment_id bigint NOT NULL,
    run_id bigint NOT NULL,
    bank varchar(40) NOT NULL,
    payee_account varchar(200) NOT NULL,
    payee_name varchar(50) NOT NULL,
    account_kind varchar(10) NOT NULL"""


def _definitions(cursor, table):
    """The table's indexes (but the primary key's) and foreign keys, as SQL to make them
    again on a table of the same name."""
    cursor.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = %s::regclass "
        "AND NOT i.indisprimary AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE "
        "c.conindid = i.indexrelid)", [table])
    indexes = [row[0].replace(" ONLY ", " ") for row in cursor.fetchall()]
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
        "%s::regclass AND contype IN ('u', 'f')", [table])
    constraints = [f'ALTER TABLE {table} ADD CONSTRAINT "{n}" {d}' for n, d in cursor.fetchall()]
    return indexes, constraints


def _last_id(cursor, table):
    """The last id handed out (by the sequence, or in the table): ids are never reused."""
    cursor.execute(f"SELECT pg_get_serial_sequence('{table}', 'id')")
    sequence = cursor.fetchone()[0]
    cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
    last = cursor.fetchone()[0]
    if sequence:
        cursor.execute(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {sequence}")
        last = max(last, cursor.fetchone()[0])
    return last


def _months(cursor, table):
    cursor.execute(f"SELECT DISTINCT date_trunc('month', month)::date FROM {table} ORDER BY 1")
    return [row[0] for row in cursor.fetchall()]


def _next_month(month):
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        indexes, constraints = _definitions(cursor, TABLE)
        months = _months(cursor, TABLE)
        last_id = _last_id(cursor, TABLE)
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {TABLE}_plain")
        cursor.execute(f"CREATE SEQUENCE {TABLE}_id_seq_p")
        cursor.execute(
            f"CREATE TABLE {TABLE} (id bigint NOT NULL DEFAULT nextval('{TABLE}_id_seq_p'), "
            f"{COLUMN_TYPES}) PARTITION BY RANGE (month)")
        cursor.execute(f"CREATE TABLE {TABLE}_default PARTITION OF {TABLE} DEFAULT")
        for month in months:
            cursor.execute(f"CREATE TABLE {TABLE}_{month:%Y%m} PARTITION OF {TABLE} FOR VALUES "
                           f"FROM ('{month.isoformat()}') TO ('{_next_month(month).isoformat()}')")
        cursor.execute(f"INSERT INTO {TABLE} ({COLUMNS}) SELECT {COLUMNS} FROM {TABLE}_plain")
        cursor.execute(f"DROP TABLE {TABLE}_plain")  # its identity sequence goes with it
        cursor.execute(f"ALTER SEQUENCE {TABLE}_id_seq_p RENAME TO {TABLE}_id_seq")
        cursor.execute(f"ALTER SEQUENCE {TABLE}_id_seq OWNED BY {TABLE}.id")
        cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id SET DEFAULT "
                       f"nextval('{TABLE}_id_seq')")
        if last_id:
            cursor.execute(f"SELECT setval('{TABLE}_id_seq', %s)", [last_id])
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id, month)")
        for sql in indexes + constraints:
            cursor.execute(sql)
        cursor.execute(f"ANALYZE {TABLE}")


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass",
                       [TABLE])
        if cursor.fetchone() is None:
            return
        indexes, constraints = _definitions(cursor, TABLE)
        last_id = _last_id(cursor, TABLE)
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {TABLE}_parted")
        cursor.execute(f"CREATE TABLE {TABLE} (id bigint NOT NULL GENERATED BY DEFAULT AS "
                       f"IDENTITY, {COLUMN_TYPES})")
        cursor.execute(f"INSERT INTO {TABLE} ({COLUMNS}) SELECT {COLUMNS} FROM {TABLE}_parted")
        cursor.execute(f"DROP TABLE {TABLE}_parted")  # its partitions and sequence with it
        if last_id:
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{TABLE}', 'id'), %s)",
                           [last_id])
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id)")
        for sql in indexes + constraints:
            cursor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ("benefits", "0014_programme_status_from_enrollments"),
    ]

    operations = [
        migrations.AlterField(
            model_name="paymentline",
            name="enrollment",
            field=models.ForeignKey(db_index=False, on_delete=models.deletion.PROTECT,
                                    related_name="lines", to="benefits.enrollment"),
        ),
        migrations.RunPython(partition, unpartition),
    ]
