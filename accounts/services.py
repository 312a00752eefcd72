"""Every write to accounts goes through here."""

from django.db import transaction
from django.db.models import Case, IntegerField, Value, When

from .models import Account


@transaction.atomic
def account_create(*, data: dict) -> Account:
    account = Account(**data)
    account.full_clean()
    account.save()
    return account


@transaction.atomic
def account_update(*, account: Account, data: dict) -> Account:
    for field, value in data.items():
        setattr(account, field, value)
    account.full_clean()
    account.save()
    return account


def account_health_set(*, scores: dict[int, tuple[int, str]]) -> int:
    """Record the latest health score and band of many accounts in one UPDATE.
    Called by the health app, which owns the scores (architecture: higher calls lower)."""
    if not scores:
        return 0
    return Account.objects.filter(pk__in=scores).update(
        health_score=Case(
            *[When(pk=pk, then=Value(score)) for pk, (score, _band) in scores.items()], output_field=IntegerField()
        ),
        health_band=Case(*[When(pk=pk, then=Value(band)) for pk, (_score, band) in scores.items()]),
    )
