"""Encryption at rest: 社保卡/一卡通账号 stored encrypted (docs/key-management.md).
The columns widen to the ciphertext's length, then existing rows are encrypted in batches;
backwards, they are decrypted (the key file is needed both ways)."""

from django.db import migrations

import doudi.registry.fields
from doudi.registry.encryption import migration

encrypt, decrypt = migration(
    [("benefits_enrollment", "payee_account")])


class Migration(migrations.Migration):

    dependencies = [
        ('benefits', '0006_shipped_bank_layouts'),
    ]

    operations = [
        migrations.AlterField(
            model_name='enrollment',
            name='payee_account',
            field=doudi.registry.fields.EncryptedCharField(blank=True, max_length=32, verbose_name='社保卡/一卡通账号'),
        ),
        migrations.RunPython(encrypt, decrypt),
    ]
