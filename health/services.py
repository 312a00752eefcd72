"""Writes for usage, health scores and alerts."""

import datetime as dt
import logging
from collections.abc import Callable, Iterable

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import Account
from accounts.services import account_activated_set, account_health_set

from .models import Alert, HealthScore, ScorecardVersion, UsageDaily, UsageEvent
from .scorecards import active_version
from .scoring import Card, active_account_ids, measure_values, score

log = logging.getLogger(__name__)

GREEN_FROM = 70
YELLOW_FROM = 40


def band_for(score: int) -> str:
    if score >= GREEN_FROM:
        return Account.HealthBand.GREEN
    if score >= YELLOW_FROM:
        return Account.HealthBand.YELLOW
    return Account.HealthBand.RED


@transaction.atomic
def usage_rollup(*, day_from: dt.date, day_to: dt.date) -> int:
    """Rebuild the daily rollup for days day_from..day_to (inclusive) from raw events.

    One aggregate read and one upsert per batch, whatever the number of accounts; days
    are the platform's local days (settings.TIME_ZONE, whoever runs it), and an event
    without a user adds no distinct user, as in health.ingest. Re-running a day replaces
    its rows."""
    tz = timezone.get_default_timezone()
    start = dt.datetime.combine(day_from, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(day_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    rows = (
        UsageEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
        .annotate(day=TruncDate("occurred_at", tzinfo=tz))
        .values("account_id", "day", "event_type")
        .annotate(
            events=Count("id"),
            value_sum=Sum("value"),
            distinct_users=Count("user_id", distinct=True, filter=~Q(user_id="")),
        )
        .order_by()
    )
    objs = [UsageDaily(**r) for r in rows]
    UsageDaily.objects.bulk_create(
        objs,
        update_conflicts=True,
        unique_fields=["account", "day", "event_type"],
        update_fields=["events", "value_sum", "distinct_users"],
        batch_size=2000,
    )
    log.info("usage_rollup %s..%s: %d rows", day_from, day_to, len(objs))
    return len(objs)


@transaction.atomic
def health_scores_record(*, as_of: dt.date, scores: dict[int, tuple[int, list]], card: Card | None = None) -> int:
    """Store one snapshot per account for `as_of` (re-running the date replaces it) and,
    when `as_of` is the newest date, the account's current score and band. `card` is the
    scorecard version that computed them (its bands; kept with each score)."""
    band = card.band if card else band_for
    version_id = card.pk if card else None
    objs = [
        HealthScore(account_id=pk, as_of=as_of, score=s, band=band(s), components=components, scorecard_id=version_id)
        for pk, (s, components) in scores.items()
    ]
    HealthScore.objects.bulk_create(
        objs,
        update_conflicts=True,
        unique_fields=["account", "as_of"],
        update_fields=["score", "band", "components", "scorecard", "computed_at"],
        batch_size=2000,
    )
    if as_of >= timezone.localdate():
        account_health_set(scores={o.account_id: (o.score, o.band) for o in objs})
    return len(objs)


def health_score_run(
    *,
    as_of: dt.date | None = None,
    account_ids: Iterable[int] | None = None,
    version: ScorecardVersion | None = None,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Score every account active on `as_of` (default today) with the active scorecard,
    or only `account_ids` among them. Set-based: per batch of accounts a fixed number of
    statements, committed atomically; re-running a date replaces its scores, so retries
    and duplicate deliveries are harmless. Returns how many accounts were scored."""
    as_of = as_of or timezone.localdate()
    card = Card.of(version or active_version())
    ids = active_account_ids(as_of)
    if account_ids is not None:
        wanted = set(account_ids)
        ids = [pk for pk in ids if pk in wanted]
    done = 0
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        raws = measure_values(batch, as_of, card.measures)
        scores = {pk: score(card, raws[pk]) for pk in batch}
        with transaction.atomic():
            health_scores_record(as_of=as_of, scores=scores, card=card)
            if card.activation_measure:
                reached = [
                    pk
                    for pk in batch
                    if (raws[pk].get(card.activation_measure) or 0) >= card.activation_threshold
                    and raws[pk].get(card.activation_measure) is not None
                ]
                account_activated_set(account_ids=reached, on=as_of)
        done += len(batch)
        if progress:
            progress(done)
    log.info("health_score_run as_of %s with v%s: %d accounts", as_of, card.pk, done)
    return done


def alert_raise(*, account: Account, type: str, severity: str, reason: str) -> tuple[Alert, bool]:
    """Open an alert unless one of this type is already unresolved for the account.
    Returns (alert, created); firing the same rule again never duplicates it."""
    existing = Alert.objects.filter(account=account, type=type).exclude(status=Alert.Status.RESOLVED).first()
    if existing:
        return existing, False
    alert = Alert(account=account, type=type, severity=severity, reason=reason)
    alert.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            alert.save()
    except IntegrityError:  # a concurrent raise won the race; the unique constraint holds
        return Alert.objects.get(
            account=account, type=type, status__in=[Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED]
        ), False
    # A new alert launches the playbooks triggered by its type, once per alert.
    from playbooks.services.triggers import playbook_launch_for_trigger

    playbook_launch_for_trigger(
        trigger="alert_opened", value=alert.type, account=account, occurrence=f"alert:{alert.pk}"
    )
    return alert, True


@transaction.atomic
def alert_set_status(*, alert: Alert, status: str) -> Alert:
    alert.status = status
    alert.resolved_at = timezone.now() if status == Alert.Status.RESOLVED else None
    alert.full_clean()
    alert.save(update_fields=["status", "resolved_at"])
    return alert
