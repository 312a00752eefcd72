import datetime as dt

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from . import services


@shared_task(acks_late=True, autoretry_for=(DatabaseError, BrokerError), retry_backoff=True, max_retries=5)
def renewals_sync_task(today: str | None = None) -> dict:
    day = dt.date.fromisoformat(today) if today else timezone.localdate()
    return services.renewals_sync(today=day)
