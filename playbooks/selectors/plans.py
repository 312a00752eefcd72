"""Reads for success plans (成功路径 in use on an account) and their stage reports.

Every read starts from cs_platform.access. Progress, overdue steps and the current step
are computed in Python from rows fetched in a fixed number of queries (plans, stages with
their report, steps with their owner, goals), whatever the number of steps or goals."""

import datetime as dt

from django.db.models import Count, Max, Prefetch, Q, QuerySet, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.models import Account, Activity
from cs_platform.access import restrict

from ..models import PlanGoal, PlanStage, PlanStep, SuccessPath, SuccessPlan

OPEN_STEP = (PlanStep.Status.TODO, PlanStep.Status.IN_PROGRESS)


def _percent(closed: int, total: int) -> int:
    return round(100 * closed / total) if total else 0


def plan_queryset(*, user) -> QuerySet[SuccessPlan]:
    """The plans `user` may see, with stages (and their report), steps (and owner) and
    goals prefetched: four queries for any number of plans."""
    return (
        restrict(SuccessPlan.objects.all(), user)
        .select_related("account", "path")
        .prefetch_related(
            Prefetch("stages", queryset=PlanStage.objects.select_related("report").order_by("order", "pk")),
            Prefetch("stages__steps", queryset=PlanStep.objects.select_related("owner").order_by("order", "pk")),
            Prefetch("goals", queryset=PlanGoal.objects.order_by("order", "pk")),
        )
    )


def plan_list(*, user) -> QuerySet[SuccessPlan]:
    return plan_queryset(user=user).order_by("-started_on", "-pk")


def plan_progress(plan: SuccessPlan, *, today: dt.date) -> SuccessPlan:
    """Decorate a prefetched plan for pages and API: per stage `steps_total`,
    `steps_closed`, `percent`, `is_current`; per step `is_overdue`; on the plan the same
    totals, `overdue_steps`, `current_stage`, `current_step` (the first open step) and
    `next_stage_of` (stage pk -> the stage after it)."""
    stages = list(plan.stages.all())
    plan.stage_list = stages
    plan.overdue_steps = []
    plan.current_step = None
    plan.current_stage = None
    total = closed = 0
    for stage in stages:
        steps = list(stage.steps.all())
        stage.step_list = steps
        stage.steps_total = len(steps)
        stage.steps_closed = sum(1 for s in steps if s.is_closed)
        stage.percent = _percent(stage.steps_closed, stage.steps_total)
        stage.overdue_count = 0
        stage.is_current = False
        for step in steps:
            step.is_overdue = step.status in OPEN_STEP and step.due_date < today
            if step.is_overdue:
                plan.overdue_steps.append(step)
                stage.overdue_count += 1
            if plan.current_step is None and not step.is_closed:
                plan.current_step, plan.current_stage = step, stage
        total += stage.steps_total
        closed += stage.steps_closed
    if plan.current_stage is None:
        plan.current_stage = next((s for s in stages if s.completed_on is None), None)
    if plan.current_stage is not None and plan.status == SuccessPlan.Status.ACTIVE:
        plan.current_stage.is_current = True
    plan.steps_total, plan.steps_closed = total, closed
    plan.percent = _percent(closed, total)
    plan.next_stage_of = {a.pk: b for a, b in zip(stages, stages[1:], strict=False)}
    return plan


def account_plans(*, user, account: Account, today: dt.date) -> list[SuccessPlan]:
    """The account's plans that are not cancelled, active ones first, with progress."""
    plans = (
        plan_queryset(user=user)
        .filter(account=account)
        .exclude(status=SuccessPlan.Status.CANCELLED)
        .order_by("status", "-started_on", "-pk")  # "active" sorts before "completed"
    )
    return [plan_progress(p, today=today) for p in plans]


def plan_get(*, user, pk: int, today: dt.date) -> SuccessPlan:
    return plan_progress(get_object_or_404(plan_queryset(user=user), pk=pk), today=today)


def active_paths() -> QuerySet[SuccessPath]:
    return SuccessPath.objects.filter(is_active=True).order_by("name")


def step_list(*, user) -> QuerySet[PlanStep]:
    return (
        restrict(PlanStep.objects.all(), user, via="stage__plan__account")
        .select_related("stage", "stage__plan", "stage__plan__account", "owner")
        .order_by("stage__plan_id", "stage__order", "stage_id", "order", "pk")
    )


def step_get(*, user, pk: int) -> PlanStep:
    return get_object_or_404(step_list(user=user), pk=pk)


def goal_get(*, user, pk: int) -> PlanGoal:
    qs = restrict(PlanGoal.objects.all(), user, via="plan__account").select_related("plan", "plan__account")
    return get_object_or_404(qs, pk=pk)


def stage_get(*, user, pk: int) -> PlanStage:
    qs = restrict(PlanStage.objects.all(), user, via="plan__account").select_related(
        "plan", "plan__account", "plan__account__csm", "report"
    )
    return get_object_or_404(qs, pk=pk)


def stage_period(stage: PlanStage) -> tuple[dt.date, dt.date]:
    """The period a stage report covers: from the plan's start (first stage) or the
    earlier of the previous stage's completion and this stage's first due date, to the
    day the stage was completed."""
    end = stage.completed_on
    if end is None:
        raise Http404
    previous = (
        PlanStage.objects.filter(plan_id=stage.plan_id)
        .filter(Q(order__lt=stage.order) | Q(order=stage.order, pk__lt=stage.pk))
        .order_by("-order", "-pk")
        .first()
    )
    if previous is None:
        start = stage.plan.started_on
    else:
        first_due = stage.steps.order_by("due_date").values_list("due_date", flat=True).first()
        candidates = [d for d in (previous.completed_on, first_due) if d is not None]
        start = min(candidates) if candidates else stage.plan.started_on
    return min(start, end), end


def _usage_in(account: Account, start: dt.date, end: dt.date) -> list[dict]:
    """Usage rollups of the period per event type: total events and the peak of daily
    distinct users. Read over the reverse relation, so playbooks need not import health;
    empty when the account has no usage (or the health app is absent)."""
    related = getattr(account, "usage_daily", None)
    if related is None:
        return []
    rows = (
        related.filter(day__gte=start, day__lte=end)
        .values("event_type")
        .annotate(events=Sum("events"), users=Max("distinct_users"), days=Count("day", distinct=True))
        .order_by("-events", "event_type")
    )
    return list(rows)


def stage_report_data(*, stage: PlanStage) -> dict:
    """What a stage report shows: the period, the plan's goals against what was achieved,
    the steps of the stage, activities and usage in the period and the next stage."""
    plan = stage.plan
    account = plan.account
    report = getattr(stage, "report", None)
    if report is not None:
        start, end = report.period_start, report.period_end
    else:
        start, end = stage_period(stage)
    goals = list(plan.goals.order_by("order", "pk"))
    steps = list(stage.steps.select_related("owner", "completed_by").order_by("order", "pk"))
    activities = Activity.objects.filter(account=account, occurred_at__date__gte=start, occurred_at__date__lte=end)
    labels = dict(Activity.Kind.choices)
    by_kind = [
        {"kind": row["kind"], "label": labels.get(row["kind"], row["kind"]), "count": row["n"]}
        for row in activities.values("kind").annotate(n=Count("pk")).order_by("-n", "kind")
    ]
    next_stage = (
        PlanStage.objects.filter(plan=plan)
        .filter(Q(order__gt=stage.order) | Q(order=stage.order, pk__gt=stage.pk))
        .order_by("order", "pk")
        .first()
    )
    next_steps = list(next_stage.steps.select_related("owner").order_by("order", "pk")) if next_stage else []
    return {
        "plan": plan,
        "account": account,
        "stage": stage,
        "report": report,
        "period_start": start,
        "period_end": end,
        "goals": goals,
        "goals_achieved": sum(1 for g in goals if g.achieved),
        "steps": steps,
        "steps_done": sum(1 for s in steps if s.status == PlanStep.Status.DONE),
        "activities_by_kind": by_kind,
        "activity_total": sum(row["count"] for row in by_kind),
        "recent_activities": list(activities.order_by("-occurred_at")[:10]),
        "usage": _usage_in(account, start, end),
        "next_stage": next_stage,
        "next_stage_steps": next_steps,
    }
