"""Care in the database: each person's care facts (风险等级, 委托照料人, 监护), visit tasks and the
visits that close them, children's guardianship and 跨省通办 cases, elderly institutions with
their beds, staff and residents (their bed changes, 改造提升 projects and the towns' targets of
new nursing-type beds), the home-care services bought for dispersed elderly, and the other
facilities (设施: community and mutual-aid elderly facilities, 精康融合, child welfare, 村级综合
服务设施) with their services and users."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from doudi.areas.scoping import AreaOwned
from doudi.audit.audited import Audited
from doudi.care import facilities, plans
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
    family_planning_special = models.BooleanField(
        "计划生育特殊家庭", default=False,
        help_text="独生子女死亡或伤残的家庭（失独、伤残）；本人年满老年人年龄时按特殊困难老年人探访")
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


class NursingBedChange(Audited, AreaOwned, models.Model):
    """A change of an institution's beds and nursing-type beds, dated, with its reason: the
    towns' annual targets for new nursing-type beds are counted from these rows."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT,
                                    related_name="bed_changes")
    day = models.DateField("变化日期")
    reason = models.CharField("原因", max_length=20,
                              choices=list(facilities.BED_CHANGE_REASONS.items()))
    beds_before = models.PositiveIntegerField("原床位数")
    beds_after = models.PositiveIntegerField("现床位数")
    nursing_before = models.PositiveIntegerField("原护理型床位数")
    nursing_after = models.PositiveIntegerField("现护理型床位数")
    project = models.ForeignKey("ImprovementProject", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="bed_changes")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = "床位变化"
        ordering = ["-day", "-id"]

    def __str__(self) -> str:
        return f"{self.institution} 护理型床位 {self.nursing_before}→{self.nursing_after}"

    @property
    def nursing_delta(self) -> int:
        return self.nursing_after - self.nursing_before


class ImprovementProject(Audited, AreaOwned, models.Model):
    """改造提升项目 of a 敬老院 (特困人员供养服务设施): the plan, its budget and spending, progress,
    and acceptance (验收); an accepted project's new nursing-type beds count for the town."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT,
                                    related_name="projects")
    name = models.CharField("项目名称", max_length=100)
    plan = models.TextField("改造内容")
    year = models.PositiveSmallIntegerField("计划年度")
    budget_fen = models.BigIntegerField("预算（分）")
    spent_fen = models.BigIntegerField("已支出（分）", default=0)
    progress_pct = models.PositiveSmallIntegerField("进度（%）", default=0)
    new_nursing_beds = models.PositiveIntegerField("新增护理型床位", default=0)
    status = models.CharField("状态", max_length=15, default="planned",
                              choices=list(facilities.PROJECT_STATES.items()))
    started_on = models.DateField("开工日期", null=True, blank=True)
    accepted_on = models.DateField("验收日期", null=True, blank=True)
    note = models.CharField("说明", max_length=300, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "改造提升项目"
        ordering = ["-year", "area_code", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(progress_pct__lte=100),
                                   name="project_progress_within_100"),
            models.CheckConstraint(condition=Q(budget_fen__gte=0) & Q(spent_fen__gte=0),
                                   name="project_amounts_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class BedTarget(Audited, AreaOwned, models.Model):
    """A town's target of new nursing-type beds in public institutions for one year (公办养老
    机构增加护理型床位年度目标); what was achieved is counted from `NursingBedChange`."""

    year = models.PositiveSmallIntegerField("年度")
    target = models.PositiveIntegerField("目标新增护理型床位")
    note = models.CharField("说明", max_length=200, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "护理型床位年度目标"
        ordering = ["-year", "area_code"]
        constraints = [models.UniqueConstraint(fields=["area_code", "year"],
                                               name="one_bed_target_per_town_year")]

    def __str__(self) -> str:
        return f"{self.year}年护理型床位目标 {self.area_code}"


class Facility(Audited, AreaOwned, models.Model):
    """设施: a community or mutual-aid elderly facility, a 精神障碍社区康复 station, a 儿童福利
    机构, a 未成年人保护工作站, a 村级综合服务设施 — one register, its kind declared in
    `care.facilities.KINDS` (which facts and figures each kind carries)."""

    kind = models.CharField("类型", max_length=20, choices=facilities.KIND_CHOICES)
    name = models.CharField("名称", max_length=100)
    operator = models.CharField("性质", max_length=20, choices=Institution.OPERATORS,
                                blank=True)
    capacity = models.PositiveIntegerField("床位/名额", default=0)
    staff = models.PositiveIntegerField("工作人员", default=0)
    floor_area = models.PositiveIntegerField("建筑面积（㎡）", default=0)
    address = models.CharField("地址", max_length=200, blank=True)
    opened_on = models.DateField("投入使用日期", null=True, blank=True)
    active = models.BooleanField("运营中", default=True)
    note = models.CharField("说明", max_length=300, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "设施"
        ordering = ["kind", "area_code", "name"]
        indexes = [models.Index(fields=["kind", "area_code"])]

    def __str__(self) -> str:
        return self.name

    @property
    def kind_info(self) -> facilities.Kind:
        return facilities.KINDS[self.kind]


class FacilityService(Audited, AreaOwned, models.Model):
    """A service a facility offers (助餐, 日间托养, 职业康复 …), from when, how it is run."""

    MODES = [("own", "自办"), ("purchased", "政府购买服务"), ("volunteer", "志愿服务")]

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="services")
    name = models.CharField("服务项目", max_length=50)
    mode = models.CharField("提供方式", max_length=12, choices=MODES, default="own")
    started_on = models.DateField("开始日期")
    ended_on = models.DateField("停止日期", null=True, blank=True)
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = "设施服务项目"
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["facility", "name"],
                                               condition=Q(ended_on__isnull=True),
                                               name="one_open_service_per_facility_name")]

    def __str__(self) -> str:
        return f"{self.facility} {self.name}"


class FacilityUser(Audited, AreaOwned, models.Model):
    """A person who uses a facility (精康融合 康复服务对象, a child in a 儿童福利机构), from
    when to when; the person is the registry's, shown masked."""

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="users")
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT,
                               related_name="facility_uses")
    service = models.CharField("接受服务", max_length=50, blank=True)
    started_on = models.DateField("开始日期")
    ended_on = models.DateField("结束日期", null=True, blank=True)
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = "设施服务对象"
        ordering = ["-started_on", "id"]
        constraints = [models.UniqueConstraint(fields=["facility", "person"],
                                               condition=Q(ended_on__isnull=True),
                                               name="one_open_use_per_facility_person")]

    def __str__(self) -> str:
        return f"{self.facility} 服务对象 {self.person}"
