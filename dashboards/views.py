from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from renewals.selectors import renewals_by_month

from . import selectors


@login_required
def overview(request):
    today = timezone.localdate()
    load = selectors.team_load(user=request.user, today=today)
    months = renewals_by_month(user=request.user, start=today)
    totals = {
        "accounts": sum(r["accounts"] for r in load),
        "arr": sum(r["arr"] for r in load),
        "green": sum(r["green"] for r in load),
        "yellow": sum(r["yellow"] for r in load),
        "red": sum(r["red"] for r in load),
        "open_alerts": sum(r["open_alerts"] for r in load),
        "renewals_90d": sum(r["renewals_90d"] for r in load),
    }
    totals["unscored"] = totals["accounts"] - totals["green"] - totals["yellow"] - totals["red"]
    return render(
        request,
        "dashboards/overview.html",
        {
            "load": load,
            "totals": totals,
            "target": selectors.ACCOUNTS_PER_CSM_TARGET,
            "alerts_by_type": selectors.alerts_by_type(user=request.user),
            "chart": {
                "bands": [totals["green"], totals["yellow"], totals["red"], totals["unscored"]],
                "months": [m["month"].strftime("%Y-%m") for m in months],
                "forecast": [float(m["forecast_mrr"]) for m in months],
                "at_risk": [float(m["at_risk_mrr"]) for m in months],
            },
        },
    )
