"""Every read of the playbooks app, one module per area; import from here."""

from .tasks import account_tasks, cadence_list, my_work, playbook_list, task_list

__all__ = ["account_tasks", "cadence_list", "my_work", "playbook_list", "task_list"]
