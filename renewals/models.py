from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accounts.models import Account


class Product(models.Model):
    """What customers subscribe to; `product_line` decides what counts as new to an account."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    product_line = models.CharField(_("product line"), max_length=100)

    class Meta:
        ordering = ["product_line", "name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return self.name


class Subscription(models.Model):
    """A contract line. Active on day d when start_date <= d and (end_date is null or
    end_date > d): the rule every revenue and churn figure uses."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="subscriptions")
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="+")
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    mrr = models.DecimalField(_("MRR"), max_digits=14, decimal_places=2, validators=[MinValueValidator(0)])
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    bill_period_months = models.PositiveSmallIntegerField(_("billing period (months)"), default=12)
    discount = models.DecimalField(
        _("discount (%)"),
        max_digits=5,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )

    class Meta:
        ordering = ["account", "start_date"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        indexes = [models.Index(fields=["account", "start_date", "end_date"]), models.Index(fields=["end_date"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True) | models.Q(end_date__gt=models.F("start_date")),
                name="subscription_ends_after_start",
            ),
            models.CheckConstraint(condition=models.Q(mrr__gte=0), name="subscription_mrr_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.account} · {self.product}"


class RenewalReason(models.Model):
    """Why customers renew (product fit, price, service value, executive relationship) or
    leave: a taxonomy managers extend. Outcomes and churn records pick from it."""

    class Kind(models.TextChoices):
        RENEW = "renew", _("Why they renew")
        CHURN = "churn", _("Why they leave")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100)
    name_zh = models.CharField(_("Chinese name"), max_length=100, blank=True)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["kind", "position", "name"]
        verbose_name = _("renewal or churn reason")
        verbose_name_plural = _("renewal and churn reasons")
        constraints = [models.UniqueConstraint(fields=["kind", "name"], name="one_reason_name_per_kind")]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """The name in the current language (the Chinese name when set and wanted)."""
        if self.name_zh and (get_language() or "").lower().startswith("zh"):
            return self.name_zh
        return self.name


class Renewal(models.Model):
    """One renewal per account and term (the term ends on `due_date`)."""

    class Stage(models.TextChoices):
        UPCOMING = "upcoming", _("Upcoming")
        IN_PROGRESS = "in_progress", _("In progress")
        COMMITTED = "committed", _("Committed")
        RENEWED = "renewed", _("Renewed")
        DOWNSIZED = "downsized", _("Downsized")
        CHURNED = "churned", _("Churned")

    OPEN_STAGES = (Stage.UPCOMING, Stage.IN_PROGRESS, Stage.COMMITTED)

    class Risk(models.TextChoices):
        LOW = "low", _("Low")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="renewals")
    due_date = models.DateField(_("due date"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_renewals",
    )
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices, default=Stage.UPCOMING)
    forecast_mrr = models.DecimalField(
        _("forecast MRR"), max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)],
        help_text=_("The MRR expected to renew: the MRR up for renewal unless someone set it by hand."),
    )  # fmt: skip
    # Set when a person edits the forecast, so the periodic sync stops overwriting it.
    forecast_manual = models.BooleanField(_("forecast set by hand"), default=False)
    risk = models.CharField(_("risk"), max_length=10, choices=Risk.choices, default=Risk.LOW)
    outcome = models.TextField(_("story"), blank=True, help_text=_("What happened and why, in a few sentences."))

    class OwnerRule(models.TextChoices):
        CSM = "csm", _("The CSM renews")
        FIRST_YEAR = "first_year", _("First-year renewal: sales renews")
        NEW_PRODUCT_LINE = "new_product_line", _("Adds a product line new to the account: sales renews")

    co_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("co-owner"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="co_owned_renewals", help_text=_("The CSM, kept beside sales when sales owns the renewal."),
    )  # fmt: skip
    owner_rule = models.CharField(_("who renews"), max_length=20, choices=OwnerRule.choices, default=OwnerRule.CSM)
    term_mrr = models.DecimalField(
        _("MRR up for renewal"), max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"), default=80, validators=[MaxValueValidator(100)]
    )
    new_product_lines = models.CharField(_("new product lines"), max_length=200, blank=True)
    renewed_mrr = models.DecimalField(
        _("renewed MRR"), max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    reasons = models.ManyToManyField(RenewalReason, verbose_name=_("reasons"), blank=True, related_name="renewals")
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["due_date"]
        verbose_name = _("renewal")
        verbose_name_plural = _("renewals")
        constraints = [models.UniqueConstraint(fields=["account", "due_date"], name="one_renewal_per_account_term")]
        indexes = [models.Index(fields=["due_date", "stage"])]

    def __str__(self) -> str:
        return f"{self.account} · {self.due_date}"

    @property
    def is_open(self) -> bool:
        return self.stage in self.OPEN_STAGES

    @property
    def result(self) -> str | None:
        """How a closed renewal ended (renewed, downsized or churned); None while open."""
        return None if self.is_open else self.stage

    @property
    def weighted_mrr(self):
        """The forecast weighted by the probability: what the pipeline expects to keep."""
        return (self.forecast_mrr or 0) * self.probability / 100


class Invoice(models.Model):
    """A bill sent to the customer (回款). Outstanding on day d when it fell due before d
    and was not paid in full before d; overdue invoices lower health and raise the
    payment_overdue alert."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="invoices")
    number = models.CharField(_("number"), max_length=50)
    external_id = models.CharField(_("billing system ID"), max_length=100, unique=True, null=True, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, validators=[MinValueValidator(0)])
    issued_on = models.DateField(_("issued on"))
    due_date = models.DateField(_("due date"))
    paid_amount = models.DecimalField(
        _("paid"), max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    paid_on = models.DateField(_("paid in full on"), null=True, blank=True)

    class Meta:
        ordering = ["-due_date"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        indexes = [models.Index(fields=["account", "due_date"]), models.Index(fields=["due_date", "paid_on"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(due_date__gte=models.F("issued_on")), name="invoice_due_after_issue"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def outstanding_on(self, day) -> bool:
        return self.due_date < day and (self.paid_on is None or self.paid_on >= day)


class Lead(models.Model):
    """An upsell or cross-sell opportunity a CSM found (增购/交叉销售), handed to sales and
    tracked to won or lost; the CSM who found a won lead is credited (lead bonus)."""

    class Kind(models.TextChoices):
        UPSELL = "upsell", _("Upsell (more seats or a higher edition)")
        CROSS_SELL = "cross_sell", _("Cross-sell (another product)")

    class Status(models.TextChoices):
        OPEN = "open", _("Found")
        WITH_SALES = "with_sales", _("With sales")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="leads")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    product = models.ForeignKey(
        Product, verbose_name=_("product"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("what the customer needs"), blank=True)
    estimated_mrr = models.DecimalField(
        _("estimated MRR"), max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    found_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("found by"), null=True, on_delete=models.SET_NULL,
        related_name="found_leads",
    )  # fmt: skip
    sales_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("sales owner"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="sales_leads",
    )  # fmt: skip
    handed_on = models.DateField(_("handed to sales on"), null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    won_mrr = models.DecimalField(
        _("won MRR"), max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    lost_reason = models.TextField(_("why lost"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [models.Index(fields=["status", "closed_on"]), models.Index(fields=["found_by", "status"])]

    def __str__(self) -> str:
        return self.title


class ChurnRecord(models.Model):
    """A customer lost: when, how much MRR, why (reasons from the taxonomy) and the story;
    kept for churn analysis. Recording it closes the subscriptions and moves the account
    to churned."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="churn_records")
    renewal = models.ForeignKey(
        Renewal, verbose_name=_("renewal"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    churned_on = models.DateField(_("churned on"))
    mrr_lost = models.DecimalField(_("MRR lost"), max_digits=14, decimal_places=2, default=0)
    reasons = models.ManyToManyField(RenewalReason, verbose_name=_("reasons"), related_name="churn_records")
    story = models.TextField(_("story"), help_text=_("What happened, in the customer's words where possible."))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["-churned_on"]
        verbose_name = _("churn record")
        verbose_name_plural = _("churn records")
        indexes = [models.Index(fields=["churned_on"])]

    def __str__(self) -> str:
        return f"{self.account} · {self.churned_on}"
