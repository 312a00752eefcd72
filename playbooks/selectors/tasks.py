import datetime as dt

from django.db.models import Count, Prefetch, QuerySet

from accounts.models import Account
from cs_platform.access import restrict

from ..models import Playbook, PlaybookStep, Task


def task_list(*, user) -> QuerySet[Task]:
    return restrict(Task.objects.all(), user).select_related("account", "owner")


def my_work(*, user, today: dt.date) -> dict[str, list[Task]]:
    """The user's open tasks in buckets: overdue, today, this week, later (one query)."""
    buckets: dict[str, list[Task]] = {"overdue": [], "today": [], "week": [], "later": []}
    week_end = today + dt.timedelta(days=7)
    for task in task_list(user=user).filter(owner=user, status=Task.Status.OPEN).order_by("due_date", "account__name"):
        if task.due_date < today:
            buckets["overdue"].append(task)
        elif task.due_date == today:
            buckets["today"].append(task)
        elif task.due_date <= week_end:
            buckets["week"].append(task)
        else:
            buckets["later"].append(task)
    return buckets


def account_tasks(*, user, account: Account) -> QuerySet[Task]:
    return task_list(user=user).filter(account=account, status=Task.Status.OPEN).order_by("due_date")


def playbook_list() -> QuerySet[Playbook]:
    return Playbook.objects.annotate(run_count=Count("runs")).prefetch_related(
        Prefetch("steps", queryset=PlaybookStep.objects.order_by("order"))
    )
