"""Reads of people's own things: their notifications."""

from django.db.models import Case, IntegerField, QuerySet, Value, When

from .models import Notification, User


def notification_list(*, user: User) -> QuerySet[Notification]:
    """The user's notifications, unread first, newest first within each."""
    unread = Case(When(read_at__isnull=True, then=Value(1)), default=Value(0), output_field=IntegerField())
    return Notification.objects.filter(user=user).annotate(unread=unread).order_by("-unread", "-created_at", "-pk")


def notification_unread(*, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user, read_at__isnull=True)


def notification_get(*, user: User, pk: int) -> Notification | None:
    return Notification.objects.filter(user=user, pk=pk).first()
