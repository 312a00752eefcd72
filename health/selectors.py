import datetime as dt

from django.db.models import QuerySet, Sum

from accounts.models import Account
from cs_platform.access import restrict
from people.models import User

from .models import Alert, HealthScore, UsageDaily


def alert_list(*, user) -> QuerySet[Alert]:
    return restrict(Alert.objects.all(), user).select_related("account", "account__csm")


def my_open_alerts(*, user) -> QuerySet[Alert]:
    """Open alerts the user should act on: a CSM's own accounts, a manager's team."""
    qs = alert_list(user=user).exclude(status=Alert.Status.RESOLVED)
    if user.role == User.Role.CSM:
        qs = qs.filter(account__csm=user)
    return qs.order_by("-created_at")


def score_history(*, user, account: Account, since: dt.date) -> QuerySet[HealthScore]:
    return restrict(
        HealthScore.objects.filter(account=account, as_of__gte=since).select_related("scorecard"), user
    ).order_by("as_of")


def usage_by_day(*, user, account: Account, since: dt.date) -> list[dict]:
    return list(
        restrict(UsageDaily.objects.filter(account=account, day__gte=since), user)
        .values("day")
        .annotate(events=Sum("events"), users=Sum("distinct_users"))
        .order_by("day")
    )
