"""A real Celery worker scores health: events posted through the API are scored again by
the debounced task, then a recompute asked through the API is polled on its status URL
until the worker has scored the account, and the explained score reads the new figures."""

import datetime as dt
import time

import pytest
from django.core.cache import cache
from django.utils import timezone

from cs_platform.celery import app as celery_app
from health.models import HealthScore
from tests.conftest import api_as
from tests.factories import AccountFactory, SubscriptionFactory
from tests.platform.test_worker import worker_queue  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def health_on_worker(worker_queue, settings):  # noqa: F811
    """Send the health task to the test worker's own queue; a short debounce."""
    settings.HEALTH_DEBOUNCE_SECONDS = 1
    cache.clear()  # no debounce key left by an earlier test
    routes = celery_app.conf.task_routes
    celery_app.conf.task_routes = {"health.tasks.health_score_task": {"queue": worker_queue}}
    _reroute()
    yield worker_queue
    celery_app.conf.task_routes = routes
    _reroute()


def _reroute():
    """Celery caches its router; make it read task_routes again."""
    celery_app.amqp.flush_routes()
    celery_app.amqp.__dict__.pop("router", None)


def _poll(url, client, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(url).json()
        if body["state"] in ("SUCCESS", "FAILURE"):
            return body
        time.sleep(0.5)
    pytest.fail(f"the scoring task did not finish in {timeout} s: {body}")


def test_post_events_recompute_poll_and_read_the_new_score(health_on_worker, integration):
    client = api_as(integration)
    account = AccountFactory(external_id="ACME-1")
    SubscriptionFactory(account=account, quantity=4)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    noon = dt.datetime.combine(yesterday, dt.time(12), tzinfo=timezone.get_default_timezone())
    events = [
        {
            "account_external_id": "ACME-1",
            "event_type": "report_viewed",
            "occurred_at": (noon + dt.timedelta(minutes=i)).isoformat(),
            "user_id": f"u{i % 2}",
            "event_id": f"w-{i}",
        }
        for i in range(12)
    ]
    answer = client.post("/api/v1/usage-events/bulk/", events, format="json")
    assert answer.status_code == 201, answer.content
    assert answer.json() == {"accepted": 12, "duplicates": 0}

    # Debounced: the events were of yesterday, so today's score is computed again shortly.
    deadline = time.monotonic() + 60
    while not HealthScore.objects.filter(account=account, as_of=timezone.localdate()).exists():
        assert time.monotonic() < deadline, "the debounced scoring did not run"
        time.sleep(0.5)

    started = client.post("/api/v1/health/recompute/", {}, format="json")
    assert started.status_code == 202, started.content
    body = started.json()
    assert set(body) == {"task_id", "status_url"} and body["task_id"] in body["status_url"]
    status = _poll(body["status_url"], client)
    assert status["state"] == "SUCCESS"
    assert status["accounts_scored"] == 1

    health = client.get(f"/api/v1/accounts/{account.pk}/health/").json()
    assert health["as_of"] == timezone.localdate().isoformat()
    assert 0 <= health["score"] <= 100 and health["band"] in ("green", "yellow", "red")
    usage = {c["measure"]: c for c in health["components"]}["usage_per_seat"]
    assert usage["raw_value"] == 3.0  # 12 events over 4 seats in the last 30 days
    assert HealthScore.objects.filter(account=account).count() == 1  # re-running the date replaced it


def test_recompute_of_a_past_date_is_a_backtest(health_on_worker, integration):
    client = api_as(integration)
    account = AccountFactory()
    SubscriptionFactory(account=account, start_date=timezone.localdate() - dt.timedelta(days=400))
    as_of = timezone.localdate() - dt.timedelta(days=100)
    started = client.post("/api/v1/health/recompute/", {"as_of": as_of.isoformat()}, format="json")
    assert started.status_code == 202
    status = _poll(started.json()["status_url"], client)
    assert status == {"state": "SUCCESS", "accounts_scored": 1, "as_of": as_of.isoformat()}
    assert HealthScore.objects.get(account=account).as_of == as_of
