"""Code lists of the registry: (identifier, 中文) pairs, one place for each."""

from __future__ import annotations

HUKOU_CHOICES = [("urban", "城镇"), ("rural", "农村")]
SEX_CHOICES = [("M", "男"), ("F", "女")]

RELATION_CHOICES = [
    ("head", "户主"), ("spouse", "配偶"), ("child", "子女"), ("child_in_law", "儿媳/女婿"),
    ("parent", "父母"), ("parent_in_law", "公婆/岳父母"), ("grandchild", "孙子女/外孙子女"),
    ("grandparent", "祖父母/外祖父母"), ("sibling", "兄弟姐妹"), ("other", "其他"),
]

DISABILITY_CATEGORY_CHOICES = [
    ("visual", "视力残疾"), ("hearing", "听力残疾"), ("speech", "言语残疾"),
    ("physical", "肢体残疾"), ("intellectual", "智力残疾"), ("mental", "精神残疾"),
    ("multiple", "多重残疾"),
]
DISABILITY_GRADE_CHOICES = [(1, "一级"), (2, "二级"), (3, "三级"), (4, "四级")]

LABOUR_CAPACITY_CHOICES = [
    ("full", "有劳动能力"), ("partial", "部分丧失劳动能力"), ("none", "无劳动能力"),
]

# 生活自理能力: the six daily-living items; a person's `adl_failed` counts those not managed
ADL_ITEMS = ("吃饭", "穿衣", "上下床", "如厕", "室内行走", "洗澡")
ADL_ITEM_COUNT = len(ADL_ITEMS)

STUDENT_CHOICES = [
    ("", "非在校"), ("preschool", "学前"), ("primary", "小学"), ("junior", "初中"),
    ("senior", "高中"), ("vocational", "中职/高职"), ("undergraduate", "本科/专科"),
    ("postgraduate", "研究生"),
]

OBSERVATION_KIND_CHOICES = [
    ("income", "收入"), ("asset", "财产"), ("housing", "住房"), ("vehicle", "车辆"),
    ("business", "工商登记"), ("expense", "刚性支出"),
]
# item codes per kind; amounts are monthly for income and expense, balances for assets
OBSERVATION_ITEMS: dict[str, list[tuple[str, str]]] = {
    "income": [
        ("wage", "工资性收入"), ("business", "经营净收入"), ("property", "财产净收入"),
        ("transfer", "转移净收入"), ("pension", "养老金"), ("other", "其他收入"),
    ],
    "asset": [
        ("deposit", "银行存款"), ("securities", "有价证券"), ("insurance", "商业保险"),
        ("other", "其他金融资产"),
    ],
    "housing": [("residential", "住房"), ("non_residential", "非居住类房屋")],
    "vehicle": [("car", "机动车"), ("motorcycle", "摩托车"), ("farm", "农用车")],
    "business": [("registration", "工商登记")],
    "expense": [("medical", "医疗"), ("education", "教育"), ("other", "其他刚性支出")],
}
OBSERVATION_SOURCE_CHOICES = [
    ("declared", "申报"), ("home_visit", "入户调查"), ("department", "部门数据"),
    ("verification", "核对"),
]
