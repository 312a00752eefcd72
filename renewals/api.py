"""Renewals API per the contract: `/api/v1/renewals/`. List upcoming and past renewals
(filter by `due_before`, `due_after`, `owner`, `risk`, and `stage`, `account`, `status`,
`outcome`, `reason`, `month`), retrieve, PATCH of `stage`, `probability`,
`forecast_mrr` and `owner`, and `POST .../close/` with the outcome. The reason taxonomy
is listed at `/api/v1/renewal-reasons/`. Scoped by cs_platform.access: a renewal of an
account the caller may not see answers 404; one they see but may not work on, 403."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from drf_spectacular.plumbing import list_hash
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cs_platform.access import can_change_renewal
from cs_platform.api import router
from people.models import User

from . import selectors, services
from .filters import OUTCOMES, RenewalFilter
from .models import Renewal, RenewalReason


class RiskField(serializers.CharField):
    pass


class StageField(serializers.ChoiceField):
    pass


class OwnerRuleField(serializers.CharField):
    pass


class OutcomeField(serializers.CharField):
    pass


def _doc(name: str, choices, description: str, nullable: bool = False) -> dict:
    """A string documented with its values as an enum of its own: the renewal's risk has
    the values (and labels) of an alert's severity, which must not share its name. The
    enum id (dropped from the output) tells drf-spectacular they are different sets."""
    schema = {
        "type": "string",
        "enum": [value for value, _label in choices] + ([None] if nullable else []),
        "description": "\n".join([description, *(f"* `{value}` - {label}" for value, label in choices)]),
        "x-spec-enum-id": list_hash([(f"{name}:{value}", str(label)) for value, label in choices]),
    }
    if nullable:
        schema["nullable"] = True
    return schema


RISK_DOC = "From health and open alerts, refreshed by the platform."
extend_schema_field(_doc("renewal-risk", Renewal.Risk.choices, RISK_DOC))(RiskField)
extend_schema_field(_doc("renewal-stage", Renewal.Stage.choices, "Where the renewal stands."))(StageField)
extend_schema_field(_doc("renewal-owner-rule", Renewal.OwnerRule.choices, "Why the owner owns it."))(OwnerRuleField)
OUTCOME_DOC = "How a closed renewal ended; null while open."
extend_schema_field(_doc("renewal-outcome", OUTCOMES, OUTCOME_DOC, nullable=True))(OutcomeField)


class RenewalSerializer(serializers.ModelSerializer):
    account_external_id = serializers.CharField(source="account.external_id", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, help_text=_("Who renews it."))
    co_owner = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text=_("The CSM, kept beside sales when sales owns the renewal.")
    )
    owner_rule = OwnerRuleField(read_only=True)
    stage = StageField(choices=Renewal.Stage.choices, read_only=True)
    risk = RiskField(read_only=True)
    outcome = OutcomeField(read_only=True, allow_null=True, source="result")
    story = serializers.CharField(source="outcome", read_only=True, help_text=_("What happened and why."))
    term_mrr = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, help_text=_("MRR of the subscriptions ending on the due date.")
    )
    expected_mrr = serializers.DecimalField(
        source="weighted_mrr", max_digits=14, decimal_places=2, read_only=True,
        help_text=_("The forecast times the probability."),
    )  # fmt: skip
    reasons = serializers.PrimaryKeyRelatedField(many=True, read_only=True, help_text=_("Ids of renewal reasons."))

    class Meta:
        model = Renewal
        fields = [
            "id", "account", "account_external_id", "account_name", "due_date", "owner", "co_owner", "owner_rule",
            "stage", "term_mrr", "forecast_mrr", "forecast_manual", "probability", "expected_mrr", "risk", "outcome",
            "renewed_mrr", "reasons", "story", "new_product_lines", "closed_on",
        ]  # fmt: skip
        read_only_fields = fields


class RenewalUpdateSerializer(serializers.Serializer):
    """PATCH: any of these; everything else about a renewal is the platform's."""

    stage = serializers.ChoiceField(
        choices=[(s, Renewal.Stage(s).label) for s in Renewal.OPEN_STAGES],
        required=False,
        help_text=_("Forward only: upcoming, in_progress, committed. Close with POST .../close/."),
    )
    probability = serializers.IntegerField(min_value=0, max_value=100, required=False)
    forecast_mrr = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False,
        help_text=_("Once set here, the periodic sync keeps this figure."),
    )  # fmt: skip
    owner = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        required=False,
        help_text=_("Managers of the account's team and administrators only."),
    )

    def validate(self, attrs):
        fixed = sorted(set(self.initial_data) - set(self.fields))
        if fixed:
            raise serializers.ValidationError({key: [_("This field cannot be changed.")] for key in fixed})
        return attrs


class RenewalCloseSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=OUTCOMES)
    renewed_mrr = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True,
        help_text=_("The new term's MRR: required when renewed or downsized, empty when churned."),
    )  # fmt: skip
    reasons = serializers.PrimaryKeyRelatedField(
        many=True, queryset=RenewalReason.objects.all(), required=False,
        help_text=_("Ids from /api/v1/renewal-reasons/: kind renew when renewed, churn when churned (at least one)."),
    )  # fmt: skip
    story = serializers.CharField(
        required=False, allow_blank=True, max_length=5000, help_text=_("What happened; required when churned.")
    )


class RenewalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Upcoming and past renewals of the accounts the caller may see, soonest due first.
    One renewal per account and term, generated from subscription end dates. PATCH moves
    the stage forward and sets probability, forecast or owner; POST `close/` records the
    outcome (renewed, downsized or churned, which runs the churn flow)."""

    serializer_class = RenewalSerializer
    filterset_class = RenewalFilter
    ordering_fields = ["due_date", "forecast_mrr", "term_mrr", "risk", "closed_on"]
    ordering = ["due_date", "pk"]
    http_method_names = ["get", "patch", "post", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Renewal.objects.none()
        return selectors.renewal_list(user=self.request.user).prefetch_related("reasons").order_by("due_date", "pk")

    def _changeable(self) -> Renewal:
        renewal = self.get_object()
        if not can_change_renewal(self.request.user, renewal):
            raise PermissionDenied
        return renewal

    def _answer(self, renewal: Renewal) -> Response:
        return Response(RenewalSerializer(self.get_queryset().get(pk=renewal.pk)).data)

    @extend_schema(
        summary="Move a renewal forward, set its probability, forecast or owner",
        request=RenewalUpdateSerializer,
        responses=RenewalSerializer,
    )
    def partial_update(self, request, *args, **kwargs):
        renewal = self._changeable()
        update = RenewalUpdateSerializer(data=request.data)
        update.is_valid(raise_exception=True)
        services.renewal_update(renewal=renewal, data=dict(update.validated_data), by=request.user)
        return self._answer(renewal)

    @extend_schema(
        summary="Close a renewal with its outcome", request=RenewalCloseSerializer, responses=RenewalSerializer
    )
    @action(detail=True, methods=["post"])
    def close(self, request, *args, **kwargs):
        renewal = self._changeable()
        data = RenewalCloseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        services.renewal_close(
            renewal=renewal,
            outcome=values["outcome"],
            renewed_mrr=values.get("renewed_mrr"),
            reasons=values.get("reasons", []),
            story=values.get("story", ""),
            by=request.user,
        )
        return self._answer(renewal)


class RenewalReasonSerializer(serializers.ModelSerializer):
    label = serializers.CharField(read_only=True, help_text=_("The name in the request's language."))

    class Meta:
        model = RenewalReason
        fields = ["id", "kind", "name", "name_zh", "label", "description", "is_active"]


class RenewalReasonViewSet(viewsets.ReadOnlyModelViewSet):
    """Why customers renew (kind `renew`) or leave (kind `churn`): the taxonomy managers
    extend. Outcomes and churn records name reasons by id."""

    serializer_class = RenewalReasonSerializer
    queryset = RenewalReason.objects.all()
    filterset_fields = ["kind", "is_active"]
    ordering = ["kind", "position", "name"]


router.register("renewals", RenewalViewSet, basename="renewal")
router.register("renewal-reasons", RenewalReasonViewSet, basename="renewal-reason")
