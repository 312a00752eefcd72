"""Manual health overrides: a CSM's own score for an account, with a reason and an expiry.

An override is shown beside the computed score and never replaces its history. It is in
force while it has not been ended (`ended_at` is null) and `expires_on` is today or later;
the newest one in force wins, and setting a new one ends the previous, so in practice
there is at most one. An override that expires simply stops being in force: nothing runs."""

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import BooleanField, Case, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from cs_platform.access import can_change, restrict
from people.models import User

from .models import HealthOverride


def _in_force_q(today: dt.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}ended_at__isnull": True, f"{prefix}expires_on__gte": today})


def max_days() -> int:
    return settings.HEALTH_OVERRIDE_MAX_DAYS


# ------------------------------------------------------------------ who may


def can_override(user, account: Account, *, may_change: bool | None = None) -> bool:
    """Whether `user` may set or end an override on `account`: its CSM, a manager who may
    change it (their team's accounts) or an administrator. Not a teammate, not sales and
    not an integration: an override is one person's judgement, shown with their name.
    Pass `may_change` when can_change was already asked, to save its query."""
    if not user.is_authenticated or not user.is_active or user.is_api_only:
        return False
    if user.is_superuser or user.role == User.Role.ADMIN:
        return True
    if user.role not in (User.Role.CSM, User.Role.MANAGER):
        return False
    if user.role == User.Role.CSM and account.csm_id != user.pk:
        return False
    return can_change(user, account) if may_change is None else may_change


# ------------------------------------------------------------------ services


def _check(*, score, reason: str, expires_on, today: dt.date) -> None:
    errors: dict[str, list] = {}
    if score is None or not 0 <= score <= 100:
        errors["score"] = [_("The score is a whole number from 0 to 100.")]
    if not reason:
        errors["reason"] = [_("Say why the computed score is wrong.")]
    limit = max_days()
    if expires_on is None:
        errors["expires_on"] = [_("Give the day the override ends.")]
    elif expires_on <= today:
        errors["expires_on"] = [_("The override must end after today.")]
    elif expires_on > today + dt.timedelta(days=limit):
        errors["expires_on"] = [
            _("An override lasts at most %(days)d days (until %(date)s).")
            % {"days": limit, "date": (today + dt.timedelta(days=limit)).isoformat()}
        ]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def health_override_set(*, account: Account, score: int, reason: str, expires_on: dt.date, by) -> HealthOverride:
    """Put `score` beside the computed one until `expires_on` (inclusive), ending the
    override in force, if any. Bad input raises ValidationError and changes nothing."""
    if not can_override(by, account):
        raise PermissionDenied
    today = timezone.localdate()
    reason = (reason or "").strip()
    _check(score=score, reason=reason, expires_on=expires_on, today=today)
    # Lock the account so two people setting an override at once leave one in force.
    Account.objects.select_for_update().filter(pk=account.pk).first()
    now = timezone.now()
    HealthOverride.objects.filter(_in_force_q(today), account=account).update(ended_at=now)
    override = HealthOverride(account=account, score=score, reason=reason, expires_on=expires_on, created_by=by)
    override.full_clean()
    override.save()
    return override


@transaction.atomic
def health_override_end(*, override: HealthOverride, by) -> HealthOverride:
    """End an override before its expiry ("Remove override"). Ending one that already
    ended or expired changes nothing."""
    if not can_override(by, override.account):
        raise PermissionDenied
    locked = HealthOverride.objects.select_for_update().get(pk=override.pk)
    if locked.ended_at is None and locked.expires_on >= timezone.localdate():
        locked.ended_at = timezone.now()
        locked.save(update_fields=["ended_at"])
    override.ended_at = locked.ended_at
    return override


# ------------------------------------------------------------------ selectors


def health_override_list(*, user, today: dt.date | None = None) -> QuerySet[HealthOverride]:
    """The overrides of the accounts `user` may see, newest first, each with `in_force`."""
    today = today or timezone.localdate()
    return (
        restrict(HealthOverride.objects.all(), user)
        .select_related("account", "created_by")
        .annotate(
            in_force=Case(When(_in_force_q(today), then=Value(True)), default=Value(False), output_field=BooleanField())
        )
        .order_by("-created_at", "-pk")
    )


def _newest_in_force(today: dt.date) -> Subquery:
    newest = HealthOverride.objects.filter(_in_force_q(today), account=OuterRef("account")).order_by(
        "-created_at", "-pk"
    )
    return Subquery(newest.values("pk")[:1])


def override_in_force(account: Account | int, today: dt.date | None = None) -> HealthOverride | None:
    """The override in force on `account` on `today` (the newest if several), or None.
    The caller has already checked that the account may be seen."""
    today = today or timezone.localdate()
    account_id = getattr(account, "pk", account)
    return (
        HealthOverride.objects.filter(_in_force_q(today), account_id=account_id)
        .select_related("created_by")
        .order_by("-created_at", "-pk")
        .first()
    )


def overrides_in_force(account_ids: Iterable[int], today: dt.date | None = None) -> dict[int, HealthOverride]:
    """The override in force on `today` per account, for lists and the API: one query
    whatever the number of accounts. Accounts without one are left out."""
    today = today or timezone.localdate()
    ids = account_ids if isinstance(account_ids, QuerySet) else list(account_ids)  # a queryset stays a subquery
    rows = (
        HealthOverride.objects.filter(_in_force_q(today), account_id__in=ids)
        .filter(pk=_newest_in_force(today))
        .select_related("created_by")
    )
    return {o.account_id: o for o in rows}
