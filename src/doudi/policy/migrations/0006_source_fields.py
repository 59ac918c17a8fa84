"""A value's source as a bureau cites it, in fields of its own: 文号, 发文机关 and 印发日期 (where
it differs from the effective date: a standard issued mid-year and paid back to January).
Shipped rows already loaded take them from the files."""

from django.db import migrations, models


def fill_shipped_sources(apps, schema_editor):
    from doudi.policy.values import source_fields
    from doudi.rules.shipped import shipped

    PolicyParameter = apps.get_model("policy", "PolicyParameter")
    for p in shipped():
        if p.document or p.issuer or p.issued:
            PolicyParameter.objects.filter(
                key=p.key, area_code=p.area, effective_from=p.effective, source="shipped",
            ).update(**source_fields(p))


class Migration(migrations.Migration):

    dependencies = [
        ("policy", "0005_upper_minimum"),
    ]

    operations = [
        migrations.AddField(
            model_name="policyparameter", name="document",
            field=models.CharField(blank=True, max_length=100, verbose_name="文号"),
        ),
        migrations.AddField(
            model_name="policyparameter", name="issuer",
            field=models.CharField(blank=True, max_length=100, verbose_name="发文机关"),
        ),
        migrations.AddField(
            model_name="policyparameter", name="issued_on",
            field=models.DateField(
                blank=True, help_text="与生效日期不同时填写（年中印发、自年初起补发）", null=True,
                verbose_name="印发日期"),
        ),
        migrations.RunPython(fill_shipped_sources, migrations.RunPython.noop),
    ]
