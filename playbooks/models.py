from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import Account
from health.models import Alert


class Playbook(models.Model):
    """A named set of tasks, launched by hand or by a trigger."""

    class Trigger(models.TextChoices):
        MANUAL = "manual", _("Launched by hand")
        STAGE_ENTERED = "stage_entered", _("Lifecycle stage entered")
        ALERT_OPENED = "alert_opened", _("Alert opened")
        RENEWAL_DUE = "renewal_due", _("Renewal approaching")
        HEALTH_RED = "health_red", _("Health turned red")

    name = models.CharField(_("name"), max_length=150, unique=True)
    description = models.TextField(_("description"), blank=True)
    trigger = models.CharField(_("trigger"), max_length=20, choices=Trigger.choices, default=Trigger.MANUAL)
    trigger_value = models.CharField(
        _("trigger value"), max_length=50, blank=True, help_text=_("Stage, alert type or days before renewal.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("playbook")
        verbose_name_plural = _("playbooks")

    def __str__(self) -> str:
        return self.name

    @property
    def trigger_value_display(self) -> str:
        """The trigger value as people read it: a stage or alert type label, or a day count."""
        value = self.trigger_value
        if self.trigger == self.Trigger.STAGE_ENTERED:
            return str(dict(Account.Stage.choices).get(value, value))
        if self.trigger == self.Trigger.ALERT_OPENED:
            return str(dict(Alert.Type.choices).get(value, value))
        if self.trigger == self.Trigger.RENEWAL_DUE and value.isdigit():
            days = int(value)
            return ngettext("%(days)d day before", "%(days)d days before", days) % {"days": days}
        return value


class Task(models.Model):
    """A call to action for one account."""

    class Type(models.TextChoices):
        ONBOARDING = "onboarding", _("Onboarding")
        CHECK_IN = "check_in", _("Check-in")
        RISK = "risk", _("Risk")
        RENEWAL = "renewal", _("Renewal")
        EXPANSION = "expansion", _("Expansion")
        OTHER = "other", _("Other")

    class Priority(models.TextChoices):
        HIGH = "high", _("High")
        NORMAL = "normal", _("Normal")
        LOW = "low", _("Low")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    class Source(models.TextChoices):
        MANUAL = "manual", _("Manual")
        SUCCESS_PLAN = "success_plan", _("Success plan step")
        PLAYBOOK = "playbook", _("Playbook")
        ALERT = "alert", _("Alert")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(_("title"), max_length=200)
    type = models.CharField(_("type"), max_length=20, choices=Type.choices, default=Type.OTHER)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    due_date = models.DateField(_("due date"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="tasks"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.MANUAL)
    playbook_run = models.ForeignKey(
        "PlaybookRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["due_date", "priority"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [models.Index(fields=["owner", "status", "due_date"])]

    def __str__(self) -> str:
        return self.title


class PlaybookStep(models.Model):
    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    title = models.CharField(_("title"), max_length=200)
    task_type = models.CharField(_("task type"), max_length=20, choices=Task.Type.choices, default=Task.Type.OTHER)
    priority = models.CharField(
        _("priority"), max_length=10, choices=Task.Priority.choices, default=Task.Priority.NORMAL
    )
    offset_days = models.PositiveSmallIntegerField(_("due after (days)"), default=0)

    class Meta:
        ordering = ["playbook", "order"]
        verbose_name = _("playbook step")
        verbose_name_plural = _("playbook steps")

    def __str__(self) -> str:
        return self.title


class PlaybookRun(models.Model):
    """One launch of a playbook for an account. `occurrence` names the trigger occurrence
    (e.g. "alert:42"), so launching twice for the same occurrence creates nothing twice."""

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="runs")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="playbook_runs")
    occurrence = models.CharField(_("occurrence"), max_length=100)
    launched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    launched_at = models.DateTimeField(_("launched"), auto_now_add=True)

    class Meta:
        ordering = ["-launched_at"]
        verbose_name = _("playbook run")
        verbose_name_plural = _("playbook runs")
        constraints = [
            models.UniqueConstraint(fields=["playbook", "account", "occurrence"], name="one_run_per_occurrence")
        ]

    def __str__(self) -> str:
        return f"{self.playbook} · {self.account}"
