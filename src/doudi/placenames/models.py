"""区划地名: the register of place names, naming and renaming applications through their
review, place-name signs (地名标志) and their condition checks, and the joint inspections of
administrative boundaries (行政区域界线联合检查) with the issues found and resolved."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from doudi.areas.scoping import AreaOwned
from doudi.audit.audited import Audited

PLACE_KINDS = [("village", "村（社区）"), ("natural_village", "自然村"), ("road", "道路街巷"),
               ("bridge", "桥梁"), ("landmark", "地片与建筑物"), ("other", "其他")]
# the review: who acts at each step, and where it goes next
STEPS = {"submitted": ("乡镇（街道）审核", "town", "district_review"),
         "district_review": ("县（区）民政部门审批", "district", "approved")}
STATES = {"submitted": "待乡镇审核", "district_review": "待县区审批", "approved": "已批准",
          "refused": "不予批准"}


class PlaceName(Audited, AreaOwned, models.Model):
    name = models.CharField("标准名称", max_length=50)
    pinyin = models.CharField("汉语拼音", max_length=120, blank=True)
    kind = models.CharField("类别", max_length=20, choices=PLACE_KINDS)
    meaning = models.CharField("含义与由来", max_length=300, blank=True)
    former_names = models.CharField("曾用名", max_length=200, blank=True)
    approved_on = models.DateField("批准日期", null=True, blank=True)

    class Meta:
        verbose_name = "地名"
        ordering = ["area_code", "name"]

    def __str__(self) -> str:
        return self.name


class NamingApplication(Audited, AreaOwned, models.Model):
    """命名 / 更名: reviewed by the town, approved by the district; an approved renaming keeps
    the old name among the former names."""

    KINDS = [("name", "命名"), ("rename", "更名")]

    kind = models.CharField("类型", max_length=10, choices=KINDS)
    place = models.ForeignKey(PlaceName, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="applications")
    proposed_name = models.CharField("拟用名称", max_length=50)
    place_kind = models.CharField("地名类别", max_length=20, choices=PLACE_KINDS)
    reason = models.CharField("理由", max_length=300)
    applicant = models.CharField("申报单位", max_length=100)
    state = models.CharField("环节", max_length=20, default="submitted",
                             choices=list(STATES.items()))
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                     on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField("申报时间", auto_now_add=True)

    class Meta:
        verbose_name = "地名命名更名申请"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}：{self.proposed_name}"


class NamingStep(models.Model):
    application = models.ForeignKey(NamingApplication, on_delete=models.CASCADE,
                                    related_name="steps")
    from_state = models.CharField(max_length=20)
    to_state = models.CharField(max_length=20)
    opinion = models.CharField("意见", max_length=300)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                           related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_state}→{self.to_state}"


class Sign(Audited, AreaOwned, models.Model):
    CONDITIONS = [("good", "完好"), ("worn", "破损"), ("missing", "缺失"), ("wrong", "标注错误")]

    place = models.ForeignKey(PlaceName, on_delete=models.PROTECT, related_name="signs")
    location = models.CharField("设置位置", max_length=200)
    material = models.CharField("材质", max_length=50, blank=True)
    installed_on = models.DateField("设置日期", null=True, blank=True)
    condition = models.CharField("状况", max_length=10, choices=CONDITIONS, default="good")
    checked_on = models.DateField("最近检查", null=True, blank=True)

    class Meta:
        verbose_name = "地名标志"
        ordering = ["area_code", "id"]

    def __str__(self) -> str:
        return f"{self.place} 标志（{self.location}）"


class BoundaryInspection(Audited, AreaOwned, models.Model):
    boundary = models.CharField("界线", max_length=100, help_text="如：屯溪区—休宁县")
    inspected_on = models.DateField("检查日期")
    team = models.CharField("联检人员", max_length=300)
    markers_checked = models.PositiveIntegerField("检查界桩数", default=0)

    class Meta:
        verbose_name = "界线联合检查"
        ordering = ["-inspected_on", "-id"]

    def __str__(self) -> str:
        return f"{self.boundary} {self.inspected_on}"


class BoundaryIssue(Audited, AreaOwned, models.Model):
    inspection = models.ForeignKey(BoundaryInspection, on_delete=models.CASCADE,
                                   related_name="issues")
    description = models.CharField("问题", max_length=300)
    resolved_on = models.DateField("解决日期", null=True, blank=True)
    resolution = models.CharField("处理情况", max_length=300, blank=True)

    class Meta:
        verbose_name = "界线问题"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.description
