"""Care in the database: each person's care facts (风险等级, 委托照料人, 监护), visit tasks and the
visits that close them, children's guardianship and 跨省通办 cases, elderly institutions with
their beds, staff and residents, and the home-care services bought for dispersed elderly."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from doudi.areas.scoping import AreaOwned
from doudi.audit.audited import Audited
from doudi.care import plans
from doudi.registry.fields import EncryptedCharField

LEVEL_CHOICES = [("village", "村（社区）"), ("town", "乡镇（街道）"), ("district", "县（区）")]


class CareProfile(Audited, AreaOwned, models.Model):
    """What visits and child welfare need to know about a person beyond the registry."""

    person = models.OneToOneField("registry.Person", on_delete=models.PROTECT,
                                  related_name="care_profile")
    risk_level = models.CharField("风险等级", max_length=10, default="medium",
                                  choices=list(plans.RISK_LEVELS.items()))
    carer_name = models.CharField("委托照料人", max_length=50, blank=True)
    carer_phone = EncryptedCharField("照料人电话", max_length=30, blank=True)
    carer_relation = models.CharField("与本人关系", max_length=30, blank=True)
    guardian_name = models.CharField("监护人", max_length=50, blank=True)
    guardian_relation = models.CharField("监护人关系", max_length=30, blank=True)
    guardian_phone = EncryptedCharField("监护人电话", max_length=30, blank=True)
    guardian_situation = models.CharField("父母/监护情况", max_length=200, blank=True,
                                          help_text="如：父母双亡、父亲服刑母亲失联、父母在外务工")
    child_director = models.CharField("儿童主任", max_length=50, blank=True)
    note = models.CharField("备注", max_length=300, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    audit_maskers = {"carer_phone": lambda v: v[:3] + "****" + v[-4:],
                     "guardian_phone": lambda v: v[:3] + "****" + v[-4:]}

    class Meta:
        verbose_name = "关爱对象信息"

    def __str__(self) -> str:
        return f"关爱对象 {self.person}"


class VisitTask(AreaOwned, models.Model):
    """One person of one group to be visited in one period, by the village first."""

    assignment_keys = {"person": "person_id"}  # a visitor's assigned persons (care.assignments)

    OPEN, DONE = "open", "done"

    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT,
                               related_name="visit_tasks")
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT,
                                  related_name="visit_tasks")
    group = models.CharField("探访对象类别", max_length=30,
                             choices=[(g.code, g.label) for g in plans.GROUPS.values()])
    period_start = models.DateField("周期开始")
    due_on = models.DateField("探访期限")
    status = models.CharField("状态", max_length=10, default=OPEN,
                              choices=[(OPEN, "待探访"), (DONE, "已探访")])
    handler_level = models.CharField("负责层级", max_length=10, choices=LEVEL_CHOICES,
                                     default="village")
    owner_code = models.CharField("负责单位区划", max_length=12, db_index=True)
    escalations = models.PositiveSmallIntegerField("升级次数", default=0)
    visit = models.ForeignKey("Visit", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="tasks")
    created_at = models.DateTimeField("生成时间", auto_now_add=True)

    class Meta:
        verbose_name = "探访任务"
        ordering = ["due_on", "id"]
        constraints = [models.UniqueConstraint(fields=["person", "group", "period_start"],
                                               name="one_visit_task_per_person_group_period")]
        indexes = [models.Index(fields=["owner_code", "status", "due_on"])]

    def __str__(self) -> str:
        return f"探访 {self.person}（{self.get_group_display()}）期限 {self.due_on}"


class Visit(Audited, AreaOwned, models.Model):
    """探访记录: who was seen, how they live, what is needed, whether the carer does the job."""

    assignment_keys = {"person": "person_id"}

    CARER_CHOICES = [("yes", "照料到位"), ("no", "照料不到位"), ("na", "无委托照料")]
    FOLLOW_UP = [("none", "无需跟进"), ("warning", "转监测预警"), ("application", "启动救助申请")]

    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT,
                               related_name="visits")
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT,
                                  related_name="visits")
    visited_on = models.DateField("探访日期")
    visitor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                related_name="+")
    seen = models.CharField("见到的人", max_length=100)
    living = models.TextField("居住与生活状况")
    health = models.CharField("健康状况", max_length=300, blank=True)
    safety = models.CharField("安全隐患", max_length=300, blank=True)
    needs = models.CharField("需求", max_length=300, blank=True)
    carer = models.CharField("委托照料落实情况", max_length=5, choices=CARER_CHOICES,
                             default="na")
    place = models.CharField("地点说明", max_length=200, blank=True)
    follow_up = models.CharField("跟进", max_length=12, choices=FOLLOW_UP, default="none")
    warning = models.ForeignKey("monitoring.Warning", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="care_visits")
    application = models.ForeignKey("casework.Application", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="care_visits")
    created_at = models.DateTimeField("记录时间", auto_now_add=True)

    class Meta:
        verbose_name = "探访记录"
        ordering = ["-visited_on", "-id"]

    def __str__(self) -> str:
        return f"探访 {self.person} {self.visited_on}"


class VisitPhoto(AreaOwned, models.Model):
    assignment_keys = {"person": "visit__person_id"}

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="photos")
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "探访照片"

    def __str__(self) -> str:
        return f"照片 {self.sha256[:8]}"


VISITOR_KINDS = [("child_director", "儿童主任"), ("village_cadre", "驻村干部"),
                 ("grid_worker", "网格员"), ("volunteer", "志愿者")]


class VisitorAssignment(Audited, AreaOwned, models.Model):
    """探访对象分配: a person given to a visitor who is not an officer (儿童主任、驻村干部、网格员、
    志愿者) from one day, until an end day or until ended. While it runs the visitor sees the
    person (masked) and records visits to them; nothing else (areas.scoping, care.assignments).
    The area is the person's household's."""

    visitor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="探访人员",
                                on_delete=models.PROTECT, related_name="visitor_assignments")
    visitor_kind = models.CharField("身份", max_length=20, choices=VISITOR_KINDS)
    person = models.ForeignKey("registry.Person", verbose_name="探访对象",
                               on_delete=models.PROTECT, related_name="visitor_assignments")
    valid_from = models.DateField("开始日期")
    valid_to = models.DateField("结束日期", null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField("分配时间", auto_now_add=True)

    class Meta:
        verbose_name = "探访对象分配"
        ordering = ["-valid_from", "-id"]
        indexes = [models.Index(fields=["visitor", "valid_from"])]

    def __str__(self) -> str:
        return f"探访对象分配 {self.get_visitor_kind_display()}"


class CrossProvinceCase(Audited, AreaOwned, models.Model):
    """孤儿、事实无人抚养儿童认定 跨省通办: an application received for another province, or
    one this district sends to the province of the child's household registration."""

    DIRECTIONS = [("in", "外省受理转来"), ("out", "本地受理转外省")]
    STATUS = [("open", "办理中"), ("done", "已办结"), ("returned", "已退回")]

    direction = models.CharField("方向", max_length=5, choices=DIRECTIONS)
    province = models.CharField("对方省份", max_length=20)
    reference = models.CharField("对方受理编号", max_length=50, blank=True)
    child_name = models.CharField("儿童姓名", max_length=50)
    child_id_number = EncryptedCharField("儿童身份证号", max_length=18)
    kind = models.CharField("认定类别", max_length=30, choices=[
        ("orphan", "孤儿"), ("de_facto_unsupported", "事实无人抚养儿童")])
    received_on = models.DateField("受理/转出日期")
    status = models.CharField("状态", max_length=10, choices=STATUS, default="open")
    application = models.ForeignKey("casework.Application", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    note = models.CharField("说明", max_length=300, blank=True)

    audit_maskers = {"child_id_number": lambda v: v[:6] + "********" + v[-4:]}

    class Meta:
        verbose_name = "跨省通办"
        ordering = ["-received_on", "-id"]

    def __str__(self) -> str:
        return f"跨省通办 {self.get_direction_display()} {self.province}"


class Institution(Audited, AreaOwned, models.Model):
    """敬老院 / 福利院 / 养老机构 with its beds (护理型床位 among them) and staff."""

    KINDS = [("nursing_home", "敬老院（特困供养服务机构）"), ("welfare_home", "社会福利院"),
             ("elderly_home", "养老机构")]
    OPERATORS = [("public", "公办"), ("private", "民办"), ("public_private", "公建民营")]

    name = models.CharField("名称", max_length=100)
    kind = models.CharField("类型", max_length=20, choices=KINDS)
    operator = models.CharField("性质", max_length=20, choices=OPERATORS, default="public")
    beds = models.PositiveIntegerField("床位数")
    nursing_beds = models.PositiveIntegerField("护理型床位数")
    staff = models.PositiveIntegerField("工作人员", default=0)
    nursing_staff = models.PositiveIntegerField("护理人员", default=0)
    address = models.CharField("地址", max_length=200, blank=True)
    active = models.BooleanField("运营中", default=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "养老机构"
        ordering = ["area_code", "name"]
        constraints = [models.CheckConstraint(condition=Q(nursing_beds__lte=models.F("beds")),
                                              name="nursing_beds_within_beds")]

    def __str__(self) -> str:
        return self.name


class InstitutionResident(Audited, AreaOwned, models.Model):
    """A resident: 集中供养 特困 or another elderly person, with the assessed care level."""

    CARE_LEVELS = [("intact", "能力完好"), ("mild", "轻度失能"), ("moderate", "中度失能"),
                   ("severe", "重度失能"), ("total", "完全失能")]

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT,
                                    related_name="residents")
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT,
                               related_name="residencies")
    care_level = models.CharField("照护等级", max_length=10, choices=CARE_LEVELS)
    concentrated_tekun = models.BooleanField("集中供养特困", default=False)
    admitted_on = models.DateField("入住日期")
    left_on = models.DateField("离院日期", null=True, blank=True)

    class Meta:
        verbose_name = "入住人员"
        ordering = ["-admitted_on", "id"]
        constraints = [models.UniqueConstraint(fields=["person"],
                                               condition=Q(left_on__isnull=True),
                                               name="one_current_residency_per_person")]

    def __str__(self) -> str:
        return f"{self.institution} 入住 {self.person}"


class HomeCareService(Audited, AreaOwned, models.Model):
    """居家养老服务 bought for a dispersed elderly person, recorded per month."""

    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT,
                               related_name="home_care")
    month = models.DateField("服务月份")
    provider = models.CharField("服务机构", max_length=100)
    items = models.CharField("服务内容", max_length=200)
    hours = models.DecimalField("服务时长（小时）", max_digits=6, decimal_places=1)
    amount_fen = models.BigIntegerField("购买服务金额（分）")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = "居家养老服务"
        ordering = ["-month", "id"]
        constraints = [models.UniqueConstraint(fields=["person", "month", "provider"],
                                               name="one_home_care_record_per_month")]

    def __str__(self) -> str:
        return f"居家养老服务 {self.person} {self.month:%Y-%m}"
