"""Page forms for surveys and overrides. They read the input; the rules (a score's range
per kind, whose stakeholder, dates, the override's limits) live in health.surveys and
health.overrides, so the page and the API give the same field errors."""

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import SurveyResponse
from .overrides import max_days


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class SurveyResponseForm(forms.Form):
    kind = forms.ChoiceField(label=_("Survey"), choices=SurveyResponse.Kind.choices)
    score = forms.IntegerField(label=_("Score"), min_value=0, max_value=10)
    stakeholder = forms.ModelChoiceField(
        label=_("Who answered"), queryset=None, required=False, empty_label=_("— not named —")
    )
    responded_on = forms.DateField(label=_("Answered on"), widget=DateInput())
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, stakeholders, **kwargs):
        today = timezone.localdate()
        kwargs.setdefault("initial", {"responded_on": today, "kind": SurveyResponse.Kind.NPS})
        super().__init__(*args, **kwargs)
        self.fields["stakeholder"].queryset = stakeholders
        self.fields["responded_on"].widget.attrs["max"] = today.isoformat()


class HealthOverrideForm(forms.Form):
    score = forms.IntegerField(label=_("Score"), min_value=0, max_value=100)
    expires_on = forms.DateField(label=_("Until (inclusive)"), widget=DateInput())
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        today, days = timezone.localdate(), max_days()
        kwargs.setdefault("initial", {"expires_on": today + dt.timedelta(days=min(30, days))})
        super().__init__(*args, **kwargs)
        self.fields["expires_on"].widget.attrs.update(
            min=(today + dt.timedelta(days=1)).isoformat(), max=(today + dt.timedelta(days=days)).isoformat()
        )
        self.fields["expires_on"].help_text = _("At most %(days)d days from today.") % {"days": days}
