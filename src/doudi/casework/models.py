"""Applications (申请) and what happens to them: the transition log, home visits, attachments;
and the working-day calendar an administrator keeps (节假日与调休)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from doudi.areas.scoping import AreaOwned
from doudi.audit.audited import Audited
from doudi.casework import workflow
from doudi.core.masking import MaskedIdentity
from doudi.programmes import catalogue
from doudi.registry.fields import EncryptedCharField

CHANNEL_CHOICES = [
    ("village", "村协理员代办"), ("town_window", "镇街窗口"), ("online", "网上申请"),
    ("hotline", "12345热线转办"), ("warning", "监测预警"), ("cross_province", "跨省通办"),
]


class Application(Audited, AreaOwned, models.Model):
    number = models.CharField("申请编号", max_length=24, unique=True)
    programme = models.CharField("救助项目", max_length=20,
                                 choices=catalogue.choices)
    channel = models.CharField("申请渠道", max_length=20, choices=CHANNEL_CHOICES)
    state = models.CharField("当前环节", max_length=20, choices=list(workflow.STATES.items()),
                             default="accepted", db_index=True)
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT,
                                  related_name="applications")
    applicant = models.ForeignKey("registry.Person", on_delete=models.PROTECT, null=True,
                                  blank=True, related_name="applications")
    reason = models.CharField("申请事由", max_length=300)
    # the parts asked for of a programme paid in parts (两项补贴); empty: every part
    parts = models.JSONField("申请的组成部分", default=list, blank=True)
    emergency = models.BooleanField("急难情形", default=False)
    reference = models.CharField("来源单号", max_length=40, blank=True,
                                 help_text="12345 工单号、预警编号或跨省通办流水号")
    submitted_on = models.DateField("申请日期")
    step_started_on = models.DateField("本环节开始")
    step_due = models.DateField("本环节办理期限", null=True, blank=True)
    step_due_provisional = models.BooleanField("期限为推算（节假日未公布）", default=False)
    recommendation = models.CharField("初审意见", max_length=12, blank=True,
                                      choices=[("eligible", "符合条件"),
                                               ("ineligible", "不符合条件")])
    publicity_ends_on = models.DateField("公示截止", null=True, blank=True)
    decision = models.CharField("审批结果", max_length=12, blank=True,
                                choices=[("approved", "批准"), ("refused", "不予批准")])
    amount_fen = models.BigIntegerField("月保障金额(分)", null=True, blank=True,
                                     help_text="一次性救助（临时救助）为核定的救助金额")
    # one-off aid (临时救助): what the application states and the rules read
    aid_type = models.CharField("救助类型", max_length=20, blank=True,
                                help_text="临时救助：急难型或支出型")
    need_fen = models.BigIntegerField("救助需求金额(分)", null=True, blank=True)
    proposed_fen = models.BigIntegerField(
        "拟救助金额(分)", null=True, blank=True,
        help_text="初审时按规则测算，审批时重算；超过镇街审批权限的由区县审批")
    shortened = models.BooleanField("急难小额先行审批", default=False,
                                    help_text="先审批发放，入户调查与审核事后补办")
    decision_reason = models.TextField("审批理由", blank=True)
    decided_on = models.DateField("审批日期", null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField("受理时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "救助申请"
        ordering = ["step_due", "id"]
        indexes = [models.Index(fields=["area_code", "state"])]

    def __str__(self) -> str:
        return f"{self.number} {self.get_programme_display()}"

    def audit_label(self) -> str:
        return f"申请 {self.number}（{self.get_programme_display()}）"

    @property
    def open(self) -> bool:
        return self.state not in workflow.TERMINAL

    @property
    def one_off(self) -> bool:
        """Aid paid once (临时救助), not enrolled."""
        return catalogue.one_off(self.programme)

    @property
    def state_label(self) -> str:
        """当前环节 as pages show it: an approved one-off case is granted, not enrolled."""
        if self.state == "approved" and self.one_off:
            return "已批准（一次性救助）"
        return self.get_state_display()

    @property
    def aid_type_label(self) -> str:
        request = catalogue.request_of(self.programme)
        return request.kinds.get(self.aid_type, self.aid_type) if request else ""

    @property
    def asked_parts(self) -> tuple[catalogue.Part, ...]:
        """The parts applied for, in catalogue order (all of them when none was named)."""
        parts = catalogue.parts(self.programme)
        return tuple(u for u in parts if u.code in self.parts) if self.parts else parts

    @property
    def decided_parts(self) -> list[dict]:
        """Each part asked for as the approval found it: label, whether it applies, its monthly
        amount, whether the person already receives it (none before an approval)."""
        event = self.events.filter(action="approve").order_by("-at", "-id").first()
        return list(((event.data or {}).get("rules") or {}).get("parts", [])) if event else []

    @property
    def parts_label(self) -> str:
        """申请的组成部分 as pages show it ("" for a programme of one part)."""
        return "、".join(u.label for u in self.asked_parts)


# what an application's log records besides the workflow's transitions
OTHER_EVENTS = {"create": "受理申请", "advance_payment": "先行救助",
                "record_request": "登记救助类型与需求金额"}


class ApplicationEvent(AreaOwned, models.Model):
    """One transition: who, when, from which step to which, and the opinion given. Written
    once, never changed (the audit log records it too)."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="events")
    action = models.CharField("操作", max_length=30)
    from_state = models.CharField("原环节", max_length=20)
    to_state = models.CharField("新环节", max_length=20)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_name = models.CharField("办理人", max_length=150)
    at = models.DateTimeField("时间", auto_now_add=True)
    opinion = models.TextField("意见", blank=True)
    data = models.JSONField("记录", default=dict, blank=True)

    class Meta:
        verbose_name = "办理记录"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.application.number} {self.label}"

    @property
    def label(self) -> str:
        t = workflow.BY_ACTION.get(self.action)
        return t.label if t else OTHER_EVENTS.get(self.action, self.action)


class HomeVisit(Audited, AreaOwned, models.Model):
    """入户调查记录 by the village assistant (or town officer)."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT,
                                    related_name="visits")
    visited_on = models.DateField("调查日期")
    members_present = models.CharField("在场成员", max_length=200)
    living_conditions = models.TextField("居住与生活状况")
    findings = models.TextField("调查意见", blank=True)
    visitor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                related_name="+")
    recorded_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = "入户调查"
        ordering = ["-visited_on", "-id"]

    def __str__(self) -> str:
        return f"入户调查 {self.visited_on}"

    def audit_label(self) -> str:
        return f"入户调查 {self.application.number} {self.visited_on}"


class CalendarDay(Audited, models.Model):
    """A day an administrator entered from the State Council's schedule: a holiday, or a 调休
    Saturday/Sunday that is a workday."""

    day = models.DateField("日期", unique=True)
    is_workday = models.BooleanField("上班")
    name = models.CharField("名称", max_length=40, blank=True)

    class Meta:
        verbose_name = "节假日安排"
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {'上班' if self.is_workday else '放假'} {self.name}"

    @property
    def area_code(self) -> str:
        return ""


class CalendarYear(Audited, models.Model):
    """A year whose whole schedule has been entered (its weekends are then trusted)."""

    year = models.PositiveIntegerField("年度", unique=True)
    source = models.CharField("依据", max_length=200)

    class Meta:
        verbose_name = "节假日年度"
        ordering = ["year"]

    def __str__(self) -> str:
        return f"{self.year} 年节假日安排"

    @property
    def area_code(self) -> str:
        return ""


class FundEntry(Audited, AreaOwned, models.Model):
    """临时救助备用金 ledger of a town: top-ups from the district, 先行救助 payouts, returns.
    `area_code` is the town's; the balance is the sum of the entries' signed amounts."""

    TOP_UP, PAYOUT, RETURN = "top_up", "payout", "return"
    KIND_CHOICES = [(TOP_UP, "区县拨付"), (PAYOUT, "先行救助支出"), (RETURN, "收回/退还")]

    kind = models.CharField("类型", max_length=10, choices=KIND_CHOICES)
    amount_fen = models.BigIntegerField("金额(分)")  # positive in, negative out
    application = models.ForeignKey(Application, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="fund_entries")
    note = models.CharField("说明", max_length=200)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = "临时救助备用金"
        ordering = ["-recorded_at", "-id"]
        constraints = [models.CheckConstraint(
            condition=(models.Q(kind="payout", amount_fen__lt=0)
                       | (~models.Q(kind="payout") & models.Q(amount_fen__gt=0))),
            name="fund_entry_sign")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount_fen / 100:.2f} 元"

    def audit_label(self) -> str:
        return f"备用金 {self} {self.note}"


class Attachment(Audited, AreaOwned, models.Model):
    """A photo or document attached to an application (证明材料、入户照片), stored by its
    SHA-256 under settings.ATTACHMENTS_DIR; only JPEG, PNG and PDF, size-limited."""

    KIND_CHOICES = [("document", "证明材料"), ("photo", "入户照片"), ("consent", "授权书"),
                    ("other", "其他")]

    application = models.ForeignKey(Application, on_delete=models.PROTECT,
                                    related_name="attachments")
    kind = models.CharField("类别", max_length=10, choices=KIND_CHOICES)
    file_name = models.CharField("文件名", max_length=200)
    content_type = models.CharField("类型", max_length=40)
    size = models.PositiveIntegerField("大小(字节)")
    sha256 = models.CharField("SHA-256", max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = "申请附件"
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name}"

    def audit_label(self) -> str:
        return f"附件 {self.file_name}（申请 {self.application.number}）"


class OnlineRequest(MaskedIdentity, AreaOwned, models.Model):
    """网上申请: a resident's own application from the public form, with the signed 授权书
    (consent) ticked; waits for the town to accept it into a case (受理) or decline it."""

    PENDING, ACCEPTED, DECLINED = "pending", "accepted", "declined"
    STATUS_CHOICES = [(PENDING, "待受理"), (ACCEPTED, "已受理"), (DECLINED, "不予受理")]

    programme = models.CharField("救助项目", max_length=20,
                                 choices=catalogue.choices)
    name = models.CharField("申请人姓名", max_length=50)
    id_number = EncryptedCharField("身份证号", max_length=18)
    phone = EncryptedCharField("联系电话", max_length=20)
    address = models.CharField("现住址", max_length=200)
    hukou_type = models.CharField("户籍类型", max_length=10,
                                  choices=[("urban", "城镇"), ("rural", "农村")])
    reason = models.CharField("申请事由", max_length=300)
    # one-off aid (临时救助): the type and need the resident states, carried into the case
    aid_type = models.CharField("救助类型", max_length=20, blank=True)
    need_fen = models.BigIntegerField("救助需求金额(分)", null=True, blank=True)
    origin = models.CharField("户籍所在地（跨省通办）", max_length=100, blank=True)
    consent = models.BooleanField("已签署授权书")
    status = models.CharField("状态", max_length=10, choices=STATUS_CHOICES, default=PENDING)
    application = models.OneToOneField(Application, null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="online_request")
    decline_reason = models.CharField("不予受理理由", max_length=200, blank=True)
    submitted_at = models.DateTimeField("提交时间", auto_now_add=True)
    ip = models.CharField("IP", max_length=45, blank=True)
    # 身份核验: anyone can type someone else's ID into the public form, so the box ticked there
    # counts as the applicant's 授权书 only once a town officer has checked who sent it
    IDENTITY_METHODS = [("id_card", "窗口核验身份证原件"), ("visit", "入户核验身份证件"),
                        ("video", "视频通话核验本人及证件")]
    identity_method = models.CharField("身份核验方式", max_length=10, blank=True,
                                       choices=IDENTITY_METHODS)
    identity_note = models.CharField("身份核验说明", max_length=200, blank=True)
    identity_verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                             on_delete=models.SET_NULL, related_name="+")
    identity_verified_at = models.DateTimeField("身份核验时间", null=True, blank=True)

    class Meta:
        verbose_name = "网上申请"
        ordering = ["submitted_at", "id"]

    def __str__(self) -> str:
        return f"网上申请 {self.get_programme_display()} {self.submitted_at:%Y-%m-%d}"


class ConsentEvidence(Audited, AreaOwned, models.Model):
    """授权书的证据: what makes a recorded 授权书 (exchange.Consent) count for a 核对 —
    a scan of the signed form, an officer's attestation that a member of the household signed
    in person, or an online application whose sender's identity a town officer verified.
    A consent without evidence (those recorded before evidence was asked for) needs some
    before a report relies on it."""

    SCAN, IN_PERSON, ONLINE = "scan", "in_person", "online"
    KIND_CHOICES = [(SCAN, "签字授权书扫描件"), (IN_PERSON, "经办人见证本人当面签字"),
                    (ONLINE, "网上申请（镇街核验申请人身份后有效）")]

    consent = models.ForeignKey("exchange.Consent", on_delete=models.PROTECT,
                                related_name="evidence")
    kind = models.CharField("证据", max_length=10, choices=KIND_CHOICES)
    signer = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+",
                               verbose_name="签署人")
    scan_sha256 = models.CharField("扫描件 SHA-256", max_length=64, blank=True)
    scan_type = models.CharField("扫描件类型", max_length=40, blank=True)
    online_request = models.ForeignKey(OnlineRequest, null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = "授权书证据"
        ordering = ["recorded_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}（{self.signer.masked_name}）"

    def audit_label(self) -> str:
        return f"授权书证据 {self.get_kind_display()} {self.consent.household.number}"

    @property
    def in_force(self) -> bool:
        if self.kind == self.ONLINE:
            return self.online_request is not None and \
                self.online_request.identity_verified_at is not None
        return True


class IssuingOffice(Audited, models.Model):
    """发文机关 (a town's 人民政府 / 街道办事处, a district's 民政局) as its documents print it:
    the 机关代字 of its 文号, the contact phone a notice gives and the 监督电话 a 公示 list
    gives. Entered by the district's 业务管理员; what is not entered prints as a blank line to
    fill by hand, never as a made-up value."""

    area = models.OneToOneField("areas.Area", verbose_name="区划", primary_key=True,
                                on_delete=models.PROTECT, related_name="office")
    document_prefix = models.CharField("机关代字", max_length=20, blank=True,
                                       help_text="文号中〔年份〕前的机关代字，如“屯民救”")
    phone = models.CharField("联系电话", max_length=40, blank=True)
    supervision_phone = models.CharField("监督电话", max_length=40, blank=True)

    class Meta:
        verbose_name = "发文机关"
        verbose_name_plural = "发文机关"

    def __str__(self) -> str:
        return f"{self.area_id} {self.document_prefix}"

    @property
    def area_code(self) -> str:
        return self.area_id

    def audit_label(self) -> str:
        return f"发文机关 {self.area_id}"


class DecisionDocument(Audited, AreaOwned, models.Model):
    """The 文号 of a decision's 书面通知: given once, when the decision is made, in its
    issuing body's sequence of the year (〔2026〕12号); a reprint shows the same number."""

    application = models.OneToOneField(Application, on_delete=models.PROTECT,
                                       related_name="document")
    issuer = models.ForeignKey("areas.Area", verbose_name="发文机关", on_delete=models.PROTECT,
                               related_name="+")
    year = models.PositiveSmallIntegerField("年份")
    serial = models.PositiveIntegerField("顺序号")
    number = models.CharField("文号", max_length=60)
    issued_at = models.DateTimeField("编号时间", auto_now_add=True)

    class Meta:
        verbose_name = "书面通知文号"
        constraints = [models.UniqueConstraint(fields=["issuer", "year", "serial"],
                                               name="decision_document_serial_once")]

    def __str__(self) -> str:
        return self.number

    def audit_label(self) -> str:
        return f"文号 {self.number}（申请 {self.application.number}）"


class FilingRecord(Audited, AreaOwned, models.Model):
    """备案记录: a decision a town took under delegated power (批准 or 不予批准), filed with
    the district when it is made (`services.act`, the one place a decision is taken). It keeps
    the decision, the amount and the decider, whether it is selected for review and why (drawn
    at `casework.filing.sample_rate`, risk rules of `filing_risk` that fired), and the
    district's review: confirmed, or a correction the town must record by its due date."""

    PENDING, CONFIRMED, CORRECTION = "pending", "confirmed", "correction"
    STATUS_CHOICES = [(PENDING, "待审查"), (CONFIRMED, "已确认"), (CORRECTION, "已纠正")]

    application = models.OneToOneField(Application, on_delete=models.PROTECT,
                                       related_name="filing")
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT,
                                  related_name="filings")
    programme = models.CharField("救助项目", max_length=20, choices=catalogue.choices)
    town = models.CharField("镇街", max_length=9, db_index=True)
    decision = models.CharField("审批结果", max_length=12,
                                choices=[("approved", "批准"), ("refused", "不予批准")])
    amount_fen = models.BigIntegerField("金额(分)", null=True, blank=True)
    decided_on = models.DateField("审批日期")
    decider = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                related_name="+")
    decider_name = models.CharField("审批人", max_length=150)
    # the review selection, fixed when filed: drawn at the rate, and the risk rules that fired
    sampled = models.BooleanField("随机抽中", default=False)
    risks = models.JSONField("风险规则", default=list, blank=True)
    selected = models.BooleanField("须审查", default=False, db_index=True)
    median_fen = models.BigIntegerField("同类决定金额中位数(分)", null=True, blank=True)
    rules_eligible = models.BooleanField("规则测算符合条件", null=True, blank=True)
    status = models.CharField("审查状态", max_length=12, choices=STATUS_CHOICES, default=PENDING,
                              db_index=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField("审查时间", null=True, blank=True)
    review_note = models.CharField("审查意见", max_length=300, blank=True)
    # a correction: the town records what it did (整改情况) by the due date
    correction_due_on = models.DateField("纠正期限", null=True, blank=True)
    corrected_on = models.DateField("纠正完成日期", null=True, blank=True)
    correction = models.CharField("纠正情况", max_length=300, blank=True)
    corrected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    filed_at = models.DateTimeField("备案时间", auto_now_add=True)

    class Meta:
        verbose_name = "备案记录"
        ordering = ["-decided_on", "-id"]
        indexes = [models.Index(fields=["area_code", "status"])]

    def __str__(self) -> str:
        return f"备案 {self.application.number}"

    def audit_label(self) -> str:
        return f"备案 {self.application.number}（{self.get_programme_display()}）"

    @property
    def reasons(self) -> list[str]:
        """Why it is selected: 随机抽中 first, then the risk rules in table order."""
        return (["sampled"] if self.sampled else []) + list(self.risks)

    @property
    def correction_open(self) -> bool:
        return self.status == self.CORRECTION and self.corrected_on is None
