"""Read-only figures across apps, each a fixed number of grouped queries."""

import datetime as dt

from django.db.models import Count, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import Account
from accounts.selectors import active_mrr
from cs_platform.access import restrict, visible_accounts
from health.models import Alert
from people.models import User
from renewals.models import Renewal

MONEY = DecimalField(max_digits=14, decimal_places=2)
ACCOUNTS_PER_CSM_TARGET = 40


def team_load(*, user, today: dt.date) -> list[dict]:
    """Per CSM among the accounts `user` sees: accounts, ARR, accounts by band, open
    alerts and renewals due in 90 days. Four queries whatever the number of accounts."""
    accounts = visible_accounts(user).exclude(lifecycle_stage=Account.Stage.CHURNED)
    per_csm = (
        accounts.order_by()
        .values("csm_id")
        .annotate(
            accounts=Count("id", distinct=True),
            green=Count("id", filter=Q(health_band="green"), distinct=True),
            yellow=Count("id", filter=Q(health_band="yellow"), distinct=True),
            red=Count("id", filter=Q(health_band="red"), distinct=True),
        )
    )
    mrr = accounts.order_by().values("csm_id").annotate(mrr=active_mrr(as_of=today))
    alerts = (
        restrict(Alert.objects.exclude(status=Alert.Status.RESOLVED), user)
        .order_by()
        .values("account__csm_id")
        .annotate(n=Count("id"))
    )
    renewals = (
        restrict(Renewal.objects.filter(due_date__gte=today, due_date__lte=today + dt.timedelta(days=90)), user)
        .filter(stage__in=Renewal.OPEN_STAGES)
        .order_by()
        .values("account__csm_id")
        .annotate(n=Count("id"), mrr=Coalesce(Sum("forecast_mrr"), Value(0), output_field=MONEY))
    )
    mrr_by = {r["csm_id"]: r["mrr"] for r in mrr}
    alerts_by = {r["account__csm_id"]: r["n"] for r in alerts}
    renewals_by = {r["account__csm_id"]: r for r in renewals}
    rows = list(per_csm)
    people = User.objects.select_related("team").in_bulk([r["csm_id"] for r in rows if r["csm_id"]])
    for r in rows:
        r["csm"] = people.get(r["csm_id"])
        r["arr"] = mrr_by.get(r["csm_id"], 0) * 12
        r["open_alerts"] = alerts_by.get(r["csm_id"], 0)
        r["renewals_90d"] = renewals_by.get(r["csm_id"], {}).get("n", 0)
        r["renewals_90d_mrr"] = renewals_by.get(r["csm_id"], {}).get("mrr", 0)
        r["over_target"] = r["accounts"] > ACCOUNTS_PER_CSM_TARGET
    rows.sort(key=lambda r: (r["csm"] is None, str(r["csm"] or "")))
    return rows


def alerts_by_type(*, user) -> list[dict]:
    rows = (
        restrict(Alert.objects.exclude(status=Alert.Status.RESOLVED), user)
        .order_by()
        .values("type")
        .annotate(n=Count("id"))
    )
    labels = dict(Alert.Type.choices)
    return sorted(({"type": r["type"], "label": labels.get(r["type"], r["type"]), "n": r["n"]} for r in rows),
                  key=lambda r: -r["n"])  # fmt: skip
