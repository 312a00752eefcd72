from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
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
    forecast_mrr = models.DecimalField(_("forecast MRR"), max_digits=14, decimal_places=2, default=0)
    risk = models.CharField(_("risk"), max_length=10, choices=Risk.choices, default=Risk.LOW)
    outcome = models.TextField(_("outcome"), blank=True)

    class Meta:
        ordering = ["due_date"]
        verbose_name = _("renewal")
        verbose_name_plural = _("renewals")
        constraints = [models.UniqueConstraint(fields=["account", "due_date"], name="one_renewal_per_account_term")]
        indexes = [models.Index(fields=["due_date", "stage"])]

    def __str__(self) -> str:
        return f"{self.account} · {self.due_date}"


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
