"""One renewal's page: what is up for renewal and why the risk is what it is, the edit
form (stage, probability, forecast, owner for those who may reassign), the close form with
the outcome, and the stage buttons of the board."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cs_platform.access import can_change_visible_renewal, can_reassign
from cs_platform.pages import add_service_errors, is_htmx

from . import selectors, services
from .forms import RenewalCloseForm, RenewalEditForm
from .views import _next_stages


def _owners(request, renewal):
    """Whom the user may make the owner, or None when they may not reassign. For a renewal
    the user may change (so sees), reassigning is the can_reassign rule."""
    if can_reassign(request.user) and can_change_visible_renewal(request.user, renewal):
        return selectors.renewal_owner_candidates(user=request.user, keep=renewal.owner_id)
    return None


def _detail(request, renewal, *, edit_form=None, close_form=None):
    user = request.user
    may_change = can_change_visible_renewal(user, renewal)
    if renewal.is_open and may_change:
        if edit_form is None:
            edit_form = RenewalEditForm(renewal=renewal, owners=_owners(request, renewal))
        if close_form is None:
            close_form = RenewalCloseForm(reasons=selectors.reason_choices(), initial={"renewed_mrr": renewal.term_mrr})
    else:
        edit_form = close_form = None
    return render(
        request,
        "renewals/detail.html",
        {
            "renewal": renewal,
            "account": renewal.account,
            "term_subscriptions": list(selectors.renewal_term_subscriptions(renewal=renewal)),
            "alert_types": selectors.open_alert_types(account=renewal.account) if renewal.is_open else [],
            "reasons": list(renewal.reasons.all()),
            "may_change": may_change,
            "edit_form": edit_form,
            "close_form": close_form,
            "today": timezone.localdate(),
        },
    )


@login_required
def detail(request, pk: int):
    return _detail(request, selectors.renewal_get(user=request.user, pk=pk))


@login_required
@require_POST
def edit(request, pk: int):
    renewal = selectors.renewal_get(user=request.user, pk=pk)
    if not can_change_visible_renewal(request.user, renewal):
        raise PermissionDenied
    form = RenewalEditForm(request.POST, renewal=renewal, owners=_owners(request, renewal))
    if form.is_valid():
        data = {key: value for key, value in form.cleaned_data.items() if value is not None}
        try:
            services.renewal_update(renewal=renewal, data=data, by=request.user)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Renewal saved."))
            return redirect("renewals:detail", renewal.pk)
    return _detail(request, selectors.renewal_get(user=request.user, pk=pk), edit_form=form)


@login_required
@require_POST
def close(request, pk: int):
    renewal = selectors.renewal_get(user=request.user, pk=pk)
    if not can_change_visible_renewal(request.user, renewal):
        raise PermissionDenied
    form = RenewalCloseForm(request.POST, reasons=selectors.reason_choices())
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.renewal_close(
                renewal=renewal,
                outcome=data["outcome"],
                renewed_mrr=data["renewed_mrr"],
                reasons=data["reasons"],
                story=data["story"],
                by=request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Renewal closed: %(outcome)s.") % {"outcome": renewal.get_stage_display()})
            return redirect("renewals:detail", renewal.pk)
    return _detail(request, selectors.renewal_get(user=request.user, pk=pk), close_form=form)


@login_required
@require_POST
def set_stage(request, pk: int):
    """A board button: move the renewal forward. For htmx the card again (the board
    reloads itself on `renewal-moved`), else back to the page the user came from."""
    renewal = selectors.renewal_get(user=request.user, pk=pk)
    if not can_change_visible_renewal(request.user, renewal):
        raise PermissionDenied
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = reverse("renewals:board")
    error = ""
    try:
        services.renewal_set_stage(renewal=renewal, stage=request.POST.get("stage", ""), by=request.user)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if is_htmx(request):
        renewal.may_change, renewal.next_stages = True, _next_stages(renewal)
        context = {"card": renewal, "error": error, "back": back, "today": timezone.localdate()}
        response = render(request, "renewals/_board_card.html", context)
        if not error:
            response["HX-Trigger"] = "renewal-moved"
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request,
            _("%(account)s moved to %(stage)s.")
            % {"account": renewal.account.name, "stage": renewal.get_stage_display().lower()},
        )
    return redirect(back)
