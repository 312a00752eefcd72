"""Account filters, shared by the list page, its CSV and Excel exports and the API."""

import datetime as dt

import django_filters
from django import forms
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from people.models import Team, User

from .models import Account, Activity, Stakeholder

# Employee counts of each size band, [low, high): the ranges of Account.size_band_for.
SIZE_BAND_RANGES = {
    Account.SizeBand.SMALL: (0, 100),
    Account.SizeBand.MEDIUM: (100, 1000),
    Account.SizeBand.LARGE: (1000, 10000),
    Account.SizeBand.ENTERPRISE: (10000, None),
}

# Completeness bands of the customer file, [low, high) in percent.
COMPLETENESS_BANDS = {"low": (0, 40), "medium": (40, 70), "high": (70, None)}

RENEWAL_WINDOWS = [
    ("overdue", _("Overdue")),
    ("30", _("Within 30 days")),
    ("60", _("Within 60 days")),
    ("90", _("Within 90 days")),
    ("180", _("Within 180 days")),
]


def _open_renewals_q() -> Q:
    """Open renewals, through the reverse relation, so accounts need not import renewals."""
    renewal = Account._meta.get_field("renewals").related_model
    return Q(renewals__stage__in=renewal.OPEN_STAGES)


class AccountFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", label=_("Search"))
    external_id = django_filters.CharFilter(label=_("External ID"))
    csm = django_filters.CharFilter(field_name="csm__username", label=_("CSM (username)"))
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), label=_("Team"))
    lifecycle_stage = django_filters.ChoiceFilter(choices=Account.Stage.choices, label=_("Stage"))
    tier = django_filters.ChoiceFilter(choices=Account.Tier.choices, label=_("Tier"))
    health_band = django_filters.ChoiceFilter(choices=Account.HealthBand.choices, label=_("Health"))
    industry = django_filters.ChoiceFilter(choices=Account.Industry.choices, label=_("Industry"))
    service_model = django_filters.ChoiceFilter(choices=Account.ServiceModel.choices, label=_("Service model"))
    size_band = django_filters.ChoiceFilter(
        choices=Account.SizeBand.choices, method="filter_size_band", label=_("Size")
    )
    completeness = django_filters.ChoiceFilter(
        choices=[("low", _("Below 40%")), ("medium", _("40–69%")), ("high", _("At least 70%"))],
        method="filter_completeness",
        label=_("File completeness"),
    )
    renewal_window = django_filters.ChoiceFilter(
        choices=RENEWAL_WINDOWS, method="filter_renewal_window", label=_("Next renewal")
    )
    ordering = django_filters.OrderingFilter(
        fields=(
            ("name", "name"),
            ("arr", "arr"),
            ("health_score", "health_score"),
            ("lifecycle_stage", "lifecycle_stage"),
            ("tier", "tier"),
        ),
        field_labels={"name": _("Name"), "arr": _("ARR"), "health_score": _("Health score")},
        label=_("Sort"),
        empty_label=_("Name (default)"),
    )

    class Meta:
        model = Account
        fields = [
            "search", "external_id", "csm", "team", "lifecycle_stage", "tier", "health_band", "industry",
            "service_model", "size_band", "completeness", "renewal_window",
        ]  # fmt: skip

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(external_id__icontains=value))

    def filter_size_band(self, queryset, name, value):
        low, high = SIZE_BAND_RANGES[value]
        queryset = queryset.filter(employee_count__gte=low)
        return queryset if high is None else queryset.filter(employee_count__lt=high)

    def filter_completeness(self, queryset, name, value):
        low, high = COMPLETENESS_BANDS[value]
        queryset = queryset.filter(completeness__gte=low)
        return queryset if high is None else queryset.filter(completeness__lt=high)

    def filter_renewal_window(self, queryset, name, value):
        """By the earliest open renewal: overdue when it is past, else due within N days.
        Subqueries on ids, so no join multiplies the rows or the sums of the list."""
        today = timezone.localdate()
        open_renewals = _open_renewals_q()
        overdue = Account.objects.filter(open_renewals, renewals__due_date__lt=today).values("pk")
        if value == "overdue":
            return queryset.filter(pk__in=overdue)
        until = today + dt.timedelta(days=int(value))
        due_soon = Account.objects.filter(
            open_renewals, renewals__due_date__gte=today, renewals__due_date__lte=until
        ).values("pk")
        return queryset.filter(pk__in=due_soon).exclude(pk__in=overdue)


class PageOrderingFilter(django_filters.OrderingFilter):
    """Sorting for the page: empty values last in both directions, then by name, so that
    pages of equal values are stable."""

    def get_ordering_value(self, param):
        descending = param.startswith("-")
        field = self.param_map[param.lstrip("-")]
        return F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.order_by(*[self.get_ordering_value(param) for param in value], "name", "pk")


class AccountPageFilter(AccountFilter):
    """The page offers CSMs as a choice list instead of text, finds accounts by their
    stakeholders' names too, and sorts by fields the page annotates
    (selectors.account_list_for_page: `next_renewal`)."""

    csm = django_filters.ModelChoiceFilter(
        queryset=User.objects.filter(role__in=[User.Role.CSM, User.Role.MANAGER]), label=_("CSM"), empty_label=_("All")
    )
    ordering = PageOrderingFilter(
        fields=(
            ("name", "name"),
            ("arr", "arr"),
            ("health_score", "health_score"),
            ("completeness", "completeness"),
            ("next_renewal", "next_renewal"),
            ("lifecycle_stage", "lifecycle_stage"),
            ("tier", "tier"),
        ),
        field_labels={
            "name": _("Name"),
            "arr": _("ARR"),
            "health_score": _("Health score"),
            "completeness": _("File completeness"),
            "next_renewal": _("Next renewal"),
        },
        label=_("Sort"),
        empty_label=_("Name (default)"),
    )

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        by_stakeholder = Stakeholder.objects.filter(name__icontains=value).values("account_id")
        return queryset.filter(Q(name__icontains=value) | Q(external_id__icontains=value) | Q(pk__in=by_stakeholder))


# ------------------------------------------------------------------ API: stakeholders and timeline


class StakeholderFilter(django_filters.FilterSet):
    account = django_filters.NumberFilter(field_name="account_id", label=_("Account (id)"))
    account_external_id = django_filters.CharFilter(field_name="account__external_id", label=_("External ID"))
    role = django_filters.ChoiceFilter(choices=Stakeholder.Role.choices, label=_("Role"))
    is_active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = Stakeholder
        fields = ["account", "account_external_id", "role", "is_active"]


def _utc_datetime(value: str) -> dt.datetime | None:
    """An ISO date or timestamp; one without a zone is UTC (api-contract.md)."""
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            parsed = dt.datetime.combine(day, dt.time()) if day else None
    except ValueError:
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


class UtcDateTimeField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        parsed = _utc_datetime(value)
        if parsed is None:
            raise forms.ValidationError(_("Enter a date or an ISO 8601 timestamp."), code="invalid")
        return parsed


@extend_schema_field(OpenApiTypes.DATETIME)
class UtcDateTimeFilter(django_filters.Filter):
    field_class = UtcDateTimeField


class ActivityFilter(django_filters.FilterSet):
    account = django_filters.NumberFilter(field_name="account_id", label=_("Account (id)"))
    account_external_id = django_filters.CharFilter(field_name="account__external_id", label=_("External ID"))
    kind = django_filters.ChoiceFilter(choices=Activity.Kind.choices, label=_("Kind"))
    occurred_after = UtcDateTimeFilter(field_name="occurred_at", lookup_expr="gte", label=_("Happened at or after"))
    occurred_before = UtcDateTimeFilter(field_name="occurred_at", lookup_expr="lt", label=_("Happened before"))

    class Meta:
        model = Activity
        fields = ["account", "account_external_id", "kind", "occurred_after", "occurred_before"]
