"""Calibration per the contract: `POST /api/v1/health/calibrate/` with `train_start`,
`train_end`, `horizon_days` and `activate` fits a scorecard on history and answers 200
with the holdout figures beside the active scorecard's and raw usage counts', the fitted
weights and the new version's id. A large history (more than CALIBRATE_SYNC_LIMIT
observations, estimated) runs as a task: 202 with the task id and a status URL whose
`GET` answers the state and, when done, the same report. Managers, administrators and
integration users may ask (cs_platform.access.can_recompute_health)."""

from celery.result import AsyncResult
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.response import Response

from cs_platform.access import can_recompute_health
from cs_platform.api import router

from ..calibration import calibrate, calibration_estimate, calibration_plan, health_calibrate_task, sync_limit


class CanCalibrate(permissions.BasePermission):
    message = _("Only managers, administrators and integration users may calibrate the health score.")

    def has_permission(self, request, view):
        return can_recompute_health(request.user)


class CalibrateSerializer(serializers.Serializer):
    train_start = serializers.DateField(help_text=_("First observation date of the training window."))
    train_end = serializers.DateField(
        help_text=_("Last training date; later dates whose horizon has passed are the holdout.")
    )
    horizon_days = serializers.IntegerField(
        help_text=_("An account churns when it leaves the active set within this many days (7-730).")
    )
    activate = serializers.BooleanField(
        default=False, help_text=_("Make the fitted version the active scorecard right away.")
    )


class CalibrationFiguresSerializer(serializers.Serializer):
    auc = serializers.FloatField(help_text=_("ROC AUC of the risk against churn on the holdout (0.5 is chance)."))
    top_decile_lift = serializers.FloatField(
        help_text=_("Churn rate of the riskiest tenth of holdout observations over the overall churn rate.")
    )


class CalibrationBaselineSerializer(serializers.Serializer):
    scorecard = CalibrationFiguresSerializer(help_text=_("The active scorecard: risk = 100 - its score."))
    usage_counts = CalibrationFiguresSerializer(help_text=_("Raw usage: risk = minus all events in the last 30 days."))


class CalibrationObservationsSerializer(serializers.Serializer):
    training = serializers.IntegerField()
    training_churned = serializers.IntegerField()
    holdout = serializers.IntegerField()
    holdout_churned = serializers.IntegerField()


class CalibrationDatesSerializer(serializers.Serializer):
    training = serializers.ListField(child=serializers.DateField())
    holdout = serializers.ListField(child=serializers.DateField())


class CalibrationReportSerializer(serializers.Serializer):
    auc = serializers.FloatField()
    top_decile_lift = serializers.FloatField()
    weights = serializers.DictField(
        child=serializers.FloatField(), help_text=_("Coefficient per measure key on the standardised value.")
    )
    intercept = serializers.FloatField()
    scorecard_version = serializers.IntegerField(help_text=_("The new fitted scorecard version."))
    activated = serializers.BooleanField()
    baseline = CalibrationBaselineSerializer()
    observations = CalibrationObservationsSerializer()
    dates = CalibrationDatesSerializer()
    train_start = serializers.DateField()
    train_end = serializers.DateField()
    horizon_days = serializers.IntegerField()
    step_days = serializers.IntegerField()


class CalibrateStartedSerializer(serializers.Serializer):
    task_id = serializers.CharField()
    status_url = serializers.URLField()


class CalibrateStatusSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["PENDING", "STARTED", "SUCCESS", "FAILURE", "RETRY"])
    result = CalibrationReportSerializer(allow_null=True, help_text=_("The report once the task has succeeded."))
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        allow_null=True,
        help_text=_("Field errors when the history could not make a calibration."),
    )


def calibrate_status(task_id: str) -> dict:
    result = AsyncResult(task_id)
    state = result.state
    out = {"state": state, "result": None, "errors": None}
    if state == "SUCCESS":
        value = result.result if isinstance(result.result, dict) else {}
        if "errors" in value:
            out.update(state="FAILURE", errors=value["errors"])
        else:
            out["result"] = value
    elif state == "FAILURE":
        out["errors"] = {"non_field_errors": [str(_("The calibration failed; see the worker's log."))]}
    return out


class CalibrateViewSet(viewsets.ViewSet):
    """Fit the health scorecard on history and compare it with the active one."""

    permission_classes = [permissions.IsAuthenticated, CanCalibrate]
    lookup_value_regex = r"[0-9a-fA-F-]{1,64}"

    @extend_schema(
        request=CalibrateSerializer,
        responses={200: CalibrationReportSerializer, 202: CalibrateStartedSerializer},
    )
    def create(self, request):
        data = CalibrateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        args = data.validated_data
        plan = calibration_plan(
            train_start=args["train_start"], train_end=args["train_end"], horizon_days=args["horizon_days"]
        )
        if calibration_estimate(plan) > sync_limit():
            task = health_calibrate_task.apply_async(
                kwargs={
                    "train_start": plan.train_start.isoformat(),
                    "train_end": plan.train_end.isoformat(),
                    "horizon_days": plan.horizon_days,
                    "activate": args["activate"],
                    "by_id": request.user.pk,
                }
            )
            url = request.build_absolute_uri(reverse("health-calibrate-detail", args=[task.id]))
            return Response({"task_id": task.id, "status_url": url}, status=status.HTTP_202_ACCEPTED)
        report = calibrate(**args, by=request.user)
        return Response(CalibrationReportSerializer(report).data)

    @extend_schema(
        responses=CalibrateStatusSerializer,
        description=_("The state of a calibration run in the background and, once it has succeeded, its report."),
    )
    def retrieve(self, request, pk: str):
        return Response(CalibrateStatusSerializer(calibrate_status(pk)).data)


router.register("health/calibrate", CalibrateViewSet, basename="health-calibrate")
