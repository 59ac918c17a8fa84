"""Encryption at rest: 社会力量联系电话 stored encrypted (docs/key-management.md).
The columns widen to the ciphertext's length, then existing rows are encrypted in batches;
backwards, they are decrypted (the key file is needed both ways)."""

from django.db import migrations

import doudi.registry.fields
from doudi.registry.encryption import migration

encrypt, decrypt = migration(
    [("community_organisation", "phone")])


class Migration(migrations.Migration):

    dependencies = [
        ('community', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='organisation',
            name='phone',
            field=doudi.registry.fields.EncryptedCharField(blank=True, max_length=30, verbose_name='联系电话'),
        ),
        migrations.RunPython(encrypt, decrypt),
    ]
