"""Late usage events schedule one rescoring per account per debounce window."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone

from health.ingest import usage_events_ingest
from health.tasks import health_score_soon
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


def test_an_account_already_waiting_is_not_queued_again(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        assert health_score_soon([1, 2, 2]) == 2
        assert health_score_soon([2, 3]) == 1
    assert len(queued) == 2  # one task per call that found new accounts, after commit


def test_only_events_of_earlier_days_reschedule_scoring(django_capture_on_commit_callbacks):
    account = AccountFactory()
    now = timezone.now()
    today = {"account_external_id": account.external_id, "event_type": "login", "occurred_at": now.isoformat()}
    with django_capture_on_commit_callbacks() as queued:
        usage_events_ingest([{**today, "event_id": "t1"}])
    assert queued == []  # today's events count from tomorrow's score
    yesterday = (now - dt.timedelta(days=1)).isoformat()
    with django_capture_on_commit_callbacks() as queued:
        usage_events_ingest([{**today, "occurred_at": yesterday, "event_id": "y1"}])
        usage_events_ingest([{**today, "occurred_at": yesterday, "event_id": "y2"}])
    assert len(queued) == 1  # the second batch found the account already waiting
