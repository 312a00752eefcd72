from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Stakeholder


class EventType(models.Model):
    """A kind of usage event, registered the first time telemetry sends it; managers give
    it a readable label and scorecards pick from these."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    label = models.CharField(_("label"), max_length=150, blank=True)
    first_seen_at = models.DateTimeField(_("first seen"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("event type")
        verbose_name_plural = _("event types")

    def __str__(self) -> str:
        return self.label or self.name


class UsageEvent(models.Model):
    """A raw product-usage event from telemetry. Scoring never reads this table; it reads
    the daily rollup. `event_id` makes ingestion idempotent."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="usage_events")
    event_type = models.CharField(_("event type"), max_length=100)
    occurred_at = models.DateTimeField(_("occurred at"))
    user_id = models.CharField(_("user"), max_length=100, blank=True)
    value = models.FloatField(_("value"), default=1)
    event_id = models.CharField(_("event ID"), max_length=100, unique=True)

    class Meta:
        verbose_name = _("usage event")
        verbose_name_plural = _("usage events")
        indexes = [
            models.Index(fields=["account", "occurred_at"]),
            models.Index(fields=["occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class UsageDaily(models.Model):
    """Usage per account, day and event type: what scoring and charts read."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="usage_daily")
    day = models.DateField(_("day"))
    event_type = models.CharField(_("event type"), max_length=100)
    events = models.PositiveIntegerField(_("events"), default=0)
    value_sum = models.FloatField(_("sum of values"), default=0)
    distinct_users = models.PositiveIntegerField(_("distinct users"), default=0)

    class Meta:
        ordering = ["-day"]
        verbose_name = _("daily usage")
        verbose_name_plural = _("daily usage")
        constraints = [
            models.UniqueConstraint(fields=["account", "day", "event_type"], name="one_rollup_per_account_day_type")
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.account} {self.day} {self.event_type}"


# What a score component's `measure` key means, for people reading the explained score.
MEASURE_LABELS = {
    "usage_trend": _("Usage trend (last 30 days vs the 30 before)"),
    "active_users": _("Active users per licensed seat"),
    "feature_adoption": _("Key features in use"),
    "engagement": _("Days since the last touch"),
    "support_tickets": _("Open support tickets"),
}


class HealthScore(models.Model):
    """The score of one account as the world stood at 00:00 of `as_of`."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="health_scores")
    as_of = models.DateField(_("as of"))
    score = models.PositiveSmallIntegerField(_("score"))
    band = models.CharField(_("band"), max_length=10, choices=Account.HealthBand.choices)
    components = models.JSONField(_("components"), default=list, blank=True)
    scorecard = models.ForeignKey(
        "ScorecardVersion", verbose_name=_("scorecard version"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="scores",
    )  # fmt: skip
    computed_at = models.DateTimeField(_("computed"), auto_now=True)

    class Meta:
        ordering = ["-as_of"]
        verbose_name = _("health score")
        verbose_name_plural = _("health scores")
        constraints = [
            models.UniqueConstraint(fields=["account", "as_of"], name="one_score_per_account_day"),
            models.CheckConstraint(condition=models.Q(score__lte=100), name="health_score_range"),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.as_of}: {self.score}"

    def explained(self) -> list[dict]:
        """The components for people: a readable label in the current language, the raw
        value (None: no data, left out of the score), the measure's 0-100 score, its weight
        as a percentage and the points it adds to the total, with the two measures that
        cost the most points marked."""
        from .scoring import measure_label

        fitted = any("contribution" in c for c in self.components)
        rows = []
        for c in self.components:
            weight = float(c.get("weight") or 0)
            s = c.get("score")
            row = {
                **c,
                "label": measure_label(c) if c.get("kind") else MEASURE_LABELS.get(c.get("measure"), c.get("measure")),
                "missing": c.get("raw_value") is None,
                "weight_pct": None if fitted else round(weight * 100),
                "points": (s if fitted else round(weight * s, 1)) if s is not None else None,
                "lost": 0 if s is None else (-s if fitted else weight * (100 - s)),
            }
            rows.append(row)
        worst = sorted((r for r in rows if r["lost"] > 0.5), key=lambda r: r["lost"], reverse=True)[:2]
        for r in worst:
            r["drag"] = True
        return rows

    @property
    def is_fitted(self) -> bool:
        return any("contribution" in c for c in self.components)


class Alert(models.Model):
    """An early warning (流失预警). At most one unresolved alert per account and type."""

    class Type(models.TextChoices):
        RENEWAL_RISK = "renewal_risk", _("Renewal at risk")
        HEALTH_DROP = "health_drop", _("Health dropped")
        ACTIVATION_OVERDUE = "activation_overdue", _("Activation overdue")
        NO_RECENT_TOUCH = "no_recent_touch", _("No recent touch")
        PAYMENT_OVERDUE = "payment_overdue", _("Payment overdue")
        STAKEHOLDER_LEFT = "stakeholder_left", _("Key stakeholder left")

    class Severity(models.TextChoices):
        LOW = "low", _("Low")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        RESOLVED = "resolved", _("Resolved")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="alerts")
    type = models.CharField(_("type"), max_length=30, choices=Type.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    status = models.CharField(_("status"), max_length=15, choices=Status.choices, default=Status.OPEN)
    reason = models.TextField(_("reason"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="alerts", help_text=_("Who must act: the account's CSM when the alert was raised."),
    )  # fmt: skip
    as_of = models.DateField(_("as of"), null=True, blank=True, help_text=_("The scoring date that raised it."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution = models.TextField(_("resolution note"), blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "type"],
                condition=~models.Q(status="resolved"),
                name="one_unresolved_alert_per_account_type",
            )
        ]
        indexes = [models.Index(fields=["status", "type"])]

    def __str__(self) -> str:
        return f"{self.get_type_display()} · {self.account}"


class SurveyResponse(models.Model):
    """An NPS (0-10) or CSAT (1-5) answer from someone at the customer."""

    class Kind(models.TextChoices):
        NPS = "nps", _("NPS (0-10)")
        CSAT = "csat", _("CSAT (1-5)")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="survey_responses")
    stakeholder = models.ForeignKey(
        Stakeholder, null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_responses"
    )
    kind = models.CharField(_("survey"), max_length=10, choices=Kind.choices)
    score = models.PositiveSmallIntegerField(_("score"), validators=[MaxValueValidator(10)])
    comment = models.TextField(_("comment"), blank=True)
    responded_on = models.DateField(_("answered on"))
    external_id = models.CharField(
        _("survey tool ID"), max_length=100, unique=True, null=True, blank=True,
        help_text=_("The answer's ID in the survey tool; sending it again updates the answer."),
    )  # fmt: skip
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["-responded_on", "-pk"]
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        indexes = [models.Index(fields=["account", "kind", "responded_on"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="nps", score__lte=10) | models.Q(kind="csat", score__gte=1, score__lte=5),
                name="survey_score_in_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.score} · {self.account}"


class HealthOverride(models.Model):
    """A CSM's manual health score with a reason and an expiry: shown beside the computed
    score, never replacing its history. At most one in force per account (the newest)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="health_overrides")
    score = models.PositiveSmallIntegerField(_("score"), validators=[MinValueValidator(0), MaxValueValidator(100)])
    reason = models.TextField(_("reason"))
    expires_on = models.DateField(_("expires on"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("by")
    )
    created_at = models.DateTimeField(_("set"), auto_now_add=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("health override")
        verbose_name_plural = _("health overrides")
        indexes = [models.Index(fields=["account", "expires_on"])]

    def __str__(self) -> str:
        return f"{self.account}: {self.score} until {self.expires_on:%Y-%m-%d}"


class ScorecardVersion(models.Model):
    """One version of the health scorecard: its measures, thresholds and weights (or, for
    a version fitted on history, coefficients). Editing makes a new version; exactly one
    is active and scores; every score keeps the version that computed it."""

    class Kind(models.TextChoices):
        WEIGHTED = "weighted", _("Thresholds and weights")
        FITTED = "fitted", _("Fitted on history")

    number = models.PositiveIntegerField(_("version"), unique=True)
    name = models.CharField(_("name"), max_length=150)
    note = models.TextField(_("what changed"), blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.WEIGHTED)
    is_active = models.BooleanField(_("active"), default=False)
    green_from = models.PositiveSmallIntegerField(
        _("green from"), default=70, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    yellow_from = models.PositiveSmallIntegerField(
        _("yellow from"), default=40, validators=[MinValueValidator(0), MaxValueValidator(99)]
    )
    activation_measure = models.SlugField(
        _("activation measure"), max_length=50, blank=True,
        help_text=_("The measure whose raw value says an account is activated (using the product)."),
    )  # fmt: skip
    activation_threshold = models.FloatField(
        _("activation threshold"), default=0, help_text=_("Activated once the measure's raw value reaches this.")
    )
    intercept = models.FloatField(_("intercept"), null=True, blank=True)
    fit = models.JSONField(_("fit report"), default=dict, blank=True)
    based_on = models.ForeignKey(
        "self", verbose_name=_("based on"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("by"),
    )  # fmt: skip
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        verbose_name = _("scorecard version")
        verbose_name_plural = _("scorecard versions")
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=models.Q(is_active=True), name="one_active_scorecard"
            ),
            models.CheckConstraint(
                condition=models.Q(yellow_from__lt=models.F("green_from")), name="scorecard_bands_order"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.number} {self.name}"


class ScorecardMeasure(models.Model):
    """One measure of a scorecard version: what is measured (kind, event type, window),
    how its raw value maps to 0-100 (thresholds) and how much it counts (weight)."""

    class Kind(models.TextChoices):
        USAGE = "usage", _("Usage over a window")
        USAGE_TREND = "usage_trend", _("Usage trend (window vs the window before)")
        ACTIVE_USERS = "active_users", _("Active users per licensed seat")
        BREADTH = "breadth", _("Breadth (distinct event types used)")
        TOUCHES = "touches", _("Touches in the window")
        EXEC_TOUCH = "exec_touch", _("Executive touches in the window")
        NPS = "nps", _("Latest NPS answer")
        CSAT = "csat", _("Latest CSAT answer")
        COMPLAINTS = "complaints", _("Complaints in the window")
        PLAN_OVERDUE = "plan_overdue", _("Overdue success-plan steps")
        INVOICES_OVERDUE = "invoices_overdue", _("Overdue invoices")
        FILE_COMPLETENESS = "file_completeness", _("Customer-file completeness")

    class Per(models.TextChoices):
        TOTAL = "total", _("in total")
        SEAT = "seat", _("per licensed seat")
        ACTIVE_USER = "active_user", _("per active user")

    version = models.ForeignKey(ScorecardVersion, on_delete=models.CASCADE, related_name="measures")
    key = models.SlugField(_("key"), max_length=50)
    label = models.CharField(_("label"), max_length=150, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    event_type = models.CharField(
        _("event type"), max_length=100, blank=True, help_text=_("Usage measures only; empty means every event type.")
    )
    per = models.CharField(_("counted"), max_length=12, choices=Per.choices, default=Per.TOTAL)
    window_days = models.PositiveSmallIntegerField(
        _("window (days)"), default=30, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    thresholds = models.JSONField(
        _("thresholds"), default=list, blank=True,
        help_text=_("Points (raw value, score 0-100); scores between points are interpolated."),
    )  # fmt: skip
    weight = models.FloatField(_("weight"), default=0, validators=[MinValueValidator(0)])
    coefficient = models.FloatField(_("coefficient"), null=True, blank=True)
    center = models.FloatField(_("mean on history"), null=True, blank=True)
    scale = models.FloatField(_("spread on history"), null=True, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["version", "position", "pk"]
        verbose_name = _("scorecard measure")
        verbose_name_plural = _("scorecard measures")
        constraints = [models.UniqueConstraint(fields=["version", "key"], name="one_measure_key_per_version")]

    def __str__(self) -> str:
        return self.label or self.key
