"""Writes for usage, health scores and alerts."""

import datetime as dt
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, router, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Account
from accounts.services import account_activated_set, account_health_set
from cs_platform.access import can_change

from .models import Alert, HealthScore, ScorecardVersion, UsageDaily, UsageEvent
from .scorecards import active_version
from .scoring import Card, active_account_ids, measure_values, score, tune_for_aggregates

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
    connection = connections[router.db_for_write(HealthScore)]
    if scores and connection.vendor == "postgresql":
        # The statement bulk_create sends (the rows as arrays, unnested), without building
        # a model and preparing seven fields for each row: that cost more than the database
        # work (about 0.3 s for a batch of 2,000). The components are encoded as
        # JSONField does; the server parses each on its own, which is several times faster
        # than parsing one document with every row.
        encode = json.JSONEncoder(check_circular=False).encode  # json.dumps, without looking for cycles
        ids, values, bands, documents = [], [], [], []
        for pk, (s, components) in scores.items():
            ids.append(pk)
            values.append(s)
            bands.append(str(band(s)))
            documents.append(encode(components))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {connection.ops.quote_name(HealthScore._meta.db_table)}"
                " (account_id, as_of, score, band, components, scorecard_id, computed_at)"
                " SELECT r.a, %s, r.s, r.b, r.c::jsonb, %s, %s"
                " FROM unnest(%s::bigint[], %s::smallint[], %s::varchar[], %s::text[]) AS r (a, s, b, c)"
                " ON CONFLICT (account_id, as_of) DO UPDATE SET score = excluded.score, band = excluded.band,"
                " components = excluded.components, scorecard_id = excluded.scorecard_id,"
                " computed_at = excluded.computed_at",
                [as_of, version_id, timezone.now(), ids, values, bands, documents],
            )
        if as_of >= timezone.localdate():
            account_health_set(scores=dict(zip(ids, zip(values, bands, strict=True), strict=True)))
        return len(ids)
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


SCORING_READ_SIZE = 20_000  # accounts whose measures health_score_run reads at once


def health_score_run(
    *,
    as_of: dt.date | None = None,
    account_ids: Iterable[int] | None = None,
    version: ScorecardVersion | None = None,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Score every account active on `as_of` (default today) with the active scorecard,
    or only `account_ids` among them. Set-based: a fixed number of statements to read the
    measures of up to SCORING_READ_SIZE accounts, and per batch of `batch_size` accounts
    a fixed number to write, committed atomically; re-running a date replaces its scores,
    so retries and duplicate deliveries are harmless. Returns how many accounts were
    scored."""
    as_of = as_of or timezone.localdate()
    card = Card.of(version or active_version())
    ids = active_account_ids(as_of)
    if account_ids is not None:
        wanted = set(account_ids)
        ids = [pk for pk in ids if pk in wanted]
    done = 0
    # Measures are read for up to SCORING_READ_SIZE accounts at once: each aggregate then
    # reads its table in one pass (a scan and a hash) instead of one index probe per
    # account and batch, about twice as fast over the rollup; the batches still write
    # and commit on their own.
    read_size = max(batch_size, SCORING_READ_SIZE)
    for first in range(0, len(ids), read_size):
        chunk = ids[first : first + read_size]
        with transaction.atomic():  # one snapshot for every measure
            tune_for_aggregates()
            raws = measure_values(chunk, as_of, card.measures)
        for start in range(0, len(chunk), batch_size):
            batch = chunk[start : start + batch_size]
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


# ------------------------------------------------------------------ alerts
# Writes of early-warning alerts. The rules that decide which to raise are in
# health.alerts; both it and alert_raise store through alerts_insert and tell people
# through alerts_announce, so a new alert is announced the same way however it came.

NOTICE_LISTS = 3  # alerts named in one owner's notification (it keeps 300 characters); the page has all
ALERT_INSERT_FIELDS = ("account", "type", "severity", "status", "reason", "owner", "as_of", "created_at", "resolution")


def alerts_insert(alerts: Iterable[Alert]) -> list[Alert]:
    """Store the alerts that are not already unresolved for their account and type, and
    return those really stored (with their pk), in a fixed number of statements per batch.

    `INSERT ... ON CONFLICT DO NOTHING RETURNING` (PostgreSQL, SQLite >= 3.35): the partial
    unique constraint one_unresolved_alert_per_account_type decides, so two workers raising
    the same alert at once store it once, and the one that lost learns it created nothing."""
    fresh: dict[tuple[int, str], Alert] = {}
    now = timezone.now()
    for alert in alerts:
        alert.status, alert.created_at = Alert.Status.OPEN, now
        alert.resolution = alert.resolution or ""
        alert.clean_fields(exclude=["account", "owner", "acknowledged_by", "resolved_by"])
        fresh.setdefault((alert.account_id, alert.type), alert)
    if not fresh:
        return []
    connection = connections[router.db_for_write(Alert)]
    quote = connection.ops.quote_name
    fields = [Alert._meta.get_field(name) for name in ALERT_INSERT_FIELDS]
    rows = list(fresh.values())
    size = max(1, connection.ops.bulk_batch_size(fields, rows))
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    head = f"INSERT INTO {quote(Alert._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES "
    tail = f" ON CONFLICT DO NOTHING RETURNING {quote('id')}, {quote('account_id')}, {quote('type')}"
    created = []
    with transaction.atomic(using=connection.alias, savepoint=False), connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            batch = rows[start : start + size]
            params = [f.get_db_prep_save(getattr(a, f.attname), connection) for a in batch for f in fields]
            cursor.execute(head + ", ".join([one] * len(batch)) + tail, params)
            for pk, account_id, type_ in cursor.fetchall():
                alert = fresh[(account_id, type_)]
                alert.pk = pk
                alert._state.adding, alert._state.db = False, connection.alias
                created.append(alert)
    return created


def alerts_announce(alerts: list[Alert]) -> None:
    """Tell the owners of new alerts and launch the playbooks their types trigger.

    Each owner gets one notification (in the app and by email) per call, naming the alert
    with its reason and linking to the account, or listing their new alerts and linking to
    the alerts page when there are several: one INSERT per owner, whatever the number of
    alerts. Playbooks launch per alert (occurrence "alert:<id>"), which runs queries per
    launch; one query first finds the types that have an active playbook, so alerts of
    other types cost nothing. Call it for genuinely new alerts only."""
    from people.services import notify
    from playbooks.models import Playbook
    from playbooks.services.triggers import playbook_launch_for_trigger

    if not alerts:
        return
    by_owner: dict[int, list[Alert]] = defaultdict(list)
    for alert in alerts:
        if alert.owner_id is not None:
            by_owner[alert.owner_id].append(alert)
    with translation.override(settings.LANGUAGE_CODE):
        for group in by_owner.values():
            notify(users=[group[0].owner], **_alert_notice(group))
    launching = set(
        Playbook.objects.filter(
            is_active=True, trigger=Playbook.Trigger.ALERT_OPENED, trigger_value__in={a.type for a in alerts}
        ).values_list("trigger_value", flat=True)
    )
    for alert in alerts:
        if alert.type in launching:
            playbook_launch_for_trigger(
                trigger=Playbook.Trigger.ALERT_OPENED,
                value=alert.type,
                account=alert.account,
                occurrence=f"alert:{alert.pk}",
            )


def _alert_notice(alerts: list[Alert]) -> dict:
    """The notification of one owner's new alerts, in the active language."""
    if len(alerts) == 1:
        alert = alerts[0]
        names = {"type": alert.get_type_display(), "account": alert.account.name}
        return {
            "message": _("%(type)s at %(account)s: %(reason)s") % {**names, "reason": alert.reason},
            "subject": _("Early warning: %(type)s at %(account)s") % names,
            "url": reverse("accounts:detail", args=[alert.account_id]),
        }
    listed = "; ".join(
        _("%(account)s (%(type)s)") % {"account": a.account.name, "type": a.get_type_display()}
        for a in alerts[:NOTICE_LISTS]
    )
    count = len(alerts)
    if count > NOTICE_LISTS:
        listed += "; " + _("and %(more)d more") % {"more": count - NOTICE_LISTS}
    return {
        "message": ngettext(
            "%(count)d new early warning on your accounts: %(alerts)s",
            "%(count)d new early warnings on your accounts: %(alerts)s",
            count,
        )
        % {"count": count, "alerts": listed},
        "subject": ngettext(
            "%(count)d new early warning on your accounts", "%(count)d new early warnings on your accounts", count
        )
        % {"count": count},
        "url": reverse("health:alert_list") + "?mine=on",
    }


def alert_raise(
    *, account: Account, type: str, severity: str, reason: str, as_of: dt.date | None = None
) -> tuple[Alert, bool]:
    """Open an alert unless one of this type is already unresolved for the account; its
    owner is the account's CSM. Returns (alert, created); firing the same rule again never
    duplicates it. A new alert is announced (alerts_announce)."""
    alert = Alert(account=account, type=type, severity=severity, reason=reason, owner=account.csm, as_of=as_of)
    alert.full_clean(validate_constraints=False)
    with transaction.atomic():
        created = alerts_insert([alert])
        if created:
            alerts_announce(created)
            return created[0], True
    existing = Alert.objects.exclude(status=Alert.Status.RESOLVED).get(account=account, type=type)
    return existing, False


ALERT_MOVES = {
    Alert.Status.OPEN: {Alert.Status.ACKNOWLEDGED, Alert.Status.RESOLVED},
    Alert.Status.ACKNOWLEDGED: {Alert.Status.RESOLVED},
    Alert.Status.RESOLVED: set(),
}


@transaction.atomic
def alert_set_status(*, alert: Alert, status: str, by=None, resolution: str = "") -> Alert:
    """Acknowledge or resolve an alert, keeping who and when; `resolution` is an optional
    note when resolving. An alert moves forward only (open, acknowledged, resolved) and
    resolved is final; once resolved, the rule may raise a new alert of its type. Setting
    the status it already has changes nothing. `by` must be allowed to change the account."""
    if by is not None and not can_change(by, alert.account):
        raise PermissionDenied
    resolution = (resolution or "").strip()
    if status not in Alert.Status.values:
        raise ValidationError({"status": _("Choose open, acknowledged or resolved.")})
    if resolution and status != Alert.Status.RESOLVED:
        raise ValidationError({"resolution": _("A resolution note goes with resolving the alert.")})
    final = _("This alert is resolved, which is final; the rule raises a new one if the problem returns.")
    if status == alert.status:
        if resolution and status == Alert.Status.RESOLVED:
            raise ValidationError({"resolution": final})
        return alert
    if status not in ALERT_MOVES[alert.status]:
        if alert.status == Alert.Status.RESOLVED:
            raise ValidationError({"status": final})
        raise ValidationError(
            {"status": _("An acknowledged alert cannot be opened again; resolve it when it is dealt with.")}
        )
    now = timezone.now()
    alert.status = status
    if status == Alert.Status.ACKNOWLEDGED:
        alert.acknowledged_at, alert.acknowledged_by = now, by
        fields = ["status", "acknowledged_at", "acknowledged_by"]
    else:
        alert.resolved_at, alert.resolved_by, alert.resolution = now, by, resolution
        fields = ["status", "resolved_at", "resolved_by", "resolution"]
    alert.full_clean(exclude=["account", "owner", "acknowledged_by", "resolved_by"], validate_constraints=False)
    alert.save(update_fields=fields)
    return alert
