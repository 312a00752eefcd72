"""The health scoring engine: measures' raw values for a set of accounts as they stood at
the start of `as_of`, their 0-100 scores and the weighted (or fitted) total.

Set-based: `measure_values` runs a fixed number of SQL statements for a batch of accounts,
whatever its size, and reads the daily usage rollup, never raw events. `as_of` means "as
the world stood at 00:00 of that day": usage of days before it, touches before its
midnight (platform time zone), subscriptions active on it (start <= as_of < end).
"""

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, F, Lookup, Max, Q, Sum
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from accounts.models import TOUCH_KINDS, Account, Activity, Stakeholder
from playbooks.models import PlanStep, SuccessPlan
from renewals.models import Invoice, Subscription

from .models import ScorecardMeasure, ScorecardVersion, SurveyResponse, UsageDaily

K = ScorecardMeasure.Kind
USAGE_KINDS = {K.USAGE, K.USAGE_TREND, K.ACTIVE_USERS, K.BREADTH}
ACTIVITY_KINDS = {K.TOUCHES, K.EXEC_TOUCH, K.COMPLAINTS}
SURVEY_KINDS = {K.NPS, K.CSAT}
EXEC_ROLES = (Stakeholder.Role.DECISION_MAKER, Stakeholder.Role.EXECUTIVE_SPONSOR)
TREND_CAP = 200.0  # a trend above +200% (or from nothing) counts as +200%


@dataclass(frozen=True)
class Measure:
    """A plain copy of a ScorecardMeasure, so scoring needs no queries per measure."""

    key: str
    kind: str
    event_type: str = ""
    per: str = ScorecardMeasure.Per.TOTAL
    window_days: int = 30
    thresholds: tuple = ()
    weight: float = 0.0
    label: str = ""
    coefficient: float | None = None
    center: float | None = None
    scale: float | None = None
    # Worked out once rather than for every account scored: the thresholds as sorted
    # floats, and what each component repeats about its measure.
    points: tuple = field(init=False, repr=False, compare=False)
    described: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "points", _points(self.thresholds))
        object.__setattr__(
            self,
            "described",
            {"kind": self.kind, "event_type": self.event_type, "per": self.per, "window_days": self.window_days},
        )

    @classmethod
    def of(cls, m: ScorecardMeasure) -> "Measure":
        return cls(
            key=m.key,
            kind=m.kind,
            event_type=m.event_type,
            per=m.per,
            window_days=m.window_days,
            thresholds=tuple(tuple(p) for p in (m.thresholds or [])),
            weight=float(m.weight or 0),
            label=m.label,
            coefficient=m.coefficient,
            center=m.center,
            scale=m.scale,
        )

    def describe(self) -> dict:
        """What a score component keeps so the explanation can be rendered in any language."""
        return dict(self.described)


@dataclass
class Card:
    """A scorecard version ready to score: its measures and banding."""

    pk: int | None
    kind: str
    measures: list[Measure]
    green_from: int = 70
    yellow_from: int = 40
    intercept: float | None = None
    activation_measure: str = ""
    activation_threshold: float = 0.0
    weights_total: float = field(init=False)

    def __post_init__(self):
        self.weights_total = sum(m.weight for m in self.measures)

    @classmethod
    def of(cls, version: ScorecardVersion) -> "Card":
        return cls(
            pk=version.pk,
            kind=version.kind,
            measures=[Measure.of(m) for m in version.measures.all()],
            green_from=version.green_from,
            yellow_from=version.yellow_from,
            intercept=version.intercept,
            activation_measure=version.activation_measure,
            activation_threshold=version.activation_threshold,
        )

    def band(self, score: int) -> str:
        if score >= self.green_from:
            return Account.HealthBand.GREEN
        if score >= self.yellow_from:
            return Account.HealthBand.YELLOW
        return Account.HealthBand.RED


# ------------------------------------------------------------------ raw values


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_default_timezone())


class _AnyOf(Lookup):
    """`field = ANY(array)`, the ids in one array parameter."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = compiler.compile(self.lhs)
        return f"{lhs} = ANY(%s::bigint[])", [*params, "{" + ",".join(str(int(pk)) for pk in self.rhs) + "}"]


def _among(field: str, ids: list[int]):
    """The filter `field` in `ids`. On PostgreSQL, for many ids, one array parameter: a
    list makes the ORM prepare and the server plan every id (about 0.1 s a query for
    10,000 ids), while the array is estimated right by the planner and hashed in a scan."""
    if connection.vendor == "postgresql" and len(ids) > 100:
        return _AnyOf(F(field), ids)
    return Q(**{f"{field}__in": ids})


def tune_for_aggregates() -> None:
    """On PostgreSQL, until the current transaction ends: memory enough to hash the
    aggregates over many accounts (with the default 4 MB the planner sorts the rollup
    rows instead, several times slower) and no JIT compilation (it costs more than it
    saves on these queries). One statement; nothing elsewhere. Callers that read the
    measures of thousands of accounts at once call it inside their transaction."""
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('work_mem', '64MB', true), set_config('jit', 'off', true)")


def active_account_ids(as_of: dt.date) -> list[int]:
    """Accounts with a subscription active on `as_of`, in id order (one query)."""
    return list(
        Subscription.objects.filter(Q(end_date__isnull=True) | Q(end_date__gt=as_of), start_date__lte=as_of)
        .values_list("account_id", flat=True)
        .distinct()
        .order_by("account_id")
    )


def measure_values(account_ids: list[int], as_of: dt.date, measures: Iterable[Measure]) -> dict[int, dict]:
    """Raw value of every measure for every account, as the world stood at 00:00 of
    `as_of`: {account_id: {measure key: value or None (no data)}}. A fixed number of
    queries (at most seven) whatever the number of accounts or measures."""
    measures = list(measures)
    kinds = {m.kind for m in measures}
    ids = list(account_ids)
    out: dict[int, dict] = {}
    if not ids:
        return out

    seats = dict(
        Subscription.objects.filter(Q(end_date__isnull=True) | Q(end_date__gt=as_of), start_date__lte=as_of)
        .filter(_among("account_id", ids))
        .values("account_id")
        .annotate(seats=Sum("quantity"))
        .values_list("account_id", "seats")
    )

    usage = _usage(ids, as_of, [m for m in measures if m.kind in USAGE_KINDS]) if kinds & USAGE_KINDS else {}
    acts = _activities(ids, as_of, [m for m in measures if m.kind in ACTIVITY_KINDS]) if kinds & ACTIVITY_KINDS else {}
    answers = _surveys(ids, as_of, [m for m in measures if m.kind in SURVEY_KINDS]) if kinds & SURVEY_KINDS else {}
    overdue_steps = _overdue_steps(ids, as_of) if K.PLAN_OVERDUE in kinds else {}
    overdue_invoices = _overdue_invoices(ids, as_of) if K.INVOICES_OVERDUE in kinds else {}
    completeness = (
        dict(Account.objects.filter(_among("pk", ids)).values_list("pk", "completeness"))
        if K.FILE_COMPLETENESS in kinds
        else {}
    )

    usage_all = _all_types(usage) if any(m.kind in USAGE_KINDS and not m.event_type for m in measures) else {}
    sources = {
        "acts": acts, "answers": answers, "steps": overdue_steps, "invoices": overdue_invoices,
        "completeness": completeness,
    }  # fmt: skip
    getters = [(m.key, _raw_getter(m, sources)) for m in measures]
    no_usage: dict = {}
    for pk in ids:
        n_seats = seats.get(pk) or 0
        u, t = usage.get(pk, no_usage), usage_all.get(pk, no_usage)
        out[pk] = {key: get(pk, n_seats, u, t) for key, get in getters}
    return out


def _raw_getter(m: Measure, sources: dict):
    """A function (account id, seats, its usage by event type, its usage of all types) ->
    the raw value of measure `m`. Decided once per measure, so that the loop over
    thousands of accounts does no more than the arithmetic."""
    w, et = m.window_days, m.event_type
    cur, prev, peak = ("cur", w), ("prev", w), ("peak", w)
    none: dict = {}

    def total(u, t, which):  # events of the measure's type (or of all types) in a window
        return u.get(et, none).get(which, 0) if et else t.get(which, 0)

    if m.kind == K.USAGE:
        if m.per == ScorecardMeasure.Per.SEAT:
            return lambda pk, seats, u, t: round(total(u, t, cur) / seats, 4) if seats else None
        if m.per == ScorecardMeasure.Per.ACTIVE_USER:

            def per_user(pk, seats, u, t):
                users = t.get(peak, 0)
                return round(total(u, t, cur) / users, 4) if users else 0.0

            return per_user
        return lambda pk, seats, u, t: float(total(u, t, cur))
    if m.kind == K.USAGE_TREND:

        def trend(pk, seats, u, t):
            now, before = total(u, t, cur), total(u, t, prev)
            if before == 0:
                return None if now == 0 else TREND_CAP
            return round(min(TREND_CAP, (now - before) / before * 100), 2)

        return trend
    if m.kind == K.ACTIVE_USERS:

        def active(pk, seats, u, t):
            users = (u.get(et, none).get(peak, 0) or 0) if et else t.get(peak, 0)
            return round(users / seats, 4) if seats else None

        return active
    if m.kind == K.BREADTH:
        return lambda pk, seats, u, t: float(sum(1 for v in u.values() if v.get(cur, 0) > 0))
    if m.kind in ACTIVITY_KINDS:
        acts, key = sources["acts"], (m.kind, w)
        return lambda pk, seats, u, t: float(acts.get(pk, none).get(key, 0))
    if m.kind in SURVEY_KINDS:
        answers, kind = sources["answers"], m.kind
        return lambda pk, seats, u, t: answers.get((pk, kind, w))
    counts = {
        K.PLAN_OVERDUE: "steps", K.INVOICES_OVERDUE: "invoices", K.FILE_COMPLETENESS: "completeness",
    }  # fmt: skip
    if m.kind in counts:
        values = sources[counts[m.kind]]
        return lambda pk, seats, u, t: float(values.get(pk, 0))
    raise ValueError(f"unknown measure kind {m.kind}")


def _all_types(usage: dict[int, dict[str, dict]]) -> dict[int, dict]:
    """Per account, the usage of every event type together: events summed, and the peak
    of daily distinct users taken from the busiest type (the most distinct users seen on
    one day for one event type)."""
    out = {}
    for pk, types in usage.items():
        t: dict = {}
        for values in types.values():
            for name, v in values.items():
                if name[0] == "peak":
                    if v > t.get(name, 0):
                        t[name] = v
                else:
                    t[name] = t.get(name, 0) + v
        out[pk] = t
    return out


def _usage(ids, as_of, measures) -> dict[int, dict[str, dict]]:
    """One aggregate over the rollup: per account and event type, events in each window,
    in the window before it (trends) and the peak of daily distinct users."""
    windows = {m.window_days for m in measures}
    trend_windows = {m.window_days for m in measures if m.kind == K.USAGE_TREND}
    span = max([w * 2 for w in trend_windows] + list(windows))
    # Aggregates with FILTER (CASE on databases without it): an aggregate over no rows
    # is NULL, read as 0 below, as the CASE ... ELSE 0 it replaces gave.
    aggs, names = {}, []
    for w in windows:
        start = as_of - dt.timedelta(days=w)
        aggs[f"cur_{w}"] = Sum("events", filter=Q(day__gte=start))
        aggs[f"peak_{w}"] = Max("distinct_users", filter=Q(day__gte=start))
        names += [("cur", w), ("peak", w)]
    for w in trend_windows:
        lo, hi = as_of - dt.timedelta(days=2 * w), as_of - dt.timedelta(days=w)
        aggs[f"prev_{w}"] = Sum("events", filter=Q(day__gte=lo, day__lt=hi))
        names.append(("prev", w))
    rows = (
        UsageDaily.objects.filter(_among("account_id", ids), day__gte=as_of - dt.timedelta(days=span), day__lt=as_of)
        .values("account_id", "event_type")
        .annotate(**aggs)
        .values_list("account_id", "event_type", *aggs)
        .order_by()
    )
    out: dict[int, dict[str, dict]] = defaultdict(dict)
    for account_id, event_type, *values in rows:
        out[account_id][event_type] = {name: v or 0 for name, v in zip(names, values, strict=True)}
    return out


def _activities(ids, as_of, measures) -> dict[int, dict]:
    end = _midnight(as_of)
    pairs = {(m.kind, m.window_days) for m in measures}
    aggs = {}
    for kind, w in pairs:
        since = Q(occurred_at__gte=_midnight(as_of - dt.timedelta(days=w)))
        if kind == K.TOUCHES:
            cond = since & Q(kind__in=TOUCH_KINDS)
        elif kind == K.EXEC_TOUCH:
            cond = since & (
                Q(kind=Activity.Kind.EXECUTIVE_VISIT) | Q(kind__in=TOUCH_KINDS, stakeholders__role__in=EXEC_ROLES)
            )
        else:
            cond = since & Q(kind=Activity.Kind.COMPLAINT)
        aggs[f"{kind}__{w}"] = Count("id", filter=cond, distinct=True)
    span = max(w for _k, w in pairs)
    rows = (
        Activity.objects.filter(
            _among("account_id", ids), occurred_at__gte=_midnight(as_of - dt.timedelta(days=span)), occurred_at__lt=end
        )
        .values("account_id")
        .annotate(**aggs)
        .order_by()
    )
    return {r["account_id"]: {(n.split("__")[0], int(n.split("__")[1])): r[n] for n in aggs} for r in rows}


def _surveys(ids, as_of, measures) -> dict[tuple, float]:
    """The latest answer of each kind within each window (one query, newest first)."""
    span = max(m.window_days for m in measures)
    windows = {(m.kind, m.window_days) for m in measures}
    rows = (
        SurveyResponse.objects.filter(
            _among("account_id", ids),
            kind__in=[k for k, _w in windows],
            responded_on__lt=as_of,
            responded_on__gte=as_of - dt.timedelta(days=span),
        )
        .order_by("account_id", "kind", "-responded_on", "-pk")
        .values_list("account_id", "kind", "responded_on", "score")
    )
    out: dict[tuple, float] = {}
    for pk, kind, day, score in rows:
        for k, w in windows:
            if k == kind and (pk, k, w) not in out and day >= as_of - dt.timedelta(days=w):
                out[(pk, k, w)] = float(score)
    return out


def _overdue_steps(ids, as_of) -> dict[int, int]:
    """Steps of running plans due before `as_of` and not done before it (skipped steps
    count as closed)."""
    return dict(
        PlanStep.objects.filter(
            _among("stage__plan__account_id", ids),
            stage__plan__status=SuccessPlan.Status.ACTIVE,
            due_date__lt=as_of,
        )
        .exclude(status=PlanStep.Status.SKIPPED)
        .filter(Q(completed_on__isnull=True) | Q(completed_on__gte=as_of))
        .values("stage__plan__account_id")
        .annotate(n=Count("id"))
        .values_list("stage__plan__account_id", "n")
    )


def _overdue_invoices(ids, as_of) -> dict[int, int]:
    return dict(
        Invoice.objects.filter(_among("account_id", ids), due_date__lt=as_of)
        .filter(Q(paid_on__isnull=True) | Q(paid_on__gte=as_of))
        .values("account_id")
        .annotate(n=Count("id"))
        .values_list("account_id", "n")
    )


# ------------------------------------------------------------------ scores


def _points(points: Iterable) -> tuple:
    return tuple(sorted((float(a), float(b)) for a, b in points))


def threshold_score(raw: float, points: Iterable) -> float:
    """Map a raw value to 0-100 through (raw, score) points, interpolating between them and
    holding the end scores beyond them. No points: the raw value clamped to 0-100."""
    return _interpolate(raw, _points(points))


def _interpolate(raw: float, pts: tuple) -> float:
    """threshold_score on points already sorted (Measure.points)."""
    if not pts:
        return max(0.0, min(100.0, raw))
    if raw <= pts[0][0]:
        return pts[0][1]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False):
        if raw <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (raw - x0) / (x1 - x0)
    return pts[-1][1]


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1 / (1 + math.exp(-x))
    e = math.exp(x)
    return e / (1 + e)


def score(card: Card, raws: dict) -> tuple[int, list[dict]]:
    """The account's score and its explained components."""
    if card.kind == ScorecardVersion.Kind.FITTED:
        return _score_fitted(card, raws)
    counted = sum(m.weight for m in card.measures if raws.get(m.key) is not None)
    total, components = 0.0, []
    for m in card.measures:
        raw = raws.get(m.key)
        if raw is None:
            components.append(
                {"measure": m.key, "label": m.label, "raw_value": None, "score": None, "weight": 0.0, **m.described}
            )
            continue
        s = _interpolate(raw, m.points)
        w = m.weight / counted if counted else 0.0
        total += w * s
        components.append(
            {"measure": m.key, "label": m.label, "raw_value": raw, "score": round(s, 1), "weight": round(w, 4),
             **m.described}
        )  # fmt: skip
    return max(0, min(100, round(total))), components


def _score_fitted(card: Card, raws: dict) -> tuple[int, list[dict]]:
    """100 x P(stay): the logistic model's own ranking. A missing raw value counts as the
    history's mean (no contribution). Each component says how many points its measure
    adds to or takes from the score of an account at the mean."""
    base = card.intercept or 0.0
    logit, parts = base, []
    for m in card.measures:
        raw = raws.get(m.key)
        z = 0.0 if raw is None or not m.scale else (raw - (m.center or 0.0)) / m.scale
        contribution = (m.coefficient or 0.0) * z
        logit += contribution
        parts.append((m, raw, contribution))
    components = [
        {
            "measure": m.key,
            "label": m.label,
            "raw_value": raw,
            "score": round(100 * (_sigmoid(base + c) - _sigmoid(base)), 1),
            "weight": m.coefficient,
            "contribution": round(c, 4),
            **m.described,
        }
        for m, raw, c in parts
    ]
    return max(0, min(100, round(100 * _sigmoid(logit)))), components


def measure_label(component: dict) -> str:
    """A component's readable name in the current language: the manager's label when one
    was given, else one built from what it measures."""
    return capfirst(_measure_label(component))


def _measure_label(component: dict) -> str:
    if component.get("label"):
        return component["label"]
    kind = component.get("kind")
    w = component.get("window_days") or 30
    et = component.get("event_type") or ""
    per = component.get("per") or ScorecardMeasure.Per.TOTAL
    if kind == K.USAGE:
        what = et or _("all events")
        if per == ScorecardMeasure.Per.SEAT:
            return _("%(what)s per licensed seat, last %(days)s days") % {"what": what, "days": w}
        if per == ScorecardMeasure.Per.ACTIVE_USER:
            return _("%(what)s per active user, last %(days)s days") % {"what": what, "days": w}
        return _("%(what)s, last %(days)s days") % {"what": what, "days": w}
    if kind == K.USAGE_TREND:
        return _("Change in %(what)s, last %(days)s days vs the %(days)s before (%%)") % {
            "what": et or _("all events"),
            "days": w,
        }
    if kind == K.ACTIVE_USERS:
        return _("Active users per licensed seat, last %(days)s days") % {"days": w}
    if kind == K.BREADTH:
        return _("Event types used, last %(days)s days") % {"days": w}
    if kind == K.TOUCHES:
        return _("Touches, last %(days)s days") % {"days": w}
    if kind == K.EXEC_TOUCH:
        return _("Executive touches, last %(days)s days") % {"days": w}
    if kind == K.COMPLAINTS:
        return _("Complaints, last %(days)s days") % {"days": w}
    if kind == K.NPS:
        return _("Latest NPS answer (0-10), last %(days)s days") % {"days": w}
    if kind == K.CSAT:
        return _("Latest CSAT answer (1-5), last %(days)s days") % {"days": w}
    if kind in K.values:
        return str(K(kind).label)
    return str(component.get("measure", "")).replace("_", " ")
