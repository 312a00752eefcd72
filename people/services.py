"""Telling people things: in-app notifications, and an email through Django's email
backend (EMAIL_URL) for those who have an address."""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils import timezone

from .models import Notification, User

logger = logging.getLogger(__name__)


def notify(*, users: Iterable[User], message: str, url: str = "", subject: str = "", email: bool = True) -> int:
    """Notify each distinct active user once. The email goes after the surrounding
    transaction commits, so a rolled-back change never sends one. Returns how many."""
    recipients = {u.pk: u for u in users if u is not None and u.is_active and not u.is_api_only}
    Notification.objects.bulk_create(
        [Notification(user=u, message=message[:300], url=url) for u in recipients.values()]
    )
    if email:
        mails = [u.email for u in recipients.values() if u.email]
        if mails:
            link = f"{settings.SITE_URL.rstrip('/')}{url}" if url else ""
            body = f"{message}\n\n{link}".strip()
            messages = [(subject or message[:120], body, settings.DEFAULT_FROM_EMAIL, [to]) for to in mails]
            transaction.on_commit(lambda: _send(messages))
    return len(recipients)


def _send(messages) -> None:
    try:
        send_mass_mail(messages, fail_silently=False)
    except Exception:  # a mail server being down must not undo the work that was done
        logger.exception("could not send %d notification email(s)", len(messages))


def notifications_mark_read(*, user: User, ids: Iterable[int] | None = None) -> int:
    """Mark some (or all) of `user`'s unread notifications as read."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now())
