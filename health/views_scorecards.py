"""Health scorecards in the browser (issue 7, part 3): everyone who works in the browser
reads the versions and their measures, so a score can be explained; managers and
administrators (cs_platform.access.can_manage_scorecards) edit them into new versions,
activate one and start a scoring run. Others get 403 on those; integration users, who
have the API, get 404 on every page here.

A version is never changed in place: the editor starts from a version and saves a new
one through health.scorecards.version_create, which numbers it and keeps `based_on`."""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from kombu.exceptions import OperationalError

from cs_platform.access import can_manage_scorecards
from cs_platform.pages import is_htmx, paginate

from .api.recompute import recompute_start, recompute_status
from .forms_scorecards import (
    DEFAULT_WEIGHTS,
    EVENT_TYPE_KINDS,
    FALLBACK_WEIGHT,
    PER_KINDS,
    MeasureFormSet,
    ScorecardVersionForm,
    editor_initial,
    event_type_choices,
    format_number,
    format_points,
)
from .models import EventType, HealthScore, ScorecardMeasure, ScorecardVersion
from .scorecards import DEFAULT_THRESHOLDS, active_version, measures_of, version_activate, version_create
from .scoring import Measure, measure_label

TASK_ID = re.compile(r"[0-9a-fA-F-]{1,64}")
FINISHED = ("SUCCESS", "FAILURE")
# The status box stops polling a run nobody has picked up after this many polls (10
# minutes at one every 2 s): most likely no worker is running.
MAX_POLLS = 300

# ------------------------------------------------------------------ helpers


def _reader(request) -> bool:
    """Everyone who works in the browser reads scorecards; integration users have the API.
    Returns whether the user may manage them."""
    if request.user.is_api_only:
        raise Http404
    return can_manage_scorecards(request.user)


def _manager(request) -> None:
    if not _reader(request):
        raise PermissionDenied


def _rows(version: ScorecardVersion, measures: list[ScorecardMeasure]) -> list[dict]:
    """The measures as the pages show them: a readable name, the thresholds as points and
    the weight as a share of the total."""
    total = sum(float(m.weight or 0) for m in measures)
    fitted = version.kind == ScorecardVersion.Kind.FITTED
    return [
        {
            "measure": m,
            "name": measure_label({"measure": m.key, "label": m.label, **Measure.of(m).describe()}),
            "points": [
                (format_number(p[0]), format_number(p[1]))
                for p in (m.thresholds or [])
                if isinstance(p, (list, tuple)) and len(p) == 2
            ],
            "weight": format_number(m.weight or 0),
            "uses_event_type": m.kind in EVENT_TYPE_KINDS,
            "uses_per": m.kind in PER_KINDS,
            "weight_pct": None if fitted or not total else format_number(round(100 * float(m.weight or 0) / total, 1)),
        }
        for m in measures
    ]


# ------------------------------------------------------------------ pages


@login_required
@require_GET
def scorecard_list(request):
    """Versions newest first with how many scores each computed, the active one's
    measures, and for managers the buttons to edit, calibrate and recompute."""
    can_manage = _reader(request)
    active = active_version()  # on a new installation this makes the default scorecard
    active_measures = list(active.measures.all())
    versions = ScorecardVersion.objects.select_related("created_by").annotate(measure_count=Count("measures"))
    page = paginate(request, versions.order_by("-number"))
    counts = dict(
        HealthScore.objects.filter(scorecard__in=[v.pk for v in page.object_list])
        .values_list("scorecard")
        .annotate(n=Count("pk"))
        .values_list("scorecard", "n")
    )
    for v in page.object_list:
        v.score_count = counts.get(v.pk, 0)
    task_id = request.GET.get("task", "")
    context = {
        "page": page,
        "active": active,
        "active_rows": _rows(active, active_measures),
        "can_manage": can_manage,
        "task": _task_context(task_id) if can_manage and TASK_ID.fullmatch(task_id) else None,
    }
    return render(request, "health/scorecard_list.html", context)


@login_required
@require_GET
def scorecard_detail(request, pk: int):
    can_manage = _reader(request)
    version = get_object_or_404(ScorecardVersion.objects.select_related("created_by", "based_on"), pk=pk)
    measures = list(version.measures.all())
    context = {
        "version": version,
        "rows": _rows(version, measures),
        "score_count": HealthScore.objects.filter(scorecard=version).count(),
        "activation_threshold": format_number(version.activation_threshold),
        "can_manage": can_manage,
        "is_fitted": version.kind == ScorecardVersion.Kind.FITTED,
    }
    return render(request, "health/scorecard_detail.html", context)


@login_required
@require_POST
def scorecard_activate(request, pk: int):
    """ "Activate": this version scores from the next run on."""
    _manager(request)
    version = get_object_or_404(ScorecardVersion, pk=pk)
    if version.is_active:
        messages.info(request, _("Version %(number)s is already the active one.") % {"number": version.number})
    else:
        version_activate(version=version, by=request.user)
        messages.success(
            request,
            _("Version %(number)s is now active; the next scoring run uses it.") % {"number": version.number},
        )
    return redirect("health:scorecard_detail", version.pk)


@login_required
def scorecard_new(request):
    """A new version, starting from a copy of the active one."""
    _manager(request)
    return _editor(request, active_version())


@login_required
def scorecard_edit(request, pk: int):
    """ "Edit as a new version" of `pk`: the version itself never changes."""
    _manager(request)
    return _editor(request, get_object_or_404(ScorecardVersion, pk=pk))


def _editor(request, source: ScorecardVersion):
    source_measures = measures_of(source)
    settings, rows = editor_initial(source, source_measures)
    choices = event_type_choices(EventType.objects.only("name", "label"), source_measures)
    keys = [r["key"] for r in rows]
    if request.method == "POST":
        form = ScorecardVersionForm(request.POST, measure_keys=keys)
        formset = MeasureFormSet(request.POST, prefix="measures", event_types=choices)
        created = _save(request, source, form, formset)
        if created is not None:
            return redirect("health:scorecard_detail", created.pk)
        status = 400
    else:
        form = ScorecardVersionForm(initial=settings, measure_keys=keys)
        formset = MeasureFormSet(initial=rows, prefix="measures", event_types=choices)
        status = 200
    context = {
        "source": source,
        "form": form,
        "formset": formset,
        "is_fitted": source.kind == ScorecardVersion.Kind.FITTED,
        "is_new": request.resolver_match.url_name == "scorecard_new",
        "defaults": {
            "thresholds": {kind: format_points(points) for kind, points in DEFAULT_THRESHOLDS.items()},
            "weights": {kind: DEFAULT_WEIGHTS.get(kind, FALLBACK_WEIGHT) for kind in ScorecardMeasure.Kind.values},
            "event_type_kinds": sorted(EVENT_TYPE_KINDS),
            "per_kinds": sorted(PER_KINDS),
        },
    }
    return render(request, "health/scorecard_form.html", context, status=status)


def _save(request, source: ScorecardVersion, form, formset) -> ScorecardVersion | None:
    """The new version, or None with the errors on the form and formset."""
    if not (form.is_valid() and formset.is_valid()):
        return None
    data = form.cleaned_data
    try:
        with transaction.atomic():
            version = version_create(
                name=data["name"],
                note=data["note"],
                measures=formset.measures(),
                green_from=data["green_from"],
                yellow_from=data["yellow_from"],
                activation_measure=data["activation_measure"],
                activation_threshold=data["activation_threshold"],
                based_on=source,
                by=request.user,
            )
            if data["activate"]:
                version_activate(version=version, by=request.user)
    except ValidationError as error:
        _service_errors(form, formset, error)
        return None
    if data["activate"]:
        message = _("Version %(number)s saved and activated; the next scoring run uses it.")
    else:
        message = _("Version %(number)s saved. It scores once you activate it.")
    messages.success(request, message % {"number": version.number})
    return version


def _service_errors(form, formset, error: ValidationError) -> None:
    """The service's messages where they belong: on the version's fields, or above the
    measures."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, field_messages in error.message_dict.items():
        if field in form.fields:
            form.add_error(field, field_messages)
        elif field == "measures" or field in formset.form.base_fields:
            formset._non_form_errors.extend(field_messages)
        else:
            form.add_error(None, field_messages)


# ------------------------------------------------------------------ scoring on demand


def _task_context(task_id: str, polls: int = 0) -> dict:
    status = recompute_status(task_id)
    gave_up = status["state"] == "PENDING" and polls >= MAX_POLLS
    return {
        "id": task_id,
        **status,
        "finished": status["state"] in FINISHED or gave_up,
        "gave_up": gave_up,
        "next_poll": polls + 1,
    }


@login_required
@require_POST
def scorecard_recompute(request):
    """ "Recompute all scores now" with the active version; the page then follows the run."""
    _manager(request)
    try:
        task_id = recompute_start()
    except OperationalError:
        messages.error(request, _("The scoring run could not be queued: the task queue is not reachable. Try again."))
        return redirect("health:scorecard_list")
    if is_htmx(request):
        return render(request, "health/_recompute_status.html", {"task": _task_context(task_id)})
    return redirect(f"{reverse('health:scorecard_list')}?task={task_id}")


@login_required
@require_GET
def recompute_status_fragment(request, task_id: str):
    """The status box, polled every 2 s until the run succeeds or fails."""
    _manager(request)
    if not TASK_ID.fullmatch(task_id):
        raise Http404
    polls = request.GET.get("n", "")
    polls = min(int(polls), MAX_POLLS) if polls.isdigit() else 0
    return render(request, "health/_recompute_status.html", {"task": _task_context(task_id, polls)})
