from django.conf import settings
from django.db.models import F, IntegerField, Subquery
from django.utils.functional import SimpleLazyObject

from handover.selectors import handover_todo
from people.models import User
from people.selectors import notification_unread


def platform(request):
    user = getattr(request, "user", None)
    return {
        "CURRENCY": settings.CURRENCY,
        "PLATFORM_NAME": settings.PLATFORM_NAME,
        # Lazy: only pages that show the navigation pay for it (HTMX fragments do not).
        "nav_counts": SimpleLazyObject(lambda: nav_counts(user)),
    }


class _Count(Subquery):
    """COUNT(*) of a queryset as a scalar subquery, so several counts come in one query."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _count)"
    output_field = IntegerField()


def nav_counts(user) -> dict[str, int]:
    """What the top bar shows, in one query: handovers waiting for the user's action (and
    how many of them are overdue), unread notifications and the user's team."""
    if user is None or not user.is_authenticated or user.is_api_only:
        return {"handovers": 0, "handovers_overdue": 0, "notifications": 0, "team": ""}
    todo, overdue = handover_todo(user=user)
    # Counted alongside the user's own row; the names must not clash with its relations.
    counts = {"n_handovers": _Count(todo), "n_notifications": _Count(notification_unread(user=user).values("pk"))}
    if overdue is not None:
        counts["n_handovers_overdue"] = _Count(overdue)
    # The user's team name comes along, so the user menu needs no query of its own.
    row = User.objects.filter(pk=user.pk).values(**counts, n_team=F("team__name")).first() or {}
    return {
        **{key: row.get(f"n_{key}") or 0 for key in ("handovers", "handovers_overdue", "notifications")},
        "team": row.get("n_team") or "",
    }
