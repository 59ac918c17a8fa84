"""A fresh database starts with the shipped feed types (随系统提供的数据接口类型); later releases
refresh them with `doudi feeds load-shipped`."""

from django.db import migrations

from doudi.engine.feeds.feedspec import parse_spec
from doudi.exchange.feed_types import shipped_documents


def load(apps, schema_editor):
    db = schema_editor.connection.alias
    FeedType = apps.get_model("exchange", "FeedType")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    if FeedType.objects.using(db).exists():
        return
    specs = [parse_spec(doc) for doc in shipped_documents()]
    FeedType.objects.using(db).bulk_create([
        FeedType(key=s.key, department=s.department, name=s.name, spec=s.as_dict(), shipped=True)
        for s in specs])
    AuditEvent.objects.using(db).create(
        actor_name="system", action="import", object_type="exchange.feedtype",
        object_label=f"载入随系统提供的数据接口类型 {len(specs)} 个", job="migrate exchange 0002",
        changes={"added": len(specs)},
    )


class Migration(migrations.Migration):

    dependencies = [
        ("exchange", "0001_initial"),
        ("audit", "0004_alter_auditevent_action"),
    ]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
