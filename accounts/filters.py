"""Account filters, shared by the list page, its CSV export and the API."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from people.models import Team, User

from .models import Account


class AccountFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", label=_("Search"))
    external_id = django_filters.CharFilter(label=_("External ID"))
    csm = django_filters.CharFilter(field_name="csm__username", label=_("CSM (username)"))
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), label=_("Team"))
    lifecycle_stage = django_filters.ChoiceFilter(choices=Account.Stage.choices, label=_("Stage"))
    tier = django_filters.ChoiceFilter(choices=Account.Tier.choices, label=_("Tier"))
    health_band = django_filters.ChoiceFilter(choices=Account.HealthBand.choices, label=_("Health"))
    industry = django_filters.ChoiceFilter(choices=Account.Industry.choices, label=_("Industry"))
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
        fields = ["search", "external_id", "csm", "team", "lifecycle_stage", "tier", "health_band", "industry"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(external_id__icontains=value))


class AccountPageFilter(AccountFilter):
    """The page offers CSMs as a choice list (of people the user may see) instead of text."""

    csm = django_filters.ModelChoiceFilter(
        queryset=User.objects.filter(role__in=[User.Role.CSM, User.Role.MANAGER]), label=_("CSM"), empty_label=_("All")
    )
