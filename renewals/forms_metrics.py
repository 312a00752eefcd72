"""The retention metrics' inputs, one set of rules for the API and the page: dates as
YYYY-MM-DD, end after start, filters by CSM (username), team (id), tier and segment (size band),
a breakdown, and the cohort table's number of months."""

import datetime as dt

from dateutil.relativedelta import relativedelta
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import Account

from . import metrics

DATE_FORMATS = ["%Y-%m-%d"]
GROUP_BY_CHOICES = [("csm", _("CSM")), ("team", _("Team")), ("tier", _("Tier")), ("month", _("Month"))]
COHORT_MONTHS = 12


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self):
        super().__init__(format="%Y-%m-%d")


class ScopeForm(forms.Form):
    """Which accounts count: by CSM, tier and segment, within what the user may see."""

    csm = forms.CharField(label=_("CSM"), required=False, max_length=150, help_text=_("Username."))
    team = forms.IntegerField(label=_("Team"), required=False, min_value=1, help_text=_("Team ID."))
    tier = forms.ChoiceField(label=_("Tier"), required=False, choices=[("", _("All tiers")), *Account.Tier.choices])
    segment = forms.ChoiceField(
        label=_("Segment"),
        required=False,
        choices=[("", _("All sizes")), *metrics.SEGMENTS.choices],
        help_text=_("The account's size band, from its employee count."),
    )

    def scope(self) -> dict:
        return {
            **{k: self.cleaned_data.get(k) or "" for k in ("csm", "tier", "segment")},
            "team": self.cleaned_data.get("team") or None,
        }


class RetentionForm(ScopeForm):
    start = forms.DateField(
        label=_("From"),
        input_formats=DATE_FORMATS,
        widget=DateInput(),
        help_text=_("The start set is measured on this day."),
    )
    end = forms.DateField(
        label=_("To"),
        input_formats=DATE_FORMATS,
        widget=DateInput(),
        help_text=_("The end set is measured on this day."),
    )
    group_by = forms.ChoiceField(label=_("Breakdown"), required=False, choices=[("", _("None")), *GROUP_BY_CHOICES])

    field_order = ["start", "end", "csm", "team", "tier", "segment", "group_by"]

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            try:
                metrics.check_range(start, end, data.get("group_by") or None)
            except ValidationError as error:
                for field, messages in error.message_dict.items():
                    self.add_error(field, messages)
        return data

    def query(self) -> dict:
        """The keyword arguments of metrics.retention (without the accounts)."""
        data = self.cleaned_data
        return {"start": data["start"], "end": data["end"], "group_by": data.get("group_by") or None, **self.scope()}


class CohortForm(ScopeForm):
    months = forms.IntegerField(
        label=_("Cohorts (months)"),
        required=False,
        min_value=1,
        max_value=metrics.MAX_MONTHS,
        help_text=_("How many months of cohorts, ending with last month."),
    )
    as_of = forms.DateField(
        label=_("As of"),
        required=False,
        input_formats=DATE_FORMATS,
        widget=DateInput(),
        help_text=_("Cohorts end with the month before this day's month; default today."),
    )

    def query(self) -> dict:
        data = self.cleaned_data
        return {"months": data.get("months") or COHORT_MONTHS, "as_of": data.get("as_of"), **self.scope()}


class MetricsPageForm(RetentionForm):
    """The page's form: the range, filters and breakdown (always one), and the cohort
    table's months; the CSM is picked from the CSMs of the accounts the user may see."""

    group_by = forms.ChoiceField(label=_("Breakdown"), choices=GROUP_BY_CHOICES)
    months = CohortForm.base_fields["months"]

    field_order = ["start", "end", "csm", "team", "tier", "segment", "group_by", "months"]

    def set_csm_choices(self, choices: list[tuple[str, str]]) -> None:
        current = self.data.get("csm") or ""
        if current and current not in dict(choices):
            choices = [*choices, (current, current)]
        self.fields["csm"].widget = forms.Select(choices=[("", _("All CSMs")), *choices])

    def set_team_choices(self, choices: list[tuple[int, str]]) -> None:
        """The teams the user may see; the empty choice is any team."""
        current = str(self.data.get("team") or "")
        choices = [(str(pk), name) for pk, name in choices]
        if current and current not in dict(choices):
            choices = [*choices, (current, current)]
        self.fields["team"].widget = forms.Select(choices=[("", _("All teams")), *choices])

    def cohort_query(self) -> dict:
        return {"months": self.cleaned_data.get("months") or COHORT_MONTHS, **self.scope()}


def presets(today: dt.date) -> list[dict]:
    """Ready-made ranges: last month, last quarter, last 12 months (whole months, so each
    month of the breakdown is a whole calendar month) and year to date (to today)."""
    this_month = today.replace(day=1)
    this_quarter = this_month.replace(month=(this_month.month - 1) // 3 * 3 + 1)
    year_start = today.replace(month=1, day=1)
    ranges = [
        ("last_month", _("Last month"), this_month - relativedelta(months=1), this_month),
        ("last_quarter", _("Last quarter"), this_quarter - relativedelta(months=3), this_quarter),
        ("last_12_months", _("Last 12 months"), this_month - relativedelta(months=12), this_month),
    ]
    if today > year_start:
        ranges.append(("year_to_date", _("Year to date"), year_start, today))
    return [{"key": key, "label": label, "start": start, "end": end} for key, label, start, end in ranges]
