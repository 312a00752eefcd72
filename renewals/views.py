"""Renewal pages: the pipeline by month, the board by stage, my renewals, past renewals
(each list with its CSV export), the account page's panel with the churn form, and the My
work fragment. The renewal's own page is in views_detail."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.selectors import account_get
from cs_platform.access import can_change_visible_renewal, can_record_churn
from cs_platform.pages import add_service_errors, csv_response, is_htmx, paginate, querystring_without

from . import selectors, services
from .filters import BoardFilter, MineFilter, PastFilter, PipelineFilter
from .forms import ChurnForm
from .models import Renewal, RenewalReason

BOARD_DAYS = 90
DATE_FILTERS = ("due_after", "due_before", "month")


def _filtered(filterset, visible):
    """The filterset's rows, or none when its input is invalid (the form shows why)."""
    return filterset.qs if filterset.is_valid() else visible.none()


def _without_dates(filterset, visible):
    """`visible` narrowed by the page's valid filters except the dates: what the months
    table and the totals summarise."""
    qs = visible
    if filterset.is_valid():
        for name, value in filterset.form.cleaned_data.items():
            if name not in DATE_FILTERS:
                qs = filterset.filters[name].filter(qs, value)
    return qs


def _csv(renewals, filename: str):
    """The filtered list as CSV: the same selector and filter as the page."""
    header = [
        _("Account"), _("External ID"), _("Due date"), _("Owner"), _("Co-owner"), _("Who renews"), _("Stage"),
        _("MRR up for renewal"), _("Forecast MRR"), _("Probability (%)"), _("Expected MRR"), _("Risk"),
        _("Renewed MRR"), _("Reasons"), _("Story"), _("Closed on"),
    ]  # fmt: skip
    rows = (
        [
            r.account.name,
            r.account.external_id,
            r.due_date,
            r.owner.username if r.owner else "",
            r.co_owner.username if r.co_owner else "",
            r.get_owner_rule_display(),
            r.get_stage_display(),
            r.term_mrr,
            r.forecast_mrr,
            r.probability,
            r.expected,
            r.get_risk_display(),
            "" if r.renewed_mrr is None else r.renewed_mrr,
            "; ".join(x.label for x in r.reasons.all()),
            r.outcome,
            r.closed_on or "",
        ]  # fmt: skip
        for r in renewals.annotate(expected=selectors.expected_mrr())
        .prefetch_related("reasons")
        .iterator(chunk_size=1000)
    )
    return csv_response(filename=filename, header=header, rows=rows)


def _with_rights(user, page) -> None:
    page.object_list = list(page.object_list)
    for r in page.object_list:
        r.may_change = can_change_visible_renewal(user, r)


@login_required
def pipeline(request):
    """Renewals by month for the next 12 months (count, MRR up for renewal, forecast,
    expected, at risk) and the filtered list below, upcoming first."""
    today = timezone.localdate()
    params = request.GET.copy()
    params.setdefault("due_after", today.isoformat())
    visible = selectors.renewal_list(user=request.user)
    filterset = PipelineFilter(params, queryset=visible, request=request)
    renewals = _filtered(filterset, visible).order_by("due_date", "account__name", "pk")
    if request.GET.get("export") == "csv":
        return _csv(renewals, "renewals.csv")
    months = selectors.renewals_by_month(user=request.user, start=today, queryset=_without_dates(filterset, visible))
    totals = {
        key: sum(m[key] for m in months)
        for key in ("count", "term_mrr", "forecast_mrr", "expected_mrr", "at_risk_count", "at_risk_mrr")
    }
    page = paginate(request, renewals.annotate(expected=selectors.expected_mrr()))
    _with_rights(request.user, page)
    return render(
        request,
        "renewals/pipeline.html",
        {
            "tab": "pipeline",
            "today": today,
            "filter": filterset,
            "months": months,
            "totals": totals,
            "chart": {
                "labels": [m["month"].strftime("%Y-%m") for m in months],
                "forecast": [float(m["expected_mrr"]) for m in months],
                "at_risk": [float(m["at_risk_mrr"]) for m in months],
            },
            "page": page,
            "querystring": querystring_without(request, "page"),
            "export_query": querystring_without(request, "page", "export"),
            "month_query": querystring_without(request, "page", "export", *DATE_FILTERS),
        },
    )


@login_required
def board(request):
    """Open renewals as a board: one column per stage, soonest due first, with buttons
    that move a renewal forward. Due within 90 days by default (overdue ones included)."""
    today = timezone.localdate()
    params = request.GET.copy()
    params.setdefault("due_before", (today + dt.timedelta(days=BOARD_DAYS)).isoformat())
    visible = selectors.renewal_list(user=request.user)
    filterset = BoardFilter(params, queryset=visible, request=request)
    columns = selectors.renewal_board(_filtered(filterset, visible))
    for column in columns:
        for card in column["cards"]:
            card.may_change = can_change_visible_renewal(request.user, card)
            card.next_stages = _next_stages(card)
    context = {
        "tab": "board",
        "filter": filterset,
        "columns": columns,
        "today": today,
        "back": request.get_full_path(),
        "more_query": querystring_without(request, "page"),
    }
    return render(request, "renewals/board.html", context)


def _next_stages(renewal) -> list[tuple[str, str]]:
    order = list(Renewal.OPEN_STAGES)
    if renewal.stage not in order:
        return []
    return [(s, Renewal.Stage(s).label) for s in order[order.index(renewal.stage) + 1 :]]


@login_required
def mine(request):
    """The renewals the user owns or co-owns: open ones by default, overdue first."""
    today = timezone.localdate()
    params = request.GET.copy()
    params.setdefault("status", "open")
    visible = selectors.renewal_list(user=request.user).filter(Q(owner=request.user) | Q(co_owner=request.user))
    filterset = MineFilter(params, queryset=visible, request=request)
    renewals = _filtered(filterset, visible).order_by("due_date", "account__name", "pk")
    if request.GET.get("export") == "csv":
        return _csv(renewals, "my-renewals.csv")
    page = paginate(request, renewals.annotate(expected=selectors.expected_mrr()))
    _with_rights(request.user, page)
    return render(
        request,
        "renewals/mine.html",
        {
            "tab": "mine",
            "filter": filterset,
            "totals": selectors.renewal_totals(renewals),
            "page": page,
            "today": today,
            "querystring": querystring_without(request, "page"),
            "export_query": querystring_without(request, "page", "export"),
        },
    )


@login_required
def past(request):
    """Closed renewals with their outcome, reasons and story, latest due first; filter by
    outcome, reason, owner and month; how often each reason was given."""
    visible = selectors.renewal_list(user=request.user).exclude(stage__in=Renewal.OPEN_STAGES)
    filterset = PastFilter(request.GET, queryset=visible, request=request)
    renewals = _filtered(filterset, visible).order_by("-due_date", "account__name", "pk")
    if request.GET.get("export") == "csv":
        return _csv(renewals, "past-renewals.csv")
    page = paginate(request, renewals.prefetch_related("reasons"))
    return render(
        request,
        "renewals/past.html",
        {
            "tab": "past",
            "filter": filterset,
            "totals": selectors.renewal_totals(renewals),
            "outcomes": selectors.outcome_counts(renewals),
            "reasons": selectors.reason_counts(renewals),
            "page": page,
            "querystring": querystring_without(request, "page"),
            "export_query": querystring_without(request, "page", "export"),
        },
    )


# ------------------------------------------------------------------ account page


def _panel(request, account, *, churn_form=None):
    """The account page's panel: subscriptions, the next renewal, the churn record or the
    "Record churn" form for those who may. A fixed number of queries."""
    user = request.user
    today = timezone.localdate()
    subscriptions = list(selectors.subscription_list(user=user, account=account))
    for s in subscriptions:
        s.is_active = s.start_date <= today and (s.end_date is None or s.end_date > today)
    next_renewal = (
        selectors.renewal_list(user=user)
        .filter(account=account, stage__in=Renewal.OPEN_STAGES)
        .order_by("due_date")
        .first()
    )
    churned = account.lifecycle_stage == account.Stage.CHURNED
    may_churn = not churned and can_record_churn(user, account)
    if may_churn and churn_form is None:
        churn_form = ChurnForm(reasons=selectors.reason_choices(kind=RenewalReason.Kind.CHURN), prefix="churn")
    return render(
        request,
        "renewals/_account_panel.html",
        {
            "account": account,
            "subscriptions": subscriptions,
            "next_renewal": next_renewal,
            "churn": selectors.churn_record_latest(user=user, account=account) if churned else None,
            "churn_form": churn_form if may_churn else None,
        },
    )


@login_required
def account_panel(request, pk: int):
    return _panel(request, account_get(user=request.user, pk=pk))


@login_required
@require_POST
def churn_record(request, pk: int):
    """ "Record churn" on the account page: closes the subscriptions, moves the account to
    churned, closes its open renewals and keeps the reasons and the story."""
    account = account_get(user=request.user, pk=pk)
    if not can_record_churn(request.user, account):
        raise PermissionDenied
    form = ChurnForm(request.POST, reasons=selectors.reason_choices(kind=RenewalReason.Kind.CHURN), prefix="churn")
    if form.is_valid():
        try:
            services.churn_record(account=account, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Churn recorded: the subscriptions are closed and the account is churned."))
            if is_htmx(request):
                # The header, health and tasks change too: the whole page loads again.
                response = _panel(request, account_get(user=request.user, pk=pk))
                response["HX-Refresh"] = "true"
                return response
            return redirect("accounts:detail", account.pk)
    if is_htmx(request):
        return _panel(request, account, churn_form=form)
    messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
    return redirect("accounts:detail", account.pk)


@login_required
def my_upcoming(request):
    """Fragment for My work: the user's open renewals in the next 90 days."""
    today = timezone.localdate()
    renewals = (
        selectors.renewal_list(user=request.user)
        .filter(Q(owner=request.user) | Q(co_owner=request.user), stage__in=Renewal.OPEN_STAGES)
        .filter(due_date__gte=today, due_date__lte=today + dt.timedelta(days=90))
        .order_by("due_date")[:10]
    )
    return render(request, "renewals/_my_upcoming.html", {"renewals": renewals})
