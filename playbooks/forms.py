"""Forms for the playbooks pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import PathStep
from .services.paths import MAX_OFFSET_DAYS

# ------------------------------------------------------------------ success paths
# Plain forms: the services validate again and save; the field names are the services'
# keyword arguments, so a service's ValidationError lands on the right field.


class PathForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    scenario = forms.CharField(
        label=_("Business scenario"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Where the product works best and most deals are won."),
    )
    segment = forms.CharField(label=_("Segment"), max_length=150, required=False, help_text=_("Who the path is for."))


class StageForm(forms.Form):
    name = forms.CharField(label=_("Stage name"), max_length=150)


class StepForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    owner_role = forms.ChoiceField(label=_("Owner"), choices=PathStep.OwnerRole.choices, initial="csm")
    due_offset_days = forms.IntegerField(
        label=_("Due on day"),
        min_value=0,
        max_value=MAX_OFFSET_DAYS,
        initial=0,
        help_text=_("Days from the start of the path."),
    )
    guidance = forms.CharField(label=_("Guidance"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    exit_criteria = forms.CharField(label=_("Exit criteria"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


# ------------------------------------------------------------------ end of success paths
