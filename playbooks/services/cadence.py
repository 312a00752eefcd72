"""Touch cadence: check-in tasks created ahead of each period for every account of a tier.

For each active TouchCadence the target period is the current one (week from Monday,
calendar month, calendar quarter), or the next one once it starts within `lead_days`.
Each account of the tier that has a CSM and has not churned gets one task for that period
unless a touch of the cadence's kind was already logged in it.

The task is due on the last working day (Monday to Friday) of its period, never before
today: the touch is owed some time in the period and the task turns overdue only when the
period ran out without it.

The task's occurrence, "cadence:<cadence id>:<period start>", is its natural key (unique
per account), so a second run, a retry or two workers at once create nothing twice.
"""

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import Account, Activity

from ..models import Task, TouchCadence

logger = logging.getLogger(__name__)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def period_bounds(period: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of the period of kind `period` that contains `day`."""
    if period == TouchCadence.Period.WEEK:
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=6)
    months = 3 if period == TouchCadence.Period.QUARTER else 1
    start = dt.date(day.year, (day.month - 1) // months * months + 1, 1)
    return start, _add_months(start, months) - dt.timedelta(days=1)


def target_period(cadence: TouchCadence, today: dt.date) -> tuple[dt.date, dt.date]:
    """The current period, or the next one when it starts within the cadence's lead days."""
    start, end = period_bounds(cadence.period, today)
    following = end + dt.timedelta(days=1)
    if (following - today).days <= cadence.lead_days:
        return period_bounds(cadence.period, following)
    return start, end


def _due(end: dt.date, today: dt.date) -> dt.date:
    while end.weekday() >= 5:  # Saturday, Sunday
        end -= dt.timedelta(days=1)
    return max(end, today)


def _aware(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@transaction.atomic
def cadence_task_create_for(*, cadence: TouchCadence, today: dt.date) -> int:
    """Create this cadence's tasks for its target period; two queries whatever the number
    of accounts (select the accounts still owed a task, then one INSERT)."""
    start, end = target_period(cadence, today)
    occurrence = f"cadence:{cadence.pk}:{start:%Y-%m-%d}"
    touched = Activity.objects.filter(
        account=OuterRef("pk"),
        kind=cadence.kind,
        occurred_at__gte=_aware(start),
        occurred_at__lt=_aware(end + dt.timedelta(days=1)),
    )
    already = Task.objects.filter(account=OuterRef("pk"), occurrence=occurrence)
    owed = (
        Account.objects.filter(tier=cadence.tier, csm__isnull=False)
        .exclude(lifecycle_stage=Account.Stage.CHURNED)
        .exclude(Exists(touched))
        .exclude(Exists(already))
        .values_list("pk", "csm_id")
    )
    due = _due(end, today)
    tasks = [
        Task(
            account_id=account_id,
            owner_id=csm_id,
            title=cadence.title,
            type=Task.Type.CHECK_IN,
            priority=Task.Priority.NORMAL,
            due_date=due,
            source=Task.Source.CADENCE,
            occurrence=occurrence,
        )
        for account_id, csm_id in owed
    ]
    # ignore_conflicts: a concurrent run that inserted the same (account, occurrence) wins.
    Task.objects.bulk_create(tasks, ignore_conflicts=True, batch_size=1000)
    return len(tasks)


def cadence_tasks_create(*, today: dt.date) -> dict:
    """Run every active cadence (a fixed number of queries per cadence); safe to repeat."""
    created = {}
    for cadence in TouchCadence.objects.filter(is_active=True).order_by("pk"):
        created[str(cadence.pk)] = cadence_task_create_for(cadence=cadence, today=today)
    logger.info("cadence tasks on %s: %s", today, created)
    return {"today": today.isoformat(), "created": created, "total": sum(created.values())}
