"""Kickoff meeting pages (issue 6): schedule, participants, minutes page and PDF, held.

The account page loads the kickoff slot with HTMX from `handover:account_kickoff_panel`.
The account's CSM, team, manager and administrators change a kickoff; its sales owner
reads it; integration users have no pages (they have the API)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.selectors import account_get
from cs_platform.access import can_change
from cs_platform.pages import add_service_errors, pdf_response

from .. import kickoff_selectors as selectors
from .. import services
from ..kickoff_forms import HoldForm, KickoffForm, ParticipantFormSet, participant_initial
from ..models import Kickoff, KickoffParticipant

SIDE = KickoffParticipant.Side

# ------------------------------------------------------------------ helpers


def _pages(request) -> None:
    """Integration users see every account through the API, but have no pages."""
    if request.user.is_api_only:
        raise Http404


def _kickoff(request, pk: int) -> Kickoff:
    _pages(request)
    return selectors.kickoff_get(user=request.user, pk=pk)


def _writable(request, account) -> None:
    if not can_change(request.user, account):
        raise PermissionDenied


def _formsets(account, *, kickoff: Kickoff | None = None, data=None) -> list:
    current = selectors.kickoff_participants(kickoff=kickoff) if kickoff is not None else []
    stakeholders = selectors.kickoff_stakeholder_choices(
        account=account, keep=[p.stakeholder_id for p in current if p.stakeholder_id]
    )
    people = selectors.kickoff_people(account=account, keep=[p.user_id for p in current if p.user_id])
    return [
        ParticipantFormSet(
            data,
            prefix=side,
            side=side,
            choices=choices,
            initial=[participant_initial(p) for p in current if p.side == side],
        )
        for side, choices in ((SIDE.CUSTOMER, stakeholders), (SIDE.OURS, people))
    ]


def _participants(formsets) -> list[dict]:
    return [row for formset in formsets for row in formset.participants()]


def _by_side(participants: list[KickoffParticipant]) -> dict:
    return {
        "customer_side": [p for p in participants if p.side == SIDE.CUSTOMER],
        "our_side": [p for p in participants if p.side == SIDE.OURS],
    }


def _plan_steps(kickoff: Kickoff) -> list:
    """The running plans' kickoff steps, each with what holding the kickoff does to it."""
    completes = services.kickoff_step_keys(kickoff)
    steps = selectors.kickoff_plan_steps(kickoff=kickoff, keys=services.KICKOFF_STEP_KEYS)
    for step in steps:
        step.completed_by_kickoff = step.key in completes
    return steps


def _detail_context(request, kickoff: Kickoff, *, hold_form: HoldForm | None = None) -> dict:
    held = kickoff.status == Kickoff.Status.HELD
    writable = can_change(request.user, kickoff.account)
    if hold_form is None and writable and not held:
        today = timezone.localdate()
        hold_form = HoldForm(
            initial={"held_on": min(kickoff.scheduled_on, today), "expected_outcomes": kickoff.expected_outcomes}
        )
    return {
        "kickoff": kickoff,
        "account": kickoff.account,
        "held": held,
        "can_change": writable,
        "hold_form": hold_form if not held else None,
        "steps": _plan_steps(kickoff),
        **_by_side(selectors.kickoff_participants(kickoff=kickoff)),
    }


# ------------------------------------------------------------------ the account slot


@login_required
@require_GET
def account_kickoff_panel(request, account_pk: int):
    _pages(request)
    account = account_get(user=request.user, pk=account_pk)
    context = {
        "account": account,
        "kickoffs": list(selectors.account_kickoffs(user=request.user, account=account)),
        "can_change": can_change(request.user, account),
        "today": timezone.localdate(),
    }
    return render(request, "handover/_kickoff_panel.html", context)


# ------------------------------------------------------------------ the meeting


@login_required
@require_GET
def kickoff_detail(request, pk: int):
    kickoff = _kickoff(request, pk)
    return render(request, "handover/kickoff_detail.html", _detail_context(request, kickoff))


@login_required
def kickoff_new(request, account_pk: int):
    _pages(request)
    account = account_get(user=request.user, pk=account_pk)
    _writable(request, account)
    if request.method == "POST":
        form = KickoffForm(request.POST, instance=Kickoff(account=account))
        formsets = _formsets(account, data=request.POST)
        if all([form.is_valid(), *(f.is_valid() for f in formsets)]):
            try:
                with transaction.atomic():
                    kickoff = services.kickoff_schedule(account=account, by=request.user, data=form.cleaned_data)
                    services.kickoff_participants_set(kickoff=kickoff, participants=_participants(formsets))
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("The kickoff meeting is scheduled."))
                return redirect("handover:kickoff_detail", pk=kickoff.pk)
    else:
        scheduled_on = services.business_days_after(timezone.localdate(), settings.KICKOFF_AFTER_DAYS)
        form = KickoffForm(initial={"scheduled_on": scheduled_on})
        formsets = _formsets(account)
    context = {"account": account, "kickoff": None, "form": form, "formsets": formsets}
    return render(request, "handover/kickoff_form.html", context)


@login_required
def kickoff_edit(request, pk: int):
    kickoff = _kickoff(request, pk)
    account = kickoff.account
    _writable(request, account)
    if request.method == "POST":
        # The form works on a copy: the page keeps showing what is saved until the save succeeds.
        form = KickoffForm(request.POST, instance=Kickoff.objects.get(pk=kickoff.pk))
        formsets = _formsets(account, kickoff=kickoff, data=request.POST)
        if all([form.is_valid(), *(f.is_valid() for f in formsets)]):
            try:
                services.kickoff_update(
                    kickoff=kickoff, by=request.user, data=form.cleaned_data, participants=_participants(formsets)
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("The kickoff meeting is saved."))
                return redirect("handover:kickoff_detail", pk=kickoff.pk)
    else:
        form = KickoffForm(instance=kickoff)
        formsets = _formsets(account, kickoff=kickoff)
    context = {"account": account, "kickoff": kickoff, "form": form, "formsets": formsets}
    return render(request, "handover/kickoff_form.html", context)


@login_required
def kickoff_hold(request, pk: int):
    kickoff = _kickoff(request, pk)
    _writable(request, kickoff.account)
    if kickoff.status == Kickoff.Status.HELD:
        messages.info(request, _("This kickoff is already recorded as held."))
        return redirect("handover:kickoff_detail", pk=kickoff.pk)
    form = None
    if request.method == "POST":
        form = HoldForm(request.POST)
        if form.is_valid():
            outcomes = form.cleaned_data["expected_outcomes"]
            try:
                # Confirming the outcomes and holding the meeting succeed or fail together.
                with transaction.atomic():
                    if outcomes != kickoff.expected_outcomes:
                        services.kickoff_update(kickoff=kickoff, by=request.user, data={"expected_outcomes": outcomes})
                    services.kickoff_hold(kickoff=kickoff, by=request.user, held_on=form.cleaned_data["held_on"])
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(
                    request, _("The kickoff is recorded as held and the matching success-plan steps are completed.")
                )
                return redirect("handover:kickoff_detail", pk=kickoff.pk)
    return render(request, "handover/kickoff_hold.html", _detail_context(request, kickoff, hold_form=form))


# ------------------------------------------------------------------ minutes


def _minutes_context(request, kickoff: Kickoff) -> dict:
    return {
        "kickoff": kickoff,
        "account": kickoff.account,
        "csm": kickoff.account.csm,
        "meeting_on": kickoff.held_on or kickoff.scheduled_on,
        "can_change": can_change(request.user, kickoff.account),
        **_by_side(selectors.kickoff_participants(kickoff=kickoff)),
    }


@login_required
@require_GET
def kickoff_minutes(request, pk: int):
    kickoff = _kickoff(request, pk)
    return render(request, "handover/kickoff_minutes.html", _minutes_context(request, kickoff))


@login_required
@require_GET
def kickoff_minutes_pdf(request, pk: int):
    kickoff = _kickoff(request, pk)
    day = (kickoff.held_on or kickoff.scheduled_on).isoformat()
    name = slugify(f"{kickoff.account.name}-kickoff-{day}") or f"kickoff-{kickoff.pk}"
    return pdf_response(
        request, "handover/kickoff_minutes_print.html", _minutes_context(request, kickoff), filename=name
    )


urlpatterns = [
    path("account/<int:account_pk>/kickoff/", account_kickoff_panel, name="account_kickoff_panel"),
    path("account/<int:account_pk>/kickoff/new/", kickoff_new, name="kickoff_new"),
    path("kickoffs/<int:pk>/", kickoff_detail, name="kickoff_detail"),
    path("kickoffs/<int:pk>/edit/", kickoff_edit, name="kickoff_edit"),
    path("kickoffs/<int:pk>/hold/", kickoff_hold, name="kickoff_hold"),
    path("kickoffs/<int:pk>/minutes/", kickoff_minutes, name="kickoff_minutes"),
    path("kickoffs/<int:pk>/minutes.pdf", kickoff_minutes_pdf, name="kickoff_minutes_pdf"),
]
