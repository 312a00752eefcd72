"""Early-warning rules (health.alerts) and the alert services: each rule firing and not
firing at its boundaries, as_of cut-offs, one alert per account and type (also when two
workers evaluate at once), announcements, and status changes."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections
from django.utils import timezone, translation

from accounts.models import Account, Activity, Stakeholder
from health import alerts as health_alerts
from health.alerts import alerts_evaluate
from health.models import Alert, ScorecardVersion
from health.scorecards import active_version
from health.services import alert_raise, alert_set_status
from health.tasks import health_score_task
from people.models import Notification
from playbooks.models import PlaybookRun, TouchCadence
from renewals.models import Renewal
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    HealthScoreFactory,
    InvoiceFactory,
    PlaybookFactory,
    PlaybookStepFactory,
    RenewalFactory,
    StakeholderFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 11, 23)
T = Alert.Type


def days(n: int) -> dt.date:
    """The day n days before AS_OF (negative: after it)."""
    return AS_OF - dt.timedelta(days=n)


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_default_timezone())


def customer(started: int = 200, touched: int | None = 1, **kwargs) -> Account:
    """An account with a subscription active on AS_OF, started `started` days before it,
    and (unless None) a call `touched` days before it, so that only the rule a test sets
    up fires."""
    account = AccountFactory(**kwargs)
    SubscriptionFactory(account=account, start_date=days(started), end_date=days(-165))
    if touched is not None:
        ActivityFactory(account=account, kind=Activity.Kind.CALL, occurred_at=at(days(touched)))
    return account


def raised(type_: str) -> dict[str, Alert]:
    return {a.account.name: a for a in Alert.objects.filter(type=type_).select_related("account")}


@pytest.fixture
def no_cadence(db):
    """No touch cadence for any tier (migrations install a default set): 60 days apply."""
    TouchCadence.objects.all().delete()


def score(account, ago: int, value: int, band: str | None = None):
    band = band or ("green" if value >= 70 else "yellow" if value >= 40 else "red")
    return HealthScoreFactory(account=account, as_of=days(ago), score=value, band=band)


# ------------------------------------------------------------------ renewal_risk


def test_renewal_risk_fires_on_red_or_yellow_band_within_the_window(csm):
    red = customer(name="Red", csm=csm)
    score(red, 0, 34)
    RenewalFactory(account=red, due_date=days(-27), forecast_mrr=Decimal("8000"))
    yellow = customer(name="Yellow", csm=csm)
    score(yellow, 0, 55)
    RenewalFactory(account=yellow, due_date=days(-90))  # the last day of the window
    far = customer(name="Far", csm=csm)
    score(far, 0, 20)
    RenewalFactory(account=far, due_date=days(-91))
    green = customer(name="Green", csm=csm)
    score(green, 0, 85)
    RenewalFactory(account=green, due_date=days(-10))
    closed = customer(name="Closed", csm=csm)
    score(closed, 0, 20)
    RenewalFactory(account=closed, due_date=days(-10), stage=Renewal.Stage.RENEWED)
    past = customer(name="Past", csm=csm)
    score(past, 0, 20)
    RenewalFactory(account=past, due_date=days(1))

    alerts_evaluate(as_of=AS_OF)

    found = raised(T.RENEWAL_RISK)
    assert set(found) == {"Red", "Yellow"}
    assert found["Red"].severity == "high" and found["Yellow"].severity == "medium"
    assert found["Red"].reason == "Renewal of 96,000 CNY a year due on 2026-12-20 (in 27 days); health is red (34)"
    assert (
        found["Yellow"].reason == "Renewal of 12,000 CNY a year due on 2027-02-21 (in 90 days); health is yellow (55)"
    )
    assert found["Red"].owner == csm and found["Red"].as_of == AS_OF


def test_renewal_risk_fires_on_a_falling_trend_of_ten_points(csm):
    falling = customer(name="Falling", csm=csm)
    score(falling, 30, 82)
    score(falling, 0, 72)
    slipping = customer(name="Slipping", csm=csm)
    score(slipping, 30, 81)
    score(slipping, 0, 72)
    for account in (falling, slipping):
        RenewalFactory(account=account, due_date=days(-45))

    alerts_evaluate(as_of=AS_OF)

    found = raised(T.RENEWAL_RISK)
    assert set(found) == {"Falling"}
    assert found["Falling"].severity == "medium"
    assert found["Falling"].reason.endswith("; health fell from 82 to 72 in 30 days")


def test_renewal_risk_fires_high_when_the_decision_maker_left_and_none_replaced_them(csm):
    gone = customer(name="Gone", csm=csm)
    StakeholderFactory(account=gone, name="Wang Li", role="decision_maker", is_active=False, left_on=days(100))
    replaced = customer(name="Replaced", csm=csm)
    StakeholderFactory(account=replaced, role="decision_maker", is_active=False, left_on=days(100))
    StakeholderFactory(account=replaced, role="decision_maker")
    later = customer(name="Leaves later", csm=csm)  # still there on AS_OF
    StakeholderFactory(account=later, role="decision_maker", is_active=False, left_on=days(-5))
    for account in (gone, replaced, later):
        score(account, 0, 90)
        RenewalFactory(account=account, due_date=days(-60), forecast_mrr=0)

    alerts_evaluate(as_of=AS_OF)

    found = raised(T.RENEWAL_RISK)
    assert set(found) == {"Gone"}
    assert found["Gone"].severity == "high"
    assert found["Gone"].reason == (
        "Renewal due on 2027-01-22 (in 60 days); the decision maker Wang Li left on 2026-08-15"
    )


# ------------------------------------------------------------------ health_drop


def test_health_drop_compares_with_the_score_thirty_days_before(csm):
    for name, before, now in [("Drop", 78, 52), ("Exactly 15", 70, 55), ("Only 14", 70, 56), ("Rise", 40, 70)]:
        account = customer(name=name, csm=csm)
        score(account, 30, before)
        score(account, 0, now)
    nearest = customer(name="Nearest", csm=csm)  # no score on day 30: the nearest before it counts
    score(nearest, 33, 90)
    score(nearest, 29, 40)  # after the baseline day: not a baseline
    score(nearest, 0, 60)
    stale = customer(name="Stale", csm=csm)  # the only earlier score is too far back
    score(stale, 40, 90)
    score(stale, 0, 30)
    unscored = customer(name="Unscored today", csm=csm)
    score(unscored, 30, 90)
    score(unscored, 1, 30)

    alerts_evaluate(as_of=AS_OF)

    found = raised(T.HEALTH_DROP)
    assert set(found) == {"Drop", "Exactly 15", "Nearest"}
    assert found["Drop"].reason == "Health fell from 78 to 52 in 30 days"
    assert found["Nearest"].reason == "Health fell from 90 to 60 in 33 days"
    assert {a.severity for a in found.values()} == {"high"}


# ------------------------------------------------------------------ activation_overdue


def test_activation_overdue_after_ninety_days_without_activation(csm):
    version = active_version()  # the default scorecard: activation is active users per seat reaching a threshold
    ScorecardVersion.objects.filter(pk=version.pk).update(activation_threshold=0.1)
    customer(name="Late", csm=csm, started=90)
    customer(name="Not yet due", csm=csm, started=89)
    customer(name="Activated", csm=csm, started=120, activated_on=days(20))
    customer(name="Activated later", csm=csm, started=120, activated_on=days(-3))  # after AS_OF: not yet then

    alerts_evaluate(as_of=AS_OF)

    found = raised(T.ACTIVATION_OVERDUE)
    assert set(found) == {"Late", "Activated later"}
    assert found["Late"].severity == "medium"
    assert found["Late"].reason == (
        "Not activated 90 days after the first subscription started on 2026-08-25 (expected within 90 days: "
        "Active users per licensed seat, last 30 days reaching 0.1)"
    )


def test_activation_overdue_counts_from_the_first_subscription(csm):
    active_version()
    renewed = customer(name="Renewed", csm=csm, started=30)
    SubscriptionFactory(account=renewed, start_date=days(400), end_date=days(30))

    alerts_evaluate(as_of=AS_OF)

    assert "400 days" in raised(T.ACTIVATION_OVERDUE)["Renewed"].reason


def test_activation_overdue_is_silent_without_an_activation_measure(csm):
    version = active_version()
    version.activation_measure = ""
    version.save()
    customer(name="Late", csm=csm, started=300)

    alerts_evaluate(as_of=AS_OF)

    assert raised(T.ACTIVATION_OVERDUE) == {}


# ------------------------------------------------------------------ no_recent_touch


def test_no_recent_touch_without_cadence_waits_sixty_days(csm, no_cadence):
    customer(name="Quiet", csm=csm, touched=61)
    customer(name="Just in time", csm=csm, touched=60)
    emailed = customer(name="Only emails", csm=csm, touched=75)
    ActivityFactory(account=emailed, kind=Activity.Kind.EMAIL, occurred_at=at(days(2)))
    customer(name="Never", csm=csm, touched=None, started=70)
    customer(name="New", csm=csm, touched=None, started=20)

    alerts_evaluate(as_of=AS_OF)

    found = raised(T.NO_RECENT_TOUCH)
    assert set(found) == {"Quiet", "Only emails", "Never"}
    assert found["Quiet"].severity == "low"
    assert found["Quiet"].reason == (
        "No touch for 61 days (last on 2026-09-23; the standard tier expects one every 60 days)"
    )
    assert found["Never"].reason == (
        "No touch since the first subscription started on 2026-09-14, 70 days ago "
        "(the standard tier expects one every 60 days)"
    )


def test_no_recent_touch_follows_the_tiers_shortest_cadence(csm, no_cadence):
    TouchCadence.objects.create(tier="strategic", kind="check_in", period="month", title="Monthly check-in")
    TouchCadence.objects.create(tier="strategic", kind="business_review", period="quarter", title="QBR")
    TouchCadence.objects.create(tier="key", kind="check_in", period="week", title="Weekly", is_active=False)
    customer(name="Strategic late", csm=csm, tier="strategic", touched=32)
    customer(name="Strategic fine", csm=csm, tier="strategic", touched=31)
    customer(name="Key, cadence off", csm=csm, tier="key", touched=45)

    alerts_evaluate(as_of=AS_OF)

    found = raised(T.NO_RECENT_TOUCH)
    assert set(found) == {"Strategic late"}
    assert found["Strategic late"].severity == "medium"
    assert "the strategic tier expects one every 31 days" in found["Strategic late"].reason


def test_a_touch_on_as_of_itself_is_not_yet_seen(csm, no_cadence):
    account = customer(name="Late call", csm=csm, touched=61)
    ActivityFactory(account=account, kind=Activity.Kind.MEETING, occurred_at=at(AS_OF, 0))

    alerts_evaluate(as_of=AS_OF)

    assert set(raised(T.NO_RECENT_TOUCH)) == {"Late call"}


# ------------------------------------------------------------------ payment_overdue


def test_payment_overdue_after_fifteen_days_grace(csm):
    InvoiceFactory(account=customer(name="Late", csm=csm), number="INV-123", due_date=days(40))
    InvoiceFactory(account=customer(name="Grace", csm=csm), due_date=days(15))
    InvoiceFactory(account=customer(name="Day 16", csm=csm), due_date=days(16))
    InvoiceFactory(account=customer(name="Paid", csm=csm), due_date=days(40), paid_on=days(3))
    InvoiceFactory(account=customer(name="Paid on as_of", csm=csm), due_date=days(40), paid_on=AS_OF)
    InvoiceFactory(account=customer(name="Very late", csm=csm), due_date=days(61))
    InvoiceFactory(account=customer(name="Two months", csm=csm), due_date=days(60))

    alerts_evaluate(as_of=AS_OF)

    found = raised(T.PAYMENT_OVERDUE)
    assert set(found) == {"Late", "Day 16", "Paid on as_of", "Very late", "Two months"}
    assert found["Late"].reason == "Invoice INV-123 of 12,000.00 CNY is 40 days overdue"
    assert found["Late"].severity == "medium" and found["Two months"].severity == "medium"
    assert found["Very late"].severity == "high"


def test_payment_overdue_names_the_oldest_invoice_and_the_total(csm):
    account = customer(name="Several", csm=csm)
    InvoiceFactory(account=account, number="INV-2", due_date=days(20), amount=Decimal("5000"))
    InvoiceFactory(account=account, number="INV-1", due_date=days(70), paid_amount=Decimal("2000"))

    alerts_evaluate(as_of=AS_OF)

    alert = raised(T.PAYMENT_OVERDUE)["Several"]
    assert alert.severity == "high"
    assert alert.reason == (
        "Invoice INV-1 of 12,000.00 CNY is 70 days overdue; 2 invoices overdue, 15,000.00 CNY outstanding"
    )


# ------------------------------------------------------------------ stakeholder_left


def test_stakeholder_left_within_thirty_days(csm):
    def left(name, role, ago, title="CIO"):
        account = customer(name=name, csm=csm)
        StakeholderFactory(account=account, name=f"{name} person", title=title, role=role, is_active=False,
                           left_on=days(ago))  # fmt: skip
        StakeholderFactory(account=account, role="decision_maker")  # a successor: no renewal risk anyway

    left("Decider", "decision_maker", 30)
    left("Long ago", "decision_maker", 31)
    left("Champion", "champion", 5, title="")
    left("Sponsor", "executive_sponsor", 1)
    left("User", "end_user", 3)
    left("Today", "decision_maker", 0)

    alerts_evaluate(as_of=AS_OF)

    found = raised(T.STAKEHOLDER_LEFT)
    assert set(found) == {"Decider", "Champion", "Sponsor"}
    assert found["Decider"].severity == "high" and found["Champion"].severity == "medium"
    assert found["Decider"].reason == "Decider person (CIO), the decision maker, left on 2026-10-24 (30 days ago)"
    assert found["Champion"].reason == "Champion person, the champion, left on 2026-11-18 (5 days ago)"
    assert found["Sponsor"].reason == "Sponsor person (CIO), the executive sponsor, left on 2026-11-22 (1 day ago)"


# ------------------------------------------------------------------ scope, as_of, idempotency


def test_only_active_not_churned_accounts_and_only_the_ids_asked_for(csm):
    InvoiceFactory(account=customer(name="Active", csm=csm), due_date=days(40))
    InvoiceFactory(account=customer(name="Other", csm=csm), due_date=days(40))
    InvoiceFactory(account=customer(name="Churned", csm=csm, lifecycle_stage="churned"), due_date=days(40))
    ended = AccountFactory(name="Ended", csm=csm)
    SubscriptionFactory(account=ended, start_date=days(400), end_date=AS_OF)  # not active on AS_OF
    InvoiceFactory(account=ended, due_date=days(40))
    future = AccountFactory(name="Future", csm=csm)
    SubscriptionFactory(account=future, start_date=days(-1), end_date=None)
    InvoiceFactory(account=future, due_date=days(40))

    assert alerts_evaluate(as_of=AS_OF, account_ids=[Account.objects.get(name="Active").pk])[T.PAYMENT_OVERDUE] == 1
    assert set(raised(T.PAYMENT_OVERDUE)) == {"Active"}
    alerts_evaluate(as_of=AS_OF)
    assert set(raised(T.PAYMENT_OVERDUE)) == {"Active", "Other"}


def test_as_of_decides_what_is_known(csm):
    account = customer(name="Acme", csm=csm)
    InvoiceFactory(account=account, due_date=days(20))

    assert alerts_evaluate(as_of=days(5))[T.PAYMENT_OVERDUE] == 0  # then only 15 days overdue
    assert alerts_evaluate(as_of=AS_OF)[T.PAYMENT_OVERDUE] == 1
    assert Alert.objects.get(type=T.PAYMENT_OVERDUE).as_of == AS_OF


def test_a_second_run_creates_nothing_and_returns_zero_counts(csm, no_cadence):
    account = customer(name="Acme", csm=csm, touched=80)
    InvoiceFactory(account=account, due_date=days(40))

    first = alerts_evaluate(as_of=AS_OF)
    second = alerts_evaluate(as_of=AS_OF + dt.timedelta(days=1))

    assert first == {**dict.fromkeys(T.values, 0), "no_recent_touch": 1, "payment_overdue": 1}
    assert second == dict.fromkeys(T.values, 0)
    assert Alert.objects.count() == 2


def test_an_acknowledged_alert_still_blocks_a_new_one_and_a_resolved_one_lets_it_fire_again(csm):
    account = customer(name="Acme", csm=csm)
    InvoiceFactory(account=account, due_date=days(40))
    alerts_evaluate(as_of=AS_OF)
    first = Alert.objects.get()

    alert_set_status(alert=first, status="acknowledged", by=csm)
    assert alerts_evaluate(as_of=AS_OF)[T.PAYMENT_OVERDUE] == 0
    alert_set_status(alert=first, status="resolved", by=csm, resolution="Promised to pay Friday")
    assert alerts_evaluate(as_of=AS_OF)[T.PAYMENT_OVERDUE] == 1

    assert Alert.objects.filter(status="open").exclude(pk=first.pk).count() == 1


def test_reasons_are_written_in_the_platform_language_whatever_is_active(csm, settings):
    settings.LANGUAGE_CODE = "en"
    InvoiceFactory(account=customer(name="Acme", csm=csm), number="INV-9", due_date=days(40))

    with translation.override("zh-hans"):
        alerts_evaluate(as_of=AS_OF)

    assert Alert.objects.get().reason.startswith("Invoice INV-9 of 12,000.00 CNY")


def test_the_daily_scoring_task_evaluates_the_rules_and_reports_what_it_raised(csm):
    today = timezone.localdate()
    account = AccountFactory(name="Acme", csm=csm)
    SubscriptionFactory(account=account, start_date=today - dt.timedelta(days=30), end_date=None)
    ActivityFactory(account=account, occurred_at=at(today - dt.timedelta(days=2)))
    InvoiceFactory(account=account, due_date=today - dt.timedelta(days=40))

    result = health_score_task.apply().get()

    assert result["accounts_scored"] == 1
    assert result["alerts_raised"]["payment_overdue"] == 1
    assert Alert.objects.get(type=T.PAYMENT_OVERDUE).as_of == today


# ------------------------------------------------------------------ announcements


def test_new_alerts_notify_their_owner_in_the_app_and_by_email(csm, django_capture_on_commit_callbacks):
    InvoiceFactory(account=customer(name="Acme", csm=csm), number="INV-1", due_date=days(40))
    nobody = customer(name="Unowned", csm=None)
    InvoiceFactory(account=nobody, due_date=days(40))

    with django_capture_on_commit_callbacks(execute=True):
        alerts_evaluate(as_of=AS_OF)

    acme = Account.objects.get(name="Acme")
    note = Notification.objects.get()
    assert note.user == csm and note.url == f"/accounts/{acme.pk}/"
    assert note.message == "Payment overdue at Acme: Invoice INV-1 of 12,000.00 CNY is 40 days overdue"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [csm.email]
    assert mail.outbox[0].subject == "Early warning: Payment overdue at Acme"

    with django_capture_on_commit_callbacks(execute=True):
        alerts_evaluate(as_of=AS_OF)  # nothing new, nobody told again
    assert Notification.objects.count() == 1 and len(mail.outbox) == 1


def test_several_new_alerts_reach_their_owner_as_one_notification(csm, no_cadence, django_capture_on_commit_callbacks):
    InvoiceFactory(account=customer(name="Acme", csm=csm, touched=70), due_date=days(40))
    InvoiceFactory(account=customer(name="Beta", csm=csm), due_date=days(40))

    with django_capture_on_commit_callbacks(execute=True):
        alerts_evaluate(as_of=AS_OF)

    note = Notification.objects.get(user=csm)
    assert note.message.startswith("3 new early warnings on your accounts: ")
    assert "Acme (No recent touch)" in note.message and "Beta (Payment overdue)" in note.message
    assert "more" not in note.message
    assert note.url == "/health/alerts/?mine=on"
    assert len(mail.outbox) == 1


def test_a_new_alert_launches_its_playbook_once(csm):
    playbook = PlaybookFactory(trigger="alert_opened", trigger_value=T.PAYMENT_OVERDUE)
    PlaybookStepFactory(playbook=playbook, title="Call finance")
    PlaybookFactory(trigger="alert_opened", trigger_value=T.HEALTH_DROP)
    account = customer(name="Acme", csm=csm)
    InvoiceFactory(account=account, due_date=days(40))

    alerts_evaluate(as_of=AS_OF)
    alerts_evaluate(as_of=AS_OF)

    alert = Alert.objects.get(type=T.PAYMENT_OVERDUE)
    assert list(PlaybookRun.objects.values_list("playbook", "account", "occurrence")) == [
        (playbook.pk, account.pk, f"alert:{alert.pk}")
    ]


def test_alert_raise_sets_the_owner_and_announces_once(csm, django_capture_on_commit_callbacks):
    account = AccountFactory(name="Acme", csm=csm)

    with django_capture_on_commit_callbacks(execute=True):
        alert, created = alert_raise(account=account, type=T.HEALTH_DROP, severity="high", reason="Fell", as_of=AS_OF)
        again, created_again = alert_raise(account=account, type=T.HEALTH_DROP, severity="high", reason="Still")

    assert created and not created_again and again == alert
    assert (alert.owner, alert.as_of, alert.status) == (csm, AS_OF, "open")
    assert Notification.objects.filter(user=csm).count() == 1 and len(mail.outbox) == 1


# ------------------------------------------------------------------ status changes


def test_acknowledge_then_resolve_keeps_who_and_when(csm):
    alert = Alert.objects.create(account=AccountFactory(csm=csm), type=T.HEALTH_DROP, reason="Fell")

    alert_set_status(alert=alert, status="acknowledged", by=csm)
    alert_set_status(alert=alert, status="resolved", by=csm, resolution="  Workshop held  ")

    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.resolution == "Workshop held"
    assert alert.acknowledged_by == csm and alert.resolved_by == csm
    assert alert.acknowledged_at <= alert.resolved_at


@pytest.mark.parametrize(
    ("start", "to", "resolution", "field"),
    [
        ("resolved", "open", "", "status"),
        ("resolved", "acknowledged", "", "status"),
        ("acknowledged", "open", "", "status"),
        ("open", "closed", "", "status"),
        ("open", "acknowledged", "A note", "resolution"),
        ("resolved", "resolved", "A later note", "resolution"),
    ],
)
def test_bad_status_changes_are_refused(csm, start, to, resolution, field):
    alert = Alert.objects.create(account=AccountFactory(csm=csm), type=T.HEALTH_DROP, reason="Fell", status=start)

    with pytest.raises(ValidationError) as error:
        alert_set_status(alert=alert, status=to, by=csm, resolution=resolution)

    assert field in error.value.message_dict
    alert.refresh_from_db()
    assert alert.status == start


def test_setting_the_same_status_again_changes_nothing(csm):
    alert = Alert.objects.create(account=AccountFactory(csm=csm), type=T.HEALTH_DROP, reason="Fell")
    alert_set_status(alert=alert, status="resolved", by=csm, resolution="Done")
    resolved_at = alert.resolved_at

    alert_set_status(alert=alert, status="resolved", by=csm)

    alert.refresh_from_db()
    assert alert.resolved_at == resolved_at and alert.resolution == "Done"


def test_only_who_may_change_the_account_may_change_its_alert(csm, other_csm):
    alert = Alert.objects.create(account=AccountFactory(csm=csm), type=T.HEALTH_DROP, reason="Fell")

    with pytest.raises(PermissionDenied):
        alert_set_status(alert=alert, status="acknowledged", by=other_csm)


# ------------------------------------------------------------------ set-based


def _world(n: int, csm) -> None:
    """n accounts on which every rule fires."""
    active_version()
    for i in range(n):
        account = customer(name=f"Busy {i}", csm=csm, touched=None, started=120)
        score(account, 30, 90)
        score(account, 0, 30)
        RenewalFactory(account=account, due_date=days(-20))
        InvoiceFactory(account=account, due_date=days(40))
        InvoiceFactory(account=account, due_date=days(30))
        StakeholderFactory(account=account, role=Stakeholder.Role.DECISION_MAKER, is_active=False, left_on=days(3))


@pytest.mark.parametrize("size", [2, 12])
def test_a_fixed_number_of_queries_whatever_the_number_of_accounts(csm, size, django_assert_max_num_queries):
    _world(size, csm)
    TouchCadence.objects.create(tier="standard", kind="call", period="month", title="Monthly call")

    # 7 reads; then a savepoint, 1 insert, 1 notification for the one owner, 1 playbook
    # lookup and the release. Nothing new: the 7 reads alone.
    with django_assert_max_num_queries(12):
        created = alerts_evaluate(as_of=AS_OF)
    assert created == dict.fromkeys(T.values, size)
    assert Notification.objects.get(user=csm).message.endswith(f"; and {size * 6 - 3} more")
    with django_assert_max_num_queries(7):
        assert sum(alerts_evaluate(as_of=AS_OF).values()) == 0


# ------------------------------------------------------------------ two workers at once


@pytest.mark.django_db(transaction=True)
def test_two_workers_evaluating_at_once_store_each_alert_once(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers")
    csm = UserFactory(username="csm.race")
    _world(5, csm)
    # Both workers have read that nothing is open before either inserts: the database
    # alone must keep them from storing the same alert twice.
    both_read = threading.Barrier(2)
    insert = health_alerts.alerts_insert

    def insert_together(candidates):
        both_read.wait(timeout=20)
        return insert(candidates)

    monkeypatch.setattr(health_alerts, "alerts_insert", insert_together)
    results, errors = [], []

    def worker():
        try:
            results.append(alerts_evaluate(as_of=AS_OF))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == [] and len(results) == 2
    assert sum(sum(r.values()) for r in results) == 5 * len(T.values)
    assert Alert.objects.count() == 5 * len(T.values)
    assert Alert.objects.values("account", "type").distinct().count() == 5 * len(T.values)
    assert Notification.objects.filter(user=csm).count() == sum(1 for r in results if sum(r.values()))
