"""Every write of the playbooks app, one module per area; import from here."""

from .tasks import playbook_launch, task_complete

__all__ = ["playbook_launch", "task_complete"]
