"""Alerts API per the contract: `/api/v1/alerts/`. List (filterable, paginated), retrieve,
and PATCH of `status` (with an optional `resolution` note) through
health.services.alert_set_status. Scoped by cs_platform.access: an alert of an account
the caller may not see answers 404."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from cs_platform.access import can_change
from cs_platform.api import router

from .. import selectors, services
from ..filters import AlertFilter
from ..models import Alert


@extend_schema_field(
    {
        "type": "string",
        "enum": Alert.Severity.values,
        "description": "\n".join(f"* `{value}` - {label}" for value, label in Alert.Severity.choices),
    }
)
class SeverityField(serializers.CharField):
    """The severity, documented as its own enum: its values are those of other low/medium/
    high choices (a stakeholder's influence), which must not share its name."""


class AlertSerializer(serializers.ModelSerializer):
    """An alert; a PATCH changes only `status` (forward: open, acknowledged, resolved;
    resolved is final) and, when resolving, the `resolution` note."""

    account_external_id = serializers.CharField(source="account.external_id", read_only=True)
    severity = SeverityField(read_only=True)
    owner = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text=_("Who must act: the account's CSM when it was raised.")
    )
    reason = serializers.CharField(read_only=True, help_text=_("Why it was raised, in words."))
    resolution = serializers.CharField(
        required=False, allow_blank=True, help_text=_("What was done; written only together with status `resolved`.")
    )

    class Meta:
        model = Alert
        fields = [
            "id", "account", "account_external_id", "type", "severity", "status", "reason", "owner", "as_of",
            "created_at", "acknowledged_at", "resolved_at", "resolution",
        ]  # fmt: skip
        read_only_fields = [
            "account", "type", "as_of", "created_at", "acknowledged_at", "resolved_at",
        ]  # fmt: skip

    def validate(self, attrs):
        fixed = sorted(set(self.initial_data) - {"status", "resolution"})
        if fixed:
            raise serializers.ValidationError({key: [_("This field cannot be changed.")] for key in fixed})
        return attrs


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Early-warning alerts on the accounts the caller may see, newest first. One alert per
    account and type is unresolved at a time; firing the same rule again never duplicates
    it. PATCH `status` to `acknowledged` or `resolved` (with an optional `resolution`)."""

    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    ordering_fields = ["created_at", "severity", "type"]
    ordering = ["-created_at", "-pk"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Alert.objects.none()
        return selectors.alert_list(user=self.request.user).select_related("owner").order_by("-created_at", "-pk")

    @extend_schema(summary="Acknowledge or resolve an alert")
    def partial_update(self, request, *args, **kwargs):
        alert = self.get_object()
        update = self.get_serializer(alert, data=request.data, partial=True)
        update.is_valid(raise_exception=True)
        if not can_change(request.user, alert.account):
            raise PermissionDenied
        data = update.validated_data
        services.alert_set_status(
            alert=alert,
            status=data.get("status", alert.status),
            resolution=data.get("resolution", ""),
            by=request.user,
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=alert.pk)).data)


router.register("alerts", AlertViewSet, basename="alert")
