"""书面通知的文号 and 发文机关 (issue 24, item 1).

Decisions made before this migration get their 文号 here, in the order they were made, in
the sequence of the body that made them (the area of whoever took the deciding step; a town's
when no step names one, as the shipped parameters delegate decisions to towns), so a notice
printed later carries a number given once, not one made up at printing time."""

import django.db.models.deletion
from django.db import migrations, models

DECIDING_ACTIONS = ("approve", "approve_urgent", "refuse")


def body_name(area) -> str:
    """As `casework.documents.body_name` said when this was written (frozen here: a migration
    must keep working after the code changes)."""
    if area.level == 3:
        return f"{area.name}民政局"
    if area.name.endswith("街道"):
        return f"{area.name}办事处"
    if area.name.endswith("街道办事处"):
        return area.name
    return f"{area.name}人民政府"


def number_past_decisions(apps, schema_editor):
    Application = apps.get_model("casework", "Application")
    Event = apps.get_model("casework", "ApplicationEvent")
    Area = apps.get_model("areas", "Area")
    Document = apps.get_model("casework", "DecisionDocument")
    serials: dict[tuple[str, int], int] = {}
    for app in (Application.objects.exclude(decision="").exclude(decided_on=None)
                .order_by("decided_on", "id")):
        event = (Event.objects.filter(application=app, action__in=DECIDING_ACTIONS)
                 .select_related("actor__area").order_by("-at", "-id").first())
        issuer = getattr(getattr(event, "actor", None), "area", None)
        if issuer is None or issuer.level not in (3, 4) or not app.area_code.startswith(
                issuer.prefix):
            issuer = Area.objects.filter(code=app.area_code[:9] + "000").first()
        if issuer is None:
            continue
        year = app.decided_on.year
        serials[issuer.code, year] = serials.get((issuer.code, year), 0) + 1
        serial = serials[issuer.code, year]
        Document.objects.create(application=app, issuer=issuer, year=year, serial=serial,
                                number=f"{body_name(issuer)}〔{year}〕{serial}号",
                                area_code=app.area_code)


class Migration(migrations.Migration):

    dependencies = [
        ('areas', '0001_initial'),
        ('casework', '0010_consent_evidence'),
    ]

    operations = [
        migrations.CreateModel(
            name='IssuingOffice',
            fields=[
                ('area', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, primary_key=True, related_name='office', serialize=False, to='areas.area', verbose_name='区划')),
                ('document_prefix', models.CharField(blank=True, help_text='文号中〔年份〕前的机关代字，如“屯民救”', max_length=20, verbose_name='机关代字')),
                ('phone', models.CharField(blank=True, max_length=40, verbose_name='联系电话')),
                ('supervision_phone', models.CharField(blank=True, max_length=40, verbose_name='监督电话')),
            ],
            options={
                'verbose_name': '发文机关',
                'verbose_name_plural': '发文机关',
            },
        ),
        migrations.CreateModel(
            name='DecisionDocument',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('area_code', models.CharField(db_index=True, max_length=12, verbose_name='区划代码')),
                ('year', models.PositiveSmallIntegerField(verbose_name='年份')),
                ('serial', models.PositiveIntegerField(verbose_name='顺序号')),
                ('number', models.CharField(max_length=60, verbose_name='文号')),
                ('issued_at', models.DateTimeField(auto_now_add=True, verbose_name='编号时间')),
                ('application', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='document', to='casework.application')),
                ('issuer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='areas.area', verbose_name='发文机关')),
            ],
            options={
                'verbose_name': '书面通知文号',
                'constraints': [models.UniqueConstraint(fields=('issuer', 'year', 'serial'), name='decision_document_serial_once')],
            },
        ),
        migrations.RunPython(number_past_decisions, migrations.RunPython.noop),
    ]
