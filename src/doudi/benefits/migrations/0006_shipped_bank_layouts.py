"""The shipped bank file layouts; districts add their own in 资金发放 → 银行文件格式."""

from django.db import migrations

from doudi.benefits.bank_layouts import load_shipped


def load(apps, schema_editor):
    load_shipped(apps.get_model("benefits", "BankLayout"))


class Migration(migrations.Migration):
    dependencies = [("benefits", "0005_bank_layouts")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
