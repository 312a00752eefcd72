"""POST /api/v1/usage-events/bulk/ (api-contract.md, "Usage events")."""

import json

import pytest
from rest_framework.test import APIClient

from health.models import EventType, UsageDaily, UsageEvent
from tests.conftest import api_as
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/usage-events/bulk/"


def events(account, count=3, first=0, **overrides):
    return [
        {
            "account_external_id": account.external_id,
            "event_type": "login",
            "occurred_at": "2025-03-01T09:30:00Z",
            "user_id": f"u{n % 2}",
            "value": 1,
            "event_id": f"evt-{n}",
            **overrides,
        }
        for n in range(first, first + count)
    ]


def post(client, payload, **extra):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.generic("POST", URL, body, content_type=extra.pop("content_type", "application/json"), **extra)


def test_an_integration_user_posts_events_and_reposting_counts_duplicates(integration):
    account = AccountFactory()
    client = api_as(integration)
    first = post(client, events(account, 3))
    assert first.status_code == 201
    assert first.json() == {"accepted": 3, "duplicates": 0}
    again = post(client, events(account, 4))  # three seen before, one new
    assert again.status_code == 201
    assert again.json() == {"accepted": 1, "duplicates": 3}
    assert UsageEvent.objects.count() == 4
    daily = UsageDaily.objects.get()
    assert (daily.events, daily.value_sum, daily.distinct_users) == (4, 4.0, 2)
    assert list(EventType.objects.values_list("name", flat=True)) == ["login"]


def test_an_admin_may_post(admin_user):
    account = AccountFactory()
    response = post(api_as(admin_user), events(account, 1))
    assert response.status_code == 201


def test_a_browser_session_of_an_admin_may_post(admin_user):
    client = APIClient(enforce_csrf_checks=False)
    client.force_login(admin_user)
    assert post(client, events(AccountFactory(), 1)).status_code == 201


@pytest.mark.parametrize("who", ["csm", "manager", "sales"])
def test_people_who_are_not_integrations_or_admins_get_403(request, who):
    account = AccountFactory()
    response = post(api_as(request.getfixturevalue(who)), events(account, 1))
    assert response.status_code == 403
    assert not UsageEvent.objects.exists()


def test_anonymous_gets_401():
    response = post(APIClient(), events(AccountFactory(), 1))
    assert response.status_code == 401


def test_an_invalid_event_rejects_the_whole_list_naming_index_and_field(integration):
    account = AccountFactory()
    payload = events(account, 50)
    payload[7]["occurred_at"] = "not a time"
    payload[31]["account_external_id"] = "NOPE"
    del payload[40]["event_id"]
    response = post(api_as(integration), payload)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {"index": 7, "occurred_at": ["Enter a timestamp in ISO 8601, e.g. 2025-03-01T09:30:00Z."]},
            {"index": 31, "account_external_id": ["Unknown account."]},
            {"index": 40, "event_id": ["This field is required."]},
        ]
    }
    assert not UsageEvent.objects.exists() and not UsageDaily.objects.exists() and not EventType.objects.exists()


def test_more_than_ten_thousand_events_get_400(integration):
    account = AccountFactory()
    response = post(api_as(integration), events(account, 10_001))
    assert response.status_code == 400
    assert list(response.json()["errors"][0]) == ["non_field_errors"]
    assert not UsageEvent.objects.exists()


def test_ten_thousand_events_are_accepted_beyond_djangos_upload_limit(integration, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000  # the view reads the body itself, up to its own cap
    account = AccountFactory()
    response = post(api_as(integration), events(account, 10_000))
    assert response.status_code == 201, response.content[:300]
    assert response.json() == {"accepted": 10_000, "duplicates": 0}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"null",
        b"42",
        b'"events"',
        b'{"events": []}',
        b"\xff\xfe\xfa",
        b"[" * 50_000 + b"]" * 50_000,
        b"[1, 2, 3]",
        b"[null]",
        b"[[]]",
        b'[{"event_id": {"a": 1}}]',
        b'[{"account_external_id": "\\u0000", "event_type": "\\ud800", "occurred_at": "2025-03-01T00:00:00Z",'
        b' "event_id": "x"}]',
        b'[{"account_external_id": "A", "event_type": "t", "occurred_at": "+275760-09-13T00:00:00Z",'
        b' "event_id": "x", "value": NaN}]',
        b'[{"account_external_id": "A", "event_type": "t", "occurred_at": "2025-03-01T00:00:00+25:00",'
        b' "event_id": "x", "value": 1e999}]',
        b'[{"account_external_id": "A", "event_type": "t", "occurred_at": "0001-01-01T00:00:00-12:00",'
        b' "event_id": "x", "value": 123456789012345678901234567890}]',
        b'[{"account_external_id": true, "event_type": [], "occurred_at": 5, "user_id": 1.5, "value": "1",'
        b' "event_id": false}]',
    ],
)
def test_garbage_bodies_get_400_never_500(integration, body):
    response = post(api_as(integration), body)
    assert response.status_code == 400, response.content[:300]
    assert response.json()["errors"]
    assert not UsageEvent.objects.exists()


def test_a_body_that_is_not_json_gets_415(integration):
    response = post(api_as(integration), b"a,b,c", content_type="text/csv")
    assert response.status_code == 415
    assert not UsageEvent.objects.exists()


def test_an_oversized_body_gets_400(integration, monkeypatch):
    monkeypatch.setattr("health.ingest.MAX_BODY_BYTES", 100)
    monkeypatch.setattr("health.api.usage.MAX_BODY_BYTES", 100)
    response = post(api_as(integration), events(AccountFactory(), 5))
    assert response.status_code == 400
    assert "larger" in response.json()["errors"][0]["non_field_errors"][0]


def test_the_request_costs_a_fixed_number_of_queries(integration, django_assert_max_num_queries):
    account = AccountFactory()
    client = api_as(integration)
    post(client, events(account, 1))  # registers the type
    with django_assert_max_num_queries(14) as small:
        post(client, events(account, 10, first=100))
    with django_assert_max_num_queries(len(small)):
        assert post(client, events(account, 2000, first=1000)).status_code == 201
