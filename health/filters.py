"""Alert filters, shared by the alerts page and the API."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from people.models import User

from .models import Alert

UNRESOLVED = "unresolved"
STATUS_CHOICES = [(UNRESOLVED, _("Unresolved")), *Alert.Status.choices]


class AlertFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", label=_("Account"))
    type = django_filters.ChoiceFilter(choices=Alert.Type.choices, label=_("Type"))
    severity = django_filters.ChoiceFilter(choices=Alert.Severity.choices, label=_("Severity"))
    status = django_filters.ChoiceFilter(choices=STATUS_CHOICES, method="filter_status", label=_("Status"))
    account = django_filters.NumberFilter(field_name="account_id", label=_("Account (id)"))
    csm = django_filters.CharFilter(field_name="account__csm__username", label=_("CSM of the account (username)"))
    owner = django_filters.CharFilter(field_name="owner__username", label=_("Owner (username)"))
    mine = django_filters.BooleanFilter(
        method="filter_mine",
        widget=forms.CheckboxInput,
        label=_("Only mine"),
        help_text=_("Alerts I own or on accounts I am the CSM of."),
    )

    class Meta:
        model = Alert
        fields = ["search", "type", "severity", "status", "account", "csm", "owner", "mine"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(account__name__icontains=value) if value else queryset

    def filter_status(self, queryset, name, value):
        if value == UNRESOLVED:
            return queryset.exclude(status=Alert.Status.RESOLVED)
        return queryset.filter(status=value)

    def filter_mine(self, queryset, name, value):
        user = getattr(self.request, "user", None)
        if not value or user is None:
            return queryset
        return queryset.filter(Q(owner=user) | Q(account__csm=user))


class AlertPageFilter(AlertFilter):
    """The page offers CSMs as a choice list instead of a username (read once, for both
    checking and showing the choice), and leaves out the filters by id and owner username
    that integrations use."""

    csm = django_filters.ChoiceFilter(field_name="account__csm", label=_("CSM"), empty_label=_("All"))
    account = None
    owner = None

    class Meta(AlertFilter.Meta):
        fields = ["search", "type", "severity", "status", "csm", "mine"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        people = User.objects.filter(role__in=[User.Role.CSM, User.Role.MANAGER], is_active=True)
        self.filters["csm"].extra["choices"] = [(str(u.pk), str(u)) for u in people.order_by("first_name", "pk")]
