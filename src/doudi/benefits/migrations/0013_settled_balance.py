"""结转余额 (`SettledBalance`): each enrollment's balance carried to a settled month, so a
roster sums only the months since (`doudi.benefits.settlement`).

Nothing is written here: the first roster built after this migration sums the whole history,
as before, and leaves every enrollment it computes a balance through the month before it.
Every roster rewrites a district's million rows; on PostgreSQL the table keeps half of each
page free (fillfactor 50), so each row's new version stays on its page and the primary key's
index is not touched (a HOT update).
"""

import django.db.models.deletion
from django.db import migrations, models


def half_free_pages(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE benefits_settledbalance SET (fillfactor = 50)")


class Migration(migrations.Migration):

    dependencies = [
        ('benefits', '0012_enrollment_part'),
    ]

    operations = [
        migrations.CreateModel(
            name='SettledBalance',
            fields=[
                ('enrollment', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='settled_balance', serialize=False, to='benefits.enrollment')),
                ('month', models.DateField(verbose_name='结算至月份')),
                ('balance_fen', models.BigIntegerField(verbose_name='结转余额(分)')),
                ('first_month', models.DateField(verbose_name='起算月份')),
                ('start_rule', models.CharField(max_length=10, verbose_name='新纳入当月规则')),
                ('stop_rule', models.CharField(max_length=10, verbose_name='停保当月规则')),
            ],
            options={
                'verbose_name': '结转余额',
            },
        ),
        migrations.RunPython(half_free_pages, migrations.RunPython.noop),
    ]
