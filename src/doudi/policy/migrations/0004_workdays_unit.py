"""Statutory time limits are counted in working days (工作日), and say so: the rows of
`casework.deadline.*` and `casework.<programme>.deadline.*` move from 天 to 工作日. The shipped
references that spelled out value codes (half_up, hukou …) now name the choices in Chinese, as the
shipped files do. One audit record covers the change."""

from django.db import migrations, models

# the shipped reference as migration 0002 loaded it → as the files write it now
REFERENCES = {
    "取整方式：half_up 四舍五入 / up 向上 / down 向下":
        "取整方式：四舍五入、向上取整或向下取整，由地方确定",
    "边缘家庭财产限额所依据的低保标准：hukou 按户籍类型 / urban 按城镇标准":
        "边缘家庭财产限额所依据的低保标准：按户籍类型对应的标准，或一律按城镇标准",
    "部门数据姓名与户籍姓名视为相同的写法差异（spaces 空格、width 全角/半角、dots 少数民族姓名"
    "间隔号、traditional 繁体/简体、former_names 曾用名），由地方确定；其余不一致的行按“身份证号与"
    "姓名不符”拒收":
        "部门数据姓名与户籍姓名视为相同的写法差异（空格、全角/半角、少数民族姓名间隔号、繁体/简"
        "体、曾用名），由地方确定；其余不一致的行按“身份证号与姓名不符”拒收",
    "新纳入对象当月发放规则（full 全月 / none 自次月起，1日起算的除外 / daily 按日折算）；地方确"
    "定，常见做法为自批准次月起发放":
        "新纳入对象当月发放规则（当月全额发放 / 自次月起发放，1日起算的除外 / 当月按日折算）；地"
        "方确定，常见做法为自批准次月起发放",
    "停保当月发放规则（full 当月照发 / none 当月不发 / daily 按日折算）；地方确定，常见做法为当月"
    "照发、次月停发":
        "停保当月发放规则（当月照发 / 当月不发 / 当月按日折算）；地方确定，常见做法为当月照发、次"
        "月停发",
}


def forward(apps, schema_editor):
    db = schema_editor.connection.alias
    Row = apps.get_model("policy", "PolicyParameter")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    deadlines = Row.objects.using(db).filter(unit="days", key__regex=r"^casework\.([a-z_]+\.)?deadline\.")
    units = deadlines.update(unit="workdays")
    references = 0
    for old, new in REFERENCES.items():
        references += Row.objects.using(db).filter(source="shipped", reference=old) \
            .update(reference=new)
    if units or references:
        AuditEvent.objects.using(db).create(
            actor_name="system", action="update", object_type="policy.policyparameter",
            object_label=f"时限参数改按工作日 {units} 条，依据说明改用中文 {references} 条",
            job="migrate policy 0004", changes={"unit": ["days", "workdays"], "rows": units,
                                                "references": references})


def backward(apps, schema_editor):
    db = schema_editor.connection.alias
    Row = apps.get_model("policy", "PolicyParameter")
    Row.objects.using(db).filter(unit="workdays").update(unit="days")
    for old, new in REFERENCES.items():
        Row.objects.using(db).filter(source="shipped", reference=new).update(reference=old)


class Migration(migrations.Migration):

    dependencies = [
        ("policy", "0003_days_unit"),
        ("audit", "0005_hash_chain"),
    ]

    operations = [
        migrations.AlterField(
            model_name="policyparameter",
            name="unit",
            field=models.CharField(choices=[("yuan_month", "元/人·月"), ("yuan_household_month", "元/户·月"), ("yuan_year", "元/人·年"), ("yuan_household_year", "元/户·年"), ("yuan", "元"), ("rate", "比例"), ("multiple", "倍"), ("months", "个月"), ("days", "天"), ("workdays", "工作日"), ("years", "岁"), ("count", "个"), ("bool", "是/否"), ("text", "文本"), ("list", "列表"), ("rates", "比例序列"), ("table", "对照表")], max_length=30, verbose_name="单位"),
        ),
        migrations.RunPython(forward, backward),
    ]
