"""Success path templates (成功路径): everyone reads them, managers edit them in the browser.

The editor posts each change over HTMX; step changes answer with the stage's card, stage
changes with the list of stages, both with the path's new version out of band. Invalid
input answers 400 with the form and its messages. Without JavaScript the same forms post
and redirect back to the editor."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cs_platform.access import can_edit_paths
from cs_platform.pages import add_service_errors, is_htmx

from ..forms import PathForm, StageForm, StepForm
from ..models import PathStage, PathStep, SuccessPath
from ..selectors import paths as selectors
from ..services import paths as services

# ------------------------------------------------------------------ helpers


def _reader(request) -> bool:
    """Everyone who works in the browser reads paths; integration users have the API.
    Returns whether the user may edit."""
    if request.user.is_api_only:
        raise Http404
    return can_edit_paths(request.user)


def _editor(request) -> None:
    if not can_edit_paths(request.user):
        raise Http404


def _save(form, action, **kwargs) -> bool:
    """Validate `form`, then call the service `action` with its data; False on errors."""
    if not form.is_valid():
        return False
    try:
        action(**kwargs, **form.cleaned_data)
    except ValidationError as error:
        add_service_errors(form, error)
        return False
    return True


def _call(request, action, **kwargs) -> bool:
    """A service call without a form (move, retire, restore); errors become a message."""
    try:
        action(**kwargs)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return False
    return True


def _prepare_steps(stage: PathStage, *, can_edit: bool) -> PathStage:
    """What the stage card shows: its steps with whether each may move up or down."""
    steps = list(stage.steps.all())
    active = [s for s in steps if not s.is_retired]
    for step in steps:
        step.can_up = bool(active) and not step.is_retired and step is not active[0]
        step.can_down = bool(active) and not step.is_retired and step is not active[-1]
    stage.step_list = steps
    stage.active_step_count = len(active)
    stage.retired_step_count = len(steps) - len(active)
    if can_edit and not hasattr(stage, "step_form"):
        stage.step_form = StepForm(prefix=f"add{stage.pk}")
    return stage


def _place_stage(stage: PathStage) -> PathStage:
    """Whether a stage shown alone may move up or down (one query for its siblings)."""
    active = list(
        PathStage.objects.filter(path_id=stage.path_id, is_retired=False)
        .order_by("order", "pk")
        .values_list("pk", flat=True)
    )
    stage.can_up = stage.pk in active and stage.pk != active[0]
    stage.can_down = stage.pk in active and stage.pk != active[-1]
    return stage


def _prepare_stages(path_obj: SuccessPath, *, can_edit: bool, bound: dict | None = None) -> list[PathStage]:
    """The path's stages (as prefetched) ready for the editor; `bound` maps a stage id to a
    bound rename form to show instead of a fresh one."""
    stages = list(path_obj.stages.all())
    active = [s for s in stages if not s.is_retired]
    for stage in stages:
        stage.can_up = bool(active) and not stage.is_retired and stage is not active[0]
        stage.can_down = bool(active) and not stage.is_retired and stage is not active[-1]
        if can_edit:
            stage.rename_form = (bound or {}).get(stage.pk) or StageForm(
                prefix=f"stage{stage.pk}", initial={"name": stage.name}
            )
        _prepare_steps(stage, can_edit=can_edit)
    path_obj.stage_list = stages
    path_obj.retired_count = sum(1 for s in stages if s.is_retired) + sum(s.retired_step_count for s in active)
    return stages


def _detail_url(path_pk: int, anchor: str = "") -> str:
    url = reverse("playbooks:path_detail", args=[path_pk])
    return f"{url}#{anchor}" if anchor else url


def _stages_response(request, path_pk: int, *, new_stage_form=None, bound=None, status=200) -> HttpResponse:
    """The list of stages (after a stage changed), with the version out of band."""
    path_obj = selectors.path_get(pk=path_pk)
    _prepare_stages(path_obj, can_edit=True, bound=bound)
    context = {
        "path": path_obj,
        "can_edit": True,
        "new_stage_form": new_stage_form or StageForm(prefix="new-stage"),
        "oob": True,
    }
    return render(request, "playbooks/_path_stages.html", context, status=status)


def _stage_response(request, stage_pk: int, *, status=200, **extra) -> HttpResponse:
    """One stage card (after one of its steps changed), with the version out of band.
    `extra` may carry a bound `step_form` (adding), or `edit_step_id` and `edit_form`."""
    stage = selectors.stage_get(pk=stage_pk)
    for key, value in extra.items():
        setattr(stage, key, value)
    _place_stage(stage)
    _prepare_steps(stage, can_edit=True)
    context = {"stage": stage, "path": stage.path, "can_edit": True, "oob": True}
    return render(request, "playbooks/_path_stage.html", context, status=status)


def _after_stage_change(request, stage: PathStage) -> HttpResponse:
    if is_htmx(request):
        return _stages_response(request, stage.path_id)
    return redirect(_detail_url(stage.path_id, f"stage-{stage.pk}"))


def _after_step_change(request, stage: PathStage, **extra) -> HttpResponse:
    if is_htmx(request):
        return _stage_response(request, stage.pk, **extra)
    return redirect(_detail_url(stage.path_id, f"stage-{stage.pk}"))


def _invalid(request, form) -> None:
    """Without HTMX a rejected form becomes a message on the editor."""
    for field_errors in form.errors.values():
        for message in field_errors:
            messages.error(request, message)


# ------------------------------------------------------------------ pages


@login_required
@require_GET
def path_list(request):
    can_edit = _reader(request)
    show_retired = request.GET.get("retired") == "1"
    return _render_list(request, can_edit=can_edit, show_retired=show_retired)


def _render_list(request, *, can_edit: bool, show_retired: bool, form=None, status=200) -> HttpResponse:
    paths = list(selectors.path_list(include_retired=show_retired))
    for p in paths:
        stages = [s for s in p.stages.all() if not s.is_retired]
        p.stage_list = stages
        p.step_count = sum(1 for s in stages for step in s.steps.all() if not step.is_retired)
    context = {"paths": paths, "can_edit": can_edit, "show_retired": show_retired, "create_form": form}
    return render(request, "playbooks/path_list.html", context, status=status)


@login_required
def path_create(request):
    _editor(request)
    if request.method != "POST":
        return _render_list(request, can_edit=True, show_retired=False, form=PathForm())
    form = PathForm(request.POST)
    created = {}

    def create(**data):
        created["path"] = services.path_create(**data, by=request.user)

    if _save(form, create):
        messages.success(request, _("Success path “%(name)s” created; add its stages.") % {"name": created["path"]})
        return redirect("playbooks:path_detail", created["path"].pk)
    return _render_list(request, can_edit=True, show_retired=False, form=form, status=400)


@login_required
@require_GET
def path_detail(request, pk: int):
    can_edit = _reader(request)
    path_obj = selectors.path_get(pk=pk, include_retired=can_edit)
    _prepare_stages(path_obj, can_edit=can_edit)
    context = {"path": path_obj, "can_edit": can_edit}
    if can_edit:
        context["path_form"] = PathForm(
            prefix="path", initial={"name": path_obj.name, "scenario": path_obj.scenario, "segment": path_obj.segment}
        )
        context["new_stage_form"] = StageForm(prefix="new-stage")
    return render(request, "playbooks/path_detail.html", context)


@login_required
@require_POST
def path_edit(request, pk: int):
    _editor(request)
    path_obj = selectors.path_get(pk=pk)
    form = PathForm(request.POST, prefix="path")
    if _save(form, services.path_update, path=path_obj, by=request.user):
        if not is_htmx(request):
            messages.success(request, _("Saved."))
            return redirect("playbooks:path_detail", pk)
        path_obj = selectors.path_get(pk=pk)
        form = PathForm(
            prefix="path", initial={"name": path_obj.name, "scenario": path_obj.scenario, "segment": path_obj.segment}
        )
        status = 200
    else:
        if not is_htmx(request):
            _invalid(request, form)
            return redirect("playbooks:path_detail", pk)
        path_obj = selectors.path_get(pk=pk)
        status = 400
    context = {"path": path_obj, "can_edit": True, "path_form": form, "edit_open": status == 400}
    return render(request, "playbooks/_path_head.html", context, status=status)


@login_required
@require_POST
def path_retire(request, pk: int):
    _editor(request)
    path_obj = selectors.path_get(pk=pk)
    if _call(request, services.path_retire, path=path_obj, by=request.user):
        messages.success(request, _("The path is retired: no new plan starts from it. Running plans go on."))
    return redirect("playbooks:path_detail", pk)


@login_required
@require_POST
def path_restore(request, pk: int):
    _editor(request)
    path_obj = selectors.path_get(pk=pk)
    if _call(request, services.path_restore, path=path_obj, by=request.user):
        messages.success(request, _("The path is in use again."))
    return redirect("playbooks:path_detail", pk)


# ------------------------------------------------------------------ stages


@login_required
@require_POST
def stage_add(request, pk: int):
    _editor(request)
    path_obj = selectors.path_get(pk=pk)
    form = StageForm(request.POST, prefix="new-stage")
    if _save(form, services.stage_add, path=path_obj, by=request.user):
        if is_htmx(request):
            return _stages_response(request, pk)
        return redirect(_detail_url(pk, "add-stage"))
    if is_htmx(request):
        return _stages_response(request, pk, new_stage_form=form, status=400)
    _invalid(request, form)
    return redirect(_detail_url(pk, "add-stage"))


@login_required
@require_POST
def stage_reorder(request, pk: int):
    _editor(request)
    path_obj = selectors.path_get(pk=pk)
    ok = _call(request, services.stage_reorder, path=path_obj, order=request.POST.getlist("order"), by=request.user)
    if is_htmx(request):
        return _stages_response(request, pk, status=200 if ok else 400)
    return redirect("playbooks:path_detail", pk)


@login_required
@require_POST
def stage_edit(request, pk: int):
    _editor(request)
    stage = selectors.stage_get(pk=pk)
    form = StageForm(request.POST, prefix=f"stage{pk}")
    if _save(form, services.stage_update, stage=stage, by=request.user):
        return _after_stage_change(request, stage)
    if is_htmx(request):
        return _stages_response(request, stage.path_id, bound={stage.pk: form}, status=400)
    _invalid(request, form)
    return redirect(_detail_url(stage.path_id, f"stage-{pk}"))


@login_required
@require_POST
def stage_move(request, pk: int):
    _editor(request)
    stage = selectors.stage_get(pk=pk)
    ok = _call(request, services.stage_move, stage=stage, direction=request.POST.get("direction", ""), by=request.user)
    if is_htmx(request) and not ok:
        return _stages_response(request, stage.path_id, status=400)
    return _after_stage_change(request, stage)


@login_required
@require_POST
def stage_retire(request, pk: int):
    _editor(request)
    stage = selectors.stage_get(pk=pk)
    _call(request, services.stage_retire, stage=stage, by=request.user)
    return _after_stage_change(request, stage)


@login_required
@require_POST
def stage_restore(request, pk: int):
    _editor(request)
    stage = selectors.stage_get(pk=pk)
    _call(request, services.stage_restore, stage=stage, by=request.user)
    return _after_stage_change(request, stage)


@login_required
@require_GET
def stage_card(request, pk: int):
    """The stage card alone (e.g. to cancel editing a step)."""
    can_edit = _reader(request)
    stage = selectors.stage_get(pk=pk)
    _place_stage(stage)
    _prepare_steps(stage, can_edit=can_edit)
    return render(request, "playbooks/_path_stage.html", {"stage": stage, "path": stage.path, "can_edit": can_edit})


# ------------------------------------------------------------------ steps


@login_required
@require_POST
def step_add(request, pk: int):
    _editor(request)
    stage = selectors.stage_get(pk=pk)
    form = StepForm(request.POST, prefix=f"add{pk}")
    if _save(form, services.step_add, stage=stage, by=request.user):
        # The form stays open, empty, for the next step.
        return _after_step_change(request, stage, add_open=True)
    if is_htmx(request):
        return _stage_response(request, pk, step_form=form, add_open=True, status=400)
    _invalid(request, form)
    return redirect(_detail_url(stage.path_id, f"stage-{pk}"))


@login_required
@require_POST
def step_reorder(request, pk: int):
    _editor(request)
    stage = selectors.stage_get(pk=pk)
    ok = _call(request, services.step_reorder, stage=stage, order=request.POST.getlist("order"), by=request.user)
    if is_htmx(request):
        return _stage_response(request, pk, status=200 if ok else 400)
    return redirect(_detail_url(stage.path_id, f"stage-{pk}"))


def _step_initial(step: PathStep) -> dict:
    fields = ("title", "owner_role", "due_offset_days", "guidance", "exit_criteria")
    return {name: getattr(step, name) for name in fields}


@login_required
def step_edit(request, pk: int):
    _editor(request)
    step = selectors.step_get(pk=pk)
    stage = step.stage
    if request.method != "POST":
        form = StepForm(prefix=f"step{pk}", initial=_step_initial(step))
        return render(request, "playbooks/_path_step_form.html", {"step": step, "stage": stage, "form": form})
    form = StepForm(request.POST, prefix=f"step{pk}")
    if _save(form, services.step_update, step=step, by=request.user):
        return _after_step_change(request, stage)
    if is_htmx(request):
        return _stage_response(request, stage.pk, edit_step_id=step.pk, edit_form=form, status=400)
    _invalid(request, form)
    return redirect(_detail_url(stage.path_id, f"stage-{stage.pk}"))


@login_required
@require_POST
def step_move(request, pk: int):
    _editor(request)
    step = selectors.step_get(pk=pk)
    ok = _call(request, services.step_move, step=step, direction=request.POST.get("direction", ""), by=request.user)
    if is_htmx(request) and not ok:
        return _stage_response(request, step.stage_id, status=400)
    return _after_step_change(request, step.stage)


@login_required
@require_POST
def step_retire(request, pk: int):
    _editor(request)
    step = selectors.step_get(pk=pk)
    _call(request, services.step_retire, step=step, by=request.user)
    return _after_step_change(request, step.stage)


@login_required
@require_POST
def step_restore(request, pk: int):
    _editor(request)
    step = selectors.step_get(pk=pk)
    _call(request, services.step_restore, step=step, by=request.user)
    return _after_step_change(request, step.stage)


urlpatterns = [
    path("paths/", path_list, name="path_list"),
    path("paths/new/", path_create, name="path_create"),
    path("paths/<int:pk>/", path_detail, name="path_detail"),
    path("paths/<int:pk>/edit/", path_edit, name="path_edit"),
    path("paths/<int:pk>/retire/", path_retire, name="path_retire"),
    path("paths/<int:pk>/restore/", path_restore, name="path_restore"),
    path("paths/<int:pk>/stages/add/", stage_add, name="stage_add"),
    path("paths/<int:pk>/stages/reorder/", stage_reorder, name="stage_reorder"),
    path("paths/stages/<int:pk>/", stage_card, name="stage_card"),
    path("paths/stages/<int:pk>/edit/", stage_edit, name="stage_edit"),
    path("paths/stages/<int:pk>/move/", stage_move, name="stage_move"),
    path("paths/stages/<int:pk>/retire/", stage_retire, name="stage_retire"),
    path("paths/stages/<int:pk>/restore/", stage_restore, name="stage_restore"),
    path("paths/stages/<int:pk>/steps/add/", step_add, name="step_add"),
    path("paths/stages/<int:pk>/steps/reorder/", step_reorder, name="step_reorder"),
    path("paths/steps/<int:pk>/edit/", step_edit, name="step_edit"),
    path("paths/steps/<int:pk>/move/", step_move, name="step_move"),
    path("paths/steps/<int:pk>/retire/", step_retire, name="step_retire"),
    path("paths/steps/<int:pk>/restore/", step_restore, name="step_restore"),
]
