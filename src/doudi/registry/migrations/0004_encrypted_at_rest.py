"""Encryption at rest: 身份证号（及其后4位）、联系电话 stored encrypted (docs/key-management.md).
The columns widen to the ciphertext's length, then existing rows are encrypted in batches;
backwards, they are decrypted (the key file is needed both ways)."""

from django.db import migrations

import doudi.registry.fields
from doudi.registry.encryption import migration

encrypt, decrypt = migration(
    [("registry_person", "id_tail"), ("registry_person", "id_number"),
     ("registry_person", "phone")],
    derived={("registry_person", "id_tail"): ("id_number", lambda v: v[-4:])})


class Migration(migrations.Migration):

    dependencies = [
        ('registry', '0003_person_supporter_and_self_care'),
    ]

    operations = [
        migrations.AddField(
            model_name='person',
            name='id_tail',
            field=doudi.registry.fields.IdTailField(db_index=True, source='id_number', verbose_name='身份证号后4位'),
        ),
        migrations.AlterField(
            model_name='person',
            name='id_number',
            field=doudi.registry.fields.EncryptedCharField(max_length=18, unique=True, verbose_name='身份证号'),
        ),
        migrations.AlterField(
            model_name='person',
            name='phone',
            field=doudi.registry.fields.EncryptedCharField(blank=True, max_length=20, verbose_name='联系电话'),
        ),
        migrations.RunPython(encrypt, decrypt),
    ]
