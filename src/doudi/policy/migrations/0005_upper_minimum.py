"""A parameter row may be a higher level's minimum (上级最低标准, `floor`): 广东's 城乡低保最低标准
and 孤儿最低养育标准. An area's own value applies unless it is below the minimum in force, so a
city's standard of an earlier year no longer gives way to a lower provincial minimum of a later
one, nor stays below a higher one. Shipped rows already loaded are marked as the files mark them."""

from django.db import migrations, models


def mark_shipped_minimums(apps, schema_editor):
    from doudi.rules.shipped import shipped

    PolicyParameter = apps.get_model("policy", "PolicyParameter")
    for p in shipped():
        if p.floor:
            PolicyParameter.objects.filter(
                key=p.key, area_code=p.area, effective_from=p.effective, source="shipped",
            ).update(floor=True)


class Migration(migrations.Migration):

    dependencies = [
        ("policy", "0004_workdays_unit"),
    ]

    operations = [
        migrations.AddField(
            model_name="policyparameter",
            name="floor",
            field=models.BooleanField(
                default=False, help_text="上级规定的最低标准：本地取值低于它时按它执行",
                verbose_name="上级最低标准"),
        ),
        migrations.RunPython(mark_shipped_minimums, migrations.RunPython.noop),
    ]
