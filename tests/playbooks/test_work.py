import datetime as dt

import pytest
from django.utils import timezone

from playbooks.models import Task
from playbooks.services import playbook_launch
from tests.factories import AccountFactory, PlaybookFactory, PlaybookStepFactory, TaskFactory

pytestmark = pytest.mark.django_db


def test_my_work_buckets_tasks_by_due_date(client, csm):
    today = timezone.localdate()
    account = AccountFactory(csm=csm)
    for days, title in [(-3, "late"), (0, "now"), (4, "soon"), (20, "later")]:
        TaskFactory(account=account, owner=csm, title=title, due_date=today + dt.timedelta(days=days))
    TaskFactory(account=account, owner=csm, title="finished", status="done")
    client.force_login(csm)
    sections = {
        key: [t.title for t in tasks] for key, _, tasks in client.get("/playbooks/my-work/").context["sections"]
    }
    assert sections == {"overdue": ["late"], "today": ["now"], "week": ["soon"], "later": ["later"]}


@pytest.mark.parametrize("size", [1, 30])
def test_my_work_query_count(client, csm, size, django_assert_max_num_queries, query_budget):
    TaskFactory.create_batch(size, account=AccountFactory(csm=csm), owner=csm)
    client.force_login(csm)
    with django_assert_max_num_queries(query_budget("playbooks:my_work")):
        assert client.get("/playbooks/my-work/").context["open_count"] == size


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
