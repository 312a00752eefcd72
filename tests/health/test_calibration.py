"""Calibration of the health score on history (issue 7, part 7): observations from past
dates, a logistic fit on the earlier ones, figures on the later ones, and a fitted
scorecard version that scores 100 x the model's probability of staying."""

import datetime as dt
import math
import random

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Account
from health import calibration
from health.calibration import (
    calibrate,
    calibration_plan,
    candidate_measures,
    top_decile_lift,
)
from health.models import EventType, ScorecardMeasure, ScorecardVersion, UsageDaily
from health.scorecards import active_version
from health.scoring import Card, active_account_ids, measure_values, score
from renewals.models import Subscription
from tests.factories import AccountFactory, ProductFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db

HORIZON = 60
WARNING_DAYS = 90  # churners change behaviour this long before their subscription ends


def build_history(accounts: int = 200, *, churners: int | None = None, seed: int = 7, weeks: int = 56) -> dict:
    """About a year of weekly usage rows for `accounts` accounts. Half of them (or
    `churners`) leave on a date spread over the last eleven months; in the 90 days before,
    most of them use "export" a lot and "login" little, and the others the opposite (a
    fifth of the churners give no sign, and stayers have export-heavy weeks now and then).
    Each account has its own overall level, so the total of events says little about churn."""
    rng = random.Random(seed)
    today = timezone.localdate()
    csm = UserFactory(role="csm")
    product = ProductFactory()
    churners = accounts // 2 if churners is None else churners
    batch = Account.objects.bulk_create(AccountFactory.build_batch(accounts, csm=csm, team=csm.team))
    subscriptions, rows, ends = [], [], {}
    first_week = today - dt.timedelta(days=7 * weeks)
    for i, account in enumerate(batch):
        end = today - dt.timedelta(days=rng.randint(5, 330)) if i < churners else None
        quiet = end is not None and rng.random() < 0.2
        subscriptions.append(
            SubscriptionFactory.build(
                account=account, product=product, start_date=today - dt.timedelta(days=600), end_date=end
            )
        )
        ends[account.pk] = end
        level = rng.uniform(0.6, 1.6)
        for w in range(weeks):
            day = first_week + dt.timedelta(days=7 * w)
            if end is not None and day >= end:
                break
            warning = not quiet and end is not None and day >= end - dt.timedelta(days=WARNING_DAYS)
            login, export = (10, 28) if warning or rng.random() < 0.08 else (28, 10)
            for event_type, mean in (("login", login), ("export", export)):
                n = max(0, round(level * mean * rng.uniform(0.5, 1.5)))
                if n:
                    rows.append(
                        UsageDaily(account=account, day=day, event_type=event_type, events=n, value_sum=n,
                                   distinct_users=rng.randint(2, 8))
                    )  # fmt: skip
    Subscription.objects.bulk_create(subscriptions)
    UsageDaily.objects.bulk_create(rows, batch_size=5000)
    for name in ("login", "export"):
        EventType.objects.get_or_create(name=name)
    return {"today": today, "ends": ends, "csm": csm}


def window(today: dt.date) -> dict:
    return {
        "train_start": today - dt.timedelta(days=330),
        "train_end": today - dt.timedelta(days=150),
        "horizon_days": HORIZON,
    }


@pytest.fixture
def history():
    return build_history()


@pytest.fixture
def spy(monkeypatch):
    """The observations and the sklearn model of the last calibration."""
    seen = {}
    observations, fit = calibration.observations, calibration._fit

    def observations_spy(*args, **kwargs):
        seen["obs"] = observations(*args, **kwargs)
        return seen["obs"]

    def fit_spy(*args, **kwargs):
        seen["model"] = fit(*args, **kwargs)
        return seen["model"]

    monkeypatch.setattr(calibration, "observations", observations_spy)
    monkeypatch.setattr(calibration, "_fit", fit_spy)
    return seen


def test_the_fit_ranks_churn_on_the_holdout_better_than_raw_usage_counts(history, spy):
    base = active_version()
    report = calibrate(**window(history["today"]))

    assert report["auc"] > 0.75
    assert report["auc"] > report["baseline"]["usage_counts"]["auc"] + 0.1
    assert report["top_decile_lift"] > 1.5
    assert report["top_decile_lift"] > report["baseline"]["usage_counts"]["top_decile_lift"]
    assert set(report["baseline"]["scorecard"]) >= {"auc", "top_decile_lift"}
    # Exporting a lot and logging in little went with leaving.
    assert report["weights"]["usage_export_30d"] < 0
    assert report["weights"]["usage_login_30d"] > 0
    obs = report["observations"]
    assert obs["training"] >= 1000 and obs["holdout"] >= 300
    assert 0 < obs["training_churned"] < obs["training"] and 0 < obs["holdout_churned"] < obs["holdout"]
    assert 12 <= len(report["dates"]["training"]) + len(report["dates"]["holdout"]) <= 24
    assert report["horizon_days"] == HORIZON
    assert report["score_check"]["agree"] == report["score_check"]["observations"] > 0

    version = ScorecardVersion.objects.get(pk=report["scorecard_version"])
    assert version.kind == ScorecardVersion.Kind.FITTED and not version.is_active and not report["activated"]
    assert version.based_on == base and active_version() == base
    assert (version.green_from, version.yellow_from) == (base.green_from, base.yellow_from)
    assert version.activation_measure == base.activation_measure
    assert version.name.startswith("Fitted on ") and f"horizon {HORIZON} days" in version.name
    assert version.intercept == pytest.approx(report["intercept"])
    assert version.fit["auc"] == report["auc"] and version.fit["weights"] == report["weights"]
    export = version.measures.get(key="usage_export_30d")
    assert (export.kind, export.event_type, export.per, export.window_days) == ("usage", "export", "total", 30)
    assert export.weight == pytest.approx(abs(export.coefficient)) and export.scale > 0
    assert version.measures.get(key="usage_export_per_user_30d").per == "active_user"
    # Measures that never vary on history (no touches, surveys, invoices here) are left out.
    assert "nps" in report["dropped"] and not version.measures.filter(key="nps").exists()
    assert set(report["weights"]) == set(version.measures.values_list("key", flat=True))
    # The report lists the measures largest first.
    sizes = [abs(m["coefficient"]) for m in report["measures"]]
    assert sizes == sorted(sizes, reverse=True)

    # The fitted version scores 100 x the model's probability of staying, on every observation...
    card = Card.of(version)
    obs, model = spy["obs"], spy["model"]
    stay = list(model.classes_).index(1)
    fitted = [m for m in card.measures if m.scale]  # the model's columns, in order
    assert len(fitted) == model.coef_.shape[1]
    columns = [obs.keys.index(m.key) for m in fitted]
    Z = (obs.X[:, columns] - np.array([m.center for m in fitted])) / np.array([m.scale for m in fitted])
    Z[np.isnan(Z)] = 0.0
    p_stay = model.predict_proba(Z)[:, stay]
    for i in range(0, len(obs.X), 3):
        raws = {k: (None if math.isnan(v) else v) for k, v in zip(obs.keys, obs.X[i], strict=True)}
        assert score(card, raws)[0] == round(100 * p_stay[i])

    # ...and through the scoring engine on a date of its own, as the nightly run would score,
    # where accounts about to leave score lower than those that stay.
    day = history["today"] - dt.timedelta(days=120)
    ids = active_account_ids(day)
    raws = measure_values(ids, day, card.measures)
    scores = {pk: score(card, raws[pk])[0] for pk in ids}
    for pk in ids:
        z = [0.0 if raws[pk][m.key] is None else (raws[pk][m.key] - m.center) / m.scale for m in fitted]
        assert scores[pk] == round(100 * model.predict_proba(np.array([z]))[0, stay])
    ends = history["ends"]
    leaving = [scores[pk] for pk in ids if ends[pk] and ends[pk] <= day + dt.timedelta(days=HORIZON)]
    staying = [scores[pk] for pk in ids if ends[pk] is None]
    assert len(leaving) >= 10 and sum(leaving) / len(leaving) + 20 < sum(staying) / len(staying)


def test_activate_makes_the_fitted_version_the_active_one():
    history = build_history(80, seed=11)
    base = active_version()
    # An activation measure that never varied on history stays, adding nothing, so the
    # activation rule keeps working with the fitted version.
    ScorecardVersion.objects.filter(pk=base.pk).update(activation_measure="nps", activation_threshold=7)
    report = calibrate(**window(history["today"]), activate=True, step_days=28)
    version = ScorecardVersion.objects.get(pk=report["scorecard_version"])
    assert report["activated"] and version.is_active and version.activated_at
    assert (version.activation_measure, version.activation_threshold) == ("nps", 7)
    assert report["weights"]["nps"] == 0 and version.measures.get(key="nps").scale is None
    assert active_version() == version
    base.refresh_from_db()
    assert not base.is_active
    # Calibrating again starts from the fitted version, whose measures are among the candidates.
    again = calibrate(**window(history["today"]), step_days=28)
    assert ScorecardVersion.objects.get(pk=again["scorecard_version"]).based_on == version
    assert not again["activated"] and active_version() == version
    assert again["weights"]["usage_export_30d"] < 0


def test_queries_grow_with_the_dates_not_with_the_accounts():
    build_history(20, seed=1, weeks=20)
    today = timezone.localdate()
    plan = calibration_plan(**window(today), step_days=56)
    measures = candidate_measures(Card.of(active_version()), ["login", "export"])

    def count():
        with CaptureQueriesContext(connection) as ctx:
            found = calibration.observations(plan, measures)
        return len(ctx), len(found.X)

    few, observed = count()
    build_history(40, seed=2, weeks=20)
    queries, more = count()
    assert queries == few and more > 2 * observed
    assert few <= len(plan.dates) * 9


# ------------------------------------------------------------------ validation


def errors_of(**kwargs) -> dict:
    with pytest.raises(ValidationError) as caught:
        calibrate(**kwargs)
    return caught.value.message_dict


def test_bad_windows_and_horizons_are_field_errors():
    today = timezone.localdate()
    start = today - dt.timedelta(days=300)
    assert "train_end" in errors_of(train_start=start, train_end=start - dt.timedelta(days=1), horizon_days=60)
    assert "horizon_days" in errors_of(train_start=start, train_end=start, horizon_days=6)
    assert "horizon_days" in errors_of(train_start=start, train_end=start, horizon_days=731)
    assert "train_start" in errors_of(train_start=today + dt.timedelta(days=1), train_end=today, horizon_days=30)
    # Training up to the last date whose horizon has passed leaves no holdout.
    no_holdout = errors_of(train_start=start, train_end=today - dt.timedelta(days=60), horizon_days=60)
    assert list(no_holdout) == ["train_end"] and "end training earlier" in no_holdout["train_end"][0]
    # A horizon that has not passed since the start is not known yet.
    assert "train_start" in errors_of(train_start=today - dt.timedelta(days=20), train_end=today, horizon_days=30)


def test_too_few_training_observations_is_an_error():
    build_history(2, seed=3, weeks=40)
    today = timezone.localdate()
    errors = errors_of(**window(today))
    assert list(errors) == ["train_start"] and "at least 30" in errors["train_start"][0]
    assert not ScorecardVersion.objects.filter(kind="fitted").exists()


def test_no_churn_in_training_or_in_the_holdout_is_an_error():
    build_history(40, churners=0, seed=4)
    today = timezone.localdate()
    assert "train_start" in errors_of(**window(today))


def test_no_churn_in_the_holdout_is_an_error():
    build_history(40, churners=0, seed=5)
    today = timezone.localdate()
    # Churn only early on: subscriptions that ended during training.
    early = today - dt.timedelta(days=250)
    Subscription.objects.filter(pk__in=list(Subscription.objects.values_list("pk", flat=True)[:10])).update(
        end_date=early
    )
    errors = errors_of(**window(today))
    assert list(errors) == ["train_end"]


# ------------------------------------------------------------------ parts


def test_the_default_step_gives_12_to_24_dates_at_least_a_week_apart_with_a_holdout():
    today = dt.date(2025, 6, 30)
    for days_back, horizon in ((400, 90), (365, 30), (730, 180), (200, 60)):
        start = today - dt.timedelta(days=days_back)
        end = start + dt.timedelta(days=(days_back - horizon) * 2 // 3)
        plan = calibration_plan(train_start=start, train_end=end, horizon_days=horizon, today=today)
        gaps = {(b - a).days for a, b in zip(plan.dates, plan.dates[1:], strict=False)}
        assert 12 <= len(plan.dates) <= 24 and min(gaps) >= 7
        assert plan.holdout_dates and plan.training_dates[0] == start
        assert plan.last <= today - dt.timedelta(days=horizon)
    plan = calibration_plan(
        train_start=dt.date(2025, 1, 1), train_end=dt.date(2025, 3, 1), horizon_days=30, step_days=7, today=today
    )
    assert plan.step_days == 7 and plan.dates[1] == dt.date(2025, 1, 8)
    plan = calibration_plan(
        train_start=dt.date(2025, 1, 1),
        train_end=dt.date(2025, 3, 1),
        horizon_days=30,
        holdout_end=dt.date(2025, 4, 1),
        today=today,
    )
    assert plan.last <= dt.date(2025, 4, 1) and plan.holdout_dates
    for holdout_end in (dt.date(2025, 2, 1), dt.date(2025, 6, 15)):  # before training ends; horizon not passed
        with pytest.raises(ValidationError) as caught:
            calibration_plan(
                train_start=dt.date(2025, 1, 1),
                train_end=dt.date(2025, 3, 1),
                horizon_days=30,
                holdout_end=holdout_end,
                today=today,
            )
        assert list(caught.value.message_dict) == ["holdout_end"]


def test_candidates_add_two_usage_measures_per_event_type_with_slug_keys():
    card = Card(pk=None, kind="weighted", measures=[calibration.Measure(key="nps", kind="nps", window_days=180)])
    names = ["login", "Report.Export", "导出", "report export"]
    keys = [m.key for m in candidate_measures(card, names)]
    assert keys[:5] == [
        "nps",
        "usage_login_30d",
        "usage_login_per_user_30d",
        "usage_report_export_30d",
        "usage_report_export_per_user_30d",
    ]
    assert len(keys) == len(set(keys)) == 9
    assert all(len(k) <= 50 for k in keys)
    field = ScorecardMeasure._meta.get_field("key")
    for k in keys:
        field.run_validators(k)
    measures = {m.key: m for m in candidate_measures(card, names)}
    assert measures["usage_login_per_user_30d"].per == "active_user"
    assert measures["usage_login_30d"].event_type == "login"


def test_top_decile_lift_counts_ties_at_the_cut_in_proportion():
    churned = np.zeros(20, dtype=bool)
    churned[[0, 1]] = True  # 10% churn
    assert top_decile_lift(churned, np.arange(20, 0, -1, dtype=float)) == pytest.approx(10.0)  # both churners first
    assert top_decile_lift(churned, np.arange(20, dtype=float)) == 0.0  # both churners last
    assert top_decile_lift(churned, np.zeros(20)) == pytest.approx(1.0)  # no ranking at all
    tied = np.zeros(20)
    tied[[0, 1, 2]] = 5.0  # the top two are any two of three, two of which churned
    assert top_decile_lift(churned, tied) == pytest.approx((2 * 2 / 3) / 2 / 0.1)
