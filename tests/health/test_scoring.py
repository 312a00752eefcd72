"""The scoring arithmetic on hand-computed cases, the as_of cut-offs, which accounts are
scored, idempotent re-runs and fitted versions. Runs on SQLite and PostgreSQL."""

import datetime as dt
import math
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Account, Activity, Stakeholder
from health.ingest import usage_events_ingest
from health.models import HealthScore, ScorecardMeasure, ScorecardVersion, SurveyResponse, UsageDaily
from health.scorecards import version_activate, version_create
from health.scoring import Card, Measure, measure_values, threshold_score
from health.services import health_score_run
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    InvoiceFactory,
    StakeholderFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db
K = ScorecardMeasure.Kind
TODAY = timezone.localdate()


def at(day: dt.date, *hms) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(*hms), tzinfo=timezone.get_default_timezone())


def usage(account, days_ago: int, events: int, event_type="login", users=1, as_of=TODAY):
    UsageDaily.objects.create(
        account=account,
        day=as_of - dt.timedelta(days=days_ago),
        event_type=event_type,
        events=events,
        distinct_users=users,
    )


def card(*measures, **kw) -> ScorecardVersion:
    version = version_create(name="Test", measures=list(measures), **kw)
    return version_activate(version=version)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(-5, 0), (0, 0), (1, 12), (5, 60), (7.5, 80), (10, 100), (50, 100)],
)
def test_thresholds_interpolate_between_points_and_hold_beyond_them(raw, expected):
    assert threshold_score(raw, [[0, 0], [5, 60], [10, 100]]) == pytest.approx(expected)


def test_thresholds_may_fall_and_an_empty_list_clamps_the_raw_value():
    assert threshold_score(2, [[0, 100], [1, 60], [3, 0]]) == pytest.approx(30)
    assert threshold_score(130, []) == 100 and threshold_score(-3, []) == 0 and threshold_score(42, []) == 42


@pytest.fixture
def account():
    account = AccountFactory()
    SubscriptionFactory(account=account, quantity=2)
    SubscriptionFactory(account=account, quantity=3)  # 5 seats
    return account


@pytest.fixture
def three_measures():
    return card(
        {"key": "logins", "kind": K.USAGE, "event_type": "login", "per": "seat", "window_days": 30,
         "thresholds": [[0, 0], [10, 100]], "weight": 2},
        {"key": "touches", "kind": K.TOUCHES, "window_days": 90, "thresholds": [[0, 0], [2, 100]], "weight": 1},
        {"key": "nps", "kind": K.NPS, "window_days": 180, "thresholds": [[0, 0], [10, 100]], "weight": 1},
    )  # fmt: skip


def test_a_hand_computed_weighted_score(account, three_measures):
    usage(account, 1, 12)
    usage(account, 30, 8)  # the window's first day
    usage(account, 31, 100)  # before the window
    usage(account, 3, 50, event_type="export")  # another event type
    ActivityFactory(account=account, kind=Activity.Kind.CALL, occurred_at=at(TODAY - dt.timedelta(days=10), 10))
    ActivityFactory(account=account, kind=Activity.Kind.EMAIL, occurred_at=at(TODAY - dt.timedelta(days=5), 10))
    SurveyResponse.objects.create(account=account, kind="nps", score=2, responded_on=TODAY - dt.timedelta(days=100))
    SurveyResponse.objects.create(account=account, kind="nps", score=9, responded_on=TODAY - dt.timedelta(days=20))

    assert health_score_run() == 1
    s = HealthScore.objects.get(account=account, as_of=TODAY)
    parts = {c["measure"]: c for c in s.components}
    # logins: 20 events / 5 seats = 4 -> 40; touches: 1 call (the email is not a touch) -> 50; NPS 9 -> 90
    assert (parts["logins"]["raw_value"], parts["logins"]["score"]) == (4.0, 40.0)
    assert (parts["touches"]["raw_value"], parts["touches"]["score"]) == (1.0, 50.0)
    assert (parts["nps"]["raw_value"], parts["nps"]["score"]) == (9.0, 90.0)
    assert [parts[k]["weight"] for k in ("logins", "touches", "nps")] == [0.5, 0.25, 0.25]
    assert s.score == 55  # (2 x 40 + 50 + 90) / 4
    assert s.band == "yellow" and s.scorecard == three_measures
    account.refresh_from_db()
    assert (account.health_score, account.health_band) == (55, "yellow")


def test_a_measure_without_data_is_left_out_and_the_others_count_more(account, three_measures):
    usage(account, 1, 20)
    ActivityFactory(account=account, kind=Activity.Kind.MEETING, occurred_at=at(TODAY - dt.timedelta(days=1), 9))
    health_score_run()
    s = HealthScore.objects.get(account=account)
    parts = {c["measure"]: c for c in s.components}
    assert parts["nps"]["raw_value"] is None and parts["nps"]["weight"] == 0
    assert s.score == 43  # (2 x 40 + 50) / 3 = 43.3
    assert s.explained()[2]["missing"] is True


def test_usage_at_23_59_the_day_before_counts_and_at_midnight_of_as_of_does_not(account):
    card({"key": "day", "kind": K.USAGE, "window_days": 1, "thresholds": [], "weight": 1})
    as_of = TODAY - dt.timedelta(days=3)
    usage_events_ingest(
        [
            {"account_external_id": account.external_id, "event_type": "login", "event_id": "late",
             "occurred_at": at(as_of - dt.timedelta(days=1), 23, 59, 59).isoformat()},
            {"account_external_id": account.external_id, "event_type": "login", "event_id": "midnight",
             "occurred_at": at(as_of, 0, 0, 0).isoformat()},
        ]
    )  # fmt: skip
    health_score_run(as_of=as_of)
    health_score_run(as_of=as_of + dt.timedelta(days=1))
    scores = dict(HealthScore.objects.values_list("as_of", "components"))
    assert scores[as_of][0]["raw_value"] == 1.0  # only the event of 23:59:59
    assert scores[as_of + dt.timedelta(days=1)][0]["raw_value"] == 1.0  # midnight's event, a day later


def test_touches_before_midnight_of_as_of_count_and_touches_on_it_do_not(account):
    card({"key": "t", "kind": K.TOUCHES, "window_days": 7, "thresholds": [], "weight": 1})
    as_of = TODAY - dt.timedelta(days=2)
    ActivityFactory(account=account, kind=Activity.Kind.CALL, occurred_at=at(as_of - dt.timedelta(days=1), 23, 59))
    ActivityFactory(account=account, kind=Activity.Kind.CALL, occurred_at=at(as_of, 0, 0))
    ActivityFactory(account=account, kind=Activity.Kind.CALL, occurred_at=at(as_of - dt.timedelta(days=8), 12))
    raws = measure_values([account.pk], as_of, Card.of(ScorecardVersion.objects.get(is_active=True)).measures)
    assert raws[account.pk]["t"] == 1


def test_only_accounts_with_a_subscription_active_on_as_of_are_scored():
    as_of = TODAY - dt.timedelta(days=10)
    ends_on_it = AccountFactory(name="Ends")
    SubscriptionFactory(account=ends_on_it, start_date=as_of - dt.timedelta(days=100), end_date=as_of)
    starts_on_it = AccountFactory(name="Starts")
    SubscriptionFactory(account=starts_on_it, start_date=as_of, end_date=None)
    later = AccountFactory(name="Later")
    SubscriptionFactory(account=later, start_date=as_of + dt.timedelta(days=1))
    assert health_score_run(as_of=as_of) == 1
    assert list(HealthScore.objects.values_list("account__name", flat=True)) == ["Starts"]


def test_re_running_a_date_replaces_its_scores(account, three_measures):
    usage(account, 1, 10)
    health_score_run()
    first = HealthScore.objects.get(account=account)
    usage(account, 2, 40)
    health_score_run()
    health_score_run()
    again = HealthScore.objects.get(account=account)  # still one row for the date
    assert again.pk == first.pk and again.score > first.score


def test_a_past_score_does_not_move_the_account_s_current_band(account, three_measures):
    usage(account, 1, 50)
    health_score_run()
    account.refresh_from_db()
    current = account.health_score
    health_score_run(as_of=TODAY - dt.timedelta(days=20))
    account.refresh_from_db()
    assert account.health_score == current and HealthScore.objects.filter(account=account).count() == 2


def test_trend_breadth_active_users_and_per_active_user(account):
    measures = [
        Measure(key="trend", kind=K.USAGE_TREND, window_days=7),
        Measure(key="breadth", kind=K.BREADTH, window_days=7),
        Measure(key="active", kind=K.ACTIVE_USERS, window_days=7),
        Measure(key="per_user", kind=K.USAGE, per="active_user", window_days=7),
    ]
    usage(account, 1, 9, users=4)
    usage(account, 2, 6, event_type="export", users=2)
    usage(account, 10, 10, users=3)  # the week before
    raws = measure_values([account.pk], TODAY, measures)[account.pk]
    assert raws == {"trend": 50.0, "breadth": 2.0, "active": 0.8, "per_user": 3.75}  # 15 vs 10; 4 of 5; 15 / 4
    other = AccountFactory()
    SubscriptionFactory(account=other)
    usage(other, 2, 5)
    assert measure_values([other.pk], TODAY, measures[:1])[other.pk]["trend"] == 200.0  # from nothing
    quiet = AccountFactory()
    assert measure_values([quiet.pk], TODAY, measures[:1])[quiet.pk]["trend"] is None  # no data either side


def test_executive_touches_complaints_overdue_steps_and_invoices(account):
    dm = StakeholderFactory(account=account, role=Stakeholder.Role.DECISION_MAKER)
    meeting = ActivityFactory(
        account=account, kind=Activity.Kind.MEETING, occurred_at=at(TODAY - dt.timedelta(days=5), 9)
    )
    meeting.stakeholders.add(dm)
    ActivityFactory(
        account=account, kind=Activity.Kind.EXECUTIVE_VISIT, occurred_at=at(TODAY - dt.timedelta(days=40), 9)
    )
    ActivityFactory(account=account, kind=Activity.Kind.CALL, occurred_at=at(TODAY - dt.timedelta(days=3), 9))
    ActivityFactory(account=account, kind=Activity.Kind.COMPLAINT, occurred_at=at(TODAY - dt.timedelta(days=3), 9))
    day = TODAY - dt.timedelta(days=60)
    InvoiceFactory(account=account, issued_on=day, due_date=TODAY - dt.timedelta(days=20), paid_on=None)
    InvoiceFactory(account=account, issued_on=day, due_date=TODAY - dt.timedelta(days=20), paid_on=TODAY)  # paid today
    InvoiceFactory(
        account=account, issued_on=day, due_date=TODAY - dt.timedelta(days=20), paid_on=TODAY - dt.timedelta(days=1)
    )
    InvoiceFactory(account=account, issued_on=day, due_date=TODAY, paid_on=None)  # due today: not overdue yet
    measures = [
        Measure(key="exec", kind=K.EXEC_TOUCH, window_days=90),
        Measure(key="complaints", kind=K.COMPLAINTS, window_days=30),
        Measure(key="invoices", kind=K.INVOICES_OVERDUE),
        Measure(key="file", kind=K.FILE_COMPLETENESS),
    ]
    Account.objects.filter(pk=account.pk).update(completeness=64)
    raws = measure_values([account.pk], TODAY, measures)[account.pk]
    assert raws == {"exec": 2.0, "complaints": 1.0, "invoices": 2.0, "file": 64.0}  # fmt: skip


def test_a_fitted_version_scores_100_times_the_probability_of_staying(account):
    version = card(
        {"key": "logins", "kind": K.USAGE, "event_type": "login", "window_days": 30, "weight": 1,
         "coefficient": 0.8, "center": 10.0, "scale": 5.0},
        {"key": "complaints", "kind": K.COMPLAINTS, "window_days": 90, "weight": 1,
         "coefficient": -1.2, "center": 0.5, "scale": 0.5},
        kind=ScorecardVersion.Kind.FITTED, intercept=1.5,
    )  # fmt: skip
    usage(account, 1, 20)
    ActivityFactory(account=account, kind=Activity.Kind.COMPLAINT, occurred_at=at(TODAY - dt.timedelta(days=2), 9))
    health_score_run()
    s = HealthScore.objects.get(account=account)
    logit = 1.5 + 0.8 * (20 - 10) / 5 + (-1.2) * (1 - 0.5) / 0.5
    assert s.score == round(100 / (1 + math.exp(-logit)))  # 1.5 + 1.6 - 1.2 = 1.9 -> 87
    assert s.score == 87 and s.scorecard == version
    parts = {c["measure"]: c for c in s.components}
    assert parts["logins"]["contribution"] == pytest.approx(1.6) and parts["complaints"][
        "contribution"
    ] == pytest.approx(-1.2)
    assert parts["logins"]["score"] > 0 > parts["complaints"]["score"]  # points vs an account at the mean


def test_activation_keeps_the_earliest_day_the_threshold_was_reached(account):
    card(
        {"key": "logins", "kind": K.USAGE, "window_days": 7, "thresholds": [], "weight": 1},
        activation_measure="logins", activation_threshold=5,
    )  # fmt: skip
    usage(account, 12, 6)
    health_score_run(as_of=TODAY - dt.timedelta(days=20))  # nothing yet
    account.refresh_from_db()
    assert account.activated_on is None
    health_score_run()  # today: the 6 events are out of the 7-day window
    health_score_run(as_of=TODAY - dt.timedelta(days=8))  # 6 events in the window: reached
    health_score_run(as_of=TODAY - dt.timedelta(days=5))  # reached again, later: the earliest day stays
    account.refresh_from_db()
    assert account.activated_on == TODAY - dt.timedelta(days=8)


def test_version_create_refuses_bad_scorecards():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        version_create(name="x", measures=[])
    with pytest.raises(ValidationError):
        version_create(name="x", measures=[{"key": "a", "kind": K.BREADTH, "weight": 0}])
    with pytest.raises(ValidationError):
        version_create(name="x", measures=[{"key": "a", "kind": K.BREADTH, "weight": 1}] * 2)
    with pytest.raises(ValidationError):
        version_create(name="x", measures=[{"key": "a", "kind": K.BREADTH, "weight": 1}], green_from=40, yellow_from=40)
    assert not ScorecardVersion.objects.exists()


def test_money_fields_stay_decimal_on_invoices(account):
    invoice = InvoiceFactory(account=account, amount=Decimal("12000.50"))
    invoice.refresh_from_db()
    assert invoice.amount == Decimal("12000.50")
