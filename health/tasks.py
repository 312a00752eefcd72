import datetime as dt

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from . import services
from .calibration import health_calibrate_task  # noqa: F401  (registered with the worker here)

RETRY = {"acks_late": True, "autoretry_for": (DatabaseError, BrokerError), "retry_backoff": True, "max_retries": 5}


@shared_task(**RETRY)
def usage_rollup_task(day_from: str | None = None, day_to: str | None = None) -> int:
    """Default: yesterday and today, so late events of yesterday are counted."""
    today = timezone.localdate()
    start = dt.date.fromisoformat(day_from) if day_from else today - dt.timedelta(days=1)
    end = dt.date.fromisoformat(day_to) if day_to else today
    return services.usage_rollup(day_from=start, day_to=end)


@shared_task(bind=True, **RETRY)
def health_score_task(self, as_of: str | None = None, account_ids: list[int] | None = None) -> dict:
    """Score every account (or `account_ids`) as of a date, default today: daily by beat,
    on demand through the API, and debounced after new events. Each batch commits on its
    own and a re-run replaces the date's scores, so a retry or a duplicate delivery is
    harmless. A full run for today then evaluates the early-warning rules."""
    day = dt.date.fromisoformat(as_of) if as_of else timezone.localdate()

    def progress(done: int) -> None:
        if self.request.id and not self.request.called_directly:
            self.update_state(state="STARTED", meta={"accounts_scored": done, "as_of": day.isoformat()})

    scored = services.health_score_run(as_of=day, account_ids=account_ids, progress=progress)
    result = {"accounts_scored": scored, "as_of": day.isoformat()}
    if day == timezone.localdate():
        from .alerts import alerts_evaluate

        result["alerts_raised"] = alerts_evaluate(as_of=day, account_ids=account_ids)
        # Renewal risk follows the new bands and open alerts.
        from renewals.services import renewals_risk_refresh

        renewals_risk_refresh(account_ids=account_ids)
    return result


def health_score_soon(account_ids) -> int:
    """Score these accounts again shortly (HEALTH_DEBOUNCE_SECONDS), once however many
    event batches arrive in the meantime: an account already waiting is not queued
    again. Queued after the surrounding transaction commits. Returns how many were queued."""
    delay = settings.HEALTH_DEBOUNCE_SECONDS
    keys = {pk: f"health:soon:{pk}" for pk in sorted(set(account_ids))}
    already = cache.get_many(list(keys.values()))  # two round trips for any number of accounts
    waiting = [pk for pk, key in keys.items() if key not in already]
    cache.set_many({keys[pk]: 1 for pk in waiting}, timeout=delay)  # a race queues twice: scoring is idempotent
    if waiting:
        transaction.on_commit(lambda: health_score_task.apply_async(kwargs={"account_ids": waiting}, countdown=delay))
    return len(waiting)
