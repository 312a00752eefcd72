"""Retention metrics API per the contract:

- `GET /api/v1/metrics/retention/?start=YYYY-MM-DD&end=YYYY-MM-DD`, optional `csm`
  (username), `team` (id), `tier`, `segment` (size band) and `group_by` (csm, team, tier,
  month): the contract's figures, plus a `groups` list with the same figures per group and
  `loss_reasons`, why revenue was lost in the range (renewals.metrics.loss_reasons);
- `GET /api/v1/metrics/cohorts/?months=12`: logo and revenue retention of the accounts by
  the month their first subscription started.

Computed by renewals.metrics over the accounts the caller may see (cs_platform.access);
money and rates are decimal strings, a rate is null when its denominator is 0. Bad input
answers 400 with field errors."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, viewsets
from rest_framework.response import Response

from accounts.models import Account
from cs_platform.access import visible_accounts
from cs_platform.api import router

from . import metrics
from .forms_metrics import GROUP_BY_CHOICES, CohortForm, RetentionForm


def _money(help_text):
    return serializers.DecimalField(max_digits=16, decimal_places=2, help_text=help_text)


def _rate(help_text):
    return serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True, help_text=help_text)


class RetentionFiguresSerializer(serializers.Serializer):
    start = serializers.DateField(help_text=_("The day the start set is measured."))
    end = serializers.DateField(help_text=_("The day the end set is measured."))
    accounts_start = serializers.IntegerField(help_text=_("Accounts active on start (the start set)."))
    accounts_churned = serializers.IntegerField(help_text=_("Accounts in the start set, not active on end."))
    churn_rate = _rate(_("accounts_churned / accounts_start."))
    retention_rate = _rate(_("1 - churn_rate."))
    start_mrr = _money(_("The start set's MRR on start."))
    retained_mrr = _money(_("The end-date MRR of start-set accounts still active on end."))
    net_mrr_retention = _rate(_("retained_mrr / start_mrr."))
    churned_mrr = _money(_("The start MRR of churned accounts."))
    downsell_mrr = _money(_("Start minus end MRR of retained accounts whose MRR fell."))
    mrr_churn_rate = _rate(_("(churned_mrr + downsell_mrr) / start_mrr."))
    gross_revenue_retention = _rate(_("(start_mrr - churned_mrr - downsell_mrr) / start_mrr; never above 1."))
    expansion_mrr = _money(_("End minus start MRR of retained accounts whose MRR rose."))
    accounts_new = serializers.IntegerField(help_text=_("Accounts active on end, not on start (in no rate)."))
    accounts_retained = serializers.IntegerField(help_text=_("Accounts active on both days."))
    accounts_end = serializers.IntegerField(help_text=_("Accounts active on end (the end set)."))
    new_mrr = _money(_("The end MRR of new accounts."))
    end_mrr = _money(_("The end set's MRR on end: retained_mrr + new_mrr."))


class RetentionGroupSerializer(RetentionFiguresSerializer):
    key = serializers.CharField(
        allow_null=True,
        help_text=_("CSM username, team name, tier or YYYY-MM; null for accounts without a CSM or team."),
    )
    label = serializers.CharField(help_text=_("The group's name for people."))


class LossReasonSerializer(serializers.Serializer):
    reason_id = serializers.IntegerField(allow_null=True, help_text=_("The reason's ID; null for no reason given."))
    reason = serializers.CharField(help_text=_("The reason's name."))
    kind = serializers.CharField(
        allow_null=True,
        help_text=_("The reason's kind: renew or churn; null for no reason given."),
    )
    accounts = serializers.IntegerField(help_text=_("Accounts that churned or downsized for this reason."))
    mrr_lost = _money(_("MRR lost for this reason: each record's loss split evenly across its reasons."))


class RetentionSerializer(RetentionFiguresSerializer):
    group_by = serializers.ChoiceField(choices=GROUP_BY_CHOICES, allow_null=True)
    groups = RetentionGroupSerializer(
        many=True, help_text=_("The same figures per group when group_by is given, otherwise empty.")
    )
    loss_reasons = LossReasonSerializer(
        many=True,
        help_text=_(
            "Why revenue was lost in [start, end): churn records by churned_on and downsized renewals by due "
            "date, per reason, most MRR lost first."
        ),
    )


class CohortCellSerializer(serializers.Serializer):
    offset = serializers.IntegerField(help_text=_("Months after the cohort month."))
    date = serializers.DateField(help_text=_("The first of that month: the day activity and MRR are measured."))
    accounts_active = serializers.IntegerField()
    logo_retention = _rate(_("accounts_active / the cohort's accounts."))
    mrr = _money(_("The cohort's MRR that day."))
    revenue_retention = _rate(_("mrr / the cohort's starting MRR."))


class CohortSerializer(serializers.Serializer):
    month = serializers.DateField(help_text=_("The first day of the month the accounts' first subscription started."))
    accounts = serializers.IntegerField()
    start_mrr = _money(_("The MRR each account had on the day it started, summed."))
    cells = CohortCellSerializer(many=True)


class CohortTableSerializer(serializers.Serializer):
    months = serializers.IntegerField()
    as_of = serializers.DateField()
    cohorts = CohortSerializer(many=True)


def _validated(form):
    if not form.is_valid():
        detail = {("non_field_errors" if k == "__all__" else k): v for k, v in form.errors.items()}
        raise exceptions.ValidationError({k: [str(m) for m in v] for k, v in detail.items()})
    return form


SCOPE_PARAMETERS = [
    OpenApiParameter("csm", OpenApiTypes.STR, description=str(_("Only the accounts of this CSM (username)."))),
    OpenApiParameter("team", OpenApiTypes.INT, description=str(_("Only the accounts of this team (ID)."))),
    OpenApiParameter("tier", OpenApiTypes.STR, enum=Account.Tier.values, description=str(_("Only this tier."))),
    OpenApiParameter(
        "segment",
        OpenApiTypes.STR,
        enum=metrics.SEGMENTS.values,
        description=str(_("Only this size band (from the employee count).")),
    ),
]


class RetentionViewSet(viewsets.GenericViewSet):
    """Logo churn, net MRR retention, MRR churn with downsell, gross revenue retention and
    expansion between two dates, for the accounts the caller may see."""

    serializer_class = RetentionSerializer
    pagination_class = None
    filter_backends: list = []

    @extend_schema(
        operation_id="metrics_retention",
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATE, required=True, description=str(_("The start day."))),
            OpenApiParameter("end", OpenApiTypes.DATE, required=True, description=str(_("The end day, after start."))),
            *SCOPE_PARAMETERS,
            OpenApiParameter(
                "group_by",
                OpenApiTypes.STR,
                enum=list(metrics.GROUP_BY),
                description=str(_("Also the figures per CSM, team, tier or calendar month.")),
            ),
        ],
        responses=RetentionSerializer,
    )
    def list(self, request):
        form = _validated(RetentionForm(request.query_params))
        scope = visible_accounts(request.user)
        data = metrics.retention(accounts=scope, **form.query())
        data["loss_reasons"] = metrics.loss_reasons(
            start=data["start"], end=data["end"], accounts=metrics.account_scope(scope, **form.scope())
        )
        return Response(RetentionSerializer(data).data)


class CohortViewSet(viewsets.GenericViewSet):
    """Retention by start-month cohort: for each of the last `months` months, the accounts
    whose first subscription started then, and on each later first of a month the share
    still active and their MRR against their starting MRR."""

    serializer_class = CohortTableSerializer
    pagination_class = None
    filter_backends: list = []

    @extend_schema(
        operation_id="metrics_cohorts",
        parameters=[
            OpenApiParameter(
                "months",
                OpenApiTypes.INT,
                description=str(_("Cohort months, ending with last month (1-60, default 12).")),
            ),
            OpenApiParameter(
                "as_of",
                OpenApiTypes.DATE,
                description=str(_("Cohorts end with the month before this day's; default today.")),
            ),
            *SCOPE_PARAMETERS,
        ],
        responses=CohortTableSerializer,
    )
    def list(self, request):
        form = _validated(CohortForm(request.query_params))
        data = metrics.cohorts(accounts=visible_accounts(request.user), **form.query())
        return Response(CohortTableSerializer(data).data)


router.register("metrics/retention", RetentionViewSet, basename="metrics-retention")
router.register("metrics/cohorts", CohortViewSet, basename="metrics-cohorts")
