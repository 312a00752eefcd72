"""Writes for subscriptions and renewals."""

import datetime as dt
import logging

from django.db import transaction
from django.db.models import DecimalField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from .models import Renewal, Subscription

log = logging.getLogger(__name__)

RENEWAL_HORIZON_DAYS = 365


def _term_mrr(as_of_field: str) -> Subquery:
    """MRR of the account's subscriptions whose term ends on the renewal's due date."""
    return Coalesce(
        Subquery(
            Subscription.objects.filter(account=OuterRef("account"), end_date=OuterRef(as_of_field))
            .values("account")
            .annotate(total=Sum("mrr"))
            .values("total")[:1]
        ),
        Value(0),
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )


@transaction.atomic
def renewals_sync(*, today: dt.date, horizon_days: int = RENEWAL_HORIZON_DAYS) -> dict:
    """Keep one renewal per account and term in step with subscription end dates.

    Set-based and idempotent: one read of the terms ending within the horizon, one
    insert that ignores terms already known, one update of open renewals' forecast.
    Running it twice changes nothing the second time."""
    horizon = today + dt.timedelta(days=horizon_days)
    terms = (
        Subscription.objects.filter(end_date__gte=today, end_date__lte=horizon)
        .values("account_id", "end_date", "account__csm_id")
        .annotate(mrr=Sum("mrr"))
        .order_by()
    )
    new = [
        Renewal(
            account_id=t["account_id"],
            due_date=t["end_date"],
            owner_id=t["account__csm_id"],
            forecast_mrr=t["mrr"],
        )
        for t in terms
    ]
    before = Renewal.objects.count()
    Renewal.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
    created = Renewal.objects.count() - before
    updated = Renewal.objects.filter(stage__in=Renewal.OPEN_STAGES, due_date__gte=today, due_date__lte=horizon).update(
        forecast_mrr=_term_mrr("due_date")
    )
    log.info("renewals_sync %s: %d terms, %d created, %d open renewals refreshed", today, len(new), created, updated)
    return {"terms": len(new), "created": created, "refreshed": updated}
