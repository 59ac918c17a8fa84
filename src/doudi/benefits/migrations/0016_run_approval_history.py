"""A payment run's approval history (生成, 审核锁定 with the opinion, 退回 with the reason) and
the 已退回 status; the runs already built and approved get their two rows from who built and
approved them."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def history(apps, schema_editor):
    run_model = apps.get_model("benefits", "PaymentRun")
    event_model = apps.get_model("benefits", "PaymentRunEvent")
    for run in run_model.objects.all().iterator():
        rows = [("build", run.built_by_id, run.built_at, "")]
        if run.approved_at is not None:
            rows.append(("approve", run.approved_by_id, run.approved_at, "（升级前审核，未记录意见）"))
        for action, by, at, note in rows:
            event = event_model.objects.create(run_id=run.pk, action=action, by_id=by,
                                               note=note, area_code=run.area_code)
            event_model.objects.filter(pk=event.pk).update(at=at)


class Migration(migrations.Migration):

    dependencies = [
        ('benefits', '0015_payment_lines_by_month'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='PaymentRunEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('area_code', models.CharField(db_index=True, max_length=12, verbose_name='区划代码')),
                ('action', models.CharField(choices=[('build', '生成花名册'), ('approve', '审核锁定'), ('return', '退回修改')], max_length=10, verbose_name='操作')),
                ('note', models.TextField(blank=True, verbose_name='意见或原因')),
                ('at', models.DateTimeField(auto_now_add=True, verbose_name='时间')),
            ],
            options={
                'verbose_name': '发放批次办理记录',
                'ordering': ['at', 'id'],
            },
        ),
        migrations.RemoveConstraint(
            model_name='paymentrun',
            name='one_draft_run_per_area_month',
        ),
        migrations.AlterField(
            model_name='paymentrun',
            name='status',
            field=models.CharField(choices=[('draft', '待审核'), ('returned', '已退回'), ('approved', '已审核锁定'), ('exported', '已生成银行文件'), ('settled', '已回盘')], default='draft', max_length=10, verbose_name='状态'),
        ),
        migrations.AddConstraint(
            model_name='paymentrun',
            constraint=models.UniqueConstraint(condition=models.Q(('status__in', ['draft', 'returned'])), fields=('area_code', 'month'), name='one_draft_run_per_area_month'),
        ),
        migrations.AddField(
            model_name='paymentrunevent',
            name='by',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='paymentrunevent',
            name='run',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='benefits.paymentrun'),
        ),
        migrations.RunPython(history, migrations.RunPython.noop),
    ]
