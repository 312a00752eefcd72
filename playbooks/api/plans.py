"""Playbooks API: success plans and their steps. Viewsets register on cs_platform.api.router.

Reads come from playbooks.selectors.plans (scoped by cs_platform.access: an account the
user may not see answers 404); writes go through playbooks.services.plans."""

import django_filters
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from accounts.selectors import account_get
from cs_platform.access import can_change
from cs_platform.api import router

from ..models import PlanGoal, PlanStage, PlanStep, SuccessPlan
from ..selectors import plans as selectors
from ..services import plans as services

User = get_user_model()

# ------------------------------------------------------------------ serializers


class PlanStepSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    is_overdue = serializers.SerializerMethodField()
    plan = serializers.IntegerField(source="stage.plan_id", read_only=True)

    class Meta:
        model = PlanStep
        fields = [
            "id", "plan", "stage", "order", "title", "guidance", "exit_criteria", "owner_role", "owner",
            "due_date", "status", "completed_on", "is_overdue", "source",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_is_overdue(self, step) -> bool:
        if hasattr(step, "is_overdue"):
            return step.is_overdue
        return step.status in selectors.OPEN_STEP and step.due_date < timezone.localdate()


class PlanStepUpdateSerializer(serializers.Serializer):
    # A plain string here, so the schema keeps one enum of step statuses (on PlanStep).
    status = serializers.CharField(
        required=False, help_text=_("One of: todo, in_progress, done, skipped. Done or skipped closes the step.")
    )
    owner = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    due_date = serializers.DateField(required=False)

    def validate_status(self, value: str) -> str:
        if value not in PlanStep.Status.values:
            raise serializers.ValidationError(_("Choose a valid status."))
        return value


class PlanStageSerializer(serializers.ModelSerializer):
    steps = PlanStepSerializer(source="step_list", many=True, read_only=True)
    steps_total = serializers.IntegerField(read_only=True)
    steps_closed = serializers.IntegerField(read_only=True)
    percent = serializers.IntegerField(read_only=True, help_text=_("Closed steps out of all, in percent."))
    report = serializers.SerializerMethodField()

    class Meta:
        model = PlanStage
        fields = ["id", "order", "name", "completed_on", "steps_total", "steps_closed", "percent", "report", "steps"]

    @extend_schema_field(OpenApiTypes.INT)
    def get_report(self, stage) -> int | None:
        """The stage report's id, once it is written."""
        report = getattr(stage, "report", None)
        return report.pk if report is not None else None


class PlanGoalSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlanGoal
        fields = ["id", "description", "metric", "baseline", "target", "current", "achieved", "order"]


class SuccessPlanSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)
    steps_total = serializers.IntegerField(read_only=True)
    steps_closed = serializers.IntegerField(read_only=True)
    percent = serializers.IntegerField(read_only=True, help_text=_("Closed steps out of all, in percent."))
    overdue_steps = serializers.SerializerMethodField()
    current_step = serializers.SerializerMethodField()
    stages = PlanStageSerializer(source="stage_list", many=True, read_only=True)
    goals = PlanGoalSerializer(many=True, read_only=True)

    class Meta:
        model = SuccessPlan
        fields = [
            "id", "account", "account_name", "path", "name", "path_version", "started_on", "status",
            "steps_total", "steps_closed", "percent", "overdue_steps", "current_step", "stages", "goals",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.INT)
    def get_overdue_steps(self, plan) -> int:
        return len(plan.overdue_steps)

    @extend_schema_field(OpenApiTypes.INT)
    def get_current_step(self, plan) -> int | None:
        """The first open step's id (None when every step is closed)."""
        return plan.current_step.pk if plan.current_step is not None else None


class SuccessPlanStartSerializer(serializers.Serializer):
    account = serializers.IntegerField()
    path = serializers.PrimaryKeyRelatedField(queryset=selectors.active_paths())
    started_on = serializers.DateField(required=False)


# ------------------------------------------------------------------ filters


class SuccessPlanFilter(django_filters.FilterSet):
    class Meta:
        model = SuccessPlan
        fields = ["account", "path", "status"]


class PlanStepFilter(django_filters.FilterSet):
    plan = django_filters.NumberFilter(field_name="stage__plan_id", label=_("Success plan"))
    overdue = django_filters.BooleanFilter(method="filter_overdue", label=_("Open and past its due date"))

    class Meta:
        model = PlanStep
        fields = ["plan", "status", "owner", "overdue"]

    def filter_overdue(self, queryset, name, value):
        today = timezone.localdate()
        overdue = {"status__in": selectors.OPEN_STEP, "due_date__lt": today}
        return queryset.filter(**overdue) if value else queryset.exclude(**overdue)


# ------------------------------------------------------------------ viewsets


class SuccessPlanViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Success plans: an account's plan started from a success path, with its stages,
    steps, goals and progress (closed steps out of all). POST starts a path on an
    account: 201 with the new plan, or 200 with the plan already running (idempotent)."""

    serializer_class = SuccessPlanSerializer
    filterset_class = SuccessPlanFilter
    ordering_fields = ["started_on", "name"]

    def get_queryset(self):
        return selectors.plan_list(user=self.request.user)

    def _decorate(self, plans):
        today = timezone.localdate()
        return [selectors.plan_progress(p, today=today) for p in plans]

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(self._decorate(page), many=True).data)

    def retrieve(self, request, *args, **kwargs):
        plan = self._decorate([self.get_object()])[0]
        return Response(self.get_serializer(plan).data)

    @extend_schema(
        request=SuccessPlanStartSerializer,
        responses={200: SuccessPlanSerializer, 201: SuccessPlanSerializer},
        summary="Start a success path on an account",
    )
    def create(self, request, *args, **kwargs):
        data = SuccessPlanStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account = account_get(user=request.user, pk=data.validated_data["account"])
        if not can_change(request.user, account):
            raise PermissionDenied
        plan, created = services.plan_start(
            account=account,
            path=data.validated_data["path"],
            start=data.validated_data.get("started_on") or timezone.localdate(),
            by=request.user,
        )
        plan = selectors.plan_get(user=request.user, pk=plan.pk, today=timezone.localdate())
        return Response(
            self.get_serializer(plan).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class PlanStepViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet
):
    """The steps of success plans. Filter by `plan`, `status`, `owner` or `overdue=true`.
    PATCH sets `status` (done or skipped closes the step and its task), `owner` (a
    username) and `due_date`; a stage completes when all its steps are closed."""

    serializer_class = PlanStepSerializer
    filterset_class = PlanStepFilter
    ordering_fields = ["due_date", "order"]
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.step_list(user=self.request.user)

    @extend_schema(request=PlanStepUpdateSerializer, responses=PlanStepSerializer)
    def partial_update(self, request, *args, **kwargs):
        step = self.get_object()
        if not can_change(request.user, step.stage.plan.account):
            raise PermissionDenied
        data = PlanStepUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        changes = {k: values[k] for k in ("owner", "due_date") if k in values}
        if changes:
            services.plan_step_update(step=step, by=request.user, **changes)
        if "status" in values:
            services.plan_step_set_status(step=step, status=values["status"], by=request.user)
        return Response(self.get_serializer(selectors.step_get(user=request.user, pk=step.pk)).data)


router.register("success-plans", SuccessPlanViewSet, basename="success-plan")
router.register("plan-steps", PlanStepViewSet, basename="plan-step")
