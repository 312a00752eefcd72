"""The success-plan part of the demo: the first-project path started on the accounts in
their first months, with goals, steps done on (mostly) the days they were due, a few
slipping, stage reports for finished stages, and touch-cadence tasks.

Plans start through playbooks.services.plans.plan_start, as on the account page; then the
history of the weeks since is written directly (backdated completion), which no service
would do. Its own random stream, so the rest of the demo is unchanged."""

import datetime as dt
import random

from django.utils import timezone

from accounts.models import Account
from playbooks.models import PlanGoal, PlanStage, PlanStep, StageReport, SuccessPath, SuccessPlan, Task
from playbooks.services.plans import plan_start

S = Account.Stage
FIRST_PROJECT = "First project (首个项目)"

# goal, measured by, baseline, target, where it stands half-way, where it stands at the end
GOALS_EN = [
    ("Close the books faster", "Days to close the month", "6", "2", "4", "2"),
    ("Purchase orders approved in the system", "Share of POs approved in the system", "0%", "90%", "45%", "93%"),
    ("Every branch on the same process", "Branches live", "0", "12", "5", "11"),
    ("Less time on reports", "Hours a week spent on reports", "20", "5", "12", "4"),
    ("Users adopt the product", "Weekly active users / seats", "0%", "70%", "38%", "74%"),
]
GOALS_ZH = [
    ("加快月结", "月结天数", "6", "2", "4", "2"),
    ("采购单系统内审批", "系统内审批的采购单占比", "0%", "90%", "45%", "93%"),
    ("所有分公司统一流程", "已上线分公司数", "0", "12", "5", "11"),
    ("减少做报表的时间", "每周报表耗时（小时）", "20", "5", "12", "4"),
    ("用户真正用起来", "周活跃用户 / 席位", "0%", "70%", "38%", "74%"),
]
ACHIEVED_EN = [
    "Kickoff held with the COO; goals and plan signed off; the project group is active and minutes were confirmed.",
    "All in-scope processes documented and signed off by the department heads; two exceptions agreed.",
    "UAT passed with no blocking findings; sample data ran through every process.",
    "Went live on schedule; 85% of key users trained; first month-end closed in the system.",
]
ACHIEVED_ZH = [
    "与运营副总召开启动会，目标与计划已确认；项目群已建立，会议纪要已获客户确认。",
    "范围内的流程全部梳理完毕并经各部门负责人签字确认，两处例外已达成一致。",
    "UAT 通过，无阻断性问题；样例数据跑通全部流程。",
    "按计划上线；85% 的关键用户完成培训；首次月结在系统内完成。",
]


def load(builder) -> dict:
    rng = random.Random(builder.rng.random())
    today = builder.today
    path = SuccessPath.objects.filter(name=FIRST_PROJECT).first()
    if path is None:
        return {"success_plans": 0}
    accounts = Account.objects.in_bulk([p.pk for p in builder.plans])
    plans = []
    for plan in builder.plans:
        account = accounts[plan.pk]
        if account.csm_id is None or account.lifecycle_stage not in (S.KICKOFF, S.ONBOARDING, S.ADOPTION):
            continue
        start = plan.accepted_on or timezone.localtime(account.created_at).date() + dt.timedelta(days=3)
        if account.lifecycle_stage == S.ADOPTION and (today - start).days > 240:
            continue  # the first project of long-standing customers is history, not a plan
        started, created = plan_start(account=account, path=path, start=min(start, today), by=account.csm)
        if not created:  # started when the handover was accepted, which the demo dated back
            _redate(started, min(start, today))
        plans.append((started, account, plan))
    goals = _goals(rng, plans)
    stages = _progress(rng, today, plans)
    _goal_progress(goals, stages)
    return {"success_plans": len(plans)}


def _redate(plan: SuccessPlan, start: dt.date) -> None:
    """Move a plan (its steps and their tasks) to start on `start`."""
    if plan.started_on == start:
        return
    SuccessPlan.objects.filter(pk=plan.pk).update(started_on=start)
    plan.started_on = start
    steps = list(PlanStep.objects.filter(stage__plan=plan).select_related("source"))
    for step in steps:
        step.due_date = start + dt.timedelta(days=step.source.due_offset_days if step.source else 0)
    PlanStep.objects.bulk_update(steps, ["due_date"])
    due = {step.pk: step.due_date for step in steps}
    tasks = list(Task.objects.filter(plan_step__in=steps))
    for task in tasks:
        task.due_date = due[task.plan_step_id]
    Task.objects.bulk_update(tasks, ["due_date"])
    done = [s for s in steps if s.completed_on]
    for step in done:
        step.completed_on = min(max(step.completed_on, start), step.due_date)
    PlanStep.objects.bulk_update(done, ["completed_on"])


def builder_time(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(17, 30), tzinfo=timezone.get_current_timezone())


def _goals(rng, plans) -> None:
    goals = []
    for plan, _account, demo_plan in plans:
        chinese = demo_plan.name[0] > "\u2e80"
        for order, (description, metric, baseline, target, midway, final) in enumerate(
            rng.sample(GOALS_ZH if chinese else GOALS_EN, rng.randint(2, 3))
        ):
            goal = PlanGoal(plan=plan, description=description, metric=metric, baseline=baseline, target=target,
                            order=order)  # fmt: skip
            goal.demo_values = (midway, final)
            goals.append(goal)
    PlanGoal.objects.bulk_create(goals, batch_size=1000)
    return goals


def _goal_progress(goals, stages) -> None:
    """Where each goal stands now: unmeasured before the system process is validated,
    half-way after that, and at the end value (achieved unless it fell short of the
    target) once the plan is complete."""
    closed: dict[int, int] = {}
    total: dict[int, int] = {}
    for stage in stages:
        total[stage.plan_id] = total.get(stage.plan_id, 0) + 1
        closed[stage.plan_id] = closed.get(stage.plan_id, 0) + (1 if stage.completed_on else 0)
    changed = []
    for goal in goals:
        done, of = closed.get(goal.plan_id, 0), total.get(goal.plan_id, 0)
        midway, final = goal.demo_values
        if of and done == of:
            goal.current = final
            goal.achieved = final == goal.target or goal.description in (GOALS_EN[1][0], GOALS_ZH[1][0],
                                                                          GOALS_EN[4][0], GOALS_ZH[4][0],
                                                                          GOALS_EN[3][0], GOALS_ZH[3][0])  # fmt: skip
        elif done >= 2:
            goal.current = midway
        else:
            continue
        changed.append(goal)
    PlanGoal.objects.bulk_update(changed, ["current", "achieved"], batch_size=1000)


def _progress(rng, today, plans) -> None:
    """Steps due a while ago are done (a few days either side of their due date); the
    neglected accounts let some slip; finished stages get their report."""
    plan_ids = [plan.pk for plan, _a, _p in plans]
    steps = list(PlanStep.objects.filter(stage__plan_id__in=plan_ids).select_related("stage").order_by("pk"))
    by_plan = {plan.pk: (account, demo_plan) for plan, account, demo_plan in plans}
    done_steps, task_done = [], []
    for step in steps:
        account, demo_plan = by_plan[step.stage.plan_id]
        slack = rng.randint(-3, 4)
        if step.due_date + dt.timedelta(days=max(slack, 0)) < today:
            if demo_plan.neglected and rng.random() < 0.5:
                continue  # overdue: shows red on the plan and in My work
            step.status = PlanStep.Status.DONE
            step.completed_on = min(today - dt.timedelta(days=1), step.due_date + dt.timedelta(days=slack))
            step.completed_by_id = account.csm_id
            done_steps.append(step)
            task_done.append(step.pk)
        elif step.due_date <= today + dt.timedelta(days=7) and rng.random() < 0.4:
            step.status = PlanStep.Status.IN_PROGRESS
            done_steps.append(step)
    PlanStep.objects.bulk_update(done_steps, ["status", "completed_on", "completed_by"], batch_size=1000)
    done_on = {step.pk: step.completed_on for step in done_steps if step.completed_on}
    tasks = list(Task.objects.filter(plan_step_id__in=task_done))
    for task in tasks:
        task.status = Task.Status.DONE
        task.completed_at = builder_time(done_on[task.plan_step_id])
    Task.objects.bulk_update(tasks, ["status", "completed_at"], batch_size=1000)

    stages = list(PlanStage.objects.filter(plan_id__in=plan_ids).prefetch_related("steps").order_by("plan", "order"))
    finished, reports = [], []
    for stage in stages:
        closed = [s for s in stage.steps.all() if s.status == PlanStep.Status.DONE]
        if closed and len(closed) == len(stage.steps.all()):
            stage.completed_on = max(s.completed_on for s in closed)
            finished.append(stage)
            account, demo_plan = by_plan[stage.plan_id]
            chinese = demo_plan.name[0] > "\u2e80"
            texts = ACHIEVED_ZH if chinese else ACHIEVED_EN
            reports.append(
                StageReport(
                    stage=stage,
                    period_start=min(s.due_date for s in stage.steps.all()) - dt.timedelta(days=7),
                    period_end=stage.completed_on,
                    achievements=texts[min(stage.order, len(texts) - 1)],
                    next_steps="",
                    created_by_id=account.csm_id,
                    sent_on=stage.completed_on + dt.timedelta(days=rng.randint(1, 4)),
                )
            )
    PlanStage.objects.bulk_update(finished, ["completed_on"], batch_size=1000)
    StageReport.objects.bulk_create(reports, batch_size=1000)
    complete = [plan.pk for plan, _a, _p in plans if all(s.completed_on for s in stages if s.plan_id == plan.pk)]
    SuccessPlan.objects.filter(pk__in=complete).update(status=SuccessPlan.Status.COMPLETED)
    return stages
