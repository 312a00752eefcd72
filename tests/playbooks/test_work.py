import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from playbooks.models import Task
from playbooks.services import playbook_launch
from playbooks.services.tasks import (
    task_reassign,
    task_snooze,
    tasks_bulk_complete,
    tasks_bulk_reassign,
    tasks_bulk_snooze,
)
from tests.factories import AccountFactory, PlaybookFactory, PlaybookStepFactory, TaskFactory

pytestmark = pytest.mark.django_db


def _sections(response) -> dict:
    return {
        s["key"]: [(g.account.name, [t.title for t in g.tasks]) for g in s["groups"]]
        for s in response.context["sections"]
    }


def test_my_work_buckets_tasks_by_due_date(client, csm):
    today = timezone.localdate()
    account = AccountFactory(csm=csm, name="Acme")
    for days, title in [(-3, "late"), (0, "now"), (4, "soon"), (20, "later")]:
        TaskFactory(account=account, owner=csm, title=title, due_date=today + dt.timedelta(days=days))
    TaskFactory(account=account, owner=csm, title="finished", status="done")
    client.force_login(csm)
    assert _sections(client.get("/playbooks/my-work/")) == {
        "overdue": [("Acme", ["late"])], "today": [("Acme", ["now"])],
        "week": [("Acme", ["soon"])], "later": [("Acme", ["later"])],
    }  # fmt: skip


def test_my_work_groups_each_bucket_by_account_with_its_health_band(client, csm, teammate):
    today = timezone.localdate()
    red = AccountFactory(csm=csm, name="Red Co", health_band="red", health_score=31)
    green = AccountFactory(csm=csm, name="Green Co", health_band="green", health_score=88)
    TaskFactory(account=red, owner=csm, title="rescue call", due_date=today - dt.timedelta(days=2))
    TaskFactory(account=green, owner=csm, title="qbr prep", due_date=today - dt.timedelta(days=1))
    TaskFactory(account=red, owner=csm, title="sponsor email", due_date=today - dt.timedelta(days=1), priority="high")
    TaskFactory(account=red, owner=csm, title="low one", due_date=today - dt.timedelta(days=1), priority="low")
    TaskFactory(account=red, owner=teammate, title="not mine", due_date=today)
    client.force_login(csm)
    response = client.get("/playbooks/my-work/")
    assert _sections(response) == {
        "overdue": [("Red Co", ["rescue call", "sponsor email", "low one"]), ("Green Co", ["qbr prep"])],
        "today": [], "week": [], "later": [],
    }  # fmt: skip
    html = response.content.decode()
    assert 'class="band band-red"' in html and 'class="band band-green"' in html
    assert html.count('name="task"') == 4  # one bulk checkbox per task


@pytest.mark.parametrize("size", [5, 50])
def test_my_work_query_count(client, csm, teammate, size, django_assert_max_num_queries, query_budget):
    today = timezone.localdate()
    accounts = AccountFactory.create_batch(5, csm=csm)
    for i in range(size):
        TaskFactory(account=accounts[i % 5], owner=csm, due_date=today + dt.timedelta(days=i % 12 - 4))
    client.force_login(csm)
    with django_assert_max_num_queries(query_budget("playbooks:my_work")):
        response = client.get("/playbooks/my-work/")
    assert response.context["open_count"] == size


def test_completing_a_task_over_htmx_returns_the_done_row(client, csm):
    task = TaskFactory(account=AccountFactory(csm=csm), owner=csm)
    client.force_login(csm)
    response = client.post(f"/playbooks/tasks/{task.pk}/complete/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and f'id="task-{task.pk}"' in response.content.decode()
    task.refresh_from_db()
    assert task.status == "done" and task.completed_at


def test_cannot_complete_a_task_of_an_invisible_account(client, csm, other_csm):
    task = TaskFactory(account=AccountFactory(csm=other_csm), owner=other_csm)
    client.force_login(csm)
    assert client.post(f"/playbooks/tasks/{task.pk}/complete/").status_code == 404
    assert Task.objects.get().status == "open"


def test_launching_twice_for_one_occurrence_creates_tasks_once(csm):
    account = AccountFactory(csm=csm)
    playbook = PlaybookFactory()
    PlaybookStepFactory(playbook=playbook, title="Call the sponsor", offset_days=0)
    PlaybookStepFactory(playbook=playbook, title="Plan a rescue", offset_days=5)
    start = dt.date(2026, 11, 2)
    _, created = playbook_launch(playbook=playbook, account=account, occurrence="alert:7", start=start)
    _, again = playbook_launch(playbook=playbook, account=account, occurrence="alert:7", start=start)
    assert created and not again
    assert sorted((t.title, t.due_date, t.owner) for t in Task.objects.all()) == [
        ("Call the sponsor", start, csm), ("Plan a rescue", dt.date(2026, 11, 7), csm),
    ]  # fmt: skip
    playbook_launch(playbook=playbook, account=account, occurrence="alert:8", start=start)
    assert Task.objects.count() == 4


@pytest.mark.parametrize("size", [1, 8])
def test_playbook_list_query_count(client, csm, size, django_assert_max_num_queries, query_budget):
    for _ in range(size):
        PlaybookStepFactory.create_batch(3, playbook=PlaybookFactory())
    client.force_login(csm)
    with django_assert_max_num_queries(query_budget("playbooks:list")):
        response = client.get("/playbooks/")
        assert response.content.decode().count('<ol class="steps">') == size


def test_playbook_triggers_read_as_labels_not_codes(db):
    from playbooks.models import Playbook

    assert Playbook(trigger="stage_entered", trigger_value="kickoff").trigger_value_display == "Kickoff"
    left = Playbook(trigger="alert_opened", trigger_value="stakeholder_left")
    assert left.trigger_value_display == "Key stakeholder left"
    assert Playbook(trigger="renewal_due", trigger_value="90").trigger_value_display == "90 days before"


# ------------------------------------------------------------------ snooze, reassign, reopen


def test_snoozing_moves_the_due_date_and_keeps_the_first_one(csm):
    today = timezone.localdate()
    task = TaskFactory(account=AccountFactory(csm=csm), owner=csm, due_date=today - dt.timedelta(days=2))
    task_snooze(task=task, until=today + dt.timedelta(days=1), by=csm)
    task_snooze(task=task, until=today + dt.timedelta(days=5), by=csm)
    task.refresh_from_db()
    assert task.due_date == today + dt.timedelta(days=5)
    assert task.snoozed_from == today - dt.timedelta(days=2)


def test_cannot_snooze_into_the_past(csm):
    today = timezone.localdate()
    task = TaskFactory(account=AccountFactory(csm=csm), owner=csm, due_date=today)
    with pytest.raises(ValidationError):
        task_snooze(task=task, until=today - dt.timedelta(days=1), by=csm)
    task.refresh_from_db()
    assert task.due_date == today and task.snoozed_from is None


def test_snooze_to_next_monday_over_htmx(client, csm):
    today = timezone.localdate()
    task = TaskFactory(account=AccountFactory(csm=csm), owner=csm, due_date=today)
    client.force_login(csm)
    response = client.post(
        f"/playbooks/tasks/{task.pk}/snooze/", {"until": "monday", "where": "work"}, HTTP_HX_REQUEST="true"
    )
    monday = today + dt.timedelta(days=7 - today.weekday())
    assert response.status_code == 200 and monday.isoformat() in response.content.decode()
    task.refresh_from_db()
    assert task.due_date == monday and task.due_date.weekday() == 0 and task.snoozed_from == today


def test_snooze_to_a_past_date_on_the_page_shows_an_error_and_changes_nothing(client, csm):
    today = timezone.localdate()
    task = TaskFactory(account=AccountFactory(csm=csm), owner=csm, due_date=today)
    client.force_login(csm)
    past = (today - dt.timedelta(days=3)).isoformat()
    response = client.post(
        f"/playbooks/tasks/{task.pk}/snooze/", {"until": "date", "until_date": past}, HTTP_HX_REQUEST="true"
    )
    assert "field-errors" in response.content.decode()
    task.refresh_from_db()
    assert task.due_date == today


def test_reassign_to_a_teammate(client, csm, teammate):
    task = TaskFactory(account=AccountFactory(csm=csm), owner=csm)
    client.force_login(csm)
    response = client.post(
        f"/playbooks/tasks/{task.pk}/reassign/", {"owner": teammate.pk, "where": "work"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "Reassigned to" in response.content.decode()
    task.refresh_from_db()
    assert task.owner == teammate


def test_cannot_reassign_to_someone_who_cannot_see_the_account(csm, other_csm, sales):
    task = TaskFactory(account=AccountFactory(csm=csm), owner=csm)
    for person in (other_csm, sales):
        with pytest.raises(ValidationError):
            task_reassign(task=task, owner=person, by=csm)
    task.refresh_from_db()
    assert task.owner == csm


def test_undo_reopens_a_completed_task(client, csm):
    task = TaskFactory(account=AccountFactory(csm=csm), owner=csm)
    client.force_login(csm)
    client.post(f"/playbooks/tasks/{task.pk}/complete/", HTTP_HX_REQUEST="true")
    response = client.post(f"/playbooks/tasks/{task.pk}/reopen/", {"where": "work"}, HTTP_HX_REQUEST="true")
    assert 'class="check"' in response.content.decode()
    task.refresh_from_db()
    assert task.status == "open" and task.completed_at is None


# ------------------------------------------------------------------ bulk


def test_bulk_complete_snooze_and_reassign(client, csm, teammate):
    today = timezone.localdate()
    account = AccountFactory(csm=csm)
    tasks = TaskFactory.create_batch(3, account=account, owner=csm, due_date=today)
    ids = [t.pk for t in tasks]
    client.force_login(csm)
    client.post("/playbooks/tasks/bulk/", {"task": ids[:2], "action": "snooze", "until": "tomorrow"})
    assert [t.due_date for t in Task.objects.filter(pk__in=ids[:2])] == [today + dt.timedelta(days=1)] * 2
    assert set(Task.objects.filter(pk__in=ids[:2]).values_list("snoozed_from", flat=True)) == {today}
    client.post("/playbooks/tasks/bulk/", {"task": ids[1:], "action": "reassign", "owner": teammate.pk})
    assert list(Task.objects.order_by("pk").values_list("owner", flat=True)) == [csm.pk, teammate.pk, teammate.pk]
    client.post("/playbooks/tasks/bulk/", {"task": ids, "action": "complete"})
    assert set(Task.objects.values_list("status", flat=True)) == {"done"}


def test_bulk_with_a_task_of_another_team_changes_nothing(client, csm, other_csm):
    mine = TaskFactory(account=AccountFactory(csm=csm), owner=csm)
    theirs = TaskFactory(account=AccountFactory(csm=other_csm), owner=other_csm)
    client.force_login(csm)
    response = client.post("/playbooks/tasks/bulk/", {"task": [mine.pk, theirs.pk], "action": "complete"}, follow=True)
    assert "nothing was changed" in response.content.decode()
    assert set(Task.objects.values_list("status", flat=True)) == {"open"}
    with pytest.raises(ValidationError):
        tasks_bulk_complete(task_ids=[mine.pk, theirs.pk], by=csm)


def test_bulk_snooze_into_the_past_or_reassign_to_an_outsider_changes_nothing(csm, other_csm):
    today = timezone.localdate()
    tasks = TaskFactory.create_batch(2, account=AccountFactory(csm=csm), owner=csm, due_date=today)
    ids = [t.pk for t in tasks]
    with pytest.raises(ValidationError):
        tasks_bulk_snooze(task_ids=ids, until=today - dt.timedelta(days=1), by=csm)
    with pytest.raises(ValidationError):
        tasks_bulk_reassign(task_ids=ids, owner=other_csm, by=csm)
    assert set(Task.objects.values_list("due_date", "owner", "snoozed_from")) == {(today, csm.pk, None)}


@pytest.mark.parametrize("size", [5, 50])
def test_bulk_actions_run_a_fixed_number_of_queries(csm, teammate, size, django_assert_max_num_queries, query_budget):
    accounts = AccountFactory.create_batch(5, csm=csm)
    ids = [TaskFactory(account=accounts[i % 5], owner=csm).pk for i in range(size)]
    until = timezone.localdate() + dt.timedelta(days=3)
    with django_assert_max_num_queries(query_budget("playbooks:task_bulk")):
        assert tasks_bulk_snooze(task_ids=ids, until=until, by=csm) == size
    with django_assert_max_num_queries(query_budget("playbooks:task_bulk")):
        assert tasks_bulk_reassign(task_ids=ids, owner=teammate, by=csm) == size
    with django_assert_max_num_queries(query_budget("playbooks:task_bulk")):
        assert tasks_bulk_complete(task_ids=ids, by=csm) == size


# ------------------------------------------------------------------ creating tasks by hand


def test_new_task_from_my_work(client, csm, teammate):
    account = AccountFactory(csm=csm, name="Acme")
    due = timezone.localdate() + dt.timedelta(days=2)
    client.force_login(csm)
    response = client.post(
        "/playbooks/tasks/new/",
        {"task-account": account.pk, "task-title": "Prepare the QBR", "task-type": "check_in",
         "task-priority": "high", "task-due_date": due.isoformat(), "task-owner": teammate.pk},
    )  # fmt: skip
    assert response.status_code == 302
    task = Task.objects.get()
    assert (task.title, task.type, task.priority, task.due_date, task.owner, task.source) == (
        "Prepare the QBR", "check_in", "high", due, teammate, "manual",
    )  # fmt: skip


def test_new_task_on_an_invisible_account_or_in_the_past_is_refused(client, csm, other_csm):
    mine, theirs = AccountFactory(csm=csm), AccountFactory(csm=other_csm)
    client.force_login(csm)
    today = timezone.localdate()
    for account, due in [(theirs, today), (mine, today - dt.timedelta(days=1))]:
        response = client.post(
            "/playbooks/tasks/new/",
            {"task-account": account.pk, "task-title": "x", "task-type": "other", "task-priority": "normal",
             "task-due_date": due.isoformat()},
        )  # fmt: skip
        assert response.status_code == 400
    assert not Task.objects.exists()


def test_add_task_from_the_account_panel_over_htmx(client, csm):
    account = AccountFactory(csm=csm)
    client.force_login(csm)
    panel = client.get(f"/playbooks/account/{account.pk}/panel/").content.decode()
    assert "Add task" in panel
    response = client.post(
        f"/playbooks/account/{account.pk}/tasks/new/",
        {"task-title": "Send the training deck", "task-type": "onboarding", "task-priority": "normal",
         "task-due_date": timezone.localdate().isoformat()},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    html = response.content.decode()
    assert 'id="account-tasks"' in html and "Send the training deck" in html
    assert Task.objects.get().owner == csm


def test_sales_see_the_panel_without_the_add_form(client, world, sales):
    TaskFactory(account=world["own"])
    client.force_login(sales)
    html = client.get(f"/playbooks/account/{world['own'].pk}/panel/").content.decode()
    assert "Open tasks" in html and "Add task" not in html


@pytest.mark.parametrize("size", [2, 20])
def test_account_panel_query_count(client, csm, teammate, size, django_assert_max_num_queries, query_budget):
    account = AccountFactory(csm=csm)
    TaskFactory.create_batch(size, account=account, owner=csm)
    client.force_login(csm)
    with django_assert_max_num_queries(query_budget("playbooks:account_panel")):
        assert client.get(f"/playbooks/account/{account.pk}/panel/").status_code == 200


def test_a_csm_launches_a_playbook_by_hand_once_a_day(client, csm):
    account = AccountFactory(csm=csm)
    playbook = PlaybookFactory(name="Executive sponsor left")
    PlaybookStepFactory(playbook=playbook, title="Find the new sponsor", offset_days=2)
    PlaybookFactory(name="Retired one", is_active=False)
    client.force_login(csm)
    panel = client.get(f"/playbooks/account/{account.pk}/panel/").content.decode()
    assert "Run a playbook" in panel and "Executive sponsor left (1 task)" in panel and "Retired one" not in panel

    url = f"/playbooks/account/{account.pk}/playbooks/launch/"
    html = client.post(url, {"playbook": playbook.pk}, HTTP_HX_REQUEST="true").content.decode()
    assert "launched: its tasks are below" in html and "Find the new sponsor" in html
    task = Task.objects.get()
    assert (task.source, task.owner, task.due_date) == ("playbook", csm, timezone.localdate() + dt.timedelta(days=2))
    assert task.playbook_run.launched_by == csm

    again = client.post(url, {"playbook": playbook.pk}, HTTP_HX_REQUEST="true").content.decode()
    assert "was already launched on this account today" in again
    assert Task.objects.count() == 1


@pytest.mark.parametrize("value", ["", "abc", "999999"])
def test_launching_without_a_valid_playbook_changes_nothing(client, csm, value):
    account = AccountFactory(csm=csm)
    PlaybookFactory(name="Retired", is_active=False)
    client.force_login(csm)
    url = f"/playbooks/account/{account.pk}/playbooks/launch/"
    html = client.post(url, {"playbook": value}, HTTP_HX_REQUEST="true").content.decode()
    assert "Choose a playbook." in html
    response = client.post(url, {"playbook": value})  # without HTMX: back to the account with the message
    assert response.status_code == 302
    assert Task.objects.count() == 0


def test_sales_and_other_teams_cannot_launch_playbooks(client, world, sales, other_csm):
    playbook = PlaybookFactory()
    PlaybookStepFactory(playbook=playbook)
    url = f"/playbooks/account/{world['own'].pk}/playbooks/launch/"
    client.force_login(other_csm)
    assert client.post(url, {"playbook": playbook.pk}).status_code == 404
    client.force_login(sales)
    assert "Run a playbook" not in client.get(f"/playbooks/account/{world['own'].pk}/panel/").content.decode()
    client.post(url, {"playbook": playbook.pk})
    assert Task.objects.count() == 0
