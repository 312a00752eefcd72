import django_filters
from django.utils.translation import gettext_lazy as _

from .models import Alert


class AlertFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=Alert.Type.choices, label=_("Type"))
    status = django_filters.ChoiceFilter(choices=Alert.Status.choices, label=_("Status"))
    severity = django_filters.ChoiceFilter(choices=Alert.Severity.choices, label=_("Severity"))

    class Meta:
        model = Alert
        fields = ["type", "status", "severity"]
