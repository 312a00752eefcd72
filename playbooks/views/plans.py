"""Success plan pages: the plan slot of the account page, the plan page, quick status
changes, goals, and the stage report (a printable page and a PDF).

The account page loads the panel with HTMX from `playbooks:plan_panel`; writes answer
with the re-rendered plan block (`_plan_body.html`), so the progress bars follow."""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.selectors import account_get
from cs_platform.access import can_change
from cs_platform.pages import add_service_errors, is_htmx, pdf_response

from ..models import PlanGoal, PlanStep, SuccessPlan
from ..selectors import plans as selectors
from ..services import plans as services

User = get_user_model()

# ------------------------------------------------------------------ forms


class PlanStartForm(forms.Form):
    path = forms.ModelChoiceField(label=gettext_lazy("Success path"), queryset=selectors.active_paths())
    started_on = forms.DateField(
        label=gettext_lazy("Start date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )


class GoalForm(forms.ModelForm):
    class Meta:
        model = PlanGoal
        fields = ["description", "metric", "baseline", "target", "current", "achieved"]


class StepEditForm(forms.Form):
    owner = forms.ModelChoiceField(label=gettext_lazy("Owner"), queryset=User.objects.none(), required=False)
    due_date = forms.DateField(
        label=gettext_lazy("Due date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        people = Q(pk__in=[pk for pk in (account.csm_id, account.sales_owner_id) if pk])
        if account.team_id:
            people |= Q(team_id=account.team_id)
        self.fields["owner"].queryset = (
            User.objects.filter(people, is_active=True)
            .exclude(role=User.Role.INTEGRATION)
            .order_by("first_name", "last_name", "username")
        )


class StageReportForm(forms.Form):
    achievements = forms.CharField(
        label=gettext_lazy("What was achieved"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("Against the goals: what the customer can do now that it could not before."),
    )
    next_steps = forms.CharField(
        label=gettext_lazy("Next stage"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text=gettext_lazy("What happens next, and what we need from the customer."),
    )


# ------------------------------------------------------------------ helpers


def _know_how_url(step) -> str | None:
    """The know-how fragment of the step's path step, when that page exists."""
    if step is None or step.source_id is None:
        return None
    try:
        return reverse("playbooks:know_how_for_step", args=[step.source_id])
    except NoReverseMatch:
        return None


def _plan_context(request, plan: SuccessPlan, *, full: bool, writable: bool | None = None) -> dict:
    if writable is None:
        writable = can_change(request.user, plan.account)
    plan.know_how_url = _know_how_url(plan.current_step) if plan.status == SuccessPlan.Status.ACTIVE else None
    return {
        "plan": plan,
        "account": plan.account,
        "can_change": writable and plan.status != SuccessPlan.Status.CANCELLED,
        "full": full,
        "statuses": PlanStep.Status.choices,
        "goal_form": GoalForm(prefix=f"goal{plan.pk}"),
        "today": timezone.localdate(),
    }


def _plan_block(request, plan_pk: int, *, status: int = 200) -> HttpResponse:
    """The plan block, re-read after a write, for the panel or the plan page."""
    plan = selectors.plan_get(user=request.user, pk=plan_pk, today=timezone.localdate())
    full = request.POST.get("view") == "page" or request.GET.get("view") == "page"
    return render(request, "playbooks/_plan_body.html", _plan_context(request, plan, full=full), status=status)


def _retarget(response: HttpResponse, selector: str) -> HttpResponse:
    """A form with errors replaces itself, not the plan block its success would replace."""
    response["HX-Retarget"] = selector
    response["HX-Reswap"] = "outerHTML"
    return response


def _writable(request, account) -> None:
    if not can_change(request.user, account):
        raise PermissionDenied


def _back(request, plan: SuccessPlan):
    if request.POST.get("view") == "page":
        return redirect("playbooks:plan_detail", pk=plan.pk)
    return redirect("accounts:detail", pk=plan.account_id)


# ------------------------------------------------------------------ panel and plan page


def _panel(request, account, *, start_form=None, status: int = 200) -> HttpResponse:
    today = timezone.localdate()
    writable = can_change(request.user, account)
    plans = selectors.account_plans(user=request.user, account=account, today=today)
    blocks = [_plan_context(request, p, full=False, writable=writable) for p in plans]
    if start_form is None and writable:
        start_form = PlanStartForm(initial={"started_on": today}, prefix="plan")
    context = {"account": account, "blocks": blocks, "can_change": writable, "start_form": start_form}
    return render(request, "playbooks/_plan_panel.html", context, status=status)


@login_required
@require_GET
def plan_panel(request, pk: int):
    return _panel(request, account_get(user=request.user, pk=pk))


@login_required
@require_POST
def plan_start(request, pk: int):
    account = account_get(user=request.user, pk=pk)
    _writable(request, account)
    form = PlanStartForm(request.POST, prefix="plan")
    if form.is_valid():
        try:
            plan, created = services.plan_start(
                account=account, path=form.cleaned_data["path"], start=form.cleaned_data["started_on"], by=request.user
            )
        except ValidationError as error:
            add_service_errors(form, error)
    if form.errors:
        return _panel(request, account, start_form=form, status=200 if is_htmx(request) else 400)
    if not created:
        messages.info(request, _("This success path is already running on the account."))
    if not is_htmx(request):
        return redirect("playbooks:plan_detail", pk=plan.pk)
    return _panel(request, account)


@login_required
@require_GET
def plan_detail(request, pk: int):
    plan = selectors.plan_get(user=request.user, pk=pk, today=timezone.localdate())
    return render(request, "playbooks/plan_detail.html", _plan_context(request, plan, full=True))


@login_required
@require_POST
def plan_cancel(request, pk: int):
    plan = selectors.plan_get(user=request.user, pk=pk, today=timezone.localdate())
    _writable(request, plan.account)
    services.plan_cancel(plan=plan, by=request.user)
    messages.success(request, _("The success plan was cancelled."))
    return redirect("accounts:detail", pk=plan.account_id)


# ------------------------------------------------------------------ steps and goals


@login_required
@require_POST
def step_status(request, pk: int):
    step = selectors.step_get(user=request.user, pk=pk)
    plan = step.stage.plan
    _writable(request, plan.account)
    try:
        services.plan_step_set_status(step=step, status=request.POST.get("status", ""), by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    if not is_htmx(request):
        return _back(request, plan)
    return _plan_block(request, plan.pk)


@login_required
def step_edit(request, pk: int):
    step = selectors.step_get(user=request.user, pk=pk)
    plan = step.stage.plan
    _writable(request, plan.account)
    prefix = f"step{step.pk}"
    if request.method == "POST":
        form = StepEditForm(request.POST, account=plan.account, prefix=prefix)
        if form.is_valid():
            try:
                services.plan_step_update(
                    step=step, by=request.user, owner=form.cleaned_data["owner"], due_date=form.cleaned_data["due_date"]
                )
            except ValidationError as error:
                add_service_errors(form, error)
        if not form.errors:
            return _plan_block(request, plan.pk) if is_htmx(request) else _back(request, plan)
    else:
        form = StepEditForm(
            account=plan.account, prefix=prefix, initial={"owner": step.owner_id, "due_date": step.due_date}
        )
    full = (request.POST.get("view") or request.GET.get("view")) == "page"
    response = render(
        request, "playbooks/_plan_step_form.html", {"step": step, "form": form, "plan": plan, "full": full}
    )
    return _retarget(response, f"#step-form-{step.pk}") if request.method == "POST" else response


@login_required
@require_POST
def goal_add(request, pk: int):
    plan = selectors.plan_get(user=request.user, pk=pk, today=timezone.localdate())
    _writable(request, plan.account)
    form = GoalForm(request.POST, prefix=f"goal{plan.pk}")
    if form.is_valid():
        try:
            services.plan_goal_add(plan=plan, by=request.user, data=form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
    if form.errors:
        context = {"plan": plan, "form": form, "goal": None, "full": request.POST.get("view") == "page"}
        response = render(request, "playbooks/_plan_goal_form.html", context, status=200 if is_htmx(request) else 400)
        return _retarget(response, f"#goal-form-{plan.pk}-new")
    return _plan_block(request, plan.pk) if is_htmx(request) else _back(request, plan)


@login_required
def goal_edit(request, pk: int):
    goal = selectors.goal_get(user=request.user, pk=pk)
    plan = goal.plan
    _writable(request, plan.account)
    prefix = f"g{goal.pk}"
    if request.method == "POST":
        form = GoalForm(request.POST, instance=goal, prefix=prefix)
        if form.is_valid():
            try:
                services.plan_goal_update(goal=goal, by=request.user, data=form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
        if not form.errors:
            return _plan_block(request, plan.pk) if is_htmx(request) else _back(request, plan)
    else:
        form = GoalForm(instance=goal, prefix=prefix)
    full = (request.POST.get("view") or request.GET.get("view")) == "page"
    response = render(
        request, "playbooks/_plan_goal_form.html", {"plan": plan, "form": form, "goal": goal, "full": full}
    )
    return _retarget(response, f"#goal-form-{plan.pk}-{goal.pk}") if request.method == "POST" else response


# ------------------------------------------------------------------ stage report


def _report_context(request, stage) -> dict:
    data = selectors.stage_report_data(stage=stage)
    data["can_change"] = can_change(request.user, stage.plan.account)
    # A report already sent carries the day it was sent; a draft is dated today.
    report = data["report"]
    data["generated_on"] = report.sent_on if report is not None and report.sent_on else timezone.localdate()
    data["csm"] = stage.plan.account.csm
    return data


@login_required
def stage_report(request, stage_pk: int):
    stage = selectors.stage_get(user=request.user, pk=stage_pk)
    if stage.completed_on is None:
        messages.error(request, _("A stage report can be written once every step of the stage is closed."))
        return redirect("playbooks:plan_detail", pk=stage.plan_id)
    report = getattr(stage, "report", None)
    if request.method == "POST":
        _writable(request, stage.plan.account)
        form = StageReportForm(request.POST)
        if form.is_valid():
            try:
                services.stage_report_create(stage=stage, by=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
        if not form.errors:
            messages.success(request, _("The stage report is saved. Print it or send the PDF to the customer."))
            return redirect("playbooks:stage_report", stage_pk=stage.pk)
    else:
        initial = {"achievements": report.achievements, "next_steps": report.next_steps} if report else {}
        form = StageReportForm(initial=initial)
    context = _report_context(request, stage)
    context["form"] = form
    context["editing"] = report is None or request.GET.get("edit") == "1" or bool(form.errors)
    return render(request, "playbooks/stage_report.html", context)


@login_required
@require_GET
def stage_report_pdf(request, stage_pk: int):
    stage = selectors.stage_get(user=request.user, pk=stage_pk)
    if getattr(stage, "report", None) is None:
        raise Http404
    name = slugify(f"{stage.plan.account.name}-{stage.name}") or f"stage-report-{stage.pk}"
    return pdf_response(request, "playbooks/stage_report_print.html", _report_context(request, stage), filename=name)


urlpatterns = [
    path("account/<int:pk>/plan/", plan_panel, name="plan_panel"),
    path("account/<int:pk>/plan/start/", plan_start, name="plan_start"),
    path("plans/<int:pk>/", plan_detail, name="plan_detail"),
    path("plans/<int:pk>/cancel/", plan_cancel, name="plan_cancel"),
    path("plans/<int:pk>/goals/add/", goal_add, name="plan_goal_add"),
    path("plans/goals/<int:pk>/edit/", goal_edit, name="plan_goal_edit"),
    path("plans/steps/<int:pk>/status/", step_status, name="plan_step_status"),
    path("plans/steps/<int:pk>/edit/", step_edit, name="plan_step_edit"),
    path("plans/stages/<int:stage_pk>/report/", stage_report, name="stage_report"),
    path("plans/stages/<int:stage_pk>/report.pdf", stage_report_pdf, name="stage_report_pdf"),
]
