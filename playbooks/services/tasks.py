"""Writes for tasks and playbooks.

Single-task writes check access with cs_platform.access like every other service. Bulk
writes load the tasks the user may change in one query, refuse the whole batch when any
id is missing from that set (another team's task, a typo, a task already gone), and then
change every task with one UPDATE: a fixed number of statements whatever the batch size.
"""

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from cs_platform.access import can_change, can_see, restrict, visible_accounts
from people.models import User

from ..models import Playbook, PlaybookRun, Task

# Who may own a task: the people who work accounts, not sales or integrations.
OWNER_ROLES = (User.Role.CSM, User.Role.MANAGER)


def _may_change(by, task: Task) -> bool:
    return task.owner_id == by.pk or can_change(by, task)


def _check_change(by, task: Task) -> None:
    if not _may_change(by, task):
        raise ValidationError(_("You cannot change this task."))


def _check_owner(owner, account: Account) -> None:
    """The owner of a task is an active CSM or manager who may see its account."""
    if owner is None or not owner.is_active or owner.role not in OWNER_ROLES or not can_see(owner, account):
        raise ValidationError({"owner": _("This person cannot own tasks of this account.")})


def _check_not_past(day: dt.date, *, field: str = "due_date") -> None:
    if day < timezone.localdate():
        raise ValidationError({field: _("Choose today or a later day.")})


# ------------------------------------------------------------------ one task


@transaction.atomic
def task_create(
    *,
    account: Account,
    by,
    title: str,
    due_date: dt.date,
    type: str = Task.Type.OTHER,
    priority: str = Task.Priority.NORMAL,
    owner=None,
    notes: str = "",
) -> Task:
    """A task made by hand (source manual). The owner defaults to the one who creates it."""
    if not can_change(by, account):
        raise ValidationError(_("You cannot add tasks to this account."))
    owner = owner or by
    _check_owner(owner, account)
    _check_not_past(due_date)
    task = Task(
        account=account,
        title=title,
        type=type,
        priority=priority,
        due_date=due_date,
        owner=owner,
        notes=notes,
        source=Task.Source.MANUAL,
    )
    task.full_clean()
    task.save()
    return task


@transaction.atomic
def task_complete(*, task: Task, by) -> Task:
    _check_change(by, task)
    if task.status != Task.Status.DONE:
        task.status = Task.Status.DONE
        task.completed_at = timezone.now()
        task.save(update_fields=["status", "completed_at"])
    return task


@transaction.atomic
def task_reopen(*, task: Task, by) -> Task:
    """Undo a completion or a cancellation."""
    _check_change(by, task)
    if task.status != Task.Status.OPEN:
        task.status = Task.Status.OPEN
        task.completed_at = None
        task.save(update_fields=["status", "completed_at"])
    return task


@transaction.atomic
def task_snooze(*, task: Task, until: dt.date, by) -> Task:
    """Move an open task to `until` (today or later). `snoozed_from` keeps the date it was
    first due, however often it is snoozed."""
    _check_change(by, task)
    if task.status != Task.Status.OPEN:
        raise ValidationError(_("Only open tasks can be snoozed."))
    _check_not_past(until, field="until")
    if task.snoozed_from is None:
        task.snoozed_from = task.due_date
    task.due_date = until
    task.save(update_fields=["snoozed_from", "due_date"])
    return task


@transaction.atomic
def task_reassign(*, task: Task, owner, by) -> Task:
    """Give the task to a CSM or manager who may see its account."""
    _check_change(by, task)
    _check_owner(owner, task.account)
    if task.owner_id != owner.pk:
        task.owner = owner
        task.save(update_fields=["owner"])
    return task


@transaction.atomic
def task_update(*, task: Task, by, data: dict) -> Task:
    """Change some of title, priority, notes, type, due_date, owner and status (the API's PATCH)."""
    _check_change(by, task)
    if "owner" in data and data["owner"].pk != task.owner_id:
        _check_owner(data["owner"], task.account)
        task.owner = data["owner"]
    if "due_date" in data and data["due_date"] != task.due_date:
        _check_not_past(data["due_date"])
        task.due_date = data["due_date"]
    for field in ("title", "priority", "notes", "type"):
        if field in data:
            setattr(task, field, data[field])
    if "status" in data and data["status"] != task.status:
        task.status = data["status"]
        task.completed_at = timezone.now() if task.status == Task.Status.DONE else None
    task.full_clean()
    task.save()
    return task


# ------------------------------------------------------------------ many tasks


def _changeable(by, ids: Iterable[int]) -> QuerySet[Task]:
    """The tasks among `ids` that `by` may change, in one query; all of them or an error.

    Mirrors task_complete's rule (the owner, or whoever may change the account) as a
    filter: sales may change no account, so they reach only tasks they own."""
    ids = {int(i) for i in ids}
    if not ids:
        raise ValidationError(_("Select at least one task."))
    tasks = Task.objects.filter(pk__in=ids)
    if not by.is_authenticated or not by.is_active:
        tasks = tasks.none()
    elif by.role == User.Role.SALES and not by.sees_everything:
        tasks = tasks.filter(owner=by)
    else:
        tasks = tasks.filter(Q(owner=by) | Q(pk__in=restrict(Task.objects.filter(pk__in=ids), by).values("pk")))
    if tasks.count() != len(ids):
        raise ValidationError(_("Some of the selected tasks cannot be changed by you; nothing was changed."))
    return Task.objects.filter(pk__in=ids)


@transaction.atomic
def tasks_bulk_complete(*, task_ids: Iterable[int], by) -> int:
    tasks = _changeable(by, task_ids)
    return tasks.exclude(status=Task.Status.DONE).update(status=Task.Status.DONE, completed_at=timezone.now())


@transaction.atomic
def tasks_bulk_snooze(*, task_ids: Iterable[int], until: dt.date, by) -> int:
    _check_not_past(until, field="until")
    tasks = _changeable(by, task_ids)
    if tasks.exclude(status=Task.Status.OPEN).exists():
        raise ValidationError(_("Only open tasks can be snoozed; nothing was changed."))
    # One UPDATE: the right-hand sides read the row as it was, so snoozed_from keeps the
    # first due date and due_date moves.
    return tasks.update(snoozed_from=Coalesce("snoozed_from", "due_date"), due_date=until)


@transaction.atomic
def tasks_bulk_reassign(*, task_ids: Iterable[int], owner, by) -> int:
    tasks = _changeable(by, task_ids)
    if owner is None or not owner.is_active or owner.role not in OWNER_ROLES:
        raise ValidationError({"owner": _("This person cannot own tasks of this account.")})
    account_ids = set(tasks.values_list("account_id", flat=True))
    if visible_accounts(owner).filter(pk__in=account_ids).count() != len(account_ids):
        raise ValidationError({"owner": _("This person cannot see every account of the selected tasks.")})
    return tasks.update(owner=owner)


# ------------------------------------------------------------------ playbooks


@transaction.atomic
def playbook_launch(
    *, playbook: Playbook, account: Account, occurrence: str, by=None, start: dt.date | None = None
) -> tuple[PlaybookRun, bool]:
    """Create the playbook's tasks for `account` once per trigger occurrence.
    Returns (run, created); a retry or second run for the same occurrence creates nothing."""
    if by is not None and not can_change(by, account):
        raise ValidationError(_("You cannot launch playbooks on this account."))
    run, created = PlaybookRun.objects.get_or_create(
        playbook=playbook, account=account, occurrence=occurrence, defaults={"launched_by": by}
    )
    if not created:
        return run, False
    owner = account.csm or by
    if owner is None:
        raise ValidationError({"account": _("The account has no CSM to own the tasks.")})
    start = start or timezone.localdate()
    Task.objects.bulk_create(
        [
            Task(
                account=account,
                title=step.title,
                type=step.task_type,
                priority=step.priority,
                due_date=start + dt.timedelta(days=step.offset_days),
                owner=owner,
                source=Task.Source.PLAYBOOK,
                playbook_run=run,
            )
            for step in playbook.steps.all()
        ]
    )
    return run, True
