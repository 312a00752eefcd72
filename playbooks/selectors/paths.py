"""Reads of success path templates: each a fixed number of queries, whatever the size."""

from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from ..models import PathStage, PathStep, SuccessPath, SuccessPlan


def _with_stages(queryset: QuerySet[SuccessPath], *, include_retired: bool) -> QuerySet[SuccessPath]:
    """Stages and steps in order, prefetched into `path.stages.all()` and
    `stage.steps.all()` (three queries in all); retired ones only when asked."""
    steps = PathStep.objects.order_by("order", "pk")
    stages = PathStage.objects.order_by("order", "pk")
    if not include_retired:
        steps = steps.filter(is_retired=False)
        stages = stages.filter(is_retired=False)
    stages = stages.prefetch_related(Prefetch("steps", queryset=steps))
    return queryset.prefetch_related(Prefetch("stages", queryset=stages)).annotate(
        active_plan_count=Count("plans", filter=Q(plans__status=SuccessPlan.Status.ACTIVE), distinct=True)
    )


def path_list(*, include_retired: bool = False) -> QuerySet[SuccessPath]:
    """Every path (retired ones, their retired stages and steps too with
    `include_retired`), by name, with stages and steps prefetched."""
    queryset = SuccessPath.objects.order_by("name")
    if not include_retired:
        queryset = queryset.filter(is_active=True)
    return _with_stages(queryset, include_retired=include_retired)


def path_get(*, pk: int, include_retired: bool = True) -> SuccessPath:
    """One path with all its stages and steps (retired ones too, for the editor); 404 if none."""
    return get_object_or_404(_with_stages(SuccessPath.objects.all(), include_retired=include_retired), pk=pk)


def stage_get(*, pk: int) -> PathStage:
    """One stage with its path and all its steps, in order; 404 if none."""
    steps = Prefetch("steps", queryset=PathStep.objects.order_by("order", "pk"))
    return get_object_or_404(PathStage.objects.select_related("path").prefetch_related(steps), pk=pk)


def step_get(*, pk: int) -> PathStep:
    """One step with its stage and path; 404 if none."""
    return get_object_or_404(PathStep.objects.select_related("stage__path"), pk=pk)
