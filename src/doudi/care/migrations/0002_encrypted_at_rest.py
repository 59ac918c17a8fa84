"""Encryption at rest: 照料人/监护人电话、跨省通办儿童身份证号 stored encrypted (docs/key-management.md).
The columns widen to the ciphertext's length, then existing rows are encrypted in batches;
backwards, they are decrypted (the key file is needed both ways)."""

from django.db import migrations

import doudi.registry.fields
from doudi.registry.encryption import migration

encrypt, decrypt = migration(
    [("care_careprofile", "carer_phone"), ("care_careprofile", "guardian_phone"),
     ("care_crossprovincecase", "child_id_number")])


class Migration(migrations.Migration):

    dependencies = [
        ('care', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='careprofile',
            name='carer_phone',
            field=doudi.registry.fields.EncryptedCharField(blank=True, max_length=30, verbose_name='照料人电话'),
        ),
        migrations.AlterField(
            model_name='careprofile',
            name='guardian_phone',
            field=doudi.registry.fields.EncryptedCharField(blank=True, max_length=30, verbose_name='监护人电话'),
        ),
        migrations.AlterField(
            model_name='crossprovincecase',
            name='child_id_number',
            field=doudi.registry.fields.EncryptedCharField(max_length=18, verbose_name='儿童身份证号'),
        ),
        migrations.RunPython(encrypt, decrypt),
    ]
