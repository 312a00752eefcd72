import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import AccountStageChange
from health.models import Alert
from health.services import alert_raise, alert_set_status
from playbooks.models import Playbook, PlaybookRun, Task
from playbooks.services.triggers import playbook_launch_for_trigger, playbooks_fire
from tests.factories import (
    AccountFactory,
    HealthScoreFactory,
    PlaybookFactory,
    PlaybookStepFactory,
    RenewalFactory,
    TaskFactory,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 18)


def _playbook(trigger: str, value: str, steps: int = 2) -> Playbook:
    playbook = PlaybookFactory(trigger=trigger, trigger_value=value)
    for i in range(steps):
        PlaybookStepFactory(playbook=playbook, title=f"{trigger} step {i}", offset_days=i * 2)
    return playbook


def _launched() -> list[tuple[str, str, str]]:
    return sorted(PlaybookRun.objects.values_list("playbook__trigger", "account__name", "occurrence"))


def test_stage_entered_fires_once_per_stage_change(csm):
    _playbook("stage_entered", "onboarding")
    account = AccountFactory(csm=csm, name="Acme", lifecycle_stage="onboarding")
    change = AccountStageChange.objects.create(account=account, from_stage="kickoff", to_stage="onboarding")
    AccountStageChange.objects.create(account=AccountFactory(csm=csm), from_stage="adoption", to_stage="mature")
    stale = AccountStageChange.objects.create(account=AccountFactory(csm=csm), to_stage="onboarding")
    AccountStageChange.objects.filter(pk=stale.pk).update(changed_at=timezone.now() - dt.timedelta(days=9))
    today = timezone.localdate()

    first = playbooks_fire(today=today)
    second = playbooks_fire(today=today)

    assert first["launched"]["stage_entered"] == 1 and second["launched"]["stage_entered"] == 0
    assert _launched() == [("stage_entered", "Acme", f"stage:{change.pk}")]
    assert sorted(Task.objects.values_list("title", "due_date", "owner", "source")) == [
        ("stage_entered step 0", today, csm.pk, "playbook"),
        ("stage_entered step 1", today + dt.timedelta(days=2), csm.pk, "playbook"),
    ]


def test_renewal_n_days_away_fires_once_per_renewal(csm):
    _playbook("renewal_due", "60")
    near = RenewalFactory(account=AccountFactory(csm=csm, name="Near"), due_date=TODAY + dt.timedelta(days=45))
    RenewalFactory(account=AccountFactory(csm=csm, name="Far"), due_date=TODAY + dt.timedelta(days=70))
    RenewalFactory(account=AccountFactory(csm=csm, name="Past"), due_date=TODAY)
    RenewalFactory(account=AccountFactory(csm=csm, name="Done"), due_date=TODAY + dt.timedelta(days=5), stage="renewed")
    RenewalFactory(account=AccountFactory(csm=None, team=None, name="Orphan"), due_date=TODAY + dt.timedelta(days=5))

    assert playbooks_fire(today=TODAY)["launched"]["renewal_due"] == 1
    assert playbooks_fire(today=TODAY + dt.timedelta(days=1))["launched"]["renewal_due"] == 0
    assert _launched() == [("renewal_due", "Near", f"renewal:{near.pk}")]
    assert Task.objects.count() == 2


def test_health_turned_red_fires_once_for_the_day_it_turned(csm):
    _playbook("health_red", "")
    turned = AccountFactory(csm=csm, name="Turned", health_band="red")
    HealthScoreFactory(account=turned, as_of=TODAY - dt.timedelta(days=1), band="yellow", score=55)
    HealthScoreFactory(account=turned, as_of=TODAY, band="red", score=35)
    always = AccountFactory(csm=csm, name="Always red", health_band="red")
    HealthScoreFactory(account=always, as_of=TODAY - dt.timedelta(days=1), band="red", score=30)
    HealthScoreFactory(account=always, as_of=TODAY, band="red", score=30)
    recovered = AccountFactory(csm=csm, name="Recovered", health_band="green")
    HealthScoreFactory(account=recovered, as_of=TODAY - dt.timedelta(days=1), band="red", score=30)
    HealthScoreFactory(account=recovered, as_of=TODAY, band="green", score=80)

    assert playbooks_fire(today=TODAY)["launched"]["health_red"] == 1
    assert playbooks_fire(today=TODAY)["launched"]["health_red"] == 0
    # The next day it is still red: the same episode, nothing new.
    HealthScoreFactory(account=turned, as_of=TODAY + dt.timedelta(days=1), band="red", score=33)
    assert playbooks_fire(today=TODAY + dt.timedelta(days=1))["launched"]["health_red"] == 0
    assert _launched() == [("health_red", "Turned", f"health_red:{TODAY:%Y-%m-%d}")]


def test_alert_opened_launches_once_per_alert_through_alert_raise(csm):
    _playbook("alert_opened", Alert.Type.RENEWAL_RISK)
    _playbook("alert_opened", Alert.Type.PAYMENT_OVERDUE)
    account = AccountFactory(csm=csm, name="Acme")

    alert, created = alert_raise(account=account, type=Alert.Type.RENEWAL_RISK, severity="high", reason="Budget cut")
    again, created_again = alert_raise(account=account, type=Alert.Type.RENEWAL_RISK, severity="high", reason="Still")

    assert created and not created_again and again == alert
    assert _launched() == [("alert_opened", "Acme", f"alert:{alert.pk}")]
    assert Task.objects.count() == 2
    # A retry of the call health makes creates nothing either.
    assert (
        playbook_launch_for_trigger(
            trigger="alert_opened", value=alert.type, account=account, occurrence=f"alert:{alert.pk}"
        )
        == []
    )
    # Once resolved, a new alert of the type is a new occurrence.
    alert_set_status(alert=alert, status=Alert.Status.RESOLVED)
    new, _ = alert_raise(account=account, type=Alert.Type.RENEWAL_RISK, severity="high", reason="Again")
    assert PlaybookRun.objects.filter(occurrence=f"alert:{new.pk}").count() == 1


def test_inactive_and_manual_playbooks_never_fire(csm):
    _playbook("manual", "onboarding")
    inactive = _playbook("stage_entered", "onboarding")
    Playbook.objects.filter(pk=inactive.pk).update(is_active=False)
    AccountStageChange.objects.create(account=AccountFactory(csm=csm), to_stage="onboarding")
    assert sum(playbooks_fire(today=timezone.localdate())["launched"].values()) == 0
    assert not Task.objects.exists()


@pytest.mark.parametrize("size", [3, 30])
def test_trigger_scan_is_set_based(csm, size, django_assert_max_num_queries, query_budget):
    _playbook("stage_entered", "onboarding")
    _playbook("renewal_due", "30")
    _playbook("health_red", "")
    for _ in range(size):
        account = AccountFactory(csm=csm, health_band="red")
        AccountStageChange.objects.create(account=account, to_stage="onboarding")
        RenewalFactory(account=account, due_date=timezone.localdate() + dt.timedelta(days=10))
        HealthScoreFactory(account=account, as_of=timezone.localdate(), band="red", score=20)
        TaskFactory(account=account)
    playbooks_fire(today=timezone.localdate())
    assert PlaybookRun.objects.count() == 3 * size
    with django_assert_max_num_queries(query_budget("playbooks:triggers_scan")):
        assert sum(playbooks_fire(today=timezone.localdate())["launched"].values()) == 0
