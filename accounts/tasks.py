import datetime as dt

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from . import services


@shared_task(acks_late=True, autoretry_for=(DatabaseError, BrokerError), retry_backoff=True, max_retries=5)
def account_tiers_refresh_task(as_of: str | None = None) -> dict:
    """Re-derive every account's tier from its ARR; safe to run any number of times."""
    day = dt.date.fromisoformat(as_of) if as_of else timezone.localdate()
    return {"as_of": day.isoformat(), "changed": services.account_tiers_refresh(as_of=day)}
