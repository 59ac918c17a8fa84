"""Payees as a record: the holder (a household member, or an agent 代领人 with ID and reason),
the account's kind (bank card with a Luhn digit, or 一卡通/存折 account), and changes as
requests a second person approves (PayeeChange).

Existing enrollments keep their payee. Their holder is filled in where it can be told for
certain: the payee's name is the name of the member the enrollment is about, or (for a
household's enrollment) of the current head. Otherwise it stays empty and the page shows the
name alone until a change is approved. Existing accounts get kind "" (registered before
kinds): payable if the number fits any kind of account its bank pays into
(`doudi.benefits.banks.payable`). Nothing is decrypted here.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

import doudi.registry.fields


def fill_holders(apps, schema_editor):
    Enrollment = apps.get_model("benefits", "Enrollment")
    Person = apps.get_model("registry", "Person")
    Membership = apps.get_model("registry", "Membership")
    Enrollment.objects.filter(payee_person__isnull=True, person__isnull=False).update(
        payee_person=Subquery(Person.objects.filter(
            pk=OuterRef("person_id"), name=OuterRef("payee_name")).values("pk")[:1]))
    Enrollment.objects.filter(payee_person__isnull=True, person__isnull=True).update(
        payee_person=Subquery(Membership.objects.filter(
            household_id=OuterRef("household_id"), relation="head", end_date__isnull=True,
            person__name=OuterRef("payee_name")).values("person_id")[:1]))


class Migration(migrations.Migration):

    dependencies = [
        ('benefits', '0009_frozen_payee'),
        ('registry', '0005_person_name_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='enrollment',
            name='account_kind',
            field=models.CharField(blank=True, choices=[('card', '银行卡（社保卡/借记卡）'), ('passbook', '一卡通/存折账户')], default='', max_length=10, verbose_name='账户类型'),
        ),
        migrations.AddField(
            model_name='enrollment',
            name='payee_agent_id_number',
            field=doudi.registry.fields.EncryptedCharField(blank=True, default='', max_length=18, verbose_name='代领人身份证号'),
        ),
        migrations.AddField(
            model_name='enrollment',
            name='payee_agent_reason',
            field=models.CharField(blank=True, default='', max_length=100, verbose_name='代领原因'),
        ),
        migrations.AddField(
            model_name='enrollment',
            name='payee_person',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='registry.person', verbose_name='收款人（本户成员）'),
        ),
        migrations.AddField(
            model_name='paymentline',
            name='account_kind',
            field=models.CharField(blank=True, default='', max_length=10, verbose_name='账户类型（审核时）'),
        ),
        migrations.CreateModel(
            name='PayeeChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('area_code', models.CharField(db_index=True, max_length=12, verbose_name='区划代码')),
                ('status', models.CharField(choices=[('pending', '待审批'), ('approved', '已批准'), ('rejected', '已驳回'), ('withdrawn', '已撤回')], default='pending', max_length=10, verbose_name='状态')),
                ('holder', models.CharField(choices=[('member', '本户成员'), ('agent', '代领人')], max_length=10, verbose_name='收款人身份')),
                ('name', models.CharField(max_length=50, verbose_name='收款人')),
                ('agent_id_number', doudi.registry.fields.EncryptedCharField(blank=True, default='', max_length=18, verbose_name='代领人身份证号')),
                ('agent_reason', models.CharField(blank=True, default='', max_length=100, verbose_name='代领原因')),
                ('bank', models.CharField(max_length=40, verbose_name='开户行')),
                ('account_kind', models.CharField(choices=[('card', '银行卡（社保卡/借记卡）'), ('passbook', '一卡通/存折账户')], max_length=10, verbose_name='账户类型')),
                ('account', doudi.registry.fields.EncryptedCharField(max_length=32, verbose_name='账号')),
                ('old_name', models.CharField(blank=True, default='', max_length=50, verbose_name='原收款人')),
                ('old_agent_id_number', doudi.registry.fields.EncryptedCharField(blank=True, default='', max_length=18, verbose_name='原代领人身份证号')),
                ('old_agent_reason', models.CharField(blank=True, default='', max_length=100, verbose_name='原代领原因')),
                ('old_bank', models.CharField(blank=True, default='', max_length=40, verbose_name='原开户行')),
                ('old_account_kind', models.CharField(blank=True, default='', max_length=10, verbose_name='原账户类型')),
                ('old_account', doudi.registry.fields.EncryptedCharField(blank=True, default='', max_length=32, verbose_name='原账号')),
                ('reason', models.CharField(max_length=200, verbose_name='申请原因')),
                ('requested_at', models.DateTimeField(auto_now_add=True, verbose_name='申请时间')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='审批时间')),
                ('decision_note', models.CharField(blank=True, default='', max_length=200, verbose_name='审批意见')),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='审批人')),
                ('enrollment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='payee_changes', to='benefits.enrollment')),
                ('old_person', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='registry.person', verbose_name='原收款人（本户成员）')),
                ('person', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='registry.person', verbose_name='收款人（本户成员）')),
                ('requested_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='申请人')),
            ],
            options={
                'verbose_name': '收款人变更',
                'ordering': ['-requested_at', '-id'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('status', 'pending')), fields=('enrollment',), name='one_pending_payee_change_per_enrollment')],
            },
        ),
        migrations.RunPython(fill_holders, migrations.RunPython.noop),
    ]
