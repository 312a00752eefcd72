from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cs_platform.access import can_change
from cs_platform.pages import paginate
from people.models import User

from . import selectors, services
from .forms import ReturnForm
from .models import Handover


@login_required
def handover_list(request):
    counts = selectors.handover_counts(user=request.user)
    status = request.GET.get("status")
    if status not in Handover.Status.values:
        status = selectors.default_queue(user=request.user)
    queues = [(value, label, counts[value]) for value, label in Handover.Status.choices]
    handovers = (
        selectors.handover_list(user=request.user).filter(status=status).order_by("-submitted_at", "-created_at")
    )
    return render(
        request,
        "handover/handover_list.html",
        {"queues": queues, "status": status, "page": paginate(request, handovers), "querystring": f"status={status}"},
    )


@login_required
def handover_detail(request, pk: int):
    handover = selectors.handover_get(user=request.user, pk=pk)
    is_reviewer = request.user.role != User.Role.SALES and can_change(request.user, handover.account)
    return render(
        request,
        "handover/handover_detail.html",
        {
            "handover": handover,
            "transitions": handover.transitions.select_related("by"),
            "can_submit": handover.status in (Handover.Status.DRAFT, Handover.Status.RETURNED)
            and can_change(request.user, handover),
            "can_review": handover.status == Handover.Status.SUBMITTED and is_reviewer,
            "return_form": ReturnForm(),
        },
    )


@login_required
@require_POST
def handover_action(request, pk: int, action: str):
    handover = selectors.handover_get(user=request.user, pk=pk)
    try:
        if action == "submit":
            services.handover_submit(handover=handover, by=request.user)
            messages.success(request, _("Handover submitted for review."))
        elif action == "accept":
            services.handover_accept(handover=handover, by=request.user)
            messages.success(request, _("Handover accepted. The account is now in kickoff."))
        elif action == "return":
            form = ReturnForm(request.POST)
            if not form.is_valid():
                raise ValidationError(form.errors["reason"])
            services.handover_return(handover=handover, by=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, _("Handover returned to sales."))
        else:
            raise Http404
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("handover:detail", pk=handover.pk)
