"""Every read of accounts starts from cs_platform.access."""

import datetime as dt

from django.db.models import DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from cs_platform.access import restrict, visible_accounts

from .models import Account, Activity, Stakeholder

MONEY = DecimalField(max_digits=14, decimal_places=2)


def active_mrr(*, as_of: dt.date, prefix: str = "") -> Coalesce:
    """MRR of the subscriptions active on `as_of` (start <= d < end), as an aggregate
    over the reverse relation, so accounts need not import the renewals app."""
    sub = f"{prefix}subscriptions__"
    active = Q(**{f"{sub}start_date__lte": as_of}) & (
        Q(**{f"{sub}end_date__isnull": True}) | Q(**{f"{sub}end_date__gt": as_of})
    )
    return Coalesce(Sum(f"{sub}mrr", filter=active), Value(0), output_field=MONEY)


def account_list(*, user, as_of: dt.date | None = None) -> QuerySet[Account]:
    """The accounts `user` may see, with `mrr` and `arr` from active subscriptions."""
    as_of = as_of or timezone.localdate()
    return (
        visible_accounts(user)
        .select_related("csm", "team", "sales_owner")
        .annotate(mrr=active_mrr(as_of=as_of))
        .annotate(arr=ExpressionWrapper(F("mrr") * 12, output_field=MONEY))
        .order_by("name", "pk")
    )


def account_get(*, user, pk: int) -> Account:
    return get_object_or_404(account_list(user=user), pk=pk)


def stakeholder_list(*, user, account: Account) -> QuerySet[Stakeholder]:
    return restrict(Stakeholder.objects.filter(account=account), user).order_by("-is_active", "role", "name")


def activity_list(*, user, account: Account, limit: int = 20) -> QuerySet[Activity]:
    return restrict(Activity.objects.filter(account=account), user).select_related("created_by")[:limit]
