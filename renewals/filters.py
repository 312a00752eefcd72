"""Renewal filters, shared by the renewal pages, their CSV exports and the API."""

import datetime as dt

import django_filters
from dateutil.relativedelta import relativedelta
from django import forms
from django.core.validators import RegexValidator
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from . import selectors
from .models import Renewal

OUTCOMES = [(s.value, s.label) for s in (Renewal.Stage.RENEWED, Renewal.Stage.DOWNSIZED, Renewal.Stage.CHURNED)]
STATUS_CHOICES = [("open", _("Open")), ("closed", _("Closed"))]
MONTH = RegexValidator(r"^\d{4}-(0[1-9]|1[0-2])$", _("Enter a month as YYYY-MM."))


class RenewalFilter(django_filters.FilterSet):
    due_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gte", label=_("Due from"))
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lte", label=_("Due until"))
    owner = django_filters.CharFilter(field_name="owner__username", label=_("Owner (username)"))
    risk = django_filters.ChoiceFilter(choices=Renewal.Risk.choices, label=_("Risk"))
    stage = django_filters.ChoiceFilter(choices=Renewal.Stage.choices, label=_("Stage"))
    account = django_filters.NumberFilter(field_name="account_id", label=_("Account (id)"))
    status = django_filters.ChoiceFilter(choices=STATUS_CHOICES, method="filter_status", label=_("Open or closed"))
    outcome = django_filters.ChoiceFilter(choices=OUTCOMES, field_name="stage", label=_("Outcome"))
    reason = django_filters.NumberFilter(field_name="reasons", label=_("Reason (id)"))
    month = django_filters.CharFilter(
        method="filter_month", validators=[MONTH], label=_("Due in month"), help_text=_("YYYY-MM")
    )
    search = django_filters.CharFilter(method="filter_search", label=_("Account"))
    mine = django_filters.BooleanFilter(
        method="filter_mine",
        label=_("Show"),
        widget=forms.Select(choices=[("", _("All renewals")), ("true", _("Only mine"))]),
        help_text=_("Renewals I own or co-own."),
    )

    class Meta:
        model = Renewal
        fields = [
            "due_after", "due_before", "owner", "risk", "stage", "account", "status", "outcome", "reason", "month",
            "search", "mine",
        ]  # fmt: skip

    def filter_status(self, queryset, name, value):
        if value == "open":
            return queryset.filter(stage__in=Renewal.OPEN_STAGES)
        if value == "closed":
            return queryset.exclude(stage__in=Renewal.OPEN_STAGES)
        return queryset

    def filter_month(self, queryset, name, value):
        if not value:
            return queryset
        first = dt.date(int(value[:4]), int(value[5:7]), 1)
        return queryset.filter(due_date__gte=first, due_date__lt=first + relativedelta(months=1))

    def filter_search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(account__name__icontains=value) if value else queryset

    def filter_mine(self, queryset, name, value):
        user = getattr(self.request, "user", None)
        if not value or user is None:
            return queryset
        return queryset.filter(Q(owner=user) | Q(co_owner=user))


class _Only(RenewalFilter):
    """A page's filter: only the filters its Meta lists, in that order."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters = {name: self.filters[name] for name in self._meta.fields}


class _PageFilter(_Only):
    """The pages offer owners as a choice list (read once, for checking and showing)."""

    owner = django_filters.ChoiceFilter(field_name="owner__username", label=_("Owner"), empty_label=_("Anyone"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "owner" in self.filters:
            user = getattr(self.request, "user", None)
            choices = selectors.renewal_owner_filter_choices(user=user) if user is not None else []
            self.filters["owner"].extra["choices"] = choices


class PipelineFilter(_PageFilter):
    class Meta(RenewalFilter.Meta):
        fields = ["search", "due_after", "due_before", "owner", "stage", "risk", "mine"]


class BoardFilter(_PageFilter):
    class Meta(RenewalFilter.Meta):
        fields = ["search", "due_before", "owner", "risk", "mine"]


class MineFilter(_Only):
    class Meta(RenewalFilter.Meta):
        fields = ["status", "due_after", "due_before", "stage", "risk"]


class PastFilter(_PageFilter):
    reason = django_filters.ChoiceFilter(field_name="reasons", label=_("Reason"), empty_label=_("Any reason"))
    month = django_filters.CharFilter(
        method="filter_month",
        validators=[MONTH],
        label=_("Due in month"),
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
    )

    class Meta(RenewalFilter.Meta):
        fields = ["search", "outcome", "reason", "owner", "month", "mine"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        kinds = {"renew": _("Why they renew"), "churn": _("Why they leave")}
        self.filters["reason"].extra["choices"] = [
            (str(r.pk), f"{r.label} ({kinds.get(r.kind, r.kind)})") for r in selectors.reason_choices()
        ]
