"""Calibrate the health score on history in the browser (issue 7, part 7): managers and
administrators (cs_platform.access.can_manage_scorecards) pick a window and a horizon, the
page fits a scorecard there and then (a few seconds) and shows how it ranks churn on the
holdout beside the active scorecard and raw usage counts, with the fitted weights and a
link to the new version to review and activate. A history too large for a page is sent
to the API, which runs it as a task. Others get 403; integration users, who have the
API, get 404 like on every scorecard page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _

from cs_platform.access import can_manage_scorecards
from cs_platform.pages import add_service_errors

from .calibration import calibrate, calibration_estimate, calibration_plan, sync_limit
from .forms_calibration import CalibrationForm
from .models import ScorecardVersion


@login_required
def calibrate_page(request):
    if request.user.is_api_only:
        raise Http404
    if not can_manage_scorecards(request.user):
        raise PermissionDenied
    form = CalibrationForm(request.POST or None)
    context = {"form": form, "report": None, "sync_limit": f"{sync_limit():,}"}
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            args = form.cleaned_data
            try:
                plan = calibration_plan(
                    train_start=args["train_start"], train_end=args["train_end"], horizon_days=args["horizon_days"]
                )
                estimate = calibration_estimate(plan)
                if estimate > sync_limit():
                    form.add_error(
                        None,
                        _(
                            "This history makes about %(n)s observations, too many to fit while the page waits "
                            "(the limit is %(limit)s). Use POST /api/v1/health/calibrate/ with the same values: "
                            "it runs in the background and reports when done."
                        )
                        % {"n": f"{estimate:,}", "limit": f"{sync_limit():,}"},
                    )
                else:
                    report = calibrate(
                        train_start=args["train_start"],
                        train_end=args["train_end"],
                        horizon_days=args["horizon_days"],
                        activate=args["activate"],
                        by=request.user,
                    )
                    context["report"] = report
                    context["version"] = ScorecardVersion.objects.get(pk=report["scorecard_version"])
                    status = 200
                    messages.success(
                        request,
                        _("Fitted a new scorecard version and made it the active one.")
                        if report["activated"]
                        else _("Fitted a new scorecard version. Review it, then activate it on its page."),
                    )
            except ValidationError as error:
                add_service_errors(form, error)
    return render(request, "health/calibrate.html", context, status=status)
