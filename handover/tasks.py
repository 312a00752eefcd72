import datetime as dt
import logging

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from .services import handovers_flag_overdue

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(DatabaseError, BrokerError), retry_backoff=True, max_retries=5)
def handovers_flag_overdue_task(today: str | None = None) -> dict:
    """Flag submitted handovers waiting too long for review to their managers; each is
    flagged once, so retries and a second run tell nobody twice."""
    day = dt.date.fromisoformat(today) if today else timezone.localdate()
    flagged = handovers_flag_overdue(today=day)
    logger.info("handovers flagged as overdue on %s: %d", day.isoformat(), flagged)
    return {"flagged": flagged}
