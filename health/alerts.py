"""Early-warning rules (流失预警), evaluated after each day's scoring run.

`alerts_evaluate` looks at every account with a subscription active on `as_of` (the rule
of health.scoring.active_account_ids) that has not churned, as the world stood at 00:00
of `as_of`, and raises the alerts whose rule holds: renewal_risk, health_drop,
activation_overdue, no_recent_touch, payment_overdue and stakeholder_left (thresholds in
the ALERT_* settings). Each alert says why in words, with the numbers, in the platform's
default language; its owner is the account's CSM.

Set-based: seven reads whatever the number of accounts (the accounts in scope with what
the rules need annotated by subqueries, open renewals in the window, outstanding
invoices, key people who left, touch cadences, the activation measure, and the alerts
already unresolved), then one INSERT ... ON CONFLICT DO NOTHING per batch of new rows
(health.services.alerts_insert), so two workers evaluating at once store each alert once.
Only the alerts really inserted are announced (health.services.alerts_announce): one
notification per owner, and the playbooks of their types, which run queries per launch.
"""

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import TOUCH_KINDS, Account, Activity, Stakeholder
from playbooks.models import TouchCadence
from renewals.models import Invoice, Renewal, Subscription

from .models import Alert, HealthScore, ScorecardMeasure
from .scoring import Measure, measure_label
from .services import alerts_announce, alerts_insert

log = logging.getLogger(__name__)

T = Alert.Type
S = Alert.Severity
Role = Stakeholder.Role

# The score a fall is measured from: the nearest scored day on or before the day N days
# back, but no more than this many days before it (a gap in scoring is no baseline).
BASELINE_SLACK_DAYS = 7
CADENCE_DAYS = {TouchCadence.Period.WEEK: 7, TouchCadence.Period.MONTH: 31, TouchCadence.Period.QUARTER: 92}
KEY_ROLES = (Role.DECISION_MAKER, Role.EXECUTIVE_SPONSOR, Role.CHAMPION)


@dataclass
class Facts:
    """What the rules read about one account, gathered set-based."""

    account: Account
    renewal: tuple | None = None  # (due_date, forecast_mrr) of the nearest open renewal in the window
    invoices: list = field(default_factory=list)  # (number, amount, paid_amount, due_date), oldest first
    left: list = field(default_factory=list)  # (name, title, role, left_on), key people who left recently


def alerts_evaluate(*, as_of: dt.date, account_ids: Iterable[int] | None = None) -> dict[str, int]:
    """Raise the early-warning alerts that hold on `as_of` for the accounts in scope (or
    only `account_ids` among them). Returns how many new alerts of each type were created;
    an alert already unresolved for the account and type is never duplicated."""
    created = dict.fromkeys(T.values, 0)
    scope = _scope(as_of, account_ids)
    facts = _facts(scope, as_of)
    if not facts:
        return created
    cadence = _cadence_days()
    with translation.override(settings.LANGUAGE_CODE):
        activation = _activation()  # its label goes into reasons, in the platform's language
    unresolved = set(
        Alert.objects.filter(account__in=scope.values("pk"))
        .exclude(status=Alert.Status.RESOLVED)
        .values_list("account_id", "type")
    )
    with translation.override(settings.LANGUAGE_CODE):
        candidates = [
            Alert(account=f.account, type=type_, severity=severity, reason=reason, owner=f.account.csm, as_of=as_of)
            for f in facts.values()
            for type_, severity, reason in _rules(f, as_of, cadence=cadence, activation=activation)
            if (f.account.pk, type_) not in unresolved
        ]
    new = []
    if candidates:
        with transaction.atomic():
            new = alerts_insert(candidates)
            alerts_announce(new)
    for alert in new:
        created[alert.type] += 1
    log.info("alerts_evaluate as_of %s: %d accounts, %d new alerts %s", as_of, len(facts), len(new), created)
    return created


# ------------------------------------------------------------------ reads


def _scope(as_of: dt.date, account_ids) -> QuerySet[Account]:
    active = Subscription.objects.filter(account=OuterRef("pk"), start_date__lte=as_of).filter(
        Q(end_date__isnull=True) | Q(end_date__gt=as_of)
    )
    qs = Account.objects.filter(Exists(active)).exclude(lifecycle_stage=Account.Stage.CHURNED)
    if account_ids is not None:
        qs = qs.filter(pk__in=list(account_ids))
    return qs


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_default_timezone())


def _facts(scope: QuerySet[Account], as_of: dt.date) -> dict[int, Facts]:
    """Four queries: the accounts with their scores, decision makers, first subscription
    and last touch annotated; open renewals in the window; outstanding invoices past the
    grace days; key people who left recently."""
    base_day = as_of - dt.timedelta(days=settings.ALERT_HEALTH_DROP_DAYS)
    scores = HealthScore.objects.filter(account=OuterRef("pk"))
    today = scores.filter(as_of=as_of)
    baseline = scores.filter(
        as_of__lte=base_day, as_of__gte=base_day - dt.timedelta(days=BASELINE_SLACK_DAYS)
    ).order_by("-as_of")
    deciders = Stakeholder.objects.filter(account=OuterRef("pk"), role=Role.DECISION_MAKER)
    decider_left = deciders.filter(is_active=False).filter(Q(left_on__isnull=True) | Q(left_on__lt=as_of))
    decider_left = decider_left.order_by(F("left_on").desc(nulls_last=True), "-pk")
    touches = Activity.objects.filter(
        account=OuterRef("pk"), kind__in=TOUCH_KINDS, occurred_at__lt=_midnight(as_of)
    ).order_by("-occurred_at")
    accounts = scope.select_related("csm").annotate(
        score_now=Subquery(today.values("score")[:1]),
        band_now=Subquery(today.values("band")[:1]),
        score_base=Subquery(baseline.values("score")[:1]),
        base_on=Subquery(baseline.values("as_of")[:1]),
        decider_present=Exists(deciders.filter(Q(is_active=True) | Q(left_on__gte=as_of))),
        decider_left_name=Subquery(decider_left.values("name")[:1]),
        decider_left_on=Subquery(decider_left.values("left_on")[:1]),
        first_start=Subquery(
            Subscription.objects.filter(account=OuterRef("pk")).order_by("start_date").values("start_date")[:1]
        ),
        last_touch=Subquery(touches.values("occurred_at")[:1]),
    )
    facts = {a.pk: Facts(account=a) for a in accounts}
    if not facts:
        return facts
    in_scope = scope.values("pk")

    renewals = (
        Renewal.objects.filter(
            account__in=in_scope,
            stage__in=Renewal.OPEN_STAGES,
            due_date__gte=as_of,
            due_date__lte=as_of + dt.timedelta(days=settings.ALERT_RENEWAL_WINDOW_DAYS),
        )
        .order_by("account_id", "due_date")
        .values_list("account_id", "due_date", "forecast_mrr")
    )
    for pk, due, mrr in renewals:
        if pk in facts and facts[pk].renewal is None:
            facts[pk].renewal = (due, mrr)

    invoices = (
        Invoice.objects.filter(
            account__in=in_scope, due_date__lt=as_of - dt.timedelta(days=settings.ALERT_PAYMENT_GRACE_DAYS)
        )
        .filter(Q(paid_on__isnull=True) | Q(paid_on__gte=as_of))
        .order_by("account_id", "due_date", "pk")
        .values_list("account_id", "number", "amount", "paid_amount", "due_date")
    )
    for pk, *invoice in invoices:
        if pk in facts:
            facts[pk].invoices.append(tuple(invoice))

    left = (
        Stakeholder.objects.filter(
            account__in=in_scope,
            role__in=KEY_ROLES,
            is_active=False,
            left_on__lt=as_of,
            left_on__gte=as_of - dt.timedelta(days=settings.ALERT_STAKEHOLDER_LEFT_DAYS),
        )
        .order_by("account_id", "-left_on", "pk")
        .values_list("account_id", "name", "title", "role", "left_on")
    )
    for pk, *person in left:
        if pk in facts:
            facts[pk].left.append(tuple(person))
    return facts


def _cadence_days() -> dict[str, int]:
    """The shortest active touch cadence of each tier, in days."""
    days: dict[str, int] = {}
    for tier, period in TouchCadence.objects.filter(is_active=True).values_list("tier", "period"):
        days[tier] = min(days.get(tier, CADENCE_DAYS[period]), CADENCE_DAYS[period])
    return days


def _activation() -> tuple[str, float] | None:
    """The active scorecard's activation measure (its label) and threshold, or None when
    the scorecard defines none: then nobody is ever activated, and the rule stays silent."""
    measure = (
        ScorecardMeasure.objects.filter(version__is_active=True, key=F("version__activation_measure"))
        .select_related("version")
        .first()
    )
    if measure is None:
        return None
    return measure.label or measure_label(Measure.of(measure).describe()), measure.version.activation_threshold


# ------------------------------------------------------------------ rules


def _rules(f: Facts, as_of: dt.date, *, cadence: dict[str, int], activation) -> list[tuple[str, str, str]]:
    """The (type, severity, reason) of each rule that holds for the account."""
    found = [
        _renewal_risk(f, as_of),
        _health_drop(f, as_of),
        _activation_overdue(f, as_of, activation),
        _no_recent_touch(f, as_of, cadence),
        _payment_overdue(f, as_of),
        _stakeholder_left(f, as_of),
    ]
    return [r for r in found if r is not None]


def _fall(a: Account) -> int | None:
    """Points lost since the baseline score (negative: gained), or None without both."""
    if a.score_now is None or a.score_base is None:
        return None
    return a.score_base - a.score_now


def _renewal_risk(f: Facts, as_of: dt.date):
    if f.renewal is None:
        return None
    a = f.account
    due, mrr = f.renewal
    why = []
    if a.band_now in (Account.HealthBand.RED, Account.HealthBand.YELLOW):
        why.append(
            _("health is %(band)s (%(score)d)")
            % {"band": Account.HealthBand(a.band_now).label.lower(), "score": a.score_now}
        )
    fall = _fall(a)
    if fall is not None and fall >= settings.ALERT_TREND_POINTS:
        why.append(
            _("health fell from %(before)d to %(now)d in %(days)d days")
            % {"before": a.score_base, "now": a.score_now, "days": (as_of - a.base_on).days}
        )
    decider_gone = a.decider_left_name is not None and not a.decider_present
    if decider_gone:
        if a.decider_left_on:
            why.append(
                _("the decision maker %(name)s left on %(day)s")
                % {"name": a.decider_left_name, "day": a.decider_left_on.isoformat()}
            )
        else:
            why.append(_("the decision maker %(name)s has left") % {"name": a.decider_left_name})
    if not why:
        return None
    names = {"day": due.isoformat(), "in": _in_days((due - as_of).days)}
    if mrr:
        renewal = _("Renewal of %(amount)s %(currency)s a year due on %(day)s (%(in)s)") % {
            **names,
            "amount": _money(mrr * 12, 0),
            "currency": settings.CURRENCY,
        }
    else:
        renewal = _("Renewal due on %(day)s (%(in)s)") % names
    severity = S.HIGH if a.band_now == Account.HealthBand.RED or decider_gone else S.MEDIUM
    return T.RENEWAL_RISK, severity, "; ".join([renewal, *why])


def _health_drop(f: Facts, as_of: dt.date):
    a = f.account
    fall = _fall(a)
    if fall is None or fall < settings.ALERT_HEALTH_DROP_POINTS:
        return None
    reason = _("Health fell from %(before)d to %(now)d in %(days)d days") % {
        "before": a.score_base,
        "now": a.score_now,
        "days": (as_of - a.base_on).days,
    }
    return T.HEALTH_DROP, S.HIGH, reason


def _activation_overdue(f: Facts, as_of: dt.date, activation):
    a = f.account
    if activation is None or a.first_start is None or (a.activated_on and a.activated_on <= as_of):
        return None
    days = (as_of - a.first_start).days
    if days < settings.ALERT_ACTIVATION_DAYS:
        return None
    measure, threshold = activation
    reason = _(
        "Not activated %(days)d days after the first subscription started on %(day)s (expected within "
        "%(limit)d days: %(measure)s reaching %(threshold)s)"
    ) % {
        "days": days,
        "day": a.first_start.isoformat(),
        "limit": settings.ALERT_ACTIVATION_DAYS,
        "measure": measure,
        "threshold": formats.number_format(threshold, use_l10n=True),
    }
    return T.ACTIVATION_OVERDUE, S.MEDIUM, reason


def _no_recent_touch(f: Facts, as_of: dt.date, cadence: dict[str, int]):
    a = f.account
    expected = cadence.get(a.tier, settings.ALERT_NO_TOUCH_DAYS)
    names = {"tier": Account.Tier(a.tier).label.lower(), "expected": expected}
    if a.last_touch is not None:
        last = timezone.localtime(a.last_touch, timezone.get_default_timezone()).date()
        days = (as_of - last).days
        if days <= expected:
            return None
        reason = _(
            "No touch for %(days)d days (last on %(day)s; the %(tier)s tier expects one every %(expected)d days)"
        ) % {**names, "days": days, "day": last.isoformat()}
    else:
        if a.first_start is None or (as_of - a.first_start).days <= expected:
            return None
        reason = _(
            "No touch since the first subscription started on %(day)s, %(days)d days ago (the %(tier)s tier "
            "expects one every %(expected)d days)"
        ) % {**names, "days": (as_of - a.first_start).days, "day": a.first_start.isoformat()}
    severity = S.LOW if a.tier == Account.Tier.STANDARD else S.MEDIUM
    return T.NO_RECENT_TOUCH, severity, reason


def _payment_overdue(f: Facts, as_of: dt.date):
    if not f.invoices:
        return None
    number, amount, _paid, due = f.invoices[0]
    days = (as_of - due).days
    reason = _("Invoice %(number)s of %(amount)s %(currency)s is %(days)d days overdue") % {
        "number": number,
        "amount": _money(amount, 2),
        "currency": settings.CURRENCY,
        "days": days,
    }
    if len(f.invoices) > 1:
        outstanding = sum((inv[1] - inv[2] for inv in f.invoices), Decimal(0))
        reason += "; " + ngettext(
            "%(count)d invoice overdue, %(total)s %(currency)s outstanding",
            "%(count)d invoices overdue, %(total)s %(currency)s outstanding",
            len(f.invoices),
        ) % {"count": len(f.invoices), "total": _money(outstanding, 2), "currency": settings.CURRENCY}
    return T.PAYMENT_OVERDUE, S.HIGH if days > 60 else S.MEDIUM, reason


def _stakeholder_left(f: Facts, as_of: dt.date):
    if not f.left:
        return None
    roles = {
        Role.DECISION_MAKER: _("the decision maker"),
        Role.EXECUTIVE_SPONSOR: _("the executive sponsor"),
        Role.CHAMPION: _("the champion"),
    }
    people = sorted(f.left, key=lambda p: KEY_ROLES.index(p[2]))
    parts = []
    for name, title, role, left_on in people:
        who = _("%(name)s (%(title)s)") % {"name": name, "title": title} if title else name
        parts.append(
            _("%(who)s, %(role)s, left on %(day)s (%(ago)s)")
            % {"who": who, "role": roles[role], "day": left_on.isoformat(), "ago": _days_ago((as_of - left_on).days)}
        )
    severity = S.HIGH if any(p[2] == Role.DECISION_MAKER for p in people) else S.MEDIUM
    return T.STAKEHOLDER_LEFT, severity, "; ".join(parts)


# ------------------------------------------------------------------ words


def _money(value, places: int) -> str:
    return formats.number_format(Decimal(value), decimal_pos=places, use_l10n=True, force_grouping=True)


def _in_days(days: int) -> str:
    if days == 0:
        return _("today")
    return ngettext("in %(days)d day", "in %(days)d days", days) % {"days": days}


def _days_ago(days: int) -> str:
    return ngettext("%(days)d day ago", "%(days)d days ago", days) % {"days": days}
