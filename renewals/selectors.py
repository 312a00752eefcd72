import datetime as dt

from dateutil.relativedelta import relativedelta
from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth

from accounts.models import Account
from cs_platform.access import restrict

from .models import Renewal, Subscription

MONEY = DecimalField(max_digits=14, decimal_places=2)
AT_RISK = Q(risk=Renewal.Risk.HIGH)


def renewal_list(*, user) -> QuerySet[Renewal]:
    return restrict(Renewal.objects.all(), user).select_related("account", "owner")


def renewals_by_month(*, user, start: dt.date, months: int = 12) -> list[dict]:
    """Count, forecast MRR and at-risk MRR of renewals due in each of `months` calendar
    months from start's month, in one query; months without renewals are listed as zero."""
    first = start.replace(day=1)
    end = first + relativedelta(months=months)
    rows = (
        renewal_list(user=user)
        .filter(due_date__gte=first, due_date__lt=end)
        .annotate(month=TruncMonth("due_date"))
        .values("month")
        .annotate(
            count=Count("id"),
            forecast=Coalesce(Sum("forecast_mrr"), Value(0), output_field=MONEY),
            at_risk_count=Count("id", filter=AT_RISK),
            at_risk=Coalesce(Sum("forecast_mrr", filter=AT_RISK), Value(0), output_field=MONEY),
        )
        .order_by("month")
    )
    by_month = {(r["month"].year, r["month"].month): r for r in rows}
    result = []
    for i in range(months):
        month = first + relativedelta(months=i)
        row = by_month.get((month.year, month.month), {})
        result.append(
            {
                "month": month,
                "count": row.get("count", 0),
                "forecast_mrr": row.get("forecast", 0),
                "at_risk_count": row.get("at_risk_count", 0),
                "at_risk_mrr": row.get("at_risk", 0),
            }
        )
    return result


def subscription_list(*, user, account: Account) -> QuerySet[Subscription]:
    return (
        restrict(Subscription.objects.filter(account=account), user).select_related("product").order_by("-start_date")
    )
