import datetime as dt

import pytest

from accounts.models import Account
from accounts.tasks import account_tiers_refresh_task
from cs_platform.celery import app
from tests.factories import AccountFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_tier_task_follows_arr_and_is_safe_to_repeat(settings):
    settings.ACCOUNT_TIER_THRESHOLDS = {"strategic": 1_000_000, "key": 200_000}
    big = AccountFactory(tier=Account.Tier.STANDARD)
    SubscriptionFactory(account=big, mrr=100_000, start_date=dt.date(2026, 1, 1), end_date=None)
    small = AccountFactory(tier=Account.Tier.STRATEGIC)
    SubscriptionFactory(account=small, mrr=1_000, start_date=dt.date(2026, 1, 1), end_date=None)

    assert account_tiers_refresh_task("2026-11-23") == {"as_of": "2026-11-23", "changed": 2}
    assert account_tiers_refresh_task("2026-11-23")["changed"] == 0
    big.refresh_from_db(), small.refresh_from_db()
    assert (big.tier, small.tier) == (Account.Tier.STRATEGIC, Account.Tier.STANDARD)


def test_tier_refresh_is_on_the_beat_schedule():
    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "accounts.tasks.account_tiers_refresh_task" in tasks
