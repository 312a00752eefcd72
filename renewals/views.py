import datetime as dt

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.selectors import account_get
from cs_platform.pages import csv_response, paginate, querystring_without

from . import selectors
from .filters import RenewalFilter
from .models import Renewal


@login_required
def pipeline(request):
    today = timezone.localdate()
    params = request.GET.copy()
    params.setdefault("due_after", today.isoformat())
    filterset = RenewalFilter(params, queryset=selectors.renewal_list(user=request.user), request=request)
    renewals = filterset.qs.order_by("due_date", "account__name") if filterset.is_valid() else Renewal.objects.none()
    if request.GET.get("export") == "csv":
        header = [_("Account"), _("External ID"), _("Due date"), _("Owner"), _("Stage"), _("Forecast MRR"), _("Risk")]
        rows = (
            [
                r.account.name,
                r.account.external_id,
                r.due_date,
                r.owner.username if r.owner else "",
                r.get_stage_display(),
                r.forecast_mrr,
                r.get_risk_display(),
            ]  # fmt: skip
            for r in renewals.iterator(chunk_size=1000)
        )
        return csv_response(filename="renewals.csv", header=header, rows=rows)
    months = selectors.renewals_by_month(user=request.user, start=today)
    return render(
        request,
        "renewals/pipeline.html",
        {
            "filter": filterset,
            "months": months,
            "chart": {
                "labels": [m["month"].strftime("%Y-%m") for m in months],
                "forecast": [float(m["forecast_mrr"]) for m in months],
                "at_risk": [float(m["at_risk_mrr"]) for m in months],
            },
            "page": paginate(request, renewals),
            "querystring": querystring_without(request, "page"),
            "export_query": querystring_without(request, "page", "export"),
        },
    )


@login_required
def account_panel(request, pk: int):
    account = account_get(user=request.user, pk=pk)
    today = timezone.localdate()
    subscriptions = list(selectors.subscription_list(user=request.user, account=account))
    for s in subscriptions:
        s.is_active = s.start_date <= today and (s.end_date is None or s.end_date > today)
    next_renewal = (
        selectors.renewal_list(user=request.user)
        .filter(account=account, due_date__gte=today)
        .order_by("due_date")
        .first()
    )
    return render(
        request,
        "renewals/_account_panel.html",
        {"account": account, "subscriptions": subscriptions, "next_renewal": next_renewal},
    )


@login_required
def my_upcoming(request):
    """Fragment for My work: the user's renewals in the next 90 days."""
    today = timezone.localdate()
    renewals = (
        selectors.renewal_list(user=request.user)
        .filter(owner=request.user, due_date__gte=today, due_date__lte=today + dt.timedelta(days=90))
        .order_by("due_date")[:10]
    )
    return render(request, "renewals/_my_upcoming.html", {"renewals": renewals})
