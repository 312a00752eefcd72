"""Forms for shared know-how and the best-practice library. Length and emptiness are
checked by the services (one set of messages for pages and API); the forms only shape
the input."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from cs_platform.access import visible_accounts

from .selectors.knowhow import path_step_choices


class StepChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.stage.path.name} › {obj.stage.name} › {obj.title}"


class KnowHowForm(forms.Form):
    """What was learned at a step. With `with_step` the author picks the step (the
    know-how page); in a step's panel the step comes from the URL."""

    step = StepChoiceField(
        label=_("Path step"),
        queryset=path_step_choices(),
        empty_label=_("Choose a step"),
        error_messages={
            "required": _("Choose the path step where this happened."),
            "invalid_choice": _("This path step does not exist; choose a step of a success path."),
        },
    )
    difficulty = forms.CharField(
        label=_("Difficulty met"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("What got in the way?")}),
    )
    solution = forms.CharField(
        label=_("How it was solved"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("What worked, so a colleague can do the same")}),
    )

    def __init__(self, *args, with_step: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_step:
            del self.fields["step"]


class KnowHowFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, widget=forms.TextInput(attrs={"type": "search"}))
    step = StepChoiceField(label=_("Path step"), queryset=path_step_choices(), required=False, empty_label=_("All"))


class BestPracticeForm(forms.Form):
    title = forms.CharField(label=_("Title"), required=False)
    industry = forms.ChoiceField(
        label=_("Industry"), choices=[("", "---------"), *Account.Industry.choices], required=False
    )
    size_band = forms.ChoiceField(
        label=_("Customer size"),
        choices=[("", "---------"), *Account.SizeBand.choices],
        required=False,
        help_text=_("Small < 100 employees ≤ medium < 1,000 ≤ large < 10,000 ≤ enterprise."),
    )
    account = forms.ModelChoiceField(
        label=_("Customer (optional)"),
        queryset=Account.objects.none(),
        required=False,
        error_messages={"invalid_choice": _("Choose one of your accounts, or leave it empty.")},
    )
    story = forms.CharField(label=_("What was done"), required=False, widget=forms.Textarea(attrs={"rows": 5}))
    outcome = forms.CharField(
        label=_("Outcome"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What changed for the customer, with numbers if you can."),
    )
    policy_support = forms.CharField(
        label=_("Policy support"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Management backing, rules or mandates that made it happen."),
    )
    resources = forms.CharField(
        label=_("Resources"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("People, budget and time the customer put in."),
    )
    organisational_capability = forms.CharField(
        label=_("Organisational capability"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("IT team, process owners, how mature their management is."),
    )
    business_volume = forms.CharField(
        label=_("Business volume"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Orders, users, sites or revenue the practice ran on."),
    )

    def __init__(self, *args, user, current_account=None, **kwargs):
        super().__init__(*args, **kwargs)
        accounts = visible_accounts(user)
        if current_account is not None:
            accounts = accounts | Account.objects.filter(pk=current_account.pk)
        self.fields["account"].queryset = accounts.order_by("name")


class BestPracticeFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, widget=forms.TextInput(attrs={"type": "search"}))
    industry = forms.ChoiceField(
        label=_("Industry"), choices=[("", _("All")), *Account.Industry.choices], required=False
    )
    size_band = forms.ChoiceField(
        label=_("Customer size"), choices=[("", _("All")), *Account.SizeBand.choices], required=False
    )
