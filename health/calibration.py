"""Calibration of the health score on history (issue 7, part 7): learn the scorecard's
weights from the churn that actually followed past dates, check them on later dates, and
keep the result as a fitted scorecard version that a manager reviews and activates.

Observations: on each of a series of past dates, every account active that day, with the
candidate measures' raw values as they stood at 00:00 of it (health.scoring, one
set-based call per date and batch) and whether it churned within the horizon (it is not
in the active set `horizon_days` later). Dates up to `train_end` train a logistic
regression of staying on the standardised measures; the later dates whose horizon has
passed are the holdout, on which the fit is compared with the active scorecard and with
raw usage counts. The fitted version scores 100 x P(stay) with the same centers, scales,
coefficients and intercept, so it ranks accounts exactly as the regression does.
"""

import datetime as dt
import logging
import math
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerError

from renewals.models import Subscription

from .models import EventType, ScorecardMeasure, ScorecardVersion
from .scorecards import active_version, version_activate, version_create
from .scoring import Card, Measure, active_account_ids, measure_values, score

log = logging.getLogger(__name__)

K = ScorecardMeasure.Kind
P = ScorecardMeasure.Per

MIN_HORIZON, MAX_HORIZON = 7, 730
MIN_STEP = 7  # days between observation dates, unless asked otherwise
TARGET_DATES = 20  # the default step gives about this many dates (at most 21)
MAX_DATES = 200
MIN_TRAINING = 30  # observations
EARLIEST = dt.date(2000, 1, 1)
USAGE_WINDOW = 30
C = 1.0  # inverse L2 strength on standardised measures: mild shrinkage, stable with collinear usage counts
MAX_ITER = 5000
BATCH = 2000  # accounts per measure_values call
CHECKED = 1000  # observations on which the fitted version's score is checked against the model
TOTAL_KEY = "__all_events_30d"  # the raw usage baseline; never a candidate
SYNC_LIMIT_DEFAULT = 50_000


@dataclass(frozen=True)
class Plan:
    """The observation dates of a calibration, validated."""

    train_start: dt.date
    train_end: dt.date
    horizon_days: int
    step_days: int
    dates: tuple[dt.date, ...]

    @property
    def training_dates(self) -> list[dt.date]:
        return [d for d in self.dates if d <= self.train_end]

    @property
    def holdout_dates(self) -> list[dt.date]:
        return [d for d in self.dates if d > self.train_end]

    @property
    def last(self) -> dt.date:
        return self.dates[-1]


def calibration_plan(
    *,
    train_start: dt.date,
    train_end: dt.date,
    horizon_days: int,
    step_days: int | None = None,
    holdout_end: dt.date | None = None,
    today: dt.date | None = None,
) -> Plan:
    """The dates to observe: from `train_start` every `step_days` up to the last day whose
    horizon has passed (`today - horizon_days`, or `holdout_end` when earlier). Raises
    ValidationError with field messages for input that cannot make a calibration."""
    today = today or timezone.localdate()
    errors: dict[str, str] = {}
    if (
        not isinstance(horizon_days, int)
        or isinstance(horizon_days, bool)
        or not (MIN_HORIZON <= horizon_days <= MAX_HORIZON)
    ):
        errors["horizon_days"] = _("The horizon must be between %(min)s and %(max)s days.") % {
            "min": MIN_HORIZON,
            "max": MAX_HORIZON,
        }
    if train_start < EARLIEST:
        errors["train_start"] = _("The date is too far in the past.")
    elif train_start > today:
        errors["train_start"] = _("The date cannot be in the future.")
    if train_end < train_start:
        errors["train_end"] = _("The end of training must be on or after its start.")
    if step_days is not None and not (1 <= step_days <= 365):
        errors["step_days"] = _("The step must be between 1 and 365 days.")
    if errors:
        raise ValidationError(errors)

    last = today - dt.timedelta(days=horizon_days)
    if holdout_end is not None:
        if holdout_end <= train_end:
            errors["holdout_end"] = _("The holdout must end after the end of training.")
        elif holdout_end > last:
            errors["holdout_end"] = _(
                "What happened within %(days)s days after this date is not known yet; the latest possible is %(last)s."
            ) % {"days": horizon_days, "last": last.isoformat()}
        else:
            last = holdout_end
    if train_start > last and "holdout_end" not in errors:
        errors["train_start"] = _(
            "What happened within %(days)s days after this date is not known yet: start on or before %(last)s."
        ) % {"days": horizon_days, "last": last.isoformat()}
    if errors:
        raise ValidationError(errors)

    span = (last - train_start).days
    step = step_days
    if step is None:
        step = max(MIN_STEP, math.ceil(span / TARGET_DATES))
        holdout_span = (last - train_end).days
        if holdout_span >= MIN_STEP:
            step = min(step, holdout_span)  # a window at least one step long always holds a date
    dates = tuple(train_start + dt.timedelta(days=k * step) for k in range(span // step + 1))
    if len(dates) > MAX_DATES:
        raise ValidationError(
            {"step_days": _("That makes %(n)s dates; use a longer step (at most %(max)s dates).")
             % {"n": len(dates), "max": MAX_DATES}}
        )  # fmt: skip
    plan = Plan(train_start, train_end, horizon_days, step, dates)
    if not plan.holdout_dates:
        raise ValidationError(
            {
                "train_end": _(
                    "No observation date falls after the end of training with its %(days)s-day horizon passed "
                    "(the latest is %(last)s): end training earlier or shorten the horizon."
                )
                % {"days": horizon_days, "last": last.isoformat()}
            }
        )
    return plan


def calibration_estimate(plan: Plan) -> int:
    """An upper bound of the observations: accounts with a subscription at some point of
    the window, times the dates (one query)."""
    accounts = (
        Subscription.objects.filter(Q(end_date__isnull=True) | Q(end_date__gt=plan.train_start))
        .filter(start_date__lte=plan.last)
        .values("account_id")
        .distinct()
        .count()
    )
    return accounts * len(plan.dates)


def sync_limit() -> int:
    """Above this many observations (estimated) the API runs a calibration as a task."""
    return int(getattr(settings, "CALIBRATE_SYNC_LIMIT", SYNC_LIMIT_DEFAULT))


# ------------------------------------------------------------------ candidates


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:31].rstrip("_")
    return slug or f"type_{zlib.crc32(name.encode()):08x}"


def _same(a: Measure, b: Measure) -> bool:
    return (a.kind, a.event_type, a.per, a.window_days) == (b.kind, b.event_type, b.per, b.window_days)


def candidate_measures(card: Card, event_types: list[str]) -> list[Measure]:
    """The scorecard's measures and, for every event type, its usage over 30 days in total
    and per active user. Keys fit a SlugField of 50: `usage_<slug>_30d`,
    `usage_<slug>_per_user_30d`, with a checksum when two names make the same slug."""
    out = list(card.measures)
    by_key = {m.key: m for m in out}
    for name in event_types:
        slug = _slug(name)
        for suffix, per in (("30d", P.TOTAL), ("per_user_30d", P.ACTIVE_USER)):
            m = Measure(key=f"usage_{slug}_{suffix}", kind=K.USAGE, event_type=name, per=per, window_days=USAGE_WINDOW)
            if m.key in by_key:
                if _same(by_key[m.key], m):
                    continue
                key = f"usage_{slug[:22]}_{zlib.crc32(name.encode()):08x}_{suffix}"
                m = Measure(key=key, kind=K.USAGE, event_type=name, per=per, window_days=USAGE_WINDOW)
                if m.key in by_key:
                    continue
            by_key[m.key] = m
            out.append(m)
    return out


# ------------------------------------------------------------------ observations


@dataclass
class Observations:
    keys: list[str]  # columns of X
    X: np.ndarray  # raw values, NaN where None
    churned: np.ndarray  # 1 when the account left the active set within the horizon
    training: np.ndarray  # bool: observed on a training date
    total: np.ndarray  # events of every type in the last 30 days (the raw usage baseline)


def observations(plan: Plan, measures: list[Measure], progress: Callable[[int], None] | None = None) -> Observations:
    """Every account active on each date, with the measures as they stood on it and its
    churn within the horizon. Per date: two active-set queries and one measure_values
    call per batch of accounts, never a query per account."""
    measures = [*measures, Measure(key=TOTAL_KEY, kind=K.USAGE, window_days=USAGE_WINDOW)]
    keys = [m.key for m in measures]
    rows, churned, training = [], [], []
    horizon = dt.timedelta(days=plan.horizon_days)
    for i, day in enumerate(plan.dates):
        ids = active_account_ids(day)
        later = set(active_account_ids(day + horizon))
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            values = measure_values(batch, day, measures)
            for pk in batch:
                raw = values[pk]
                rows.append([math.nan if raw.get(k) is None else float(raw[k]) for k in keys])
                churned.append(pk not in later)
                training.append(day <= plan.train_end)
        if progress:
            progress(i + 1)
    X = np.array(rows, dtype=float).reshape(len(rows), len(keys))
    return Observations(
        keys=keys[:-1],
        X=X[:, :-1],
        churned=np.array(churned, dtype=bool),
        training=np.array(training, dtype=bool),
        total=np.nan_to_num(X[:, -1]),
    )


# ------------------------------------------------------------------ figures


def auc(churned: np.ndarray, risk: np.ndarray) -> float:
    """ROC AUC of a risk against churn: the chance that a churner ranks riskier than a
    stayer (ties count half)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(churned.astype(int), risk))


def top_decile_lift(churned: np.ndarray, risk: np.ndarray) -> float:
    """Churn rate among the 10% riskiest observations over the overall churn rate. Ties at
    the cut count in proportion (the expectation over any order among equals), so a
    risk that cannot tell accounts apart scores 1."""
    y = churned.astype(float)
    overall = y.mean() if len(y) else 0.0
    if overall == 0:
        return 0.0
    k = max(1, math.ceil(len(y) / 10))
    order = np.argsort(-risk, kind="stable")
    values, ys = risk[order], y[order]
    taken, caught, i = 0, 0.0, 0
    while taken < k:
        j = i + 1
        while j < len(values) and values[j] == values[i]:
            j += 1
        need = min(j - i, k - taken)
        caught += ys[i:j].sum() * need / (j - i)
        taken += need
        i = j
    return float(caught / k / overall)


def _figures(churned: np.ndarray, risk: np.ndarray) -> dict:
    return {"auc": round(auc(churned, risk), 4), "top_decile_lift": round(top_decile_lift(churned, risk), 3)}


# ------------------------------------------------------------------ the fit


def _fit(Z: np.ndarray, stay: np.ndarray):
    from sklearn.linear_model import LogisticRegression

    # l1_ratio=0 is the L2 penalty (sklearn 1.8 deprecated `penalty`).
    model = LogisticRegression(C=C, l1_ratio=0.0, solver="lbfgs", max_iter=MAX_ITER)
    model.fit(Z, stay.astype(int))
    return model


def _raws(keys: list[str], row: np.ndarray) -> dict:
    return {k: (None if math.isnan(v) else float(v)) for k, v in zip(keys, row, strict=True)}


def _measure_dict(m: Measure, *, coefficient: float | None, center: float | None, scale: float | None) -> dict:
    return {
        "key": m.key,
        "label": m.label,
        "kind": m.kind,
        "event_type": m.event_type,
        "per": m.per,
        "window_days": m.window_days,
        "thresholds": [list(p) for p in m.thresholds],
        "weight": abs(coefficient or 0.0),
        "coefficient": coefficient,
        "center": center,
        "scale": scale,
    }


def calibrate(
    *,
    train_start: dt.date,
    train_end: dt.date,
    horizon_days: int,
    activate: bool = False,
    by=None,
    step_days: int | None = None,
    holdout_end: dt.date | None = None,
    run_id: str = "",
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Fit a scorecard on history and keep it as a new FITTED version (activated when
    `activate`). Returns the report: holdout `auc` and `top_decile_lift` beside the same
    figures for the active scorecard and for raw usage counts, the `weights`, counts, dates
    and the new `scorecard_version` id. Raises ValidationError with field messages."""
    plan = calibration_plan(
        train_start=train_start, train_end=train_end, horizon_days=horizon_days, step_days=step_days,
        holdout_end=holdout_end,
    )  # fmt: skip
    base = active_version()
    base_card = Card.of(base)
    candidates = candidate_measures(base_card, list(EventType.objects.values_list("name", flat=True)))
    obs = observations(plan, candidates, progress=progress)
    tr, ho = obs.training, ~obs.training
    y_tr, y_ho = obs.churned[tr], obs.churned[ho]

    if tr.sum() < MIN_TRAINING:
        raise ValidationError(
            {"train_start": _("Only %(n)s observations on the training dates; at least %(min)s are needed: "
                              "start earlier or load more history.") % {"n": int(tr.sum()), "min": MIN_TRAINING}}
        )  # fmt: skip
    if y_tr.all() or not y_tr.any():
        raise ValidationError(
            {"train_start": _("On the training dates every account churned within the horizon.") if y_tr.all()
             else _("No account churned within the horizon after the training dates, so there is nothing to learn "
                    "from: start earlier or lengthen the horizon.")}
        )  # fmt: skip
    if y_ho.all() or not y_ho.any():
        raise ValidationError(
            {"train_end": _("On the holdout dates every account churned within the horizon.") if y_ho.all()
             else _("No account churned within the horizon after the holdout dates, so the fit cannot be checked: "
                    "end training earlier or lengthen the horizon.")}
        )  # fmt: skip

    # Standardise on training: center = mean, scale = spread of the known values; a
    # missing value is the mean (z = 0), exactly as the fitted scorecard treats it.
    X_tr = obs.X[tr]
    known = ~np.isnan(X_tr)
    kept, dropped, centers, scales = [], [], [], []
    for j, key in enumerate(obs.keys):
        col = X_tr[known[:, j], j]
        spread = float(col.std()) if len(col) > 1 else 0.0
        if len(col) < 2 or not math.isfinite(spread) or spread <= 1e-12:
            dropped.append(key)
            continue
        kept.append(j)
        centers.append(float(col.mean()))
        scales.append(spread)
    if not kept:
        raise ValidationError(
            {"train_start": _("No measure varies on the training dates, so there is nothing to fit.")}
        )
    center, scale = np.array(centers), np.array(scales)
    Z = (obs.X[:, kept] - center) / scale
    Z[np.isnan(Z)] = 0.0
    model = _fit(Z[tr], ~y_tr)
    stay_column = list(model.classes_).index(1)
    p_stay = model.predict_proba(Z)[:, stay_column]
    coefs = [float(c) for c in model.coef_[0]]
    intercept = float(model.intercept_[0])

    # The holdout: the fit, the active scorecard and raw usage counts ranking the same accounts.
    keys_ho = obs.X[ho]
    base_scores = np.array([score(base_card, _raws(obs.keys, row))[0] for row in keys_ho], dtype=float)
    fitted = _figures(y_ho, 1 - p_stay[ho])
    baseline = {
        "scorecard": {**_figures(y_ho, 100 - base_scores), "version": base.pk, "name": str(base)},
        "usage_counts": _figures(y_ho, -obs.total[ho]),
    }

    by_candidate = {m.key: m for m in candidates}
    fitted_measures = [
        _measure_dict(by_candidate[obs.keys[j]], coefficient=c, center=m, scale=s)
        for j, c, m, s in zip(kept, coefs, centers, scales, strict=True)
    ]
    activation = base.activation_measure if base.activation_measure in by_candidate else ""
    if activation and activation not in {m["key"] for m in fitted_measures}:
        # Kept for the activation rule; it did not vary on history, so it adds nothing to the score.
        fitted_measures.append(_measure_dict(by_candidate[activation], coefficient=0.0, center=None, scale=None))

    check = _check_scores(fitted_measures, intercept, obs, p_stay)
    largest = max((abs(c) for c in coefs), default=0.0) or 1.0
    report = {
        "auc": fitted["auc"],
        "top_decile_lift": fitted["top_decile_lift"],
        "baseline": baseline,
        "weights": {m["key"]: m["coefficient"] for m in fitted_measures},
        "intercept": intercept,
        "measures": sorted(
            (
                {
                    **{f: m[f] for f in ("key", "label", "kind", "event_type", "per", "window_days")},
                    "coefficient": m["coefficient"],
                    "relative": round(100 * abs(m["coefficient"]) / largest),
                    "center": m["center"],
                    "scale": m["scale"],
                }
                for m in fitted_measures
            ),
            key=lambda m: -abs(m["coefficient"]),
        ),
        "dropped": dropped,
        "observations": {
            "training": int(tr.sum()),
            "training_churned": int(y_tr.sum()),
            "holdout": int(ho.sum()),
            "holdout_churned": int(y_ho.sum()),
        },
        "dates": {
            "training": [d.isoformat() for d in plan.training_dates],
            "holdout": [d.isoformat() for d in plan.holdout_dates],
        },
        "train_start": plan.train_start.isoformat(),
        "train_end": plan.train_end.isoformat(),
        "holdout_end": plan.last.isoformat(),
        "horizon_days": plan.horizon_days,
        "step_days": plan.step_days,
        "model": {"method": "logistic_regression", "penalty": "l2", "C": C, "iterations": int(model.n_iter_[0])},
        "score_check": check,
        "based_on": base.pk,
        "computed_at": timezone.now().isoformat(),
        "run_id": run_id,
    }

    name = _("Fitted on %(start)s–%(end)s, horizon %(days)s days") % {
        "start": plan.train_start.isoformat(),
        "end": plan.train_end.isoformat(),
        "days": plan.horizon_days,
    }
    note = _(
        "Logistic regression on %(n)s observations; on the holdout AUC %(auc)s and top-decile lift %(lift)s, "
        "against %(base_auc)s and %(base_lift)s for %(base)s."
    ) % {
        "n": report["observations"]["training"],
        "auc": f"{report['auc']:.3f}",
        "lift": f"{report['top_decile_lift']:.2f}",
        "base_auc": f"{baseline['scorecard']['auc']:.3f}",
        "base_lift": f"{baseline['scorecard']['top_decile_lift']:.2f}",
        "base": str(base),
    }
    with transaction.atomic():
        version = version_create(
            name=name[:150],
            note=note,
            kind=ScorecardVersion.Kind.FITTED,
            measures=fitted_measures,
            green_from=base.green_from,
            yellow_from=base.yellow_from,
            activation_measure=activation,
            activation_threshold=base.activation_threshold if activation else 0,
            intercept=intercept,
            fit=report,
            based_on=base,
            by=by,
        )
        if activate:
            version_activate(version=version, by=by)
    log.info(
        "calibrate %s..%s h=%s: %d+%d observations, auc %.3f (scorecard %.3f, usage %.3f) -> v%s%s",
        plan.train_start, plan.train_end, plan.horizon_days, report["observations"]["training"],
        report["observations"]["holdout"], report["auc"], baseline["scorecard"]["auc"],
        baseline["usage_counts"]["auc"], version.number, " (activated)" if activate else "",
    )  # fmt: skip
    return {**report, "scorecard_version": version.pk, "activated": bool(activate)}


def _check_scores(fitted_measures: list[dict], intercept: float, obs: Observations, p_stay: np.ndarray) -> dict:
    """Score a sample of observations with the fitted card through health.scoring and
    compare with round(100 x P(stay)) of the model: they must agree."""
    card = Card(
        pk=None,
        kind=ScorecardVersion.Kind.FITTED,
        measures=[
            Measure(
                key=m["key"],
                kind=m["kind"],
                event_type=m["event_type"],
                per=m["per"],
                window_days=m["window_days"],
                coefficient=m["coefficient"],
                center=m["center"],
                scale=m["scale"],
            )  # fmt: skip
            for m in fitted_measures
        ],
        intercept=intercept,
    )
    n = len(p_stay)
    rows = sorted({int(i) for i in np.linspace(0, n - 1, num=min(n, CHECKED))}) if n else []
    agree = sum(1 for i in rows if score(card, _raws(obs.keys, obs.X[i]))[0] == round(100 * float(p_stay[i])))
    if agree != len(rows):
        log.warning("calibrate: the fitted card disagrees with the model on %d of %d observations", len(rows) - agree,
                    len(rows))  # fmt: skip
    return {"observations": len(rows), "agree": agree}


def validation_errors(error: ValidationError) -> dict[str, list[str]]:
    """A ValidationError as {field: [messages]} (non_field_errors for the rest), JSON-safe."""
    if hasattr(error, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): [str(m) for m in messages]
            for field, messages in error.message_dict.items()
        }
    return {"non_field_errors": [str(m) for m in error.messages]}


# ------------------------------------------------------------------ the task


@shared_task(bind=True, acks_late=True, autoretry_for=(DatabaseError, BrokerError), retry_backoff=True, max_retries=5)
def health_calibrate_task(
    self,
    train_start: str,
    train_end: str,
    horizon_days: int,
    activate: bool = False,
    by_id: int | None = None,
    step_days: int | None = None,
) -> dict:
    """Calibrate in the background (large histories). The report, or {"errors": {field:
    [messages]}} when the history cannot make a calibration. A redelivered run finds the
    version it already made (by its task id) instead of making a second one."""
    run_id = self.request.id or ""
    if run_id:
        done = ScorecardVersion.objects.filter(fit__run_id=run_id).first()
        if done is not None:
            return {**done.fit, "scorecard_version": done.pk, "activated": done.is_active}

    def progress(dates_done: int) -> None:
        if self.request.id and not self.request.called_directly:
            self.update_state(state="STARTED", meta={"dates_done": dates_done})

    by = get_user_model().objects.filter(pk=by_id).first() if by_id else None
    try:
        return calibrate(
            train_start=dt.date.fromisoformat(train_start),
            train_end=dt.date.fromisoformat(train_end),
            horizon_days=horizon_days,
            activate=activate,
            by=by,
            step_days=step_days,
            run_id=run_id,
            progress=progress,
        )
    except ValidationError as error:
        return {"errors": validation_errors(error)}
