"""Forms on the household page: 记录/更正/终止经济状况, 认定类别, 终止类别. Amounts are typed
in yuan and stored as integer fen, converted exactly by the one parser of typed amounts."""

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


class MemberForm(forms.Form):
    """A form whose `person_id` names one of the household's current members (`members`,
    their memberships) or, left blank, the household itself (全家)."""

    person_id = forms.TypedChoiceField(label="对象", coerce=int, required=False,
                                       empty_value=None)

    def __init__(self, *args, members: list | None = None, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.members = {m.person.pk: m.person for m in (members or [])}
        self.fields["person_id"].choices = [("", "全家")] + [
            (pk, person.masked_name) for pk, person in self.members.items()]

    def person(self):  # noqa: ANN201
        """The member chosen (None: the household)."""
        return self.members.get(self.cleaned_data["person_id"])


class AmountForm(forms.Form):
    amount_yuan = forms.CharField(label="金额（元）", required=False,
                                  widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    quantity = forms.IntegerField(label="数量", required=False, min_value=0)

    def clean_amount_yuan(self) -> int | None:
        """The amount in fen (None when left blank)."""
        try:
            return parse_optional_yuan(self.cleaned_data["amount_yuan"], field="amount_yuan")
        except AmountError as exc:
            raise forms.ValidationError(exc.message) from None


class ObservationForm(MemberForm, AmountForm):
    field_order = ["person_id", "kind_item", "amount_yuan", "quantity", "observed_on", "source",
                   "description"]
    kind_item = forms.ChoiceField(label="项目", choices=KIND_ITEM_CHOICES)
    observed_on = forms.DateField(label="所属日期", widget=DATE)
    source = forms.ChoiceField(label="来源", choices=choices.OBSERVATION_SOURCE_CHOICES)
    description = forms.CharField(label="说明", required=False, max_length=200)

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        kwargs.setdefault("auto_id", "fact_%s")  # the category form's fields are id_…
        super().__init__(*args, **kwargs)

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        kind, item = data["kind_item"].split(":", 1)
        return {
            "kind": kind, "item": item, "observed_on": data["observed_on"],
            "source": data["source"], "description": data["description"],
            "amount_fen": data["amount_yuan"], "quantity": data["quantity"],
            "person": self.person(),
        }


class CorrectObservationForm(MemberForm, AmountForm):
    """更正: the right value of a recorded fact, whose it is, and why the old one was wrong."""

    observation_id = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label="更正原因", max_length=200)


class EndObservationForm(forms.Form):
    """终止: the day a fact stopped (失业, 房屋出售 …) and why."""

    observation_id = forms.IntegerField(widget=forms.HiddenInput)
    ended_on = forms.DateField(label="终止日期", widget=DATE)
    reason = forms.CharField(label="终止原因", max_length=200)


class CategoryForm(MemberForm):
    # only facts: programme statuses (低保, 特困 …) come from casework decisions
    field_order = ["category", "person_id", "start_date", "note"]
    category = forms.ChoiceField(label="类别", choices=fact_choices)
    start_date = forms.DateField(label="起始日期", widget=DATE)
    note = forms.CharField(label="备注", required=False, max_length=200)


class EndCategoryForm(forms.Form):
    category_id = forms.IntegerField()
    end_date = forms.DateField(label="终止日期", widget=DATE)
    note = forms.CharField(label="备注", required=False, max_length=200)
