from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


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

    class ServiceModel(models.TextChoices):
        SUPPORT = "support", _("Support")
        IMPLEMENTATION = "implementation", _("Implementation")
        CONSULTING = "consulting", _("Consulting")

    class ProductView(models.TextChoices):
        """How the customer sees the product, which sets what it expects from us."""

        SMALL_TOOL = "small_tool", _("Small tool")
        VERTICAL = "vertical", _("Vertical system")
        PLATFORM = "platform", _("Platform")
        OMNIPOTENT = "omnipotent", _("Omnipotent (expects it to do everything)")

    class UsageDriver(models.TextChoices):
        BUSINESS = "business", _("Business-driven")
        IT = "it", _("IT-driven")
        EXPLORATION = "exploration", _("Exploration")
        CATEGORY_NEED = "category_need", _("Category need")

    class SizeBand(models.TextChoices):
        SMALL = "small", _("Small")
        MEDIUM = "medium", _("Medium")
        LARGE = "large", _("Large")
        ENTERPRISE = "enterprise", _("Enterprise")

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
    # Derived from contract value (ARR) by accounts.services.account_tiers_refresh, with
    # the thresholds in settings.ACCOUNT_TIER_THRESHOLDS.
    tier = models.CharField(_("tier"), max_length=20, choices=Tier.choices, default=Tier.STANDARD)
    service_model = models.CharField(
        _("service model"), max_length=20, choices=ServiceModel.choices, default=ServiceModel.SUPPORT
    )
    product_view = models.CharField(_("sees the product as"), max_length=20, choices=ProductView.choices, blank=True)
    usage_driver = models.CharField(_("use driven by"), max_length=20, choices=UsageDriver.choices, blank=True)
    # 0-100, how complete the customer file is; kept by accounts.services so that lists,
    # dashboards and the health score can filter and sort on it.
    completeness = models.PositiveSmallIntegerField(_("file completeness"), default=0)
    # The latest health score, written by the health app through accounts.services so
    # that lists can filter and sort by band without reaching up into health.
    health_score = models.PositiveSmallIntegerField(_("health score"), null=True, blank=True)
    health_band = models.CharField(_("health band"), max_length=10, choices=HealthBand.choices, blank=True)
    activated_on = models.DateField(
        _("activated on"), null=True, blank=True,
        help_text=_("The first scored day the scorecard's activation measure reached its threshold."),
    )  # fmt: skip
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords(
        excluded_fields=["health_score", "health_band", "activated_on", "completeness", "updated_at"]
    )

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
            models.CheckConstraint(condition=models.Q(completeness__lte=100), name="account_completeness_range"),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def size_band_for(cls, employees: int | None) -> str:
        """small < 100 <= medium < 1,000 <= large < 10,000 <= enterprise."""
        if employees is None:
            return ""
        for limit, band in ((100, cls.SizeBand.SMALL), (1000, cls.SizeBand.MEDIUM), (10000, cls.SizeBand.LARGE)):
            if employees < limit:
                return band
        return cls.SizeBand.ENTERPRISE

    @property
    def size_band(self) -> str:
        band = self.size_band_for(self.employee_count)
        return self.SizeBand(band).label if band else ""


class AccountStageChange(models.Model):
    """One move of an account from one lifecycle stage to another. Playbook triggers
    read new rows of this table (architecture: higher apps read what lower ones record)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(_("from"), max_length=20, choices=Account.Stage.choices, blank=True)
    to_stage = models.CharField(_("to"), max_length=20, choices=Account.Stage.choices)
    changed_at = models.DateTimeField(_("changed"), auto_now_add=True, db_index=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-changed_at", "-pk"]
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        indexes = [models.Index(fields=["account", "-changed_at"])]

    def __str__(self) -> str:
        return f"{self.account}: {self.from_stage or '-'} -> {self.to_stage}"


class CustomerFile(models.Model):
    """The customer file (一客一档): what we know about the customer beyond the numbers.
    One per account; its sections, with the key people, make the completeness score."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="file")
    overview = models.TextField(_("company overview"), blank=True)
    organisation = models.TextField(_("organisation structure"), blank=True)
    products_bought = models.TextField(_("products bought"), blank=True)
    why_bought = models.TextField(_("why they bought"), blank=True)
    sales_promises = models.TextField(_("what sales promised"), blank=True)
    internal_politics = models.TextField(_("internal politics"), blank=True)
    process_bidding = models.TextField(_("bidding process"), blank=True)
    process_approval = models.TextField(_("approval process"), blank=True)
    process_payment = models.TextField(_("payment process"), blank=True)
    process_audit = models.TextField(_("audit process"), blank=True)
    goals = models.TextField(_("goals"), blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("customer file")
        verbose_name_plural = _("customer files")

    def __str__(self) -> str:
        return str(self.account)


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

    class Influence(models.TextChoices):
        HIGH = "high", _("High")
        MEDIUM = "medium", _("Medium")
        LOW = "low", _("Low")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="stakeholders")
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.END_USER)
    relationship = models.CharField(
        _("relationship"), max_length=20, choices=Relationship.choices, default=Relationship.KNOWS
    )
    influence = models.CharField(_("influence"), max_length=10, choices=Influence.choices, default=Influence.MEDIUM)
    goals = models.TextField(_("goals"), blank=True)
    demands = models.TextField(_("demands"), blank=True)
    personality = models.TextField(_("personality notes"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    left_on = models.DateField(_("left the company on"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["account", "role", "name"]
        verbose_name = _("stakeholder")
        verbose_name_plural = _("stakeholders")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_active=True, left_on__isnull=True) | models.Q(is_active=False),
                name="stakeholder_left_on_only_when_gone",
            ),
        ]

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
    stakeholders = models.ManyToManyField(
        Stakeholder, verbose_name=_("customer participants"), blank=True, related_name="activities"
    )
    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("our participants"), blank=True, related_name="activities"
    )
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


# What counts as a touch (a conversation with the customer) for engagement, cadences and
# the no_recent_touch alert; emails, letters, complaints and events do not.
TOUCH_KINDS = (
    Activity.Kind.CALL,
    Activity.Kind.MEETING,
    Activity.Kind.ONSITE_VISIT,
    Activity.Kind.EXECUTIVE_VISIT,
    Activity.Kind.TRAINING,
    Activity.Kind.BUSINESS_REVIEW,
    Activity.Kind.CHECK_IN,
)
