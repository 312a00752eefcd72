from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Stakeholder
from renewals.models import Product


class Handover(models.Model):
    """The sales-to-CS handover package (交接: 信任转移), filled by the sales owner."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        RETURNED = "returned", _("Returned")
        ACCEPTED = "accepted", _("Accepted")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="handovers")
    sales_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("sales owner"), on_delete=models.PROTECT, related_name="handovers"
    )
    csm = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("receiving CSM"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="received_handovers",
    )
    status = models.CharField(_("status"), max_length=15, choices=Status.choices, default=Status.DRAFT)
    external_id = models.CharField(
        _("CRM deal ID"),
        max_length=100,
        unique=True,
        null=True,
        blank=True,
        help_text=_("The won deal's ID in the CRM; posting the same deal again updates this draft."),
    )
    # Customer basics (the account carries the name)
    contact_name = models.CharField(_("main contact"), max_length=100, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    # The deal: product lines are HandoverProduct rows
    contract_start = models.DateField(_("contract start"), null=True, blank=True)
    contract_end = models.DateField(_("contract end"), null=True, blank=True)
    payment_terms = models.CharField(_("payment terms"), max_length=300, blank=True)
    deal_summary = models.TextField(_("the deal"), blank=True)
    why_bought = models.TextField(_("why they bought"), blank=True)
    purchase_history = models.TextField(_("purchase and interaction history"), blank=True)
    support_needs = models.TextField(_("support needs after the sale"), blank=True)
    kickoff_on = models.DateField(
        _("preferred kickoff date"), null=True, blank=True, help_text=_("Agreed with the customer, if it was.")
    )
    needs = models.TextField(_("needs, expectations and special requests"), blank=True)
    promises = models.TextField(_("what sales promised"), blank=True)
    implementation_plan = models.TextField(_("implementation plan and timeline"), blank=True)
    anticipated_problems = models.TextField(_("anticipated problems and responses"), blank=True)
    sales_feedback = models.TextField(_("feedback from the sales process"), blank=True)
    return_reason = models.TextField(_("reason returned"), blank=True)
    returned_items = models.JSONField(_("items missing when returned"), default=list, blank=True)
    overdue_flagged_at = models.DateTimeField(_("flagged as overdue"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    decided_at = models.DateTimeField(_("accepted or returned"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("handover")
        verbose_name_plural = _("handovers")
        indexes = [models.Index(fields=["status", "submitted_at"])]

    def __str__(self) -> str:
        return f"{self.account} ({self.get_status_display()})"


class HandoverProduct(models.Model):
    """One line of the deal: a product, how many, at what yearly price per unit and discount."""

    handover = models.ForeignKey(Handover, on_delete=models.CASCADE, related_name="products")
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"), default=1, validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(
        _("yearly price per unit"), max_digits=14, decimal_places=2, validators=[MinValueValidator(0)]
    )
    discount = models.DecimalField(
        _("discount (%)"),
        max_digits=5,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )

    class Meta:
        ordering = ["handover", "pk"]
        verbose_name = _("deal line")
        verbose_name_plural = _("deal lines")

    def __str__(self) -> str:
        return f"{self.product} × {self.quantity}"

    @property
    def yearly_amount(self):
        return self.quantity * self.unit_price * (100 - self.discount) / 100


class HandoverStakeholder(models.Model):
    """A key person on the customer's side as sales knows them."""

    handover = models.ForeignKey(Handover, on_delete=models.CASCADE, related_name="stakeholders")
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Stakeholder.Role.choices)
    influence = models.CharField(
        _("influence"), max_length=10, choices=Stakeholder.Influence.choices, default=Stakeholder.Influence.MEDIUM
    )
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    notes = models.TextField(_("what to know about them"), blank=True)

    class Meta:
        ordering = ["handover", "pk"]
        verbose_name = _("key person")
        verbose_name_plural = _("key people")

    def __str__(self) -> str:
        return self.name


class HandoverTransition(models.Model):
    """Who moved a handover from which status to which, and when."""

    handover = models.ForeignKey(Handover, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(_("from"), max_length=15, choices=Handover.Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=15, choices=Handover.Status.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("at"), auto_now_add=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("handover transition")
        verbose_name_plural = _("handover transitions")

    def __str__(self) -> str:
        return f"{self.from_status or '-'} → {self.to_status}"


class Kickoff(models.Model):
    """The kickoff meeting (项目启动会): scheduled when a handover is accepted, held with
    both sides, its minutes sent to the customer."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        HELD = "held", _("Held")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="kickoffs")
    handover = models.OneToOneField(Handover, null=True, blank=True, on_delete=models.SET_NULL, related_name="kickoff")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    scheduled_on = models.DateField(_("date"))
    background = models.TextField(_("background of the first project"), blank=True)
    expected_outcomes = models.TextField(_("expected outcomes"), blank=True)
    minutes = models.TextField(_("minutes"), blank=True)
    follow_up_plan = models.TextField(_("follow-up plan"), blank=True)
    group_chat_created = models.BooleanField(_("group chat created"), default=False)
    group_chat_name = models.CharField(_("group chat name"), max_length=100, blank=True)
    held_on = models.DateField(_("held on"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-scheduled_on", "-pk"]
        verbose_name = _("kickoff meeting")
        verbose_name_plural = _("kickoff meetings")

    def __str__(self) -> str:
        return f"{self.account} {self.scheduled_on:%Y-%m-%d}"


class KickoffParticipant(models.Model):
    class Side(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        OURS = "ours", _("Our side")

    kickoff = models.ForeignKey(Kickoff, on_delete=models.CASCADE, related_name="participants")
    side = models.CharField(_("side"), max_length=10, choices=Side.choices)
    name = models.CharField(_("name"), max_length=100)
    role = models.CharField(_("role in the project"), max_length=100, blank=True)
    stakeholder = models.ForeignKey(
        Stakeholder, null=True, blank=True, on_delete=models.SET_NULL, related_name="kickoffs"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="kickoffs"
    )

    class Meta:
        ordering = ["kickoff", "side", "pk"]
        verbose_name = _("participant")
        verbose_name_plural = _("participants")

    def __str__(self) -> str:
        return self.name
