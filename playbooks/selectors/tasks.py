import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, Q, QuerySet

from accounts.models import Account
from cs_platform.access import restrict
from people.models import User

from ..models import Playbook, PlaybookStep, Task, TouchCadence

BUCKETS = ("overdue", "today", "week", "later")
PRIORITY_RANK = {Task.Priority.HIGH: 0, Task.Priority.NORMAL: 1, Task.Priority.LOW: 2}


@dataclass
class AccountGroup:
    """The open tasks of one account within a My work bucket."""

    account: Account
    tasks: list[Task] = field(default_factory=list)


def task_list(*, user) -> QuerySet[Task]:
    return restrict(Task.objects.all(), user).select_related("account", "owner")


def bucket_of(due: dt.date, today: dt.date) -> str:
    """overdue, today, week (the next 7 days) or later."""
    if due < today:
        return "overdue"
    if due == today:
        return "today"
    return "week" if due <= today + dt.timedelta(days=7) else "later"


def my_work(*, user, today: dt.date) -> dict[str, list[AccountGroup]]:
    """The user's open tasks in buckets (overdue, today, this week, later), each bucket
    grouped by account: groups ordered by their earliest task, tasks by due date and
    priority. One query, whatever the number of tasks."""
    buckets: dict[str, dict[int, AccountGroup]] = {key: {} for key in BUCKETS}
    tasks = task_list(user=user).filter(owner=user, status=Task.Status.OPEN).order_by("due_date", "account__name", "pk")
    for task in sorted(tasks, key=lambda t: (t.due_date, PRIORITY_RANK.get(t.priority, 1))):
        groups = buckets[bucket_of(task.due_date, today)]
        groups.setdefault(task.account_id, AccountGroup(account=task.account)).tasks.append(task)
    return {key: list(groups.values()) for key, groups in buckets.items()}


def task_assignees(*, user, account: Account | None = None) -> QuerySet[User]:
    """Who a task may be handed to from a page: active CSMs and managers of the account's
    team (or of the user's team on My work). The services still check each one can see
    the account."""
    people = User.objects.filter(is_active=True, role__in=[User.Role.CSM, User.Role.MANAGER])
    if account is not None:
        people = (
            people.filter(Q(team_id=account.team_id) | Q(pk=account.csm_id))
            if account.team_id
            else people.filter(pk=account.csm_id)
        )
    elif not user.sees_everything:
        people = people.filter(team_id=user.team_id) if user.team_id else people.filter(pk=user.pk)
    return people.order_by("first_name", "last_name", "username")


def account_tasks(*, user, account: Account) -> QuerySet[Task]:
    return task_list(user=user).filter(account=account, status=Task.Status.OPEN).order_by("due_date")


def playbook_list() -> QuerySet[Playbook]:
    return Playbook.objects.annotate(run_count=Count("runs")).prefetch_related(
        Prefetch("steps", queryset=PlaybookStep.objects.order_by("order"))
    )


def cadence_list() -> list[TouchCadence]:
    """Touch cadences, largest tier first, each with its open check-in tasks counted (one
    query for the cadences, one for the counts)."""
    cadences = list(TouchCadence.objects.all())
    tier_rank = {value: rank for rank, value in enumerate(Account.Tier.values)}
    cadences.sort(key=lambda c: (tier_rank.get(c.tier, 99), c.period, c.kind))
    open_by_cadence: dict[str, int] = {}
    rows = (
        Task.objects.filter(source=Task.Source.CADENCE, status=Task.Status.OPEN)
        .values_list("occurrence")
        .annotate(n=Count("pk"))
    )
    for occurrence, n in rows:
        cadence_id = occurrence.split(":")[1] if occurrence.count(":") >= 2 else ""
        open_by_cadence[cadence_id] = open_by_cadence.get(cadence_id, 0) + n
    for cadence in cadences:
        cadence.open_tasks = open_by_cadence.get(str(cadence.pk), 0)
    return cadences
