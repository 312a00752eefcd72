"""Forms of the renewal pages: edit an open renewal, close it with an outcome, record a
churn on the account page. The services check everything again."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Renewal, RenewalReason
from .services import STAGE_ORDER

OUTCOME_CHOICES = [
    (Renewal.Stage.RENEWED.value, _("Renewed: kept at least the MRR up for renewal")),
    (Renewal.Stage.DOWNSIZED.value, _("Downsized: renewed for less")),
    (Renewal.Stage.CHURNED.value, _("Churned: the customer leaves")),
]


class ReasonChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.label


class RenewalEditForm(forms.Form):
    stage = forms.ChoiceField(label=_("Stage"))
    probability = forms.IntegerField(
        label=_("Probability (%)"),
        min_value=0,
        max_value=100,
        help_text=_("How likely the forecast renews; the expected MRR is the forecast times this."),
    )
    forecast_mrr = forms.DecimalField(
        label=_("Forecast MRR"),
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text=_("The MRR you expect to renew. Once you set it, the nightly sync keeps your figure."),
    )
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=None, required=False, empty_label=None)

    def __init__(self, *args, renewal: Renewal, owners=None, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "stage": renewal.stage,
                "probability": renewal.probability,
                "forecast_mrr": renewal.forecast_mrr,
                "owner": renewal.owner_id,
            },
        )
        super().__init__(*args, **kwargs)
        current = STAGE_ORDER.get(renewal.stage, 0)
        self.fields["stage"].choices = [
            (stage, Renewal.Stage(stage).label) for stage, order in STAGE_ORDER.items() if order >= current
        ]
        if owners is None:
            del self.fields["owner"]
        else:
            self.fields["owner"].queryset = owners


class RenewalCloseForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=OUTCOME_CHOICES, widget=forms.RadioSelect)
    renewed_mrr = forms.DecimalField(
        label=_("Renewed MRR"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text=_("The MRR of the new term. Leave empty for a churn."),
    )
    reasons = ReasonChoiceField(
        label=_("Reasons"),
        queryset=RenewalReason.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Why they renew (product fit, price, service value, executive relationship) or why they leave."),
    )
    story = forms.CharField(
        label=_("Story"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What happened and why, in a few sentences. Required for a churn."),
    )

    def __init__(self, *args, reasons, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reasons"].queryset = reasons


class ChurnForm(forms.Form):
    churned_on = forms.DateField(
        label=_("Churned on"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The first day without service: subscriptions still running end that day."),
    )
    reasons = ReasonChoiceField(
        label=_("Why they leave"),
        queryset=RenewalReason.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    story = forms.CharField(
        label=_("Story"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What happened, in the customer's words where possible."),
    )

    def __init__(self, *args, reasons, **kwargs):
        kwargs.setdefault("initial", {"churned_on": timezone.localdate()})
        super().__init__(*args, **kwargs)
        self.fields["reasons"].queryset = reasons
