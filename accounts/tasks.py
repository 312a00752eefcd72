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


@shared_task(acks_late=True, autoretry_for=(DatabaseError, BrokerError), retry_backoff=True, max_retries=3)
def import_apply_task(user_id: int, kind: str, token: str, extension: str) -> dict:
    """Apply a kept upload in the background (large files). All or nothing, like the page;
    a retry after a lost worker re-applies the same file, which updates rather than duplicates."""
    from django.contrib.auth import get_user_model
    from django.core.exceptions import ValidationError

    from .imports import import_apply, read_dataset, upload_delete, upload_load

    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    content = upload_load(user=user, token=token, extension=extension) if user else None
    if content is None:
        return {"ok": False, "errors": ["gone"], "counts": {}}
    try:
        report = import_apply(user=user, kind=kind, dataset=read_dataset(content, extension))
    except ValidationError as error:
        report = getattr(error, "report", None)
        return {"ok": False, "errors": report.messages(limit=50) if report else error.messages, "counts": {}}
    upload_delete(user=user, token=token, extension=extension)
    return {"ok": True, "errors": [], "counts": report.counts}
