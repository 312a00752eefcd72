from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Account


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
    deal_summary = models.TextField(_("the deal"), blank=True)
    needs = models.TextField(_("needs, expectations and special requests"), blank=True)
    promises = models.TextField(_("what sales promised"), blank=True)
    implementation_plan = models.TextField(_("implementation plan and timeline"), blank=True)
    anticipated_problems = models.TextField(_("anticipated problems and responses"), blank=True)
    sales_feedback = models.TextField(_("feedback from the sales process"), blank=True)
    return_reason = models.TextField(_("reason returned"), blank=True)
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
