from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Team(models.Model):
    """A CS team. Its manager is the member with the manager role."""

    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """Anyone who logs in, or a system that calls the API (role `integration`)."""

    class Role(models.TextChoices):
        CSM = "csm", _("Customer success manager")
        MANAGER = "manager", _("Manager")
        SALES = "sales", _("Sales")
        ADMIN = "admin", _("Administrator")
        INTEGRATION = "integration", _("Integration (API only)")

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.CSM)
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def get_full_name(self) -> str:
        """Chinese names read family name first with no space (陈静); others "Emma Walker"."""
        first, last = self.first_name.strip(), self.last_name.strip()
        if any("\u4e00" <= ch <= "\u9fff" for ch in first + last):
            return f"{last}{first}"
        return f"{first} {last}".strip()

    @property
    def sees_everything(self) -> bool:
        return self.is_superuser or self.role in (self.Role.ADMIN, self.Role.INTEGRATION)

    @property
    def is_api_only(self) -> bool:
        return self.role == self.Role.INTEGRATION


class Notification(models.Model):
    """Something a user is told in the app (and, when it matters, by email): a handover
    assigned, returned or accepted... `url` opens what it is about."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    message = models.CharField(_("message"), max_length=300)
    url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.message
