"""Writes for tasks and playbooks."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from cs_platform.access import can_change

from ..models import Playbook, PlaybookRun, Task


@transaction.atomic
def task_complete(*, task: Task, by) -> Task:
    if not (task.owner_id == by.pk or can_change(by, task)):
        raise ValidationError(_("You cannot change this task."))
    if task.status != Task.Status.DONE:
        task.status = Task.Status.DONE
        task.completed_at = timezone.now()
        task.save(update_fields=["status", "completed_at"])
    return task


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
