"""Registry models (低收入人口基础信息库).

Facts that change over time (income, assets, housing, vehicles, businesses, memberships,
categories) are dated rows, never overwritten values: history is what the bureau audits.
"""

from __future__ import annotations

import datetime as dt

from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q

from doudi.areas.scoping import AreaOwned
from doudi.audit.audited import Audited
from doudi.core import ages, clock
from doudi.core.masking import MaskedIdentity, mask_id_number, mask_name, mask_phone
from doudi.core.money import yuan_text
from doudi.registry import choices
from doudi.registry.categories import CATEGORY_CHOICES
from doudi.registry.fields import EncryptedCharField, IdTailField


class Household(Audited, AreaOwned):
    """家庭. `area_code` is the village/community it lives in."""

    number = models.CharField("家庭编号", max_length=24, unique=True)
    area = models.ForeignKey("areas.Area", verbose_name="所在村/社区", on_delete=models.PROTECT)
    address = models.CharField("住址", max_length=200, blank=True)
    hukou_type = models.CharField("户籍类型", max_length=10, choices=choices.HUKOU_CHOICES)
    is_active = models.BooleanField("有效", default=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "家庭"
        verbose_name_plural = "家庭"
        ordering = ["number"]

    def __str__(self) -> str:
        return self.number

    def audit_label(self) -> str:
        return f"家庭 {self.number}"

    def current_memberships(self) -> models.QuerySet[Membership]:
        return self.memberships.filter(end_date__isnull=True).select_related("person")

    def head(self) -> Person | None:
        m = self.current_memberships().filter(relation="head").first()
        return m.person if m else None


class Person(MaskedIdentity, Audited, AreaOwned):
    """人员. The resident ID is unique; birth date and sex are derived from it."""

    # a visitor's assigned persons (care.assignments), admitted by `visible_to(assigned=True)`
    assignment_keys = {"person": "pk"}

    # birth date and initials would give the hidden digits and characters back
    audit_maskers = {"id_number": mask_id_number, "name": mask_name, "phone": mask_phone,
                     "birth_date": lambda v: v[:4] + "-**-**", "name_initials": lambda _: "**"}
    audit_ignore = ("updated_at", "id_tail")  # the tail is the ID's, already logged masked

    # stored encrypted (docs/key-management.md); unique holds on the deterministic ciphertext
    id_number = EncryptedCharField("身份证号", max_length=18, unique=True)
    id_tail = IdTailField("身份证号后4位", db_index=True)
    name = models.CharField("姓名", max_length=50)
    name_initials = models.CharField("拼音首字母", max_length=20, db_index=True, blank=True)
    sex = models.CharField("性别", max_length=1, choices=choices.SEX_CHOICES)
    birth_date = models.DateField("出生日期")
    hukou_type = models.CharField("户籍类型", max_length=10, choices=choices.HUKOU_CHOICES)
    phone = EncryptedCharField("联系电话", max_length=20, blank=True)
    disability_category = models.CharField(
        "残疾类别", max_length=20, choices=choices.DISABILITY_CATEGORY_CHOICES, blank=True
    )
    disability_grade = models.PositiveSmallIntegerField(
        "残疾等级", choices=choices.DISABILITY_GRADE_CHOICES, null=True, blank=True
    )
    serious_illness = models.CharField("重病(病种)", max_length=100, blank=True)
    labour_capacity = models.CharField(
        "劳动能力", max_length=10, choices=choices.LABOUR_CAPACITY_CHOICES, default="full"
    )
    student_status = models.CharField(
        "在校情况", max_length=20, choices=choices.STUDENT_CHOICES, blank=True
    )
    has_supporter = models.BooleanField(
        "有法定赡养抚养扶养义务人且有履行能力", default=True,
        help_text="无法定赡养、抚养、扶养义务人，或者其法定义务人无履行义务能力的，选“否”"
                  "（特困人员认定条件之一）",
    )
    adl_failed = models.PositiveSmallIntegerField(
        "生活不能自理项数", default=0, validators=[MaxValueValidator(choices.ADL_ITEM_COUNT)],
        help_text=f"{'、'.join(choices.ADL_ITEMS)}六项中不能自理的项数（0–6）",
    )
    death_date = models.DateField("死亡日期", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "人员"
        verbose_name_plural = "人员"
        ordering = ["id"]
        # the household search by full name (measured at 1M persons: 112–182 ms a query
        # without it, under 7 ms with it — docs/benchmarks.md)
        indexes = [models.Index(fields=["name"], name="registry_person_name")]
        constraints = [
            models.CheckConstraint(
                condition=Q(disability_grade__isnull=True) | ~Q(disability_category=""),
                name="person_grade_needs_category",
            ),
            models.CheckConstraint(
                condition=Q(adl_failed__gte=0) & Q(adl_failed__lte=choices.ADL_ITEM_COUNT),
                name="person_adl_failed_0_to_6",
            ),
        ]

    def __str__(self) -> str:
        return self.masked_name

    def audit_label(self) -> str:
        return f"人员 {self.masked_name} {self.masked_id}"

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    def age_on(self, day: dt.date) -> int:
        return ages.age_on(self.birth_date, day)

    @property
    def age(self) -> int:
        """Shown instead of the birth date where data is masked: the full date would give
        back eight of the ten hidden digits of the ID."""
        return self.age_on(clock.today())

    def current_membership(self) -> Membership | None:
        return self.memberships.filter(end_date__isnull=True).first()


class Membership(Audited, AreaOwned):
    """家庭成员关系: who belongs to which household, from when to when."""

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="memberships")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="memberships")
    relation = models.CharField("与户主关系", max_length=20, choices=choices.RELATION_CHOICES)
    co_resident = models.BooleanField("共同生活", default=True)
    start_date = models.DateField("起始日期")
    end_date = models.DateField("终止日期", null=True, blank=True)
    end_reason = models.CharField("终止原因", max_length=100, blank=True)

    class Meta:
        verbose_name = "家庭成员"
        verbose_name_plural = "家庭成员"
        ordering = ["household_id", "start_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(end_date__isnull=True),
                name="one_current_household_per_person",
            ),
            models.UniqueConstraint(
                fields=["household"], condition=Q(end_date__isnull=True, relation="head"),
                name="one_current_head_per_household",
            ),
        ]

    def audit_label(self) -> str:
        return f"家庭 {self.household.number} 成员 {self.person.masked_name}"


class Observation(Audited, AreaOwned):
    """A dated fact about a household's economy: income, assets, housing, vehicles, business,
    rigid expenses. Money is integer fen; income and expenses are monthly amounts.

    A fact belongs to one member (`person`) or to the household (no person). It is never
    overwritten: a correction (更正) is a new row that the wrong one names as `superseded_by`,
    with the reason; a fact that stops (失业, 房屋出售) gets `ended_on` and its reason. Which
    facts count on a day is decided in one place, `doudi.registry.facts.current`."""

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="observations")
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="observations", null=True, blank=True
    )
    kind = models.CharField("类别", max_length=20, choices=choices.OBSERVATION_KIND_CHOICES)
    item = models.CharField("项目", max_length=30)
    amount_fen = models.BigIntegerField("金额(分)", null=True, blank=True)
    quantity = models.PositiveIntegerField("数量", null=True, blank=True)
    description = models.CharField("说明", max_length=200, blank=True)
    observed_on = models.DateField("所属日期")
    source = models.CharField("来源", max_length=20, choices=choices.OBSERVATION_SOURCE_CHOICES)
    recorded_at = models.DateTimeField("记录时间", auto_now_add=True)
    superseded_by = models.OneToOneField(
        "self", verbose_name="更正为", on_delete=models.PROTECT, null=True, blank=True,
        related_name="corrects")
    correction_reason = models.CharField("更正原因", max_length=200, blank=True)
    ended_on = models.DateField("终止日期", null=True, blank=True)
    end_reason = models.CharField("终止原因", max_length=200, blank=True)
    #: not stored: the row a correction being saved supersedes, named in its audit label
    correcting: Observation | None = None

    class Meta:
        verbose_name = "经济状况"
        verbose_name_plural = "经济状况"
        ordering = ["-observed_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(superseded_by__isnull=True)
                                   | Q(correction_reason__gt=""),
                                   name="observation_correction_has_reason"),
            models.CheckConstraint(condition=Q(ended_on__isnull=True) | Q(end_reason__gt=""),
                                   name="observation_end_has_reason"),
        ]

    def audit_label(self) -> str:
        """What the timeline shows of the fact: whose, which item, and what became of it (the
        amount and the reasons stay out: the audit log keeps a household's means masked)."""
        whose = self.person.masked_name if self.person_id else "全家"
        label = f"家庭 {self.household.number} {self.get_kind_display()} {self.item_label} {whose}"
        if self.superseded_by_id:
            return f"{label}（已被更正）"
        if self.ended_on:
            return f"{label}（{self.ended_on:%Y-%m-%d} 终止）"
        return f"{label}（更正原记录）" if self.correcting is not None else label

    @property
    def amount_text(self) -> str:
        """The amount as a form shows it to be typed again ("" when none)."""
        return "" if self.amount_fen is None else yuan_text(self.amount_fen)

    @property
    def item_label(self) -> str:
        return dict(choices.OBSERVATION_ITEMS.get(self.kind, [])).get(self.item, self.item)


class CategoryAssignment(Audited, AreaOwned):
    """A category (低保, 特困, 留守老人 …) carried by a household or a person, with dates."""

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="categories", null=True, blank=True
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="categories", null=True, blank=True
    )
    category = models.CharField("类别", max_length=30, choices=CATEGORY_CHOICES, db_index=True)
    start_date = models.DateField("起始日期")
    end_date = models.DateField("终止日期", null=True, blank=True)
    note = models.CharField("备注", max_length=200, blank=True)
    # the feed type whose list records it (防返贫监测对象 from 乡村振兴's list); "" when a clerk
    # recorded it. Only the feed's own rows are ended when a person leaves its list.
    source_feed = models.CharField("来源名单", max_length=40, blank=True, default="",
                                   db_default="")

    class Meta:
        verbose_name = "人员类别"
        verbose_name_plural = "人员类别"
        ordering = ["-start_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(household__isnull=False) & Q(person__isnull=True))
                | (Q(household__isnull=True) & Q(person__isnull=False)),
                name="category_household_xor_person",
            ),
            models.UniqueConstraint(
                fields=["household", "category"], condition=Q(end_date__isnull=True),
                name="one_open_category_per_household",
            ),
            models.UniqueConstraint(
                fields=["person", "category"], condition=Q(end_date__isnull=True),
                name="one_open_category_per_person",
            ),
        ]

    def audit_label(self) -> str:
        return f"类别 {self.get_category_display()}"
