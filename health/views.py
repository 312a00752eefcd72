import datetime as dt

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from accounts.selectors import account_get
from cs_platform.pages import paginate, querystring_without

from . import selectors
from .filters import AlertFilter


@login_required
def account_panel(request, pk: int):
    account = account_get(user=request.user, pk=pk)
    today = timezone.localdate()
    history = list(selectors.score_history(user=request.user, account=account, since=today - dt.timedelta(days=180)))
    usage = selectors.usage_by_day(user=request.user, account=account, since=today - dt.timedelta(days=30))
    alerts = selectors.alert_list(user=request.user).filter(account=account).exclude(status="resolved")
    return render(
        request,
        "health/_account_panel.html",
        {
            "account": account,
            "latest": history[-1] if history else None,
            "alerts": alerts,
            "chart": {
                "score_labels": [h.as_of.isoformat() for h in history],
                "scores": [h.score for h in history],
                "usage_labels": [u["day"].isoformat() for u in usage],
                "events": [u["events"] for u in usage],
                "users": [u["users"] for u in usage],
            },
        },
    )


@login_required
def my_alerts(request):
    """Fragment for My work."""
    alerts = selectors.my_open_alerts(user=request.user)[:10]
    return render(request, "health/_my_alerts.html", {"alerts": alerts})


@login_required
def alert_list(request):
    params = request.GET.copy()
    params.setdefault("status", "open")
    filterset = AlertFilter(params, queryset=selectors.alert_list(user=request.user))
    alerts = filterset.qs.order_by("-created_at") if filterset.is_valid() else filterset.queryset.none()
    return render(
        request,
        "health/alert_list.html",
        {"filter": filterset, "page": paginate(request, alerts), "querystring": querystring_without(request, "page")},
    )
