"""The daily task that flags handovers waiting too long for review."""

import datetime as dt

import pytest

from cs_platform.celery import app
from handover.models import Handover
from handover.services import handover_submit
from handover.tasks import handovers_flag_overdue_task
from people.models import Notification
from tests.factories import AccountFactory
from tests.handover.helpers import complete_handover

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(team, sales, manager):
    account = AccountFactory(csm=None, team=team, sales_owner=sales, lifecycle_stage="handover")
    handover = handover_submit(handover=complete_handover(account=account, sales_owner=sales), by=sales)
    Handover.objects.filter(pk=handover.pk).update(submitted_at=dt.datetime(2026, 11, 16, 9, 0, tzinfo=dt.UTC))
    return handover


def test_the_task_flags_an_overdue_handover_once(submitted, manager, settings):
    settings.HANDOVER_REVIEW_DAYS = 3
    assert handovers_flag_overdue_task("2026-11-19") == {"flagged": 0}  # three business days: not yet
    assert handovers_flag_overdue_task("2026-11-20") == {"flagged": 1}
    assert handovers_flag_overdue_task("2026-11-23") == {"flagged": 0}  # a second run tells nobody again
    assert Notification.objects.filter(user=manager, message__contains="business days").count() == 1
    assert Handover.objects.get().overdue_flagged_at is not None


def test_the_task_runs_through_celery_with_today_by_default(submitted, manager):
    result = handovers_flag_overdue_task.apply()
    assert result.successful() and result.result == {"flagged": 1}


def test_the_task_is_scheduled_on_weekday_mornings():
    entry = app.conf.beat_schedule["handovers-overdue"]
    assert entry["task"] == handovers_flag_overdue_task.name
    schedule = entry["schedule"]
    assert schedule.day_of_week == {1, 2, 3, 4, 5} and schedule.hour == {8}
