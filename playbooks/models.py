from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import Account, Activity
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
        CADENCE = "cadence", _("Touch cadence")

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
    plan_step = models.ForeignKey(
        "PlanStep", verbose_name=_("success plan step"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="tasks",
    )  # fmt: skip
    # A natural key for tasks made by rules (cadence: "cadence:<id>:<period start>"), so that
    # a second run of the rule creates nothing twice. Empty for tasks people create.
    occurrence = models.CharField(_("occurrence"), max_length=100, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    snoozed_from = models.DateField(_("originally due"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["due_date", "priority"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [models.Index(fields=["owner", "status", "due_date"])]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "occurrence"], condition=~models.Q(occurrence=""), name="one_task_per_occurrence"
            ),
        ]

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


# ------------------------------------------------------------------ success paths


class SuccessPath(models.Model):
    """A success path template (成功路径): the ordered stages and steps that take a customer
    of a segment to value in a business scenario. Plans copy the steps when they start, so
    editing a path (which raises its version) never changes a plan already under way."""

    name = models.CharField(_("name"), max_length=150, unique=True)
    scenario = models.TextField(_("business scenario"), blank=True)
    segment = models.CharField(_("segment"), max_length=150, blank=True, help_text=_("Who the path is for."))
    version = models.PositiveIntegerField(_("version"), default=1)
    is_active = models.BooleanField(_("active"), default=True)
    is_builtin = models.BooleanField(_("built in"), default=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("success path")
        verbose_name_plural = _("success paths")

    def __str__(self) -> str:
        return self.name


class PathStage(models.Model):
    path = models.ForeignKey(SuccessPath, on_delete=models.CASCADE, related_name="stages")
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    name = models.CharField(_("name"), max_length=150)
    is_retired = models.BooleanField(_("retired"), default=False)

    class Meta:
        ordering = ["path", "order", "pk"]
        verbose_name = _("path stage")
        verbose_name_plural = _("path stages")

    def __str__(self) -> str:
        return self.name


class PathStep(models.Model):
    class OwnerRole(models.TextChoices):
        CSM = "csm", _("CSM")
        SALES = "sales", _("Sales")
        MANAGER = "manager", _("Manager")
        CUSTOMER = "customer", _("Customer")

    stage = models.ForeignKey(PathStage, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    title = models.CharField(_("title"), max_length=200)
    guidance = models.TextField(_("guidance"), blank=True)
    owner_role = models.CharField(_("owner"), max_length=20, choices=OwnerRole.choices, default=OwnerRole.CSM)
    due_offset_days = models.PositiveSmallIntegerField(_("due after (days from the start)"), default=0)
    exit_criteria = models.TextField(_("exit criteria"), blank=True)
    key = models.SlugField(
        _("key"),
        max_length=50,
        blank=True,
        help_text=_("Lets other parts of the product complete this step (e.g. the kickoff completes 'kickoff')."),
    )
    is_retired = models.BooleanField(_("retired"), default=False)

    class Meta:
        ordering = ["stage", "order", "pk"]
        verbose_name = _("path step")
        verbose_name_plural = _("path steps")

    def __str__(self) -> str:
        return self.title


class SuccessPlan(models.Model):
    """An account's success plan, started from a path (a copy of its steps at that version)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="success_plans")
    path = models.ForeignKey(
        SuccessPath, verbose_name=_("path"), null=True, on_delete=models.SET_NULL, related_name="plans"
    )
    name = models.CharField(_("name"), max_length=150)
    path_version = models.PositiveIntegerField(_("path version"), default=1)
    started_on = models.DateField(_("started"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-started_on", "-pk"]
        verbose_name = _("success plan")
        verbose_name_plural = _("success plans")
        constraints = [
            # Starting the same path twice on an account (a double click, a retried handover
            # accept) gives the one plan already running.
            models.UniqueConstraint(
                fields=["account", "path"], condition=models.Q(status="active"), name="one_active_plan_per_path"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account}: {self.name}"


class PlanGoal(models.Model):
    """One of the customer's goals, as a measurable outcome."""

    plan = models.ForeignKey(SuccessPlan, on_delete=models.CASCADE, related_name="goals")
    description = models.CharField(_("goal"), max_length=300)
    metric = models.CharField(_("measured by"), max_length=150, blank=True)
    baseline = models.CharField(_("baseline"), max_length=100, blank=True)
    target = models.CharField(_("target"), max_length=100, blank=True)
    current = models.CharField(_("now"), max_length=100, blank=True)
    achieved = models.BooleanField(_("achieved"), default=False)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["plan", "order", "pk"]
        verbose_name = _("goal")
        verbose_name_plural = _("goals")

    def __str__(self) -> str:
        return self.description


class PlanStage(models.Model):
    plan = models.ForeignKey(SuccessPlan, on_delete=models.CASCADE, related_name="stages")
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    name = models.CharField(_("name"), max_length=150)
    completed_on = models.DateField(_("completed"), null=True, blank=True)

    class Meta:
        ordering = ["plan", "order", "pk"]
        verbose_name = _("plan stage")
        verbose_name_plural = _("plan stages")

    def __str__(self) -> str:
        return self.name


class PlanStep(models.Model):
    class Status(models.TextChoices):
        TODO = "todo", _("To do")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")
        SKIPPED = "skipped", _("Skipped")

    stage = models.ForeignKey(PlanStage, on_delete=models.CASCADE, related_name="steps")
    source = models.ForeignKey(
        PathStep,
        verbose_name=_("path step"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="plan_steps",
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    title = models.CharField(_("title"), max_length=200)
    guidance = models.TextField(_("guidance"), blank=True)
    exit_criteria = models.TextField(_("exit criteria"), blank=True)
    key = models.SlugField(_("key"), max_length=50, blank=True)
    owner_role = models.CharField(_("owner role"), max_length=20, choices=PathStep.OwnerRole.choices, default="csm")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="plan_steps",
    )  # fmt: skip
    due_date = models.DateField(_("due date"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.TODO)
    completed_on = models.DateField(_("completed"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["stage", "order", "pk"]
        verbose_name = _("plan step")
        verbose_name_plural = _("plan steps")
        indexes = [models.Index(fields=["status", "due_date"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_closed(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.SKIPPED)


class StageReport(models.Model):
    """The stage report (阶段性报告) sent to the customer when a plan stage is completed:
    goals against what was achieved, activity and usage in the period, the next stage."""

    stage = models.OneToOneField(PlanStage, on_delete=models.CASCADE, related_name="report")
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    achievements = models.TextField(_("what was achieved"), blank=True)
    next_steps = models.TextField(_("next stage"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_on = models.DateField(_("sent to the customer"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("stage report")
        verbose_name_plural = _("stage reports")

    def __str__(self) -> str:
        return str(self.stage)


# ------------------------------------------------------------------ know-how and best practices


class KnowHow(models.Model):
    """Shared know-how at a path step: a difficulty met and how it was solved."""

    step = models.ForeignKey(PathStep, verbose_name=_("step"), on_delete=models.CASCADE, related_name="know_how")
    account = models.ForeignKey(
        Account, verbose_name=_("met at"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    difficulty = models.TextField(_("difficulty"))
    solution = models.TextField(_("how it was solved"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    helpful = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="helpful_know_how")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("know-how")
        verbose_name_plural = _("know-how")

    def __str__(self) -> str:
        return self.difficulty[:60]


class BestPractice(models.Model):
    """A best-practice case (最佳实践) and the conditions that made it work."""

    title = models.CharField(_("title"), max_length=200)
    industry = models.CharField(_("industry"), max_length=40, choices=Account.Industry.choices)
    size_band = models.CharField(_("customer size"), max_length=20, choices=Account.SizeBand.choices)
    account = models.ForeignKey(
        Account, verbose_name=_("customer"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    story = models.TextField(_("what was done"))
    outcome = models.TextField(_("outcome"))
    policy_support = models.TextField(_("policy support"), blank=True)
    resources = models.TextField(_("resources"), blank=True)
    organisational_capability = models.TextField(_("organisational capability"), blank=True)
    business_volume = models.TextField(_("business volume"), blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("best practice")
        verbose_name_plural = _("best practices")

    def __str__(self) -> str:
        return self.title


# ------------------------------------------------------------------ touch cadence


class TouchCadence(models.Model):
    """How often accounts of a tier get a touch of a kind (weekly check-in, quarterly
    business review...). A periodic task creates the task ahead of each period, unless a
    touch of that kind was already logged in it."""

    class Period(models.TextChoices):
        WEEK = "week", _("Every week")
        MONTH = "month", _("Every month")
        QUARTER = "quarter", _("Every quarter")

    tier = models.CharField(_("tier"), max_length=20, choices=Account.Tier.choices)
    kind = models.CharField(_("touch"), max_length=20, choices=Activity.Kind.choices)
    period = models.CharField(_("how often"), max_length=10, choices=Period.choices)
    title = models.CharField(_("task title"), max_length=200)
    lead_days = models.PositiveSmallIntegerField(_("created days ahead"), default=3)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["tier", "period"]
        verbose_name = _("touch cadence")
        verbose_name_plural = _("touch cadences")
        constraints = [models.UniqueConstraint(fields=["tier", "kind", "period"], name="one_cadence_per_tier_kind")]

    def __str__(self) -> str:
        return f"{self.get_tier_display()}: {self.get_kind_display()} {self.get_period_display()}"
