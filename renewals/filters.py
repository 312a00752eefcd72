import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Renewal


class RenewalFilter(django_filters.FilterSet):
    due_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gte", label=_("Due from"))
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lte", label=_("Due until"))
    owner = django_filters.CharFilter(field_name="owner__username", label=_("Owner (username)"))
    risk = django_filters.ChoiceFilter(choices=Renewal.Risk.choices, label=_("Risk"))
    stage = django_filters.ChoiceFilter(choices=Renewal.Stage.choices, label=_("Stage"))
    mine = django_filters.BooleanFilter(
        method="filter_mine",
        label=_("Show"),
        widget=forms.Select(choices=[("", _("All renewals")), ("true", _("Only mine"))]),
    )

    class Meta:
        model = Renewal
        fields = ["due_after", "due_before", "owner", "risk", "stage"]

    def filter_mine(self, queryset, name, value):
        return queryset.filter(owner=self.request.user) if value and self.request else queryset
