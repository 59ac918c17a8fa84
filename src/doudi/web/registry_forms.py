"""Forms on the household page: 记录经济状况, 认定类别, 终止类别. Amounts are typed in yuan
and stored as integer fen, converted exactly by the one parser of typed amounts."""

from __future__ import annotations

from django import forms

from doudi.core.money import AmountError, parse_optional_yuan
from doudi.registry import choices
from doudi.registry.categories import fact_choices

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

KIND_ITEM_CHOICES = [
    (label, [(f"{kind}:{code}", name) for code, name in choices.OBSERVATION_ITEMS[kind]])
    for kind, label in choices.OBSERVATION_KIND_CHOICES
]


class ObservationForm(forms.Form):
    kind_item = forms.ChoiceField(label="项目", choices=KIND_ITEM_CHOICES)
    amount_yuan = forms.CharField(label="金额（元）", required=False,
                                  widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    quantity = forms.IntegerField(label="数量", required=False, min_value=0)
    observed_on = forms.DateField(label="所属日期", widget=DATE)
    source = forms.ChoiceField(label="来源", choices=choices.OBSERVATION_SOURCE_CHOICES)
    description = forms.CharField(label="说明", required=False, max_length=200)

    def clean_amount_yuan(self) -> int | None:
        """The amount in fen (None when left blank)."""
        try:
            return parse_optional_yuan(self.cleaned_data["amount_yuan"], field="amount_yuan")
        except AmountError as exc:
            raise forms.ValidationError(exc.message) from None

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        kind, item = data["kind_item"].split(":", 1)
        return {
            "kind": kind, "item": item, "observed_on": data["observed_on"],
            "source": data["source"], "description": data["description"],
            "amount_fen": data["amount_yuan"],
            "quantity": data["quantity"],
        }


class CategoryForm(forms.Form):
    # only facts: programme statuses (低保, 特困 …) come from casework decisions
    category = forms.ChoiceField(label="类别", choices=fact_choices)
    person_id = forms.TypedChoiceField(label="对象", coerce=int, required=False,
                                       empty_value=None)
    start_date = forms.DateField(label="起始日期", widget=DATE)
    note = forms.CharField(label="备注", required=False, max_length=200)

    def __init__(self, *args, members: list | None = None, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.fields["person_id"].choices = [("", "全家")] + [
            (m.person.pk, m.person.masked_name) for m in (members or [])]


class EndCategoryForm(forms.Form):
    category_id = forms.IntegerField()
    end_date = forms.DateField(label="终止日期", widget=DATE)
    note = forms.CharField(label="备注", required=False, max_length=200)
