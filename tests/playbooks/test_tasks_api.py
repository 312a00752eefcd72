import datetime as dt

import pytest
from django.utils import timezone

from playbooks.models import Task
from tests.conftest import api_as
from tests.factories import AccountFactory, TaskFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/tasks/"


def _titles(response) -> list[str]:
    return sorted(t["title"] for t in response.json()["results"])


def test_a_csm_lists_tasks_of_the_accounts_they_may_see(world, csm):
    for key, account in world.items():
        TaskFactory(account=account, title=key)
    response = api_as(csm).get(URL)
    assert response.status_code == 200
    assert _titles(response) == ["own", "teammates"]


def test_task_of_an_invisible_account_answers_404(world, csm):
    hidden = TaskFactory(account=world["other_team"])
    client = api_as(csm)
    assert client.get(f"{URL}{hidden.pk}/").status_code == 404
    assert client.patch(f"{URL}{hidden.pk}/", {"status": "done"}, format="json").status_code == 404
    assert Task.objects.get().status == "open"


def test_filters(world, csm, teammate):
    today = timezone.localdate()
    TaskFactory(account=world["own"], owner=csm, title="mine soon", due_date=today + dt.timedelta(days=2))
    TaskFactory(account=world["own"], owner=csm, title="mine done", status="done", due_date=today)
    TaskFactory(account=world["teammates"], owner=teammate, title="theirs", due_date=today + dt.timedelta(days=9))
    TaskFactory(account=world["own"], owner=teammate, title="cadence", source="cadence", due_date=today)
    client = api_as(csm)
    assert _titles(client.get(URL, {"owner": "csm.li"})) == ["mine done", "mine soon"]
    assert _titles(client.get(URL, {"owner": "csm.li", "status": "open"})) == ["mine soon"]
    assert _titles(client.get(URL, {"account": world["teammates"].pk})) == ["theirs"]
    assert _titles(client.get(URL, {"source": "cadence"})) == ["cadence"]
    after, before = (today + dt.timedelta(days=1)).isoformat(), (today + dt.timedelta(days=5)).isoformat()
    assert _titles(client.get(URL, {"due_after": after, "due_before": before})) == ["mine soon"]


def test_create_a_task(world, csm, teammate):
    due = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    response = api_as(csm).post(
        URL,
        {"account": world["own"].pk, "title": "Plan the QBR", "type": "check_in", "priority": "high",
         "due_date": due, "owner": "csm.wang", "source": "alert"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["owner"], body["source"], body["status"], body["account_name"]) == (
        "csm.wang", "manual", "open", "Own Co",
    )  # fmt: skip
    assert Task.objects.get().owner == teammate


def test_create_defaults_the_owner_to_the_caller(world, csm):
    response = api_as(csm).post(
        URL, {"account": world["own"].pk, "title": "Call", "due_date": timezone.localdate().isoformat()}, format="json"
    )
    assert response.status_code == 201 and response.json()["owner"] == "csm.li"


def test_create_is_refused_for_invisible_accounts_outsider_owners_and_past_dates(world, csm, other_csm):
    client = api_as(csm)
    today = timezone.localdate()
    cases = [
        ({"account": world["other_team"].pk}, "account"),
        ({"account": world["own"].pk, "owner": other_csm.username}, "owner"),
        ({"account": world["own"].pk, "owner": "sales.zhou"}, "owner"),
        ({"account": world["own"].pk, "due_date": (today - dt.timedelta(days=1)).isoformat()}, "due_date"),
    ]
    for extra, field in cases:
        payload = {"title": "x", "due_date": today.isoformat(), **extra}
        response = client.post(URL, payload, format="json")
        assert response.status_code == 400 and field in response.json(), (extra, response.json())
    assert not Task.objects.exists()


def test_patch_status_due_date_owner_title_priority(world, csm, teammate):
    task = TaskFactory(account=world["own"], owner=csm)
    client = api_as(csm)
    due = (timezone.localdate() + dt.timedelta(days=4)).isoformat()
    response = client.patch(
        f"{URL}{task.pk}/",
        {"title": "New title", "priority": "high", "due_date": due, "owner": "csm.wang"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    task.refresh_from_db()
    assert (task.title, task.priority, task.due_date.isoformat(), task.owner) == ("New title", "high", due, teammate)
    assert client.patch(f"{URL}{task.pk}/", {"status": "done"}, format="json").json()["completed_at"]
    assert client.patch(f"{URL}{task.pk}/", {"status": "open"}, format="json").json()["completed_at"] is None


def test_patch_refuses_an_owner_who_cannot_see_the_account(world, csm, other_csm):
    task = TaskFactory(account=world["own"], owner=csm)
    response = api_as(csm).patch(f"{URL}{task.pk}/", {"owner": other_csm.username}, format="json")
    assert response.status_code == 400 and "owner" in response.json()
    task.refresh_from_db()
    assert task.owner == csm


def test_sales_read_tasks_of_accounts_they_sold_but_cannot_change_them(world, sales):
    task = TaskFactory(account=world["own"])
    client = api_as(sales)
    assert client.get(f"{URL}{task.pk}/").status_code == 200
    assert client.patch(f"{URL}{task.pk}/", {"status": "done"}, format="json").status_code == 403
    response = client.post(
        URL, {"account": world["own"].pk, "title": "x", "due_date": timezone.localdate().isoformat()}, format="json"
    )
    assert response.status_code == 400
    assert Task.objects.get().status == "open" and Task.objects.count() == 1


def test_anonymous_callers_are_refused(api):
    assert api.get(URL).status_code in (401, 403)


@pytest.mark.parametrize("size", [5, 50])
def test_task_list_query_count(csm, size, django_assert_max_num_queries, query_budget):
    accounts = AccountFactory.create_batch(5, csm=csm)
    for i in range(size):
        TaskFactory(account=accounts[i % 5], owner=csm)
    client = api_as(csm)
    with django_assert_max_num_queries(query_budget("api:tasks")):
        assert client.get(URL).json()["count"] == size
