"""Success plans (issue 5): a plan per account started from a path, progress, overdue
steps, stage completion, stage reports (page and PDF), the API and who may do what."""

import datetime as dt
import re
import zlib
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import NoReverseMatch
from django.utils import timezone

from health.models import UsageDaily
from people.models import User
from playbooks.models import PathStage, PathStep, PlanStep, StageReport, SuccessPath, SuccessPlan, Task
from playbooks.selectors.plans import account_plans, stage_report_data
from playbooks.services.plans import (
    plan_cancel,
    plan_goal_add,
    plan_goal_update,
    plan_start,
    plan_step_set_status,
    plan_step_update,
    stage_report_create,
)
from tests.conftest import api_as
from tests.factories import AccountFactory, ActivityFactory, UserFactory

pytestmark = pytest.mark.django_db

START = dt.date(2026, 3, 2)


def make_path(stages, *, name="Onboarding path", version=1) -> SuccessPath:
    """stages: [("Stage", [("Step", role, offset), ...]), ...]"""
    path = SuccessPath.objects.create(name=name, version=version)
    for i, (stage_name, steps) in enumerate(stages):
        stage = PathStage.objects.create(path=path, order=i, name=stage_name)
        for j, (title, role, offset) in enumerate(steps):
            PathStep.objects.create(
                stage=stage, order=j, title=title, owner_role=role, due_offset_days=offset, guidance=f"How: {title}"
            )
    return path


def small_path(**kwargs) -> SuccessPath:
    return make_path(
        [
            ("Start", [("Kickoff", "csm", 5), ("Hand the deal over", "sales", 2)]),
            ("Configure", [("Workshop", "csm", 14), ("UAT", "customer", 30)]),
        ],
        **kwargs,
    )


def steps_of(plan):
    return list(PlanStep.objects.filter(stage__plan=plan).order_by("stage__order", "order"))


@pytest.fixture
def account(csm, sales):
    return AccountFactory(name="Own Co", csm=csm, sales_owner=sales)


@pytest.fixture
def plan(account, csm):
    return plan_start(account=account, path=small_path(), start=START, by=csm)[0]


def close_stage(plan, index: int, by) -> None:
    for step in steps_of(plan):
        if step.stage.order == index:
            plan_step_set_status(step=step, status="done", by=by)


# ------------------------------------------------------------------ starting a plan


def test_starting_a_path_copies_its_steps_with_due_dates_and_owners(account, csm, sales):
    plan, created = plan_start(account=account, path=small_path(), start=START, by=csm)
    assert created and plan.name == "Onboarding path" and plan.path_version == 1 and plan.started_on == START
    assert [s.name for s in plan.stages.order_by("order")] == ["Start", "Configure"]
    assert [(s.title, s.due_date, s.owner, s.owner_role, s.status) for s in steps_of(plan)] == [
        ("Kickoff", dt.date(2026, 3, 7), csm, "csm", "todo"),
        ("Hand the deal over", dt.date(2026, 3, 4), sales, "sales", "todo"),
        ("Workshop", dt.date(2026, 3, 16), csm, "csm", "todo"),
        ("UAT", dt.date(2026, 4, 1), None, "customer", "todo"),
    ]  # fmt: skip
    assert steps_of(plan)[0].guidance == "How: Kickoff" and steps_of(plan)[0].source.title == "Kickoff"
    # One task per step a person owns, linked to its step; the customer's step has none.
    tasks = Task.objects.order_by("due_date")
    assert [(t.title, t.owner, t.due_date, t.source) for t in tasks] == [
        ("Hand the deal over", sales, dt.date(2026, 3, 4), "success_plan"),
        ("Kickoff", csm, dt.date(2026, 3, 7), "success_plan"),
        ("Workshop", csm, dt.date(2026, 3, 16), "success_plan"),
    ]  # fmt: skip
    assert all(t.plan_step.title == t.title and t.account == account for t in tasks)


def test_retired_stages_and_steps_are_not_copied(account, csm):
    path = small_path()
    PathStep.objects.filter(title="Workshop").update(is_retired=True)
    retired = PathStage.objects.create(path=path, order=9, name="Old stage", is_retired=True)
    PathStep.objects.create(stage=retired, title="Old step", due_offset_days=1)
    plan, _ = plan_start(account=account, path=path, start=START, by=csm)
    assert [s.title for s in steps_of(plan)] == ["Kickoff", "Hand the deal over", "UAT"]
    assert list(plan.stages.values_list("name", flat=True)) == ["Start", "Configure"]


def test_editing_the_path_afterwards_does_not_change_a_running_plan(plan):
    path = plan.path
    PathStep.objects.filter(title="Kickoff").update(title="Kickoff meeting", due_offset_days=40)
    PathStep.objects.create(stage=path.stages.first(), title="New step", due_offset_days=3)
    path.version = 2
    path.save()
    plan.refresh_from_db()
    assert plan.path_version == 1
    assert [(s.title, s.due_date) for s in steps_of(plan)][:2] == [
        ("Kickoff", dt.date(2026, 3, 7)), ("Hand the deal over", dt.date(2026, 3, 4)),
    ]  # fmt: skip
    assert len(steps_of(plan)) == 4


def test_starting_the_same_path_twice_gives_one_plan_and_one_set_of_tasks(account, csm):
    path = small_path()
    first, created = plan_start(account=account, path=path, start=START, by=csm)
    again, created_again = plan_start(account=account, path=path, start=START + dt.timedelta(days=3), by=csm)
    assert created and not created_again and again.pk == first.pk
    assert SuccessPlan.objects.count() == 1 and PlanStep.objects.count() == 4 and Task.objects.count() == 3


def test_a_plan_started_by_a_concurrent_request_is_returned(account, csm):
    """The unique constraint decides a race: the loser gets the winner's plan."""
    path = small_path()
    winner = {}

    def other_request_first(self, *args, **kwargs):
        if not winner:
            winner["plan"] = SuccessPlan.objects.create(account=account, path=path, name="x", started_on=START)

    with mock.patch.object(SuccessPlan, "full_clean", other_request_first):
        plan, created = plan_start(account=account, path=path, start=START, by=csm)
    assert not created and plan.pk == winner["plan"].pk
    assert SuccessPlan.objects.count() == 1 and Task.objects.count() == 0


def test_a_cancelled_plan_can_be_started_again(plan, csm):
    plan_cancel(plan=plan, by=csm)
    assert set(Task.objects.values_list("status", flat=True)) == {"cancelled"}
    again, created = plan_start(account=plan.account, path=plan.path, start=START, by=csm)
    assert created and again.pk != plan.pk


def test_an_inactive_or_empty_path_cannot_be_started(account, csm):
    path = small_path()
    path.is_active = False
    path.save()
    with pytest.raises(ValidationError):
        plan_start(account=account, path=path, start=START, by=csm)
    with pytest.raises(ValidationError):
        plan_start(account=account, path=SuccessPath.objects.create(name="Empty"), start=START, by=csm)


def test_the_builtin_first_project_path_starts_with_four_stages(account, csm):
    path = SuccessPath.objects.get(is_builtin=True)
    plan, _ = plan_start(account=account, path=path, start=START, by=csm)
    assert plan.stages.count() == 4 and PlanStep.objects.filter(stage__plan=plan).count() == 12
    assert PlanStep.objects.filter(stage__plan=plan, owner_role="customer").get().owner is None


# ------------------------------------------------------------------ progress and stages


def test_progress_per_stage_and_overall_and_overdue_steps(plan, csm, client):
    kickoff, handover, workshop, uat = steps_of(plan)
    plan_step_set_status(step=kickoff, status="done", by=csm)
    plan_step_set_status(step=workshop, status="in_progress", by=csm)
    today = dt.date(2026, 3, 20)  # Workshop (16th) is late; UAT (April) is not; Kickoff is done
    [p] = account_plans(user=csm, account=plan.account, today=today)
    assert [(s.steps_closed, s.steps_total, s.percent) for s in p.stage_list] == [(1, 2, 50), (0, 2, 0)]
    assert (p.steps_closed, p.steps_total, p.percent) == (1, 4, 25)
    assert [s.title for s in p.overdue_steps] == ["Hand the deal over", "Workshop"]
    assert p.current_step.title == "Hand the deal over" and p.current_stage.name == "Start"
    plan_step_set_status(step=handover, status="skipped", by=csm)
    [p] = account_plans(user=csm, account=plan.account, today=today)
    assert p.percent == 50 and p.current_step.title == "Workshop" and p.current_stage.name == "Configure"


def test_closing_every_step_completes_the_stage_and_reopening_clears_it(plan, csm):
    kickoff, handover, *_ = steps_of(plan)
    plan_step_set_status(step=kickoff, status="done", by=csm)
    assert plan.stages.get(order=0).completed_on is None
    plan_step_set_status(step=handover, status="skipped", by=csm)
    stage = plan.stages.get(order=0)
    assert stage.completed_on == timezone.localdate()
    kickoff.refresh_from_db()
    assert kickoff.completed_on == timezone.localdate() and kickoff.completed_by == csm
    assert dict(Task.objects.filter(plan_step__in=[kickoff, handover]).values_list("title", "status")) == {
        "Kickoff": "done", "Hand the deal over": "cancelled",
    }  # fmt: skip

    plan_step_set_status(step=kickoff, status="in_progress", by=csm)
    assert plan.stages.get(order=0).completed_on is None
    kickoff.refresh_from_db()
    assert kickoff.completed_on is None and kickoff.completed_by is None
    assert Task.objects.get(plan_step=kickoff).status == "open"


def test_closing_the_last_stage_completes_the_plan(plan, csm):
    for step in steps_of(plan):
        plan_step_set_status(step=step, status="done", by=csm)
    plan.refresh_from_db()
    assert plan.status == "completed"
    plan_step_set_status(step=steps_of(plan)[-1], status="todo", by=csm)
    plan.refresh_from_db()
    assert plan.status == "active"


def test_an_invalid_status_is_refused(plan, csm):
    with pytest.raises(ValidationError):
        plan_step_set_status(step=steps_of(plan)[0], status="finished", by=csm)


def test_changing_a_steps_owner_and_date_moves_its_task(plan, csm, teammate):
    kickoff, *_, uat = steps_of(plan)
    plan_step_update(step=kickoff, by=csm, owner=teammate, due_date=dt.date(2026, 3, 9))
    task = Task.objects.get(plan_step=kickoff)
    assert (task.owner, task.due_date) == (teammate, dt.date(2026, 3, 9))
    plan_step_update(step=uat, by=csm, owner=csm)  # the customer's step gets a task once someone owns it
    assert Task.objects.get(plan_step=uat).owner == csm
    plan_step_update(step=uat, by=csm, owner=None)
    assert Task.objects.get(plan_step=uat).status == "cancelled"


def test_a_step_cannot_go_to_someone_who_cannot_see_the_account(plan, csm, other_csm):
    with pytest.raises(ValidationError):
        plan_step_update(step=steps_of(plan)[0], by=csm, owner=other_csm)


def test_goals_are_added_and_updated(plan, csm):
    goal = plan_goal_add(plan=plan, by=csm, data={"description": "Orders run in the system", "target": "90%"})
    second = plan_goal_add(plan=plan, by=csm, data={"description": "Fewer manual reports"})
    assert (goal.order, second.order) == (0, 1)
    plan_goal_update(goal=goal, by=csm, data={"current": "92%", "achieved": True})
    goal.refresh_from_db()
    assert goal.current == "92%" and goal.achieved
    with pytest.raises(ValidationError):
        plan_goal_add(plan=plan, by=csm, data={"description": ""})


# ------------------------------------------------------------------ stage report


def test_a_stage_report_needs_a_completed_stage_and_is_one_per_stage(plan, csm):
    stage = plan.stages.get(order=0)
    with pytest.raises(ValidationError):
        stage_report_create(stage=stage, by=csm, achievements="x", next_steps="")
    close_stage(plan, 0, csm)
    stage.refresh_from_db()
    report, created = stage_report_create(stage=stage, by=csm, achievements="Kickoff held", next_steps="Workshops")
    again, created_again = stage_report_create(
        stage=stage, by=csm, achievements="Kickoff held, minutes sent", next_steps=""
    )
    assert created and not created_again and again.pk == report.pk
    assert StageReport.objects.get().achievements == "Kickoff held, minutes sent"
    assert (report.period_start, report.period_end) == (START, timezone.localdate())


def test_stage_report_shows_goals_activities_and_usage_in_the_period(plan, csm):
    account = plan.account
    plan_goal_add(plan=plan, by=csm, data={"description": "Go live", "target": "June", "achieved": True})
    plan_goal_add(plan=plan, by=csm, data={"description": "100 active users", "target": "100", "current": "40"})
    today = timezone.localdate()
    plan.started_on = today - dt.timedelta(days=10)
    plan.save()
    at = timezone.now()
    ActivityFactory(account=account, kind="meeting", occurred_at=at - dt.timedelta(days=2))
    ActivityFactory(account=account, kind="meeting", occurred_at=at - dt.timedelta(days=1))
    ActivityFactory(account=account, kind="training", occurred_at=at)
    ActivityFactory(account=account, kind="call", occurred_at=at - dt.timedelta(days=30))  # before the period
    for days, users in [(1, 5), (2, 8), (40, 50)]:
        UsageDaily.objects.create(
            account=account, day=today - dt.timedelta(days=days), event_type="login", events=10, distinct_users=users
        )
    close_stage(plan, 0, csm)
    stage = plan.stages.get(order=0)
    stage_report_create(stage=stage, by=csm, achievements="Kickoff held", next_steps="Workshops next")
    stage.refresh_from_db()
    data = stage_report_data(stage=stage)
    assert (data["period_start"], data["period_end"]) == (today - dt.timedelta(days=10), today)
    assert [g.description for g in data["goals"]] == ["Go live", "100 active users"] and data["goals_achieved"] == 1
    assert [(r["kind"], r["count"]) for r in data["activities_by_kind"]] == [("meeting", 2), ("training", 1)]
    assert data["usage"] == [{"event_type": "login", "events": 20, "users": 8, "days": 2}]
    assert data["next_stage"].name == "Configure" and [s.title for s in data["next_stage_steps"]] == ["Workshop", "UAT"]


def test_stage_report_tolerates_no_usage_and_no_goals(plan, csm):
    close_stage(plan, 1, csm)
    stage = plan.stages.get(order=1)
    data = stage_report_data(stage=stage)
    assert data["usage"] == [] and data["goals"] == [] and data["next_stage"] is None


def test_stage_report_page_form_then_printable_page_and_pdf(client, plan, csm):
    plan_goal_add(plan=plan, by=csm, data={"description": "Orders run in the system", "target": "90%"})
    close_stage(plan, 0, csm)
    stage = plan.stages.get(order=0)
    client.force_login(csm)
    url = f"/playbooks/plans/stages/{stage.pk}/report/"
    page = client.get(url).content.decode()
    assert 'name="achievements"' in page and "Orders run in the system" in page
    response = client.post(url, {"achievements": "Kickoff held with the CIO", "next_steps": "Workshops"})
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "Kickoff held with the CIO" in page and "report.pdf" in page and "@media print" in page
    pdf = client.get(f"/playbooks/plans/stages/{stage.pk}/report.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 5000


def _pdf_objects(pdf: bytes) -> bytes:
    """The PDF's objects with their compressed streams inflated (fonts are named inside)."""
    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        try:
            parts.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    return b"".join(parts)


def test_stage_report_pdf_renders_chinese(client, plan, csm):
    close_stage(plan, 0, csm)
    stage = plan.stages.get(order=0)
    stage_report_create(stage=stage, by=csm, achievements="项目启动会已召开", next_steps="业务流程确认")
    client.force_login(csm)
    client.cookies["django_language"] = "zh-hans"
    html = client.get(f"/playbooks/plans/stages/{stage.pk}/report/").content.decode()
    assert "项目启动会已召开" in html
    pdf = client.get(f"/playbooks/plans/stages/{stage.pk}/report.pdf")
    assert pdf.content.startswith(b"%PDF") and re.search(rb"Noto-?Sans-?CJK", _pdf_objects(pdf.content))


def test_a_stage_report_of_an_open_stage_redirects_to_the_plan(client, plan, csm):
    client.force_login(csm)
    stage = plan.stages.get(order=0)
    assert client.get(f"/playbooks/plans/stages/{stage.pk}/report/").status_code == 302
    assert client.get(f"/playbooks/plans/stages/{stage.pk}/report.pdf").status_code == 404


# ------------------------------------------------------------------ pages


def test_panel_offers_to_start_a_plan_and_starts_it(client, account, csm):
    path = small_path()
    client.force_login(csm)
    html = client.get(f"/playbooks/account/{account.pk}/plan/").content.decode()
    assert "Start a success plan" in html and f'value="{path.pk}"' in html
    response = client.post(
        f"/playbooks/account/{account.pk}/plan/start/",
        {"plan-path": path.pk, "plan-started_on": "2026-03-02"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200 and "Kickoff" in html and 'data-testid="plan-progress">0<' in html
    assert SuccessPlan.objects.get().started_on == START


def test_account_page_has_the_success_plan_slot(client, account, csm):
    client.force_login(csm)
    html = client.get(f"/accounts/{account.pk}/").content.decode()
    assert f'hx-get="/playbooks/account/{account.pk}/plan/"' in html


def test_quick_status_change_returns_the_plan_with_new_progress(client, plan, csm):
    kickoff = steps_of(plan)[0]
    client.force_login(csm)
    response = client.post(
        f"/playbooks/plans/steps/{kickoff.pk}/status/", {"status": "done", "view": "panel"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert f'id="plan-{plan.pk}"' in html and 'data-testid="plan-progress">25<' in html
    assert 'data-testid="stage-progress">50<' in html


def test_overdue_steps_are_highlighted(client, account, csm):
    plan, _ = plan_start(account=account, path=small_path(), start=timezone.localdate() - dt.timedelta(days=10), by=csm)
    client.force_login(csm)
    html = client.get(f"/playbooks/plans/{plan.pk}/").content.decode()
    assert html.count(' step-overdue"') == 2 and "2 steps overdue" in html


def test_goals_are_added_and_edited_over_htmx(client, plan, csm):
    client.force_login(csm)
    prefix = f"goal{plan.pk}"
    response = client.post(
        f"/playbooks/plans/{plan.pk}/goals/add/",
        {f"{prefix}-description": "Orders run in the system", f"{prefix}-target": "90%"},
        HTTP_HX_REQUEST="true",
    )
    assert "Orders run in the system" in response.content.decode()
    goal = plan.goals.get()
    form = client.get(f"/playbooks/plans/goals/{goal.pk}/edit/").content.decode()
    assert f'name="g{goal.pk}-description"' in form
    client.post(
        f"/playbooks/plans/goals/{goal.pk}/edit/",
        {
            f"g{goal.pk}-description": "Orders run in the system",
            f"g{goal.pk}-current": "95%",
            f"g{goal.pk}-achieved": "on",
        },
        HTTP_HX_REQUEST="true",
    )
    goal.refresh_from_db()
    assert goal.current == "95%" and goal.achieved
    bad = client.post(f"/playbooks/plans/{plan.pk}/goals/add/", {f"{prefix}-description": ""}, HTTP_HX_REQUEST="true")
    assert bad["HX-Retarget"] == f"#goal-form-{plan.pk}-new" and plan.goals.count() == 1


def test_step_owner_and_date_are_changed_on_the_plan_page(client, plan, csm, teammate):
    kickoff = steps_of(plan)[0]
    client.force_login(csm)
    form = client.get(f"/playbooks/plans/steps/{kickoff.pk}/edit/?view=page").content.decode()
    assert f'value="{teammate.pk}"' in form
    client.post(
        f"/playbooks/plans/steps/{kickoff.pk}/edit/",
        {f"step{kickoff.pk}-owner": teammate.pk, f"step{kickoff.pk}-due_date": "2026-03-20", "view": "page"},
        HTTP_HX_REQUEST="true",
    )
    kickoff.refresh_from_db()
    assert (kickoff.owner, kickoff.due_date) == (teammate, dt.date(2026, 3, 20))


def test_know_how_slot_appears_for_the_current_step_when_the_page_exists(client, plan, csm):
    client.force_login(csm)
    url = f"/playbooks/account/{plan.account_id}/plan/"
    with mock.patch("playbooks.views.plans.reverse", return_value="/playbooks/know-how/step/7/"):
        assert 'hx-get="/playbooks/know-how/step/7/"' in client.get(url).content.decode()
    with mock.patch("playbooks.views.plans.reverse", side_effect=NoReverseMatch):
        assert "know-how-slot" not in client.get(url).content.decode()


# ------------------------------------------------------------------ permissions


def test_csm_of_another_team_gets_404_everywhere(client, plan, csm, other_csm):
    close_stage(plan, 0, csm)
    stage = plan.stages.get(order=0)
    stage_report_create(stage=stage, by=csm, achievements="x", next_steps="")
    step = steps_of(plan)[2]
    goal = plan_goal_add(plan=plan, by=csm, data={"description": "Go live"})
    client.force_login(other_csm)
    for url in [
        f"/playbooks/account/{plan.account_id}/plan/",
        f"/playbooks/plans/{plan.pk}/",
        f"/playbooks/plans/stages/{stage.pk}/report/",
        f"/playbooks/plans/stages/{stage.pk}/report.pdf",
        f"/playbooks/plans/steps/{step.pk}/edit/",
        f"/playbooks/plans/goals/{goal.pk}/edit/",
    ]:
        assert client.get(url).status_code == 404, url
    for url in [
        f"/playbooks/account/{plan.account_id}/plan/start/",
        f"/playbooks/plans/steps/{step.pk}/status/",
        f"/playbooks/plans/{plan.pk}/goals/add/",
        f"/playbooks/plans/{plan.pk}/cancel/",
    ]:
        assert client.post(url, {"status": "done"}).status_code == 404, url
    api = api_as(other_csm)
    assert api.get("/api/v1/success-plans/").json()["count"] == 0
    assert api.get(f"/api/v1/success-plans/{plan.pk}/").status_code == 404
    assert api.get("/api/v1/plan-steps/").json()["count"] == 0
    assert api.patch(f"/api/v1/plan-steps/{step.pk}/", {"status": "done"}, format="json").status_code == 404
    response = api.post("/api/v1/success-plans/", {"account": plan.account_id, "path": plan.path_id}, format="json")
    assert response.status_code == 404
    with pytest.raises(PermissionDenied):
        plan_step_set_status(step=step, status="done", by=other_csm)
    assert PlanStep.objects.get(pk=step.pk).status == "todo"


def test_sales_read_the_plan_but_cannot_change_it(client, plan, sales):
    step = steps_of(plan)[0]
    client.force_login(sales)
    html = client.get(f"/playbooks/account/{plan.account_id}/plan/").content.decode()
    assert "Kickoff" in html and 'name="status"' not in html and "Start a success plan" not in html
    assert client.get(f"/playbooks/plans/{plan.pk}/").status_code == 200
    assert client.post(f"/playbooks/plans/steps/{step.pk}/status/", {"status": "done"}).status_code == 403
    api = api_as(sales)
    assert api.get(f"/api/v1/success-plans/{plan.pk}/").status_code == 200
    assert api.patch(f"/api/v1/plan-steps/{step.pk}/", {"status": "done"}, format="json").status_code == 403
    response = api.post("/api/v1/success-plans/", {"account": plan.account_id, "path": plan.path_id}, format="json")
    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        plan_goal_add(plan=plan, by=sales, data={"description": "x"})
    assert PlanStep.objects.get(pk=step.pk).status == "todo"


def test_a_teammate_may_work_on_the_plan(plan, teammate):
    plan_step_set_status(step=steps_of(plan)[0], status="done", by=teammate)
    assert PlanStep.objects.filter(status="done").count() == 1


# ------------------------------------------------------------------ API


def test_api_starts_a_plan_idempotently(account, csm):
    path = small_path()
    api = api_as(csm)
    body = {"account": account.pk, "path": path.pk, "started_on": "2026-03-02"}
    first = api.post("/api/v1/success-plans/", body, format="json")
    assert first.status_code == 201, first.content
    data = first.json()
    assert data["percent"] == 0 and data["steps_total"] == 4 and len(data["stages"]) == 2
    assert data["stages"][0]["steps"][0]["title"] == "Kickoff" and data["stages"][0]["steps"][0]["owner"] == "csm.li"
    again = api.post("/api/v1/success-plans/", body, format="json")
    assert again.status_code == 200 and again.json()["id"] == data["id"]
    assert SuccessPlan.objects.count() == 1 and Task.objects.count() == 3
    bad = api.post("/api/v1/success-plans/", {"account": account.pk, "path": 999999}, format="json")
    assert bad.status_code == 400 and "path" in bad.json()


def test_api_plan_detail_has_stages_steps_goals_and_progress(plan, csm):
    plan_goal_add(plan=plan, by=csm, data={"description": "Go live"})
    plan_step_set_status(step=steps_of(plan)[0], status="done", by=csm)
    data = api_as(csm).get(f"/api/v1/success-plans/{plan.pk}/").json()
    assert data["percent"] == 25 and data["steps_closed"] == 1 and data["goals"][0]["description"] == "Go live"
    assert [s["percent"] for s in data["stages"]] == [50, 0]
    assert data["current_step"] == steps_of(plan)[1].pk


def test_api_filters_steps_and_patches_them(plan, csm, teammate):
    api = api_as(csm)
    kickoff, handover, workshop, uat = steps_of(plan)
    assert api.get(f"/api/v1/plan-steps/?plan={plan.pk}").json()["count"] == 4
    assert api.get("/api/v1/plan-steps/?plan=999999").json()["count"] == 0
    with mock.patch("django.utils.timezone.localdate", return_value=dt.date(2026, 3, 20)):
        overdue = api.get(f"/api/v1/plan-steps/?plan={plan.pk}&overdue=true").json()
    assert [s["title"] for s in overdue["results"]] == ["Kickoff", "Hand the deal over", "Workshop"]
    response = api.patch(
        f"/api/v1/plan-steps/{kickoff.pk}/",
        {"status": "done", "owner": "csm.wang", "due_date": "2026-03-09"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["owner"], response.json()["due_date"]) == (
        "done", "csm.wang", "2026-03-09",
    )  # fmt: skip
    assert api.get(f"/api/v1/plan-steps/?plan={plan.pk}&status=done").json()["count"] == 1
    assert api.patch(f"/api/v1/plan-steps/{kickoff.pk}/", {"status": "finished"}, format="json").status_code == 400
    assert api.patch(f"/api/v1/plan-steps/{kickoff.pk}/", {"owner": "nobody"}, format="json").status_code == 400
    assert api.put(f"/api/v1/plan-steps/{kickoff.pk}/", {}, format="json").status_code == 405


# ------------------------------------------------------------------ query counts


def _plan_of_size(account, csm, size: int) -> SuccessPlan:
    name = f"Path {SuccessPath.objects.count()}"
    steps = [(f"Step {i}", "csm" if i % 2 else "sales", i) for i in range(size)]
    path = make_path([("One", steps[: size // 2]), ("Two", steps[size // 2 :])], name=name)
    plan, _ = plan_start(account=account, path=path, start=START, by=csm)
    for i in range(size):
        plan_goal_add(plan=plan, by=csm, data={"description": f"Goal {i}"})
    return plan


@pytest.mark.parametrize("size", [2, 10])
def test_plan_pages_query_count(client, account, csm, size, django_assert_max_num_queries, query_budget):
    plan = _plan_of_size(account, csm, size)
    _plan_of_size(account, csm, size)  # a second active plan on the panel
    client.force_login(csm)
    with django_assert_max_num_queries(query_budget("playbooks:plan_panel")):
        assert (
            client.get(f"/playbooks/account/{account.pk}/plan/").content.decode().count('data-testid="step"')
            == 2 * size
        )
    with django_assert_max_num_queries(query_budget("playbooks:plan_detail")):
        assert client.get(f"/playbooks/plans/{plan.pk}/").content.decode().count('data-testid="step"') == size
    for step in PlanStep.objects.filter(stage__plan=plan, stage__order=0):
        plan_step_set_status(step=step, status="done", by=csm)
    stage = plan.stages.get(order=0)
    stage_report_create(stage=stage, by=csm, achievements="x", next_steps="y")
    with django_assert_max_num_queries(query_budget("playbooks:stage_report")):
        assert client.get(f"/playbooks/plans/stages/{stage.pk}/report/").status_code == 200


@pytest.mark.parametrize("size", [2, 10])
def test_plan_api_query_count(account, csm, size, django_assert_max_num_queries, query_budget):
    for _ in range(3):
        other = AccountFactory(csm=csm)
        _plan_of_size(other, csm, size)
    api = api_as(csm)
    with django_assert_max_num_queries(query_budget("api:success_plans")):
        assert api.get("/api/v1/success-plans/").json()["count"] == 3
    with django_assert_max_num_queries(query_budget("api:plan_steps")):
        assert api.get("/api/v1/plan-steps/?overdue=true").json()["count"] == 3 * size


def test_admin_sees_every_plan(plan):
    admin = UserFactory(username="root", role=User.Role.ADMIN, team=None, is_superuser=True)
    assert api_as(admin).get("/api/v1/success-plans/").json()["count"] == 1
