"""Health scores API per the contract: `GET /api/v1/health-scores/?as_of=` (the scores of
one date, one per account) and `GET /api/v1/accounts/{id}/health/` (the explained score,
its history and any manual override in force). Reads only; scoped by cs_platform.access."""

import datetime as dt

import django_filters
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from accounts.models import Account
from accounts.selectors import account_get
from cs_platform.access import restrict
from cs_platform.api import router

from ..models import HealthScore
from ..overrides import override_in_force

HISTORY_DAYS = 90


class HealthScoreSerializer(serializers.ModelSerializer):
    account_external_id = serializers.CharField(source="account.external_id", read_only=True)

    class Meta:
        model = HealthScore
        fields = ["account", "account_external_id", "score", "band", "as_of", "computed_at"]
        read_only_fields = fields


class HealthScoreFilter(django_filters.FilterSet):
    as_of = django_filters.DateFilter(
        field_name="as_of", label=_("The date of the scores; the most recent scored date when left out.")
    )
    account = django_filters.NumberFilter(field_name="account_id", label=_("Account"))
    band = django_filters.ChoiceFilter(field_name="band", choices=Account.HealthBand.choices)

    class Meta:
        model = HealthScore
        fields = ["as_of", "account", "band"]


class HealthScoreViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The health scores of one date, one per account the caller may see: `?as_of=`
    (default: the most recent date scored), filterable by band and account."""

    queryset = HealthScore.objects.none()  # for the schema; get_queryset decides
    serializer_class = HealthScoreSerializer
    filterset_class = HealthScoreFilter
    ordering_fields = ["score", "account"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return HealthScore.objects.none()
        qs = restrict(HealthScore.objects.select_related("account"), self.request.user)
        if "as_of" not in self.request.query_params:
            latest = HealthScore.objects.aggregate(latest=Max("as_of"))["latest"]
            qs = qs.filter(as_of=latest) if latest else qs.none()
        return qs.order_by("account_id")


class ComponentSerializer(serializers.Serializer):
    measure = serializers.CharField()
    raw_value = serializers.FloatField(allow_null=True)
    score = serializers.FloatField(allow_null=True)
    weight = serializers.FloatField(allow_null=True)


class AccountHealthSerializer(serializers.Serializer):
    score = serializers.IntegerField(allow_null=True)
    band = serializers.CharField(allow_null=True)
    computed_at = serializers.DateTimeField(allow_null=True)
    as_of = serializers.DateField(allow_null=True)
    components = ComponentSerializer(many=True)
    history = inline_serializer(
        "HealthHistoryPoint", {"as_of": serializers.DateField(), "score": serializers.IntegerField()}, many=True
    )
    override = inline_serializer(
        "HealthOverrideInForce",
        {
            "score": serializers.IntegerField(),
            "reason": serializers.CharField(),
            "expires_on": serializers.DateField(),
            "created_by": serializers.CharField(allow_null=True),
            "created_at": serializers.DateTimeField(),
        },
        allow_null=True,
    )


def _component(c: dict) -> dict:
    return {k: c.get(k) for k in ("measure", "raw_value", "score", "weight")}


class AccountHealthViewSet(viewsets.GenericViewSet):
    """One account's health: the latest score with each measure's raw value, score and
    weight, the last 90 days of history, and the manual override in force (or null)."""

    serializer_class = AccountHealthSerializer
    pagination_class = None
    filter_backends: list = []

    @extend_schema(responses=AccountHealthSerializer, operation_id="accounts_health_retrieve")
    def list(self, request, account_pk: str):
        account = account_get(user=request.user, pk=int(account_pk))
        scores = list(
            HealthScore.objects.filter(
                account=account, as_of__gt=timezone.localdate() - dt.timedelta(days=HISTORY_DAYS)
            ).order_by("as_of")
        )
        latest = scores[-1] if scores else HealthScore.objects.filter(account=account).order_by("-as_of").first()
        override = override_in_force(account)
        data = {
            "score": latest.score if latest else None,
            "band": latest.band if latest else None,
            "computed_at": latest.computed_at if latest else None,
            "as_of": latest.as_of if latest else None,
            "components": [_component(c) for c in (latest.components if latest else [])],
            "history": [{"as_of": s.as_of, "score": s.score} for s in scores],
            "override": (
                {
                    "score": override.score,
                    "reason": override.reason,
                    "expires_on": override.expires_on,
                    "created_by": override.created_by.username if override.created_by else None,
                    "created_at": override.created_at,
                }
                if override
                else None
            ),
        }
        return Response(AccountHealthSerializer(data).data)


router.register("health-scores", HealthScoreViewSet, basename="health-score")
router.register(r"accounts/(?P<account_pk>[0-9]+)/health", AccountHealthViewSet, basename="account-health")
