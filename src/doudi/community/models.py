"""Social forces (社会力量) and grassroots governance (基层治理): organisations, their workers,
projects and 结对帮扶; household needs published to them (救助需求统一发布) and what they
delivered; village consultations (议事协商) with follow-up tasks; 村规民约积分制 ledgers."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from doudi.areas.scoping import AreaOwned
from doudi.audit.audited import Audited
from doudi.core.masking import mask_phone
from doudi.registry.fields import EncryptedCharField

ORG_KINDS = [("social_org", "社会组织"), ("station", "镇街社工站"),
             ("volunteer_point", "志愿服务站点"), ("charity", "慈善组织")]
NEED_KINDS = [("medical", "医疗"), ("education", "助学"), ("living", "生活"), ("care", "照护"),
              ("housing", "住房"), ("other", "其他")]


class Organisation(Audited, AreaOwned, models.Model):
    name = models.CharField("名称", max_length=100)
    kind = models.CharField("类型", max_length=20, choices=ORG_KINDS)
    credit_code = models.CharField("统一社会信用代码", max_length=18, blank=True)
    contact = models.CharField("联系人", max_length=50, blank=True)
    phone = EncryptedCharField("联系电话", max_length=30, blank=True)
    services = models.CharField("服务领域", max_length=200, blank=True)
    active = models.BooleanField("在册", default=True)

    audit_maskers = {"phone": mask_phone}

    class Meta:
        verbose_name = "社会力量"
        ordering = ["area_code", "name"]

    def __str__(self) -> str:
        return self.name


class OrganisationMember(models.Model):
    """A user account of an organisation: sees the needs published to it, nothing else."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="organisation_membership")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE,
                                     related_name="members")

    class Meta:
        verbose_name = "社会力量账号"

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation}"


class Worker(Audited, AreaOwned, models.Model):
    KINDS = [("social_worker", "社会工作者"), ("volunteer", "志愿者")]

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                     related_name="workers")
    name = models.CharField("姓名", max_length=50)
    kind = models.CharField("类别", max_length=20, choices=KINDS)
    certificate = models.CharField("资格证书", max_length=50, blank=True)
    hours = models.DecimalField("服务时长（小时）", max_digits=8, decimal_places=1, default=0)

    class Meta:
        verbose_name = "社工与志愿者"
        ordering = ["organisation", "name"]

    def __str__(self) -> str:
        return self.name


class Project(Audited, AreaOwned, models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                     related_name="projects")
    name = models.CharField("项目名称", max_length=100)
    budget_fen = models.BigIntegerField("项目资金（分）", default=0)
    starts_on = models.DateField("开始日期")
    ends_on = models.DateField("结束日期", null=True, blank=True)
    description = models.CharField("内容", max_length=300, blank=True)

    class Meta:
        verbose_name = "慈善/服务项目"
        ordering = ["-starts_on"]

    def __str__(self) -> str:
        return self.name


class Pairing(Audited, AreaOwned, models.Model):
    """结对帮扶: an organisation paired with a key assistance county."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                     related_name="pairings")
    county = models.CharField("帮扶县（区）", max_length=50)
    since = models.DateField("结对日期")
    content = models.CharField("帮扶内容", max_length=300)

    class Meta:
        verbose_name = "结对帮扶"

    def __str__(self) -> str:
        return f"{self.organisation}—{self.county}"


class Need(Audited, AreaOwned, models.Model):
    """救助需求: what public assistance does not cover, published (with the family's consent,
    without names) to chosen organisations; one takes it up and records what it delivered."""

    OPEN, TAKEN, DONE, WITHDRAWN = "open", "taken", "done", "withdrawn"
    STATUS = [(OPEN, "待认领"), (TAKEN, "已认领"), (DONE, "已完成"), (WITHDRAWN, "已撤回")]

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT,
                                  related_name="needs")
    kind = models.CharField("需求类别", max_length=20, choices=NEED_KINDS)
    summary = models.CharField("需求描述（不含姓名等个人信息）", max_length=300)
    amount_fen = models.BigIntegerField("所需金额（分）", null=True, blank=True)
    consent_on = models.DateField("家庭同意发布日期")
    organisations = models.ManyToManyField(Organisation, related_name="needs",
                                           verbose_name="发布给")
    status = models.CharField("状态", max_length=10, choices=STATUS, default=OPEN)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                     on_delete=models.SET_NULL, related_name="+")
    published_at = models.DateTimeField("发布时间", auto_now_add=True)
    taken_by = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="taken_needs")
    taken_at = models.DateTimeField("认领时间", null=True, blank=True)
    outcome = models.CharField("帮扶结果", max_length=300, blank=True)
    delivered_fen = models.BigIntegerField("帮扶金额（分）", null=True, blank=True)
    done_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = "救助需求"
        ordering = ["-published_at", "-id"]

    def __str__(self) -> str:
        return f"救助需求 #{self.pk} {self.get_kind_display()}"


class Consultation(Audited, AreaOwned, models.Model):
    """议事协商: a village or community's consultation meeting."""

    held_on = models.DateField("日期")
    topic = models.CharField("议题", max_length=200)
    participants = models.CharField("参与人员", max_length=300)
    outcome = models.TextField("协商结果")

    class Meta:
        verbose_name = "议事协商"
        ordering = ["-held_on", "-id"]

    def __str__(self) -> str:
        return f"议事协商 {self.held_on} {self.topic}"


class FollowUp(Audited, AreaOwned, models.Model):
    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE,
                                     related_name="follow_ups")
    task = models.CharField("落实事项", max_length=200)
    owner = models.CharField("责任人", max_length=50)
    due_on = models.DateField("期限")
    done_on = models.DateField("完成日期", null=True, blank=True)

    class Meta:
        verbose_name = "协商落实事项"
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return self.task


class PointRule(Audited, AreaOwned, models.Model):
    """村规民约积分制 rule, as data: what earns or costs points in an area."""

    code = models.SlugField("规则代码", max_length=40)
    name = models.CharField("事项", max_length=100)
    points = models.IntegerField("分值")
    active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "积分规则"
        ordering = ["area_code", "code"]
        constraints = [models.UniqueConstraint(fields=["area_code", "code"],
                                               name="one_point_rule_per_area_code")]

    def __str__(self) -> str:
        return f"{self.name}（{self.points:+d}）"


class PointEntry(AreaOwned, models.Model):
    """One line of a household's points ledger; never changed, a correction is a new line."""

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT,
                                  related_name="point_entries")
    rule = models.ForeignKey(PointRule, on_delete=models.PROTECT, related_name="entries")
    points = models.IntegerField("分值")
    occurred_on = models.DateField("发生日期")
    note = models.CharField("说明", max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = "积分记录"
        ordering = ["-occurred_on", "-id"]

    def __str__(self) -> str:
        return f"{self.household} {self.points:+d}"


class PointBalance(AreaOwned, models.Model):
    """A household's running total, moved only by atomic increments with each entry."""

    household = models.OneToOneField("registry.Household", on_delete=models.PROTECT,
                                     related_name="point_balance")
    balance = models.IntegerField("积分", default=0)
    entries = models.PositiveIntegerField("记录数", default=0)

    class Meta:
        verbose_name = "积分余额"

    def __str__(self) -> str:
        return f"{self.household} {self.balance}"


DONATION_DIRECTIONS = [("received", "接收"), ("given", "发放")]
DONATION_KINDS = [("funds", "慈善资金"), ("goods", "慈善物资")]


class Donation(Audited, AreaOwned, models.Model):
    """慈善资金/物资: funds or goods a town or district received from a social force
    (organisation), or gave to a household through one. Money in fen; goods carry their
    description and an estimated value in fen. Received rows belong to the receiving area,
    given ones to the household's village."""

    RECEIVED, GIVEN = "received", "given"
    FUNDS, GOODS = "funds", "goods"

    direction = models.CharField("方向", max_length=10, choices=DONATION_DIRECTIONS)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                     related_name="donations", verbose_name="社会力量")
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, null=True,
                                  blank=True, related_name="donations",
                                  verbose_name="受助家庭")
    kind = models.CharField("类别", max_length=10, choices=DONATION_KINDS)
    amount_fen = models.BigIntegerField("金额（分）", null=True, blank=True)
    goods = models.CharField("物资", max_length=200, blank=True)
    value_fen = models.BigIntegerField("物资估值（分）", null=True, blank=True)
    donated_on = models.DateField("日期")
    note = models.CharField("备注", max_length=300, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = "慈善捐赠"
        ordering = ["-donated_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(direction="received") | models.Q(household__isnull=False),
                name="donation_given_to_a_household"),
            models.CheckConstraint(
                condition=(models.Q(kind="funds", amount_fen__gt=0)
                           | models.Q(kind="goods", value_fen__gte=0) & ~models.Q(goods="")),
                name="donation_funds_or_goods"),
        ]

    def __str__(self) -> str:
        what = (f"{self.amount_fen // 100}.{self.amount_fen % 100:02d} 元"
                if self.kind == self.FUNDS and self.amount_fen is not None else self.goods)
        return f"{self.get_direction_display()}{self.get_kind_display()} {what}"

    def audit_label(self) -> str:
        """What the audit log and the household's timeline say: the amount or the goods'
        value and the organisation — not the free text, which the log would mask."""
        fen = self.amount_fen if self.kind == self.FUNDS else self.value_fen
        value = f"{fen // 100}.{fen % 100:02d} 元" if fen is not None else ""
        worth = value if self.kind == self.FUNDS else f"估值 {value}"
        by = f"（{self.organisation.name}）" if self.organisation_id else ""
        return f"{self.get_direction_display()}{self.get_kind_display()} {worth}{by}"
