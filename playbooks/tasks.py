import datetime as dt

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from .services.cadence import cadence_tasks_create
from .services.triggers import playbooks_fire


def _day(today: str | None) -> dt.date:
    return dt.date.fromisoformat(today) if today else timezone.localdate()


@shared_task(acks_late=True, autoretry_for=(DatabaseError, BrokerError), retry_backoff=True, max_retries=5)
def playbooks_fire_task(today: str | None = None) -> dict:
    """Launch playbooks whose trigger fired; each occurrence launches once, so retries are safe."""
    return playbooks_fire(today=_day(today))


@shared_task(acks_late=True, autoretry_for=(DatabaseError, BrokerError), retry_backoff=True, max_retries=5)
def cadence_tasks_create_task(today: str | None = None) -> dict:
    """Create check-in tasks ahead of each cadence period; a second run creates nothing."""
    return cadence_tasks_create(today=_day(today))
