import datetime as dt

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from . import services


@shared_task(acks_late=True, autoretry_for=(DatabaseError, BrokerError), retry_backoff=True, max_retries=5)
def usage_rollup_task(day_from: str | None = None, day_to: str | None = None) -> int:
    """Default: yesterday and today, so late events of yesterday are counted."""
    today = timezone.localdate()
    start = dt.date.fromisoformat(day_from) if day_from else today - dt.timedelta(days=1)
    end = dt.date.fromisoformat(day_to) if day_to else today
    return services.usage_rollup(day_from=start, day_to=end)
