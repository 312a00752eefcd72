"""Writes for success plans: starting a plan from a path, step status, owners and due
dates, goals, stage reports and cancelling.

A plan copies the path's stages and steps when it starts, so editing the path later
(which raises its version) never changes a plan under way. Each step owned by a person
gets a task (source "success plan"), which follows the step's status. `by=None` means
the system (a task or another app calling down); a person is checked with
cs_platform.access.can_change."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from cs_platform.access import can_change, can_see

from ..models import PathStage, PathStep, PlanGoal, PlanStage, PlanStep, StageReport, SuccessPath, SuccessPlan, Task
from ..selectors.plans import stage_period

User = get_user_model()

GOAL_FIELDS = ("description", "metric", "baseline", "target", "current", "achieved", "order")
CLOSED = (PlanStep.Status.DONE, PlanStep.Status.SKIPPED)
_UNSET = object()


def _check(by, account: Account) -> None:
    if by is not None and not can_change(by, account):
        raise PermissionDenied(_("You cannot change this account's success plan."))


def _check_active(plan: SuccessPlan) -> None:
    if plan.status == SuccessPlan.Status.CANCELLED:
        raise ValidationError(_("This success plan was cancelled."))


def _owner_for(role: str, account: Account):
    if role == PathStep.OwnerRole.CSM:
        return account.csm
    if role == PathStep.OwnerRole.SALES:
        return account.sales_owner
    return None


def _task_for(step: PlanStep, account: Account) -> Task:
    return Task(
        account=account,
        title=step.title,
        type=Task.Type.OTHER,
        due_date=step.due_date,
        owner=step.owner,
        source=Task.Source.SUCCESS_PLAN,
        plan_step=step,
        occurrence=f"plan_step:{step.pk}",
        notes=step.guidance,
    )


@transaction.atomic
def plan_start(*, account: Account, path: SuccessPath, start: dt.date, by) -> tuple[SuccessPlan, bool]:
    """Start `path` on `account`. Returns (plan, created): while a plan of this path is
    active on the account, starting it again (a double click, a retried handover) returns
    that plan and creates nothing."""
    _check(by, account)
    existing = SuccessPlan.objects.filter(account=account, path=path, status=SuccessPlan.Status.ACTIVE).first()
    if existing is not None:
        return existing, False
    if not path.is_active:
        raise ValidationError({"path": _("This success path is no longer in use.")})
    stages = list(
        PathStage.objects.filter(path=path, is_retired=False).prefetch_related("steps").order_by("order", "pk")
    )
    template = [(s, [p for p in s.steps.all() if not p.is_retired]) for s in stages]
    template = [(s, steps) for s, steps in template if steps]
    if not template:
        raise ValidationError({"path": _("This success path has no steps yet.")})

    plan = SuccessPlan(
        account=account, path=path, name=path.name, path_version=path.version, started_on=start, created_by=by
    )
    plan.full_clean(validate_constraints=False)  # the constraint is the database's job (see below)
    try:
        with transaction.atomic():
            plan.save()
    except IntegrityError:
        # Another request started the same path a moment ago: theirs is the plan.
        existing = SuccessPlan.objects.filter(account=account, path=path, status=SuccessPlan.Status.ACTIVE).first()
        if existing is None:
            raise
        return existing, False

    plan_stages = PlanStage.objects.bulk_create(
        [PlanStage(plan=plan, order=i, name=stage.name) for i, (stage, _steps) in enumerate(template)]
    )
    steps = PlanStep.objects.bulk_create(
        [
            PlanStep(
                stage=plan_stage,
                source=source,
                order=j,
                title=source.title,
                guidance=source.guidance,
                exit_criteria=source.exit_criteria,
                key=source.key,
                owner_role=source.owner_role,
                owner=_owner_for(source.owner_role, account),
                due_date=start + dt.timedelta(days=source.due_offset_days),
            )
            for plan_stage, (_stage, sources) in zip(plan_stages, template, strict=True)
            for j, source in enumerate(sources)
        ]
    )
    Task.objects.bulk_create([_task_for(step, account) for step in steps if step.owner_id is not None])
    return plan, True


def _refresh_stage(stage: PlanStage, *, today: dt.date) -> None:
    """A stage is completed when every step is closed (done or skipped); reopening a
    step reopens it. The plan completes with its last stage."""
    open_steps = stage.steps.exclude(status__in=CLOSED).exists()
    if not open_steps and stage.completed_on is None:
        stage.completed_on = today
        stage.save(update_fields=["completed_on"])
    elif open_steps and stage.completed_on is not None:
        stage.completed_on = None
        stage.save(update_fields=["completed_on"])
    plan = stage.plan
    all_done = not plan.stages.filter(completed_on__isnull=True).exists()
    if all_done and plan.status == SuccessPlan.Status.ACTIVE:
        plan.status = SuccessPlan.Status.COMPLETED
        plan.save(update_fields=["status"])
    elif not all_done and plan.status == SuccessPlan.Status.COMPLETED:
        if SuccessPlan.objects.filter(
            account_id=plan.account_id, path_id=plan.path_id, status=SuccessPlan.Status.ACTIVE
        ).exists():
            raise ValidationError(_("Another plan of this path is active on the account; reopen steps there."))
        plan.status = SuccessPlan.Status.ACTIVE
        plan.save(update_fields=["status"])


@transaction.atomic
def plan_step_set_status(*, step: PlanStep, status: str, by) -> PlanStep:
    """Set a step's status. Done or skipped closes it (and its task); to do or in
    progress reopens it. The stage's completion follows."""
    stage = step.stage
    plan = stage.plan
    _check(by, plan.account)
    _check_active(plan)
    if status not in PlanStep.Status.values:
        raise ValidationError({"status": _("Choose a valid status.")})
    if status == step.status:
        return step
    today = timezone.localdate()
    step.status = status
    if status in CLOSED:
        step.completed_on = today
        step.completed_by = by if by is not None and by.pk else None
    else:
        step.completed_on, step.completed_by = None, None
    step.full_clean()
    step.save(update_fields=["status", "completed_on", "completed_by"])

    tasks = Task.objects.filter(plan_step=step)
    if status == PlanStep.Status.DONE:
        tasks.exclude(status=Task.Status.DONE).update(status=Task.Status.DONE, completed_at=timezone.now())
    elif status == PlanStep.Status.SKIPPED:
        tasks.filter(status=Task.Status.OPEN).update(status=Task.Status.CANCELLED)
    else:
        tasks.exclude(status=Task.Status.OPEN).update(status=Task.Status.OPEN, completed_at=None)
    _refresh_stage(stage, today=today)
    return step


@transaction.atomic
def plan_step_update(*, step: PlanStep, by, owner=_UNSET, due_date: dt.date | object = _UNSET) -> PlanStep:
    """Change who owns a step and when it is due; its task follows (an open task moves to
    the new owner and date; a step that gets its first owner gets a task)."""
    plan = step.stage.plan
    account = plan.account
    _check(by, account)
    _check_active(plan)
    fields = []
    if owner is not _UNSET and owner != step.owner:
        if owner is not None and (not owner.is_active or not can_see(owner, account)):
            raise ValidationError({"owner": _("This person cannot see the account.")})
        step.owner = owner
        fields.append("owner")
    if due_date is not _UNSET and due_date != step.due_date:
        if due_date is None:
            raise ValidationError({"due_date": _("A step needs a due date.")})
        step.due_date = due_date
        fields.append("due_date")
    if not fields:
        return step
    step.full_clean()
    step.save(update_fields=fields)

    task = Task.objects.filter(plan_step=step).first()
    if step.owner is None:
        if task is not None and task.status == Task.Status.OPEN:
            task.status = Task.Status.CANCELLED
            task.save(update_fields=["status"])
    elif task is None:
        task = _task_for(step, account)
        if step.is_closed:
            task.status = Task.Status.DONE if step.status == PlanStep.Status.DONE else Task.Status.CANCELLED
        task.save()
    else:
        task.owner, task.due_date = step.owner, step.due_date
        if task.status == Task.Status.CANCELLED and not step.is_closed:
            task.status = Task.Status.OPEN
        task.save(update_fields=["owner", "due_date", "status"])
    return step


@transaction.atomic
def plan_goal_add(*, plan: SuccessPlan, by, data: dict) -> PlanGoal:
    """Add one of the customer's goals, as a measurable outcome, at the end of the list."""
    _check(by, plan.account)
    _check_active(plan)
    values = {k: v for k, v in data.items() if k in GOAL_FIELDS}
    if "order" not in values:
        last = plan.goals.order_by("-order").values_list("order", flat=True).first()
        values["order"] = 0 if last is None else last + 1
    goal = PlanGoal(plan=plan, **values)
    goal.full_clean()
    goal.save()
    return goal


@transaction.atomic
def plan_goal_update(*, goal: PlanGoal, by, data: dict) -> PlanGoal:
    _check(by, goal.plan.account)
    _check_active(goal.plan)
    for key, value in data.items():
        if key in GOAL_FIELDS:
            setattr(goal, key, value)
    goal.full_clean()
    goal.save()
    return goal


@transaction.atomic
def stage_report_create(*, stage: PlanStage, by, achievements: str, next_steps: str) -> tuple[StageReport, bool]:
    """Write the stage report (阶段性报告) of a completed stage; one per stage, so a second
    call updates the text. Returns (report, created)."""
    plan = stage.plan
    _check(by, plan.account)
    if stage.completed_on is None:
        raise ValidationError(_("A stage report can be written once every step of the stage is closed."))
    start, end = stage_period(stage)
    report = StageReport.objects.filter(stage=stage).first()
    created = report is None
    if created:
        report = StageReport(stage=stage, created_by=by if by is not None and by.pk else None)
    report.period_start, report.period_end = start, end
    report.achievements, report.next_steps = achievements, next_steps
    report.full_clean()
    report.save()
    stage.report = report
    return report, created


@transaction.atomic
def plan_cancel(*, plan: SuccessPlan, by) -> SuccessPlan:
    """Cancel a plan: its open tasks are cancelled; the path may be started again."""
    _check(by, plan.account)
    if plan.status == SuccessPlan.Status.CANCELLED:
        return plan
    plan.status = SuccessPlan.Status.CANCELLED
    plan.save(update_fields=["status"])
    Task.objects.filter(plan_step__stage__plan=plan, status=Task.Status.OPEN).update(status=Task.Status.CANCELLED)
    return plan
