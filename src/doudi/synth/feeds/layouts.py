"""The files departments send, as data: one `FeedLayout` per dataset, with the department's own
Chinese headers, date style, CSV encoding and sheet name.

`Column.kind` says how a typed value becomes text and which dirt it can catch:
`id_number` (resident ID), `text`, `date` (a `datetime.date`), `money` (integer fen, written as
yuan), `number` (an integer, written as is), `decimal1` (an integer in tenths, e.g. m² × 10).
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("id_number", "text", "date", "money", "number", "decimal1")


@dataclass(frozen=True)
class Column:
    key: str  # the canonical English name in the builder's frame
    header: str  # the department's header
    kind: str
    required: bool = True


@dataclass(frozen=True)
class FeedLayout:
    key: str  # e.g. "medical_settlement"
    department: str  # 医保
    title: str  # 医疗费用结算明细
    sheet: str  # the sheet name the department uses
    encoding: str  # CSV encoding: "utf-8-sig" or "gb18030"
    date_style: str  # "iso" 2026-03-05 | "slash" 2026/3/5 | "compact" 20260305
    columns: tuple[Column, ...]

    @property
    def file_stem(self) -> str:
        return f"{self.department}_{self.title}"

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns)

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)


def _c(key: str, header: str, kind: str = "text", required: bool = True) -> Column:
    return Column(key, header, kind, required)


LAYOUTS: tuple[FeedLayout, ...] = (
    FeedLayout("medical_settlement", "医保", "医疗费用结算明细", "结算明细", "gb18030", "slash", (
        _c("settlement_no", "结算流水号"),
        _c("id_number", "公民身份号码", "id_number"),
        _c("name", "参保人姓名"),
        _c("insurance_type", "险种类型"),  # 职工基本医疗保险 | 城乡居民基本医疗保险
        _c("hospital", "定点医疗机构"),
        _c("visit_type", "就诊类型"),  # 门诊 | 门诊慢特病 | 住院
        _c("admitted_on", "入院日期", "date", required=False),
        _c("settled_on", "结算日期", "date"),
        _c("total", "医疗总费用", "money"),
        _c("fund_paid", "统筹基金支付", "money"),
        _c("serious_illness_paid", "大病保险支付", "money"),
        _c("assistance_paid", "医疗救助支付", "money"),
        _c("out_of_pocket", "个人自付", "money"),
    )),
    FeedLayout("disability_certificate", "残联", "残疾人证信息", "持证残疾人", "utf-8-sig", "iso", (
        _c("certificate_no", "残疾证号"),
        _c("name", "姓名"),
        _c("id_number", "身份证号", "id_number"),
        _c("category", "残疾类别"),  # 视力 听力 言语 肢体 智力 精神 多重
        _c("grade", "残疾等级"),  # 一级 … 四级
        _c("issued_on", "发证日期", "date"),
        _c("status", "证件状态"),
    )),
    FeedLayout("death_record", "公安", "死亡人员信息", "死亡注销", "gb18030", "compact", (
        _c("id_number", "身份证号码", "id_number"),
        _c("name", "姓名"),
        _c("died_on", "死亡日期", "date"),
        _c("cancelled_on", "户口注销日期", "date"),
        _c("police_station", "注销派出所"),
    )),
    FeedLayout("hukou_move", "公安", "户籍迁移信息", "迁移", "gb18030", "compact", (
        _c("id_number", "身份证号码", "id_number"),
        _c("name", "姓名"),
        _c("direction", "迁移类型"),  # 迁入 | 迁出
        _c("moved_on", "迁移日期", "date"),
        _c("from_address", "迁出地"),
        _c("to_address", "迁入地"),
    )),
    FeedLayout("unemployment", "人社", "失业登记信息", "失业登记", "utf-8-sig", "iso", (
        _c("id_number", "身份证号", "id_number"),
        _c("name", "姓名"),
        _c("registered_on", "失业登记日期", "date"),
        _c("reason", "失业原因"),
        _c("benefit", "领取失业保险金", required=False),  # 是 | 否
        _c("monthly_benefit", "失业保险金月标准", "money", required=False),
    )),
    FeedLayout("pension", "人社", "养老保险待遇发放", "待遇发放", "utf-8-sig", "iso", (
        _c("id_number", "身份证号", "id_number"),
        _c("name", "姓名"),
        _c("scheme", "险种"),  # 企业职工基本养老保险 | 城乡居民基本养老保险
        _c("month", "发放年月"),  # 202610
        _c("amount", "发放金额", "money"),
    )),
    FeedLayout("contribution", "人社", "社会保险缴费信息", "缴费明细", "utf-8-sig", "iso", (
        _c("id_number", "身份证号", "id_number"),
        _c("name", "姓名"),
        _c("employer", "参保单位"),
        _c("month", "缴费年月"),
        _c("base", "缴费基数", "money"),
        _c("started_on", "参保日期", "date"),
    )),
    FeedLayout("property", "不动产", "不动产登记信息", "登记簿", "gb18030", "iso", (
        _c("certificate_no", "不动产权证号"),
        _c("owner", "权利人"),
        _c("id_number", "证件号码", "id_number"),
        _c("location", "坐落"),
        _c("use", "用途"),  # 住宅 | 商业 | 办公
        _c("area", "建筑面积(㎡)", "decimal1"),
        _c("registered_on", "登簿日期", "date"),
    )),
    FeedLayout("vehicle", "车管", "机动车登记信息", "机动车", "gb18030", "slash", (
        _c("plate", "号牌号码"),
        _c("vehicle_type", "车辆类型"),  # 小型普通客车 | 轻型普通货车 | 普通二轮摩托车
        _c("owner", "机动车所有人"),
        _c("id_number", "身份证明号码", "id_number"),
        _c("brand", "中文品牌"),
        _c("registered_on", "初次登记日期", "date"),
        _c("status", "机动车状态"),  # 正常
    )),
    FeedLayout("business", "市场监管", "市场主体登记信息", "市场主体", "utf-8-sig", "iso", (
        _c("credit_code", "统一社会信用代码"),
        _c("entity_name", "主体名称"),
        _c("entity_type", "主体类型"),  # 个体工商户 | 有限责任公司
        _c("operator", "经营者/法定代表人"),
        _c("id_number", "证件号码", "id_number"),
        _c("registered_capital", "注册资本(元)", "money", required=False),
        _c("established_on", "成立日期", "date"),
        _c("status", "登记状态"),  # 存续
    )),
    FeedLayout("school_enrolment", "教育", "学生学籍信息", "学籍", "utf-8-sig", "iso", (
        _c("student_no", "全国学籍号"),
        _c("name", "学生姓名"),
        _c("id_number", "身份证件号", "id_number"),
        _c("school", "学校名称"),
        _c("stage", "学段"),  # 学前 小学 初中 普通高中 中职 高职 本科
        _c("grade_year", "年级"),
        _c("status", "学籍状态"),  # 在读 | 休学 | 辍学
    )),
    FeedLayout("disaster_damage", "应急", "自然灾害受灾人员核查", "受灾户", "gb18030", "slash", (
        _c("head_name", "户主姓名"),
        _c("id_number", "户主身份证号", "id_number"),
        _c("address", "家庭住址"),
        _c("disaster", "灾害种类"),  # 洪涝 台风 风雹 地质灾害 低温冷冻
        _c("occurred_on", "受灾日期", "date"),
        _c("house_damage", "房屋损毁情况"),  # 倒塌 严重损坏 一般损坏
        _c("loss", "直接经济损失(元)", "money"),
    )),
    FeedLayout("relapse_watch", "乡村振兴", "防返贫监测对象名单", "监测对象", "utf-8-sig", "iso", (
        _c("head_name", "户主姓名"),
        _c("id_number", "户主证件号码", "id_number"),
        _c("village", "所在村"),
        _c("members", "家庭人口数", "number"),
        _c("watch_type", "监测对象类别"),  # 脱贫不稳定户 | 边缘易致贫户 | 突发严重困难户
        _c("risk", "主要风险类型"),  # 因病 因残 因学 因灾 因意外事故 因务工就业不稳 …
        _c("entered_on", "识别纳入时间", "date"),
        _c("risk_removed", "风险是否消除"),  # 是 | 否
    )),
    FeedLayout("lifted_from_poverty", "乡村振兴", "脱贫户信息", "脱贫户", "utf-8-sig", "iso", (
        _c("head_name", "户主姓名"),
        _c("id_number", "户主证件号码", "id_number"),
        _c("village", "所在村"),
        _c("members", "家庭人口数", "number"),
        _c("lifted_year", "脱贫年度", "number"),  # 2014–2020: a year, never a date
    )),
    FeedLayout("housing_fund", "公积金", "住房公积金缴存信息", "缴存明细", "utf-8-sig", "iso", (
        _c("account_no", "个人账号"),
        _c("name", "姓名"),
        _c("id_number", "证件号码", "id_number"),
        _c("employer", "单位名称"),
        _c("base", "缴存基数", "money"),
        _c("monthly_deposit", "月缴存额", "money"),
        _c("balance", "账户余额", "money"),
        _c("status", "账户状态"),  # 正常 | 封存
    )),
)

BY_KEY = {layout.key: layout for layout in LAYOUTS}
