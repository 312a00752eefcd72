import datetime as dt

import pytest
from django.utils import timezone

from playbooks.models import Task, TouchCadence
from playbooks.services.cadence import cadence_tasks_create, period_bounds, target_period
from playbooks.tasks import cadence_tasks_create_task
from tests.factories import AccountFactory, ActivityFactory

pytestmark = pytest.mark.django_db

WEDNESDAY = dt.date(2026, 11, 18)


def _cadence(tier: str, kind: str, period: str) -> TouchCadence:
    """The built-in cadences come from migration 0003."""
    return TouchCadence.objects.get(tier=tier, kind=kind, period=period)


def _at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0)))


def _tasks() -> list[tuple[str, str, dt.date, str]]:
    return sorted(Task.objects.values_list("account__name", "title", "due_date", "occurrence"))


def test_periods_start_on_monday_the_first_and_the_quarter():
    assert period_bounds("week", WEDNESDAY) == (dt.date(2026, 11, 16), dt.date(2026, 11, 22))
    assert period_bounds("month", WEDNESDAY) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert period_bounds("quarter", WEDNESDAY) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert period_bounds("quarter", dt.date(2027, 2, 28)) == (dt.date(2027, 1, 1), dt.date(2027, 3, 31))
    weekly = TouchCadence(period="week", lead_days=2)
    assert target_period(weekly, WEDNESDAY)[0] == dt.date(2026, 11, 16)  # next Monday is 5 days away
    assert target_period(weekly, dt.date(2026, 11, 21))[0] == dt.date(2026, 11, 23)  # Saturday: 2 days away


def test_cadence_creates_check_ins_ahead_for_each_tier(csm):
    weekly = _cadence("strategic", "check_in", "week")
    monthly = _cadence("key", "check_in", "month")
    TouchCadence.objects.exclude(pk__in=[weekly.pk, monthly.pk]).update(is_active=False)
    AccountFactory(csm=csm, name="Big", tier="strategic")
    AccountFactory(csm=csm, name="Mid", tier="key")
    AccountFactory(csm=csm, name="Gone", tier="strategic", lifecycle_stage="churned")
    AccountFactory(csm=None, team=None, name="Nobody's", tier="strategic")

    report = cadence_tasks_create(today=WEDNESDAY)

    assert report["total"] == 2
    assert _tasks() == [
        ("Big", "Weekly check-in", dt.date(2026, 11, 20), f"cadence:{weekly.pk}:2026-11-16"),  # Friday
        ("Mid", "Monthly check-in", dt.date(2026, 11, 30), f"cadence:{monthly.pk}:2026-11-01"),
    ]
    task = Task.objects.get(account__name="Big")
    assert (task.type, task.source, task.owner, task.status) == ("check_in", "cadence", csm, "open")

    # Saturday, two days before the next week: next week's check-in is created ahead of time.
    cadence_tasks_create(today=dt.date(2026, 11, 21))
    assert Task.objects.filter(occurrence=f"cadence:{weekly.pk}:2026-11-23", due_date=dt.date(2026, 11, 27)).exists()
    # Five days before December: December's check-in, due on its last working day.
    cadence_tasks_create(today=dt.date(2026, 11, 26))
    assert Task.objects.get(occurrence=f"cadence:{monthly.pk}:2026-12-01").due_date == dt.date(2026, 12, 31)


def test_cadence_skips_accounts_touched_in_the_period(csm):
    weekly = _cadence("strategic", "check_in", "week")
    review = _cadence("strategic", "business_review", "quarter")
    TouchCadence.objects.exclude(pk__in=[weekly.pk, review.pk]).update(is_active=False)
    touched = AccountFactory(csm=csm, name="Touched", tier="strategic")
    ActivityFactory(account=touched, kind="check_in", occurred_at=_at(dt.date(2026, 11, 16)))
    last_week = AccountFactory(csm=csm, name="Last week", tier="strategic")
    ActivityFactory(account=last_week, kind="check_in", occurred_at=_at(dt.date(2026, 11, 15)))
    called = AccountFactory(csm=csm, name="Called", tier="strategic")
    ActivityFactory(account=called, kind="call", occurred_at=_at(WEDNESDAY))  # another kind of touch

    cadence_tasks_create(today=WEDNESDAY)

    assert [(n, t) for n, t, *_ in _tasks()] == [
        ("Called", "Quarterly business review"), ("Called", "Weekly check-in"),
        ("Last week", "Quarterly business review"), ("Last week", "Weekly check-in"),
        ("Touched", "Quarterly business review"),
    ]  # fmt: skip


def test_cadence_is_idempotent_and_the_task_runs_it(csm):
    for tier in ("strategic", "key", "standard"):
        AccountFactory(csm=csm, tier=tier)
    first = cadence_tasks_create_task(WEDNESDAY.isoformat())
    count = Task.objects.count()
    second = cadence_tasks_create_task(WEDNESDAY.isoformat())
    assert first["total"] == count == 5 and second["total"] == 0
    assert Task.objects.count() == count


@pytest.mark.parametrize("size", [3, 30])
def test_cadence_runs_a_fixed_number_of_queries(csm, size, django_assert_max_num_queries, query_budget):
    weekly = _cadence("strategic", "check_in", "week")
    TouchCadence.objects.exclude(pk=weekly.pk).update(is_active=False)
    AccountFactory.create_batch(size, csm=csm, tier="strategic")
    with django_assert_max_num_queries(query_budget("playbooks:cadence_run")):
        assert cadence_tasks_create(today=WEDNESDAY)["total"] == size


def test_the_playbooks_page_shows_each_cadence_with_its_open_tasks(client, csm):
    weekly = _cadence("strategic", "check_in", "week")
    TouchCadence.objects.exclude(pk=weekly.pk).update(is_active=False)
    for name in ("Big", "Bigger"):
        AccountFactory(csm=csm, name=name, tier="strategic")
    cadence_tasks_create(today=WEDNESDAY)
    Task.objects.filter(account__name="Bigger").update(status=Task.Status.DONE)
    client.force_login(csm)
    html = client.get("/playbooks/").content.decode()
    section = html[html.index('data-testid="cadences"') :]
    row = section[section.index("Weekly check-in") :]
    assert "Every week" in section and "Strategic" in section
    assert row.split("</tr>")[0].rstrip().endswith('<td class="num">1</td>')  # one open, one done
    assert "Inactive" in section  # the other built-in cadences are listed, greyed out
