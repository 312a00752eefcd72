"""The scoring engine at work: a fixed number of statements whatever the number of
accounts, and raw values and scores worked out by hand, so that any change made for
speed (bench/health.py) is held to the same results."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Account, Activity
from health.models import HealthScore, SurveyResponse, UsageDaily
from health.scorecards import DEFAULT_MEASURES, active_version, version_activate, version_create
from health.scoring import Card, active_account_ids, measure_values
from health.services import health_score_run
from tests.factories import AccountFactory, ActivityFactory, InvoiceFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_default_timezone())


def an_active_account(n: int, as_of: dt.date) -> Account:
    """An account with a little of everything the default scorecard reads."""
    account = AccountFactory(completeness=10 * (n % 11))
    SubscriptionFactory(account=account, quantity=5 + n)
    for back, kind in ((1, "login"), (3, "export"), (40, "login")):
        UsageDaily.objects.create(
            account=account, day=as_of - dt.timedelta(days=back), event_type=kind, events=n + back, distinct_users=2
        )
    ActivityFactory(account=account, occurred_at=midnight(as_of) - dt.timedelta(days=n % 30 + 1))
    InvoiceFactory(account=account, due_date=as_of - dt.timedelta(days=5))
    SurveyResponse.objects.create(account=account, kind="nps", score=n % 11, responded_on=as_of - dt.timedelta(days=9))
    return account


def test_a_full_run_issues_the_same_statements_for_5_and_50_accounts():
    as_of = timezone.localdate()
    active_version()  # the default scorecard, made once
    for n in range(5):
        an_active_account(n, as_of)
    with CaptureQueriesContext(connection) as five:
        assert health_score_run(as_of=as_of) == 5
    for n in range(5, 50):
        an_active_account(n, as_of)
    with CaptureQueriesContext(connection) as fifty:
        assert health_score_run(as_of=as_of) == 50
    assert len(five) == len(fifty)
    assert HealthScore.objects.filter(as_of=as_of).count() == 50
    assert not Account.objects.filter(health_score__isnull=True).exists()


def test_measures_read_for_many_accounts_at_once_equal_those_read_in_small_groups():
    """Above 100 accounts PostgreSQL gets the ids as one array; below, as a list."""
    as_of = timezone.localdate()
    accounts = [an_active_account(n, as_of) for n in range(120)]
    card = Card.of(active_version())
    ids = [a.pk for a in accounts]
    together = measure_values(ids, as_of, card.measures)
    apart = {}
    for start in range(0, len(ids), 40):
        apart.update(measure_values(ids[start : start + 40], as_of, card.measures))
    assert together == apart
    assert active_account_ids(as_of) == sorted(ids)


@pytest.fixture
def two_accounts():
    """Account A uses the product, was touched and owes an invoice; account B bought ten
    fewer seats and did nothing. C has no subscription active today and is not scored."""
    as_of = timezone.localdate()
    a = AccountFactory(name="A", completeness=50)
    b = AccountFactory(name="B")
    AccountFactory(name="C")
    SubscriptionFactory(account=a, quantity=10)
    SubscriptionFactory(account=b, quantity=5)

    def usage(days_back, event_type, events, users):
        UsageDaily.objects.create(
            account=a, day=as_of - dt.timedelta(days=days_back), event_type=event_type, events=events,
            value_sum=events, distinct_users=users,
        )  # fmt: skip

    usage(0, "login", 1000, 50)  # as_of itself: not yet
    usage(1, "login", 40, 3)
    usage(5, "report", 20, 2)
    usage(30, "export", 5, 1)  # the first day of the 30-day window
    usage(31, "login", 30, 4)  # the window before it, for the trend
    usage(60, "login", 10, 1)  # its first day
    usage(61, "login", 500, 9)  # before both windows
    night = midnight(as_of)
    ActivityFactory(account=a, kind=Activity.Kind.CALL, occurred_at=night - dt.timedelta(days=10))
    ActivityFactory(account=a, kind=Activity.Kind.EXECUTIVE_VISIT, occurred_at=night - dt.timedelta(days=20))
    ActivityFactory(account=a, kind=Activity.Kind.CALL, occurred_at=night - dt.timedelta(minutes=1))  # 23:59
    ActivityFactory(account=a, kind=Activity.Kind.CALL, occurred_at=night)  # 00:00 on as_of: not yet
    SurveyResponse.objects.create(account=a, kind="nps", score=2, responded_on=as_of - dt.timedelta(days=100))
    SurveyResponse.objects.create(account=a, kind="nps", score=9, responded_on=as_of - dt.timedelta(days=30))
    InvoiceFactory(account=a, due_date=as_of - dt.timedelta(days=10))  # unpaid: overdue
    InvoiceFactory(account=a, due_date=as_of - dt.timedelta(days=10), paid_on=as_of - dt.timedelta(days=12))
    InvoiceFactory(account=a, due_date=as_of)  # not due before as_of
    return as_of, a, b


RAW_A = {
    "usage_per_seat": 6.5,  # (40 + 20 + 5) events in 30 days / 10 seats
    "usage_trend": 62.5,  # 65 against 30 + 10 in the 30 days before: +62.5 %
    "active_users": 0.3,  # at most 3 distinct users on a day / 10 seats
    "breadth": 3.0,  # login, report, export
    "touches": 3.0,  # the calls 10 days and a minute before, the executive visit
    "exec_touch": 1.0,
    "nps": 9.0,  # the latest answer
    "complaints": 0.0,
    "plan_overdue": 0.0,
    "invoices_overdue": 1.0,
    "file_completeness": 50.0,
}
RAW_B = {
    "usage_per_seat": 0.0,
    "usage_trend": None,  # nothing then, nothing now: no trend
    "active_users": 0.0,
    "breadth": 0.0,
    "touches": 0.0,
    "exec_touch": 0.0,
    "nps": None,
    "complaints": 0.0,
    "plan_overdue": 0.0,
    "invoices_overdue": 0.0,
    "file_completeness": 0.0,
}


def test_the_default_scorecard_on_two_accounts_worked_out_by_hand(two_accounts):
    as_of, a, b = two_accounts
    card = Card.of(active_version())
    raws = measure_values(active_account_ids(as_of), as_of, card.measures)
    assert raws == {a.pk: RAW_A, b.pk: RAW_B}

    assert health_score_run(as_of=as_of) == 2

    def by_hand(raw: dict) -> int:
        """The weighted mean of the measures with data, each scored on its thresholds."""

        def points(value, thresholds):
            (x0, y0), *rest = sorted(thresholds)
            if value <= x0:
                return y0
            for x1, y1 in rest:
                if value <= x1:
                    return y0 + (y1 - y0) * (value - x0) / (x1 - x0)
                x0, y0 = x1, y1
            return y0

        present = [m for m in DEFAULT_MEASURES if raw[m["key"]] is not None]
        weights = sum(m["weight"] for m in present)
        return round(sum(m["weight"] / weights * points(raw[m["key"]], m["thresholds"]) for m in present))

    for account, raw in ((a, RAW_A), (b, RAW_B)):
        stored = HealthScore.objects.get(account=account, as_of=as_of)
        assert stored.score == by_hand(raw)
        assert {c["measure"]: c["raw_value"] for c in stored.components} == raw
        account.refresh_from_db()
        assert (account.health_score, account.health_band) == (stored.score, stored.band)
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.activated_on, b.activated_on) == (as_of, None)  # active users per seat 0.3 reach the threshold


def test_a_scorecard_of_three_measures_worked_out_by_hand(two_accounts):
    as_of, a, b = two_accounts
    version = version_create(
        name="Three measures",
        measures=[
            {"key": "usage_per_seat", "kind": "usage", "per": "seat", "window_days": 30, "weight": 50,
             "thresholds": [[0, 0], [10, 100]]},
            {"key": "usage_trend", "kind": "usage_trend", "window_days": 30, "weight": 30,
             "thresholds": [[0, 0], [100, 100]]},
            {"key": "active_users", "kind": "active_users", "window_days": 30, "weight": 20,
             "thresholds": [[0, 0], [0.5, 100]]},
        ],
    )  # fmt: skip
    version_activate(version=version)

    assert health_score_run(as_of=as_of) == 2

    score_a = HealthScore.objects.get(account=a, as_of=as_of)
    # 0.5 x 65 + 0.3 x 62.5 + 0.2 x 60 = 63.25
    assert (score_a.score, score_a.band, score_a.scorecard_id) == (63, "yellow", version.pk)
    assert [(c["measure"], c["raw_value"], c["score"], c["weight"]) for c in score_a.components] == [
        ("usage_per_seat", 6.5, 65.0, 0.5),
        ("usage_trend", 62.5, 62.5, 0.3),
        ("active_users", 0.3, 60.0, 0.2),
    ]
    score_b = HealthScore.objects.get(account=b, as_of=as_of)
    # No trend: the other two share its weight, 50 : 20.
    assert (score_b.score, score_b.band) == (0, "red")
    assert [(c["measure"], c["raw_value"], c["score"], c["weight"]) for c in score_b.components] == [
        ("usage_per_seat", 0.0, 0.0, 0.7143),
        ("usage_trend", None, None, 0.0),
        ("active_users", 0.0, 0.0, 0.2857),
    ]
    assert set(Account.objects.filter(name__in=["A", "B", "C"]).values_list("name", "health_score")) == {
        ("A", 63),
        ("B", 0),
        ("C", None),
    }
