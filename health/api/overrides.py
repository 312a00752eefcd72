"""Manual health overrides API: `/api/v1/health-overrides/`. Reads come from
health.overrides (scoped by cs_platform.access); writes go through its services."""

import django_filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api.serializers import AccountOwnedSerializer
from cs_platform.api import router

from .. import overrides
from ..models import HealthOverride


class HealthOverrideSerializer(AccountOwnedSerializer):
    score = serializers.IntegerField(min_value=0, max_value=100)
    reason = serializers.CharField(help_text=_("Why the computed score is wrong; required."))
    expires_on = serializers.DateField(
        help_text=_("The last day the override is in force: after today, at most HEALTH_OVERRIDE_MAX_DAYS away.")
    )
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    in_force = serializers.BooleanField(
        read_only=True, help_text=_("Not ended and not expired: shown beside the computed score today.")
    )

    class Meta:
        model = HealthOverride
        fields = [
            "id", "account", "account_external_id", "score", "reason", "expires_on", "created_by", "created_at",
            "ended_at", "in_force",
        ]  # fmt: skip
        read_only_fields = ["created_at", "ended_at"]


class HealthOverrideFilter(django_filters.FilterSet):
    account = django_filters.NumberFilter(field_name="account_id", label=_("Account"))
    account_external_id = django_filters.CharFilter(field_name="account__external_id", label=_("External ID"))
    in_force = django_filters.BooleanFilter(label=_("In force today"))

    class Meta:
        model = HealthOverride
        fields = ["account", "account_external_id", "in_force"]


class HealthOverrideViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """A CSM's manual health score for an account, with a reason and an expiry, shown
    beside the computed score (never replacing its history). It is in force until it is
    ended or its `expires_on` day has passed; setting a new one ends the one in force.
    The account's CSM, a manager of its team or an administrator may set and end one."""

    serializer_class = HealthOverrideSerializer
    filterset_class = HealthOverrideFilter
    ordering_fields = ["created_at", "expires_on"]

    def get_queryset(self):
        return overrides.health_override_list(user=self.request.user, today=timezone.localdate())

    @extend_schema(summary="Set an override (ends the one in force)")
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        override = overrides.health_override_set(
            account=data["account"],
            score=data["score"],
            reason=data["reason"],
            expires_on=data["expires_on"],
            by=request.user,
        )
        override = self.get_queryset().get(pk=override.pk)
        return Response(self.get_serializer(override).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=HealthOverrideSerializer, summary="End an override now")
    @action(detail=True, methods=["post"], filter_backends=[])
    def end(self, request, pk=None):
        override = self.get_object()
        overrides.health_override_end(override=override, by=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=override.pk)).data)


router.register("health-overrides", HealthOverrideViewSet, basename="health-override")
