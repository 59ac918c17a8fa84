"""The 设定新的取值 form on a parameter's page. The value is typed as text in the key's unit
(800.50 元, 30%, 是/否, 键: 值；…) and checked by the rules core through the service."""

from __future__ import annotations

import datetime as dt

from django import forms

from doudi.rules.parameters import UNITS
from doudi.web.registry_forms import DATE

VALUE_HINTS = {
    "money": "金额（元），如 800 或 800.50",
    "ratio": "比例，如 30% 或 0.3",
    "integer": "非负整数",
    "bool": "是 或 否",
    "list": "以逗号分隔，如 在校学生, 无子女老年人",
    "ratio_list": "以逗号分隔的比例，如 100%, 80%, 60%",
    "table": "名称: 值；名称: 值，如 各类残疾: 2; 精神残疾: 4",
    "text": "文本",
}


def first_of_next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def value_hint(unit: str) -> str:
    kind = UNITS[unit][1]
    if unit == "multiple":
        return "倍数，如 1.5"
    return VALUE_HINTS.get(kind, "")


class PolicyValueForm(forms.Form):
    area_code = forms.ChoiceField(label="适用区划")
    effective_from = forms.DateField(label="生效日期", widget=DATE)
    value = forms.CharField(label="取值", max_length=500)
    reference = forms.CharField(label="依据（文号/文件名称）", max_length=300)
    document = forms.CharField(label="文号", max_length=100, required=False)
    issuer = forms.CharField(label="发文机关", max_length=100, required=False)
    issued_on = forms.DateField(label="印发日期（与生效日期不同时填写）", widget=DATE,
                                required=False)
    url = forms.CharField(label="原文链接", max_length=500, required=False)
    verified = forms.BooleanField(label="已核对原文", required=False)
    note = forms.CharField(label="备注", max_length=300, required=False)
    retroactive = forms.BooleanField(label="追溯生效（生效日期早于今天）", required=False)
    retroactive_reason = forms.CharField(label="追溯理由", max_length=300, required=False)

    def __init__(self, *args, areas: list[tuple[str, str]], unit: str, today: dt.date,  # noqa: ANN002
                 **kwargs) -> None:  # noqa: ANN003
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["area_code"].choices = areas
        self.fields["value"].widget.attrs["placeholder"] = value_hint(unit)
        self.fields["url"].widget.attrs["placeholder"] = "https://…"

    def clean(self) -> dict:
        data = super().clean()
        day = data.get("effective_from")
        if day is not None and day < self.today:
            if not data.get("retroactive"):
                self.add_error("effective_from",
                               "生效日期早于今天：如确需追溯生效，请勾选“追溯生效”并填写理由")
            elif not (data.get("retroactive_reason") or "").strip():
                self.add_error("retroactive_reason", "追溯生效须填写理由")
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "area_code": data["area_code"], "effective_from": data["effective_from"],
            "reference": data["reference"], "url": data["url"], "verified": data["verified"],
            "note": data["note"], "document": data["document"], "issuer": data["issuer"],
            "issued_on": data["issued_on"],
            "retroactive_reason": data["retroactive_reason"] if data["retroactive"] else "",
        }
