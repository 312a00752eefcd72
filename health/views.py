import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.selectors import account_get
from cs_platform.access import can_change
from cs_platform.pages import add_service_errors, is_htmx

from . import overrides, selectors, surveys
from .forms import HealthOverrideForm, SurveyResponseForm
from .services import band_for


def _panel(request, account, *, survey_form=None, override_form=None, done: str = ""):
    """The account's health panel: computed score explained, override beside it, usage,
    alerts and surveys, with the forms the user may use. A fixed number of queries."""
    user = request.user
    today = timezone.localdate()
    history = list(selectors.score_history(user=user, account=account, since=today - dt.timedelta(days=180)))
    usage = selectors.usage_by_day(user=user, account=account, since=today - dt.timedelta(days=30))
    alerts = selectors.alert_list(user=user).filter(account=account).exclude(status="resolved")
    override = overrides.override_in_force(account, today)
    may_change = can_change(user, account)
    may_override = overrides.can_override(user, account, may_change=may_change)
    if may_change and survey_form is None:
        survey_form = SurveyResponseForm(stakeholders=surveys.survey_stakeholders(account=account), prefix="survey")
    if may_override and override_form is None:
        override_form = HealthOverrideForm(prefix="override")
    return render(
        request,
        "health/_account_panel.html",
        {
            "account": account,
            "latest": history[-1] if history else None,
            "trend": _trend(history),
            "alerts": alerts,
            "override": override,
            "override_band": band_for(override.score) if override else None,
            "surveys": surveys.survey_summary(user=user, account=account, today=today),
            "survey_form": survey_form if may_change else None,
            "override_form": override_form if may_override else None,
            "done": done,
            "chart": {
                "score_labels": [h.as_of.isoformat() for h in history],
                "scores": [h.score for h in history],
                "usage_labels": [u["day"].isoformat() for u in usage],
                "events": [u["events"] for u in usage],
                "users": [u["users"] for u in usage],
            },
        },
    )


def _trend(history: list) -> int | None:
    """Points gained or lost since the score nearest to 30 days before the latest."""
    if len(history) < 2:
        return None
    latest = history[-1]
    target = latest.as_of - dt.timedelta(days=30)
    earlier = [h for h in history if h.as_of <= target]
    base = earlier[-1] if earlier else None
    return None if base is None or (target - base.as_of).days > 7 else latest.score - base.score


def _answer(request, account, *, done: str, **forms):
    """After a write: the panel again (HTMX), or back to the account page."""
    failed = any(f is not None and f.errors for f in forms.values())
    if is_htmx(request):
        return _panel(request, account, done="" if failed else done, **forms)
    if failed:
        errors = [e for f in forms.values() if f is not None for errs in f.errors.values() for e in errs]
        messages.error(request, " ".join(errors))
    else:
        messages.success(request, done)
    return redirect("accounts:detail", account.pk)


@login_required
def account_panel(request, pk: int):
    return _panel(request, account_get(user=request.user, pk=pk))


@login_required
@require_POST
def survey_record(request, pk: int):
    """ "Record a survey answer" on the account's health panel."""
    account = account_get(user=request.user, pk=pk)
    if not can_change(request.user, account):
        raise PermissionDenied
    form = SurveyResponseForm(request.POST, stakeholders=surveys.survey_stakeholders(account=account), prefix="survey")
    if form.is_valid():
        try:
            surveys.survey_response_record(account=account, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return _answer(request, account, done=_("Survey answer recorded."))
    return _answer(request, account, done="", survey_form=form)


@login_required
@require_POST
def override_set(request, pk: int):
    """ "Override the score" on the account's health panel; ends the override in force."""
    account = account_get(user=request.user, pk=pk)
    if not overrides.can_override(request.user, account):
        raise PermissionDenied
    form = HealthOverrideForm(request.POST, prefix="override")
    if form.is_valid():
        try:
            overrides.health_override_set(account=account, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return _answer(request, account, done=_("Override set."))
    return _answer(request, account, done="", override_form=form)


@login_required
@require_POST
def override_end(request, pk: int, override_pk: int):
    """ "Remove override": ends it now; the computed score stands alone again."""
    account = account_get(user=request.user, pk=pk)
    override = get_object_or_404(
        overrides.health_override_list(user=request.user).filter(account=account), pk=override_pk
    )
    if not overrides.can_override(request.user, account):
        raise PermissionDenied
    overrides.health_override_end(override=override, by=request.user)
    return _answer(request, account, done=_("Override removed."))
