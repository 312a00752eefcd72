import datetime as dt

import pytest
from django.utils import timezone

from health.models import Alert, HealthScore, UsageDaily
from health.services import alert_raise, alert_set_status, band_for, health_scores_record, usage_rollup
from tests.factories import AccountFactory, AlertFactory, HealthScoreFactory, UsageEventFactory

pytestmark = pytest.mark.django_db


def test_rollup_counts_events_values_and_distinct_users_per_day_and_type():
    account = AccountFactory()
    now = timezone.now()
    UsageEventFactory(account=account, user_id="a", value=2, occurred_at=now)
    UsageEventFactory(account=account, user_id="a", value=3, occurred_at=now)
    UsageEventFactory(account=account, user_id="b", value=1, occurred_at=now)
    UsageEventFactory(account=account, event_type="export", user_id="b", occurred_at=now)
    UsageEventFactory(account=account, occurred_at=now - dt.timedelta(days=10))  # outside the window

    today = timezone.localdate()
    assert usage_rollup(day_from=today, day_to=today) == 2
    login = UsageDaily.objects.get(account=account, event_type="login")
    assert (login.day, login.events, login.value_sum, login.distinct_users) == (today, 3, 6, 2)

    UsageEventFactory(account=account, user_id="c", occurred_at=now)
    usage_rollup(day_from=today, day_to=today)  # re-running replaces, never adds twice
    login.refresh_from_db()
    assert (login.events, login.distinct_users) == (4, 3)
    assert UsageDaily.objects.count() == 2


def test_recording_scores_replaces_the_same_date_and_sets_the_current_band():
    account = AccountFactory()
    today = timezone.localdate()
    health_scores_record(as_of=today, scores={account.pk: (35, [])})
    health_scores_record(as_of=today, scores={account.pk: (72, [{"measure": "logins", "score": 72}])})
    assert HealthScore.objects.get().score == 72
    account.refresh_from_db()
    assert (account.health_score, account.health_band) == (72, "green")


def test_backfilled_scores_do_not_touch_the_current_band():
    account = AccountFactory(health_score=80, health_band="green")
    health_scores_record(as_of=timezone.localdate() - dt.timedelta(days=30), scores={account.pk: (10, [])})
    account.refresh_from_db()
    assert account.health_band == "green"


@pytest.mark.parametrize(
    ("score", "band"), [(100, "green"), (70, "green"), (69, "yellow"), (40, "yellow"), (39, "red")]
)
def test_default_bands(score, band):
    assert band_for(score) == band


def test_same_alert_never_opens_twice_but_can_reopen_after_resolution():
    account = AccountFactory()
    first, created = alert_raise(account=account, type="health_drop", severity="high", reason="Score fell 30 points")
    again, created_again = alert_raise(account=account, type="health_drop", severity="high", reason="again")
    assert created and not created_again and again == first
    alert_set_status(alert=first, status="resolved")
    _, reopened = alert_raise(account=account, type="health_drop", severity="high", reason="fell again")
    assert reopened and Alert.objects.count() == 2


@pytest.mark.parametrize("size", [1, 20])
def test_health_panel_and_alert_pages_query_counts(client, csm, size, django_assert_max_num_queries, query_budget):
    account = AccountFactory(csm=csm)
    for i in range(size):
        HealthScoreFactory(account=account, as_of=timezone.localdate() - dt.timedelta(days=i), score=50 + i)
        AlertFactory(account=AccountFactory(csm=csm), type="no_recent_touch")
    client.force_login(csm)
    with django_assert_max_num_queries(query_budget("health:account_panel")):
        panel = client.get(f"/health/account/{account.pk}/panel/")
    assert panel.context["latest"].score == 50 and len(panel.context["chart"]["scores"]) == size
    with django_assert_max_num_queries(query_budget("health:alert_list")):
        assert client.get("/health/alerts/").context["page"].paginator.count == size
    with django_assert_max_num_queries(query_budget("health:my_alerts")):
        assert len(client.get("/health/alerts/mine/").context["alerts"]) == min(size, 10)


def test_csm_sees_alerts_of_own_accounts_in_my_work_manager_sees_team(client, csm, teammate, manager):
    AlertFactory(account=AccountFactory(csm=csm, name="Mine"))
    AlertFactory(account=AccountFactory(csm=teammate, name="Theirs"))
    client.force_login(csm)
    assert [a.account.name for a in client.get("/health/alerts/mine/").context["alerts"]] == ["Mine"]
    client.force_login(manager)
    assert {a.account.name for a in client.get("/health/alerts/mine/").context["alerts"]} == {"Mine", "Theirs"}
