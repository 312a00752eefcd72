"""Scoring on demand per the contract: `POST /api/v1/health/recompute/` with an optional
`as_of` answers 202 with the task's id and status URL; `GET` on that URL answers its
state and how many accounts were scored so far. Managers, administrators and
integration users may ask (a run scores every account)."""

import datetime as dt

from celery.result import AsyncResult
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.response import Response

from cs_platform.access import can_recompute_health
from cs_platform.api import router

from ..tasks import health_score_task


class CanRecompute(permissions.BasePermission):
    message = _("Only managers, administrators and integration users may recompute health scores.")

    def has_permission(self, request, view):
        return can_recompute_health(request.user)


class RecomputeSerializer(serializers.Serializer):
    as_of = serializers.DateField(
        required=False,
        allow_null=True,
        help_text=_("Score as the world stood at the start of this day (a past date is a backtest); default today."),
    )

    def validate_as_of(self, value):
        if value and value > timezone.localdate():
            raise serializers.ValidationError(_("The date cannot be in the future."))
        if value and value < dt.date(2000, 1, 1):
            raise serializers.ValidationError(_("The date is too far in the past."))
        return value


class RecomputeStartedSerializer(serializers.Serializer):
    task_id = serializers.CharField()
    status_url = serializers.URLField()


class RecomputeStatusSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["PENDING", "STARTED", "SUCCESS", "FAILURE", "RETRY"])
    accounts_scored = serializers.IntegerField()
    as_of = serializers.DateField(allow_null=True)


def recompute_start(*, as_of: dt.date | None = None) -> str:
    """Queue a scoring run; the task id."""
    return health_score_task.apply_async(kwargs={"as_of": as_of.isoformat() if as_of else None}).id


def recompute_status(task_id: str) -> dict:
    result = AsyncResult(task_id)
    state = result.state
    info = result.result if state == "SUCCESS" else result.info
    info = info if isinstance(info, dict) else {}
    return {
        "state": state,
        "accounts_scored": int(info.get("accounts_scored") or 0),
        "as_of": info.get("as_of"),
    }


class RecomputeViewSet(viewsets.ViewSet):
    """Score every account now, or as of a past date, in the background."""

    permission_classes = [permissions.IsAuthenticated, CanRecompute]
    lookup_value_regex = r"[0-9a-fA-F-]{1,64}"

    @extend_schema(request=RecomputeSerializer, responses={202: RecomputeStartedSerializer})
    def create(self, request):
        data = RecomputeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task_id = recompute_start(as_of=data.validated_data.get("as_of"))
        url = request.build_absolute_uri(reverse("health-recompute-detail", args=[task_id]))
        return Response({"task_id": task_id, "status_url": url}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=RecomputeStatusSerializer)
    def retrieve(self, request, pk: str):
        return Response(RecomputeStatusSerializer(recompute_status(pk)).data)


router.register("health/recompute", RecomputeViewSet, basename="health-recompute")
