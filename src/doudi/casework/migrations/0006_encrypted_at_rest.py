"""Encryption at rest: 网上申请的身份证号、联系电话 stored encrypted (docs/key-management.md).
The columns widen to the ciphertext's length, then existing rows are encrypted in batches;
backwards, they are decrypted (the key file is needed both ways)."""

from django.db import migrations

import doudi.registry.fields
from doudi.registry.encryption import migration

encrypt, decrypt = migration(
    [("casework_onlinerequest", "id_number"), ("casework_onlinerequest", "phone")])


class Migration(migrations.Migration):

    dependencies = [
        ('casework', '0005_application_reference'),
    ]

    operations = [
        migrations.AlterField(
            model_name='onlinerequest',
            name='id_number',
            field=doudi.registry.fields.EncryptedCharField(max_length=18, verbose_name='身份证号'),
        ),
        migrations.AlterField(
            model_name='onlinerequest',
            name='phone',
            field=doudi.registry.fields.EncryptedCharField(max_length=20, verbose_name='联系电话'),
        ),
        migrations.RunPython(encrypt, decrypt),
    ]
