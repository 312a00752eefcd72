from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Account(models.Model):
    """A customer (客户): the company that subscribes. People who log in are in `people`."""

    class Stage(models.TextChoices):
        HANDOVER = "handover", _("Handover")
        KICKOFF = "kickoff", _("Kickoff")
        ONBOARDING = "onboarding", _("Onboarding")
        ADOPTION = "adoption", _("Adoption")
        MATURE = "mature", _("Mature")
        RENEWAL = "renewal", _("Renewal")
        CHURNED = "churned", _("Churned")

    class Tier(models.TextChoices):
        STRATEGIC = "strategic", _("Strategic")
        KEY = "key", _("Key")
        STANDARD = "standard", _("Standard")

    class Industry(models.TextChoices):
        MANUFACTURING = "manufacturing", _("Manufacturing")
        RETAIL = "retail", _("Retail and consumer")
        FINANCE = "finance", _("Financial services")
        HEALTHCARE = "healthcare", _("Healthcare")
        EDUCATION = "education", _("Education")
        TECHNOLOGY = "technology", _("Technology")
        LOGISTICS = "logistics", _("Logistics")
        REAL_ESTATE = "real_estate", _("Real estate and construction")
        PROFESSIONAL_SERVICES = "professional_services", _("Professional services")
        ENERGY = "energy", _("Energy and utilities")
        OTHER = "other", _("Other")

    class HealthBand(models.TextChoices):
        GREEN = "green", _("Green")
        YELLOW = "yellow", _("Yellow")
        RED = "red", _("Red")

    external_id = models.CharField(_("external ID"), max_length=100, unique=True)
    name = models.CharField(_("name"), max_length=200)
    industry = models.CharField(_("industry"), max_length=40, choices=Industry.choices, default=Industry.OTHER)
    employee_count = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    csm = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("CSM"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="csm_accounts",
    )
    sales_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sales owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sold_accounts",
    )
    team = models.ForeignKey(
        "people.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="accounts",
    )
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=20, choices=Stage.choices, default=Stage.HANDOVER
    )
    tier = models.CharField(_("tier"), max_length=20, choices=Tier.choices, default=Tier.STANDARD)
    # The latest health score, written by the health app through accounts.services so
    # that lists can filter and sort by band without reaching up into health.
    health_score = models.PositiveSmallIntegerField(_("health score"), null=True, blank=True)
    health_band = models.CharField(_("health band"), max_length=10, choices=HealthBand.choices, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        indexes = [
            models.Index(fields=["csm", "lifecycle_stage"]),
            models.Index(fields=["team"]),
            models.Index(fields=["health_band"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(health_score__isnull=True) | models.Q(health_score__lte=100),
                name="account_health_score_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def size_band(self) -> str:
        n = self.employee_count
        if n is None:
            return ""
        if n < 100:
            return _("Small")
        if n < 1000:
            return _("Medium")
        if n < 10000:
            return _("Large")
        return _("Enterprise")


class Stakeholder(models.Model):
    """A key person (关键人) at the customer."""

    class Role(models.TextChoices):
        DECISION_MAKER = "decision_maker", _("Decision maker (level 1)")
        DAY_TO_DAY = "day_to_day", _("Day-to-day contact (level 2)")
        CHAMPION = "champion", _("Champion")
        IT = "it", _("IT")
        END_USER = "end_user", _("End user")
        EXECUTIVE_SPONSOR = "executive_sponsor", _("Executive sponsor")

    class Relationship(models.TextChoices):
        KNOWS = "knows", _("Knows us")
        UNDERSTANDS = "understands", _("Understands us")
        APPROVES = "approves", _("Approves of us")
        WILLING_TO_HELP = "willing_to_help", _("Willing to help")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="stakeholders")
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.END_USER)
    relationship = models.CharField(
        _("relationship"), max_length=20, choices=Relationship.choices, default=Relationship.KNOWS
    )
    is_active = models.BooleanField(_("active"), default=True)
    left_on = models.DateField(_("left the company on"), null=True, blank=True)

    class Meta:
        ordering = ["account", "role", "name"]
        verbose_name = _("stakeholder")
        verbose_name_plural = _("stakeholders")

    def __str__(self) -> str:
        return self.name

    @property
    def level(self) -> int | None:
        return {self.Role.DECISION_MAKER: 1, self.Role.DAY_TO_DAY: 2}.get(self.role)


class Activity(models.Model):
    """One entry on the account's timeline: a touch or a major event."""

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        MEETING = "meeting", _("Meeting")
        ONSITE_VISIT = "onsite_visit", _("On-site visit")
        EXECUTIVE_VISIT = "executive_visit", _("Executive visit")
        TRAINING = "training", _("Training")
        BUSINESS_REVIEW = "business_review", _("Business review")
        CHECK_IN = "check_in", _("Check-in")
        EMAIL = "email", _("Email")
        PRAISE_LETTER = "praise_letter", _("Praise letter")
        COMPLAINT = "complaint", _("Complaint")
        MAJOR_EVENT = "major_event", _("Major event")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("when"))
    summary = models.TextField(_("summary"))
    next_step = models.CharField(_("next step"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-occurred_at"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [models.Index(fields=["account", "-occurred_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d}"
