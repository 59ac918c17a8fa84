"""An approved run is frozen: each payment line keeps the payee (收款人, 账号, 开户行) it was
approved with, and a line without a usable account is held back as 待补账号.

Runs approved before this change (approved, exported or settled) get their lines' snapshot
filled from the enrollments' payee as it is at migration time. Their bank files, if already
produced, were written from the payee current then; a payee changed between that export and
this migration is not known anywhere, so the current one is the best record there is. The
account's ciphertext is copied as stored (no key needed, nothing decrypted). Draft runs are
left empty: they take their payee when approved. No line's status changes here: a run
approved but not yet exported holds back its unpayable lines when its bank file is produced
(`doudi.benefits.bank_files.bank_file`); lines already sent are history.
"""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery

import doudi.registry.fields

PAYEE = ("payee_name", "payee_account", "bank")


def fill_snapshots(apps, schema_editor):
    Enrollment = apps.get_model("benefits", "Enrollment")
    PaymentLine = apps.get_model("benefits", "PaymentLine")
    enrollment = Enrollment.objects.filter(pk=OuterRef("enrollment_id"))
    PaymentLine.objects.exclude(run__status="draft").update(
        **{f: Subquery(enrollment.values(f)[:1]) for f in PAYEE})


def release_held(apps, schema_editor):
    """Backwards the status 待补账号 does not exist: a held line reads as returned by the bank,
    which the older code also owes again next month (the snapshot columns are dropped)."""
    PaymentLine = apps.get_model("benefits", "PaymentLine")
    PaymentLine.objects.filter(status="awaiting_account").update(
        status="failed", failure="待补账号（未登记有效账号）")


class Migration(migrations.Migration):

    dependencies = [
        ('benefits', '0008_programme_choices_from_catalogue'),
    ]

    operations = [
        migrations.AddField(
            model_name='paymentline',
            name='bank',
            field=models.CharField(blank=True, default='', max_length=40, verbose_name='开户行（审核时）'),
        ),
        migrations.AddField(
            model_name='paymentline',
            name='payee_account',
            field=doudi.registry.fields.EncryptedCharField(blank=True, default='', max_length=32, verbose_name='账号（审核时）'),
        ),
        migrations.AddField(
            model_name='paymentline',
            name='payee_name',
            field=models.CharField(blank=True, default='', max_length=50, verbose_name='收款人（审核时）'),
        ),
        migrations.AlterField(
            model_name='paymentline',
            name='status',
            field=models.CharField(choices=[('pending', '待发放'), ('paid', '已发放'), ('failed', '发放失败'), ('awaiting_account', '待补账号')], default='pending', max_length=20, verbose_name='状态'),
        ),
        migrations.RunPython(fill_snapshots, release_held),
    ]
