"""原系统导入的发放批次 (`PaymentRun.imported`): the months the old system paid, brought in at
go-live as settled history. Every run built before this migration is Doudi's own."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('benefits', '0016_run_approval_history'),
    ]

    operations = [
        migrations.AddField(
            model_name='paymentrun',
            name='imported',
            field=models.BooleanField(default=False, verbose_name='原系统导入'),
        ),
    ]
