"""授权书的证据 and the online applicant's identity check (issue 23, finding 5).

Consents recorded before this migration get no evidence row: they stay on the household's
page, marked 缺少证据, and no longer unlock a 核对 report where the area requires a consent,
until an officer records one with evidence. Inventing evidence for them would make a typed
name count as a signature, which is what the finding was about."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('casework', '0009_application_parts'),
        ('exchange', '0002_load_shipped'),
        ('registry', '0005_person_name_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='onlinerequest',
            name='identity_method',
            field=models.CharField(blank=True, choices=[('id_card', '窗口核验身份证原件'), ('visit', '入户核验身份证件'), ('video', '视频通话核验本人及证件')], max_length=10, verbose_name='身份核验方式'),
        ),
        migrations.AddField(
            model_name='onlinerequest',
            name='identity_note',
            field=models.CharField(blank=True, max_length=200, verbose_name='身份核验说明'),
        ),
        migrations.AddField(
            model_name='onlinerequest',
            name='identity_verified_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='身份核验时间'),
        ),
        migrations.AddField(
            model_name='onlinerequest',
            name='identity_verified_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.CreateModel(
            name='ConsentEvidence',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('area_code', models.CharField(db_index=True, max_length=12, verbose_name='区划代码')),
                ('kind', models.CharField(choices=[('scan', '签字授权书扫描件'), ('in_person', '经办人见证本人当面签字'), ('online', '网上申请（镇街核验申请人身份后有效）')], max_length=10, verbose_name='证据')),
                ('scan_sha256', models.CharField(blank=True, max_length=64, verbose_name='扫描件 SHA-256')),
                ('scan_type', models.CharField(blank=True, max_length=40, verbose_name='扫描件类型')),
                ('recorded_at', models.DateTimeField(auto_now_add=True, verbose_name='登记时间')),
                ('consent', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='evidence', to='exchange.consent')),
                ('online_request', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='casework.onlinerequest')),
                ('recorded_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('signer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='registry.person', verbose_name='签署人')),
            ],
            options={
                'verbose_name': '授权书证据',
                'ordering': ['recorded_at', 'id'],
            },
        ),
    ]
