"""health.ingest: the service behind the usage-events bulk API and the CSV upload."""

import datetime as dt
import random
import zoneinfo
from collections import defaultdict

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from health.ingest import MAX_EVENTS, UsageEventsInvalid, usage_events_ingest, usage_events_ingest_json
from health.models import EventType, UsageDaily, UsageEvent
from tests.factories import AccountFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _shanghai_in_english(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    with translation.override("en"):  # the messages below are compared in English
        yield


def event(account, n, **overrides):
    return {
        "account_external_id": account.external_id,
        "event_type": "login",
        "occurred_at": "2025-03-01T02:00:00Z",
        "user_id": "u1",
        "value": 1,
        "event_id": f"e-{n}",
        **overrides,
    }


def rollup() -> dict:
    return {
        (r.account_id, r.day, r.event_type): (r.events, r.value_sum, r.distinct_users) for r in UsageDaily.objects.all()
    }


def recomputed() -> dict:
    """The rollup as it should be, from the raw events, in Python."""
    groups = defaultdict(list)
    for e in UsageEvent.objects.all():
        groups[(e.account_id, e.occurred_at.astimezone(SHANGHAI).date(), e.event_type)].append(e)
    return {
        key: (len(events), pytest.approx(sum(e.value for e in events)), len({e.user_id for e in events} - {""}))
        for key, events in groups.items()
    }


def test_events_are_stored_with_their_daily_rollup():
    account = AccountFactory()
    result = usage_events_ingest(
        [
            event(account, 1, user_id="a", value=2),
            event(account, 2, user_id="a", value=3.5),
            event(account, 3, user_id="b"),
            event(account, 4, user_id=None, value=None),  # no user, value defaults to 1
            event(account, 5, event_type="export", user_id="b"),
        ]
    )
    assert (result.accepted, result.duplicates) == (5, 0)
    assert UsageEvent.objects.count() == 5
    assert UsageEvent.objects.get(event_id="e-4").value == 1
    assert rollup() == {
        (account.pk, dt.date(2025, 3, 1), "login"): (4, 7.5, 2),
        (account.pk, dt.date(2025, 3, 1), "export"): (1, 1.0, 1),
    }


def test_one_bad_row_among_many_stores_nothing_and_names_index_and_field():
    account = AccountFactory()
    rows = [event(account, i) for i in range(500)]
    rows[317]["occurred_at"] = "yesterday"
    rows[42]["account_external_id"] = "NO-SUCH-ACCOUNT"
    rows[42]["value"] = "lots"
    with pytest.raises(UsageEventsInvalid) as caught:
        usage_events_ingest(rows)
    errors = caught.value.errors
    assert [e["index"] for e in errors] == [42, 317]
    assert set(errors[0]) == {"index", "account_external_id", "value"}
    assert errors[0]["account_external_id"] == ["Unknown account."]
    assert list(errors[1]) == ["index", "occurred_at"]
    assert not UsageEvent.objects.exists() and not UsageDaily.objects.exists() and not EventType.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("account_external_id", None),
        ("account_external_id", ""),
        ("account_external_id", ["EXT"]),
        ("event_type", None),
        ("event_type", "   "),
        ("event_type", "x" * 101),
        ("event_type", 3.5),
        ("event_type", "bad\x00type"),
        ("event_type", "\ud800"),
        ("occurred_at", None),
        ("occurred_at", "2025-03-01"),
        ("occurred_at", "2025-13-01T00:00:00Z"),
        ("occurred_at", 1740787200),
        ("occurred_at", "1969-12-31T23:59:59Z"),
        ("user_id", "u" * 101),
        ("user_id", {"id": 1}),
        ("value", "1"),
        ("value", True),
        ("value", float("nan")),
        ("value", float("inf")),
        ("value", 10**400),
        ("value", 1e16),
        ("event_id", None),
        ("event_id", ""),
        ("event_id", "e" * 101),
    ],
)
def test_each_field_is_checked(field, value):
    account = AccountFactory()
    with pytest.raises(UsageEventsInvalid) as caught:
        usage_events_ingest([event(account, 1), event(account, 2, **{field: value})])
    assert [e["index"] for e in caught.value.errors] == [1]
    assert list(caught.value.errors[0]) == ["index", field]
    assert not UsageEvent.objects.exists()


def test_a_missing_field_is_reported_and_optional_fields_may_be_left_out():
    account = AccountFactory()
    bare = {"account_external_id": account.external_id, "event_type": "login", "occurred_at": "2025-03-01T00:00Z"}
    with pytest.raises(UsageEventsInvalid) as caught:
        usage_events_ingest([bare, "not an object"])
    assert caught.value.errors == [
        {"index": 0, "event_id": ["This field is required."]},
        {"index": 1, "non_field_errors": ["Expected an object."]},
    ]
    assert usage_events_ingest([{**bare, "event_id": "x"}]).accepted == 1
    stored = UsageEvent.objects.get()
    assert (stored.user_id, stored.value) == ("", 1)


def test_more_than_ten_thousand_events_are_refused_whole():
    account = AccountFactory()
    with pytest.raises(UsageEventsInvalid) as caught:
        usage_events_ingest([event(account, i) for i in range(MAX_EVENTS + 1)])
    assert list(caught.value.errors[0]) == ["non_field_errors"]
    assert not UsageEvent.objects.exists()


def test_duplicates_inside_one_request_are_stored_once_and_the_first_wins():
    account = AccountFactory()
    result = usage_events_ingest([event(account, 1, value=5), event(account, 2), event(account, 1, value=9)])
    assert (result.accepted, result.duplicates) == (2, 1)
    assert UsageEvent.objects.get(event_id="e-1").value == 5
    assert rollup()[(account.pk, dt.date(2025, 3, 1), "login")] == (2, 6.0, 1)


def test_posting_the_same_events_again_changes_nothing():
    account = AccountFactory()
    rows = [event(account, i, user_id=f"u{i % 3}", value=i) for i in range(20)]
    assert usage_events_ingest(rows).accepted == 20
    before = rollup()
    again = usage_events_ingest(rows)
    assert (again.accepted, again.duplicates) == (0, 20)
    assert UsageEvent.objects.count() == 20 and rollup() == before


def test_a_request_mixing_new_and_seen_events_counts_both():
    account = AccountFactory()
    usage_events_ingest([event(account, i) for i in range(5)])
    result = usage_events_ingest([event(account, i) for i in range(3, 8)])
    assert (result.accepted, result.duplicates) == (3, 2)
    assert rollup()[(account.pk, dt.date(2025, 3, 1), "login")][0] == 8


def test_a_timestamp_without_zone_is_utc():
    account = AccountFactory()
    usage_events_ingest([event(account, 1, occurred_at="2025-03-01T10:15:00")])
    assert UsageEvent.objects.get().occurred_at == dt.datetime(2025, 3, 1, 10, 15, tzinfo=dt.UTC)


def test_an_offset_is_honoured():
    account = AccountFactory()
    usage_events_ingest([event(account, 1, occurred_at="2025-03-01T07:30:00+08:00")])
    assert UsageEvent.objects.get().occurred_at == dt.datetime(2025, 2, 28, 23, 30, tzinfo=dt.UTC)
    assert list(rollup()) == [(account.pk, dt.date(2025, 3, 1), "login")]


def test_an_event_at_2330_utc_lands_on_the_next_local_day():
    account = AccountFactory()
    usage_events_ingest(
        [
            event(account, 1, occurred_at="2025-03-01T15:59:59Z"),  # 23:59:59 in Shanghai
            event(account, 2, occurred_at="2025-03-01T16:00:00Z"),  # 00:00 the next day
            event(account, 3, occurred_at="2025-03-01T23:30:00"),
        ]
    )
    assert rollup() == {
        (account.pk, dt.date(2025, 3, 1), "login"): (1, 1.0, 1),
        (account.pk, dt.date(2025, 3, 2), "login"): (2, 2.0, 1),
    }


def test_the_day_follows_settings_time_zone(settings):
    settings.TIME_ZONE = "UTC"
    account = AccountFactory()
    usage_events_ingest([event(account, 1, occurred_at="2025-03-01T23:30:00Z")])
    assert list(rollup()) == [(account.pk, dt.date(2025, 3, 1), "login")]


def test_future_events_are_allowed_up_to_a_day_ahead():
    account = AccountFactory()
    now = timezone.now()
    soon = (now + dt.timedelta(hours=23)).isoformat()
    later = (now + dt.timedelta(hours=25)).isoformat()
    with pytest.raises(UsageEventsInvalid) as caught:
        usage_events_ingest([event(account, 1, occurred_at=soon), event(account, 2, occurred_at=later)])
    assert caught.value.errors == [{"index": 1, "occurred_at": ["This time is more than a day in the future."]}]
    assert usage_events_ingest([event(account, 1, occurred_at=soon)]).accepted == 1


def test_rollup_equals_a_recomputation_from_raw_events_after_overlapping_posts():
    accounts = [AccountFactory() for _ in range(4)]
    rng = random.Random(7)
    start = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    pool = [
        {
            "account_external_id": rng.choice(accounts).external_id,
            "event_type": rng.choice(["login", "export", "report"]),
            "occurred_at": (start + dt.timedelta(minutes=rng.randrange(5 * 24 * 60))).isoformat(),
            "user_id": rng.choice(["", "a", "b", "c", "d"]),
            "value": rng.choice([1, 2, 0.5, -1]),
            "event_id": f"e-{n}",
        }
        for n in range(600)
    ]
    for first in range(0, 600, 100):
        usage_events_ingest(pool[first : first + 250])  # each post repeats part of the previous ones
        assert rollup() == recomputed()
    assert UsageEvent.objects.count() == 600


def test_the_rollup_agrees_with_usage_rollup():
    from health.services import usage_rollup

    account = AccountFactory()
    rows = [
        event(account, i, occurred_at=f"2025-03-0{1 + i % 3}T1{i % 10}:00:00Z", user_id=["u1", "u2", ""][i % 3])
        for i in range(30)
    ]
    usage_events_ingest(rows)
    mine = rollup()
    UsageDaily.objects.all().delete()
    usage_rollup(day_from=dt.date(2025, 3, 1), day_to=dt.date(2025, 3, 4))
    assert rollup() == mine  # counts, sums and distinct users (an empty user_id is nobody)


def test_new_event_types_are_registered_once():
    account = AccountFactory()
    usage_events_ingest([event(account, 1), event(account, 2, event_type="export"), event(account, 3)])
    first_seen = EventType.objects.get(name="login").first_seen_at
    usage_events_ingest([event(account, 4), event(account, 5, event_type="share")])
    assert sorted(EventType.objects.values_list("name", flat=True)) == ["export", "login", "share"]
    assert EventType.objects.get(name="login").first_seen_at == first_seen


def test_the_number_of_statements_does_not_grow_with_the_events():
    accounts = [AccountFactory() for _ in range(5)]

    def post(first, count):
        rows = [
            event(accounts[n % 5], n, occurred_at=f"2025-03-{1 + n % 28:02d}T0{n % 10}:00:00Z", event_type=f"t{n % 7}")
            for n in range(first, first + count)
        ]
        with CaptureQueriesContext(connection) as queries:
            usage_events_ingest(rows)
        return len(queries)

    post(0, 10)  # registers the event types
    assert post(100, 10) == post(1000, 2000)


def test_strings_with_quotes_tabs_and_backslashes_are_stored_as_sent():
    account = AccountFactory(external_id='ACME "East"\\1')
    odd = "a\tb\nc\\d\"e,{f}'g 用户"
    result = usage_events_ingest(
        [event(account, 1, event_type=odd, user_id=odd, event_id=odd), event(account, 2, event_type=odd, user_id="")]
    )
    assert result.accepted == 2
    stored = UsageEvent.objects.get(event_id=odd)
    assert (stored.event_type, stored.user_id) == (odd, odd)
    assert rollup() == {(account.pk, dt.date(2025, 3, 1), odd): (2, 2.0, 1)}
    assert usage_events_ingest([event(account, 1, event_id=odd)]).duplicates == 1


def test_an_event_id_written_by_someone_else_meanwhile_is_skipped(monkeypatch):
    """The duplicate check runs under the ingestion lock; a writer outside ingestion (here:
    the check pretending to see nothing) still never makes the insert fail."""
    account = AccountFactory()
    usage_events_ingest([event(account, 1, value=5)])
    monkeypatch.setattr("health.ingest._existing_event_ids", lambda *args: set())
    usage_events_ingest([event(account, 1, value=7), event(account, 2)])
    assert sorted(UsageEvent.objects.values_list("event_id", "value")) == [("e-1", 5), ("e-2", 1)]
    assert rollup() == recomputed()


def test_a_user_posts_only_for_the_accounts_they_see():
    team = TeamFactory()
    manager = UserFactory(role="manager", team=team)
    mine = AccountFactory(csm=UserFactory(team=team))
    theirs = AccountFactory()
    with pytest.raises(UsageEventsInvalid) as caught:
        usage_events_ingest([event(mine, 1), event(theirs, 2)], by=manager)
    assert caught.value.errors == [{"index": 1, "account_external_id": ["Unknown account."]}]
    assert usage_events_ingest([event(mine, 1)], by=manager).accepted == 1


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"null", b'"events"', b'{"events": []}', b"\xff\xfe\x00", b"[" * 100_000 + b"]" * 100_000],
)
def test_a_body_that_is_not_a_json_list_is_refused(body):
    with pytest.raises(UsageEventsInvalid) as caught:
        usage_events_ingest_json(body)
    assert list(caught.value.errors[0]) == ["non_field_errors"]


def test_an_empty_list_stores_nothing():
    result = usage_events_ingest_json(b"[]")
    assert (result.accepted, result.duplicates) == (0, 0)
