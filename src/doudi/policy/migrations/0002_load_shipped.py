"""A fresh database starts with every parameter shipped with Doudi (随系统发布的政策参数).

Later releases add their new rows with `doudi policy load-shipped`; this migration reads the
files as they are when it runs.
"""

from django.db import migrations

from doudi.policy.values import parameter_fields
from doudi.rules.shipped import shipped


def load(apps, schema_editor):
    db = schema_editor.connection.alias
    Row = apps.get_model("policy", "PolicyParameter")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    if Row.objects.using(db).exists():
        return
    # the fields this migration's model has (a later one adds `floor` and marks those rows)
    names = {f.name for f in Row._meta.get_fields()}
    rows = [Row(**{k: v for k, v in parameter_fields(p).items() if k in names},
                source="shipped") for p in shipped()]
    Row.objects.using(db).bulk_create(rows)
    # the historical model fires no audit signal: one record for the whole load
    AuditEvent.objects.using(db).create(
        actor_name="system", action="import", object_type="policy.policyparameter",
        object_label=f"载入随系统发布的政策参数 {len(rows)} 条", job="migrate policy 0002",
        changes={"added": len(rows)},
    )


class Migration(migrations.Migration):

    dependencies = [
        ("policy", "0001_initial"),
        ("audit", "0003_refused_action"),
    ]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
