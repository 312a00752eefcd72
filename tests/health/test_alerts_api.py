"""The contract's alerts endpoint /api/v1/alerts/: list with filters, retrieve, PATCH of
the status (and resolution note), scoping, bad transitions and a fixed number of queries."""

import datetime as dt

import pytest

from health.models import Alert
from tests.conftest import api_as
from tests.factories import AccountFactory, AlertFactory

pytestmark = pytest.mark.django_db

FIELDS = {
    "id", "account", "account_external_id", "type", "severity", "status", "reason", "owner", "as_of", "created_at",
    "acknowledged_at", "resolved_at", "resolution",
}  # fmt: skip


@pytest.fixture
def alerts(world, csm, teammate):
    return {
        "own": AlertFactory(account=world["own"], type="payment_overdue", severity="high", owner=csm,
                            as_of=dt.date(2026, 11, 23), reason="Invoice INV-1 of 12,000.00 CNY is 40 days overdue"),
        "own_touch": AlertFactory(account=world["own"], type="no_recent_touch", severity="low", owner=csm),
        "teammates": AlertFactory(account=world["teammates"], type="health_drop", owner=teammate, status="resolved"),
        "other_team": AlertFactory(account=world["other_team"], type="renewal_risk"),
    }  # fmt: skip


def test_list_shows_the_contract_fields_of_visible_alerts_newest_first(csm, alerts, world):
    body = api_as(csm).get("/api/v1/alerts/").json()

    assert body["count"] == 3 and set(body) == {"count", "next", "previous", "results"}
    assert [r["id"] for r in body["results"]] == [alerts["teammates"].pk, alerts["own_touch"].pk, alerts["own"].pk]
    own = body["results"][-1]
    assert set(own) == FIELDS
    assert own == {
        **own,
        "account": world["own"].pk,
        "account_external_id": world["own"].external_id,
        "type": "payment_overdue",
        "severity": "high",
        "status": "open",
        "reason": "Invoice INV-1 of 12,000.00 CNY is 40 days overdue",
        "owner": "csm.li",
        "as_of": "2026-11-23",
        "acknowledged_at": None,
        "resolved_at": None,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=payment_overdue", {"own"}),
        ("status=open", {"own", "own_touch"}),
        ("status=unresolved", {"own", "own_touch"}),
        ("status=resolved", {"teammates"}),
        ("severity=low", {"own_touch"}),
        ("csm=csm.wang", {"teammates"}),
        ("owner=csm.li", {"own", "own_touch"}),
        ("search=teammate", {"teammates"}),
    ],
)
def test_filters(csm, alerts, query, expected):
    body = api_as(csm).get(f"/api/v1/alerts/?{query}").json()

    assert {r["id"] for r in body["results"]} == {alerts[k].pk for k in expected}


def test_filter_by_account(csm, alerts, world):
    body = api_as(csm).get(f"/api/v1/alerts/?account={world['teammates'].pk}").json()

    assert [r["id"] for r in body["results"]] == [alerts["teammates"].pk]


def test_bad_filter_values_answer_400(csm, alerts):
    client = api_as(csm)

    assert client.get("/api/v1/alerts/?status=closed").status_code == 400
    assert client.get("/api/v1/alerts/?type=weather").status_code == 400


def test_retrieve_and_404_for_what_the_caller_may_not_see(csm, alerts):
    client = api_as(csm)

    assert client.get(f"/api/v1/alerts/{alerts['own'].pk}/").json()["type"] == "payment_overdue"
    assert client.get(f"/api/v1/alerts/{alerts['other_team'].pk}/").status_code == 404
    answer = client.patch(f"/api/v1/alerts/{alerts['other_team'].pk}/", {"status": "acknowledged"}, format="json")
    assert answer.status_code == 404
    assert Alert.objects.get(pk=alerts["other_team"].pk).status == "open"


def test_patch_acknowledges_then_resolves_with_a_note(csm, alerts):
    client = api_as(csm)
    url = f"/api/v1/alerts/{alerts['own'].pk}/"

    acked = client.patch(url, {"status": "acknowledged"}, format="json")
    resolved = client.patch(url, {"status": "resolved", "resolution": "Paid on the phone"}, format="json")

    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged" and acked.json()["acknowledged_at"]
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved" and resolved.json()["resolution"] == "Paid on the phone"
    alert = Alert.objects.get(pk=alerts["own"].pk)
    assert alert.acknowledged_by == csm and alert.resolved_by == csm and alert.resolved_at


@pytest.mark.parametrize(
    ("alert", "payload", "field"),
    [
        ("teammates", {"status": "open"}, "status"),
        ("teammates", {"status": "acknowledged"}, "status"),
        ("own", {"status": "closed"}, "status"),
        ("own", {"status": "acknowledged", "resolution": "Too early"}, "resolution"),
        ("own", {"severity": "low"}, "severity"),
        ("own", {"reason": "Something else"}, "reason"),
    ],
)
def test_bad_changes_answer_400_with_field_errors(csm, alerts, alert, payload, field):
    before = Alert.objects.get(pk=alerts[alert].pk)

    answer = api_as(csm).patch(f"/api/v1/alerts/{alerts[alert].pk}/", payload, format="json")

    assert answer.status_code == 400 and field in answer.json()
    after = Alert.objects.get(pk=alerts[alert].pk)
    assert (after.status, after.severity, after.reason) == (before.status, before.severity, before.reason)


def test_only_patch_changes_an_alert(csm, alerts):
    client = api_as(csm)
    url = f"/api/v1/alerts/{alerts['own'].pk}/"

    assert client.put(url, {"status": "resolved"}, format="json").status_code == 405
    assert client.delete(url).status_code == 405
    assert client.post("/api/v1/alerts/", {"account": alerts["own"].account_id}, format="json").status_code == 405


def test_sales_may_read_but_not_change(sales, alerts):
    client = api_as(sales)

    assert client.get(f"/api/v1/alerts/{alerts['own'].pk}/").status_code == 200
    answer = client.patch(f"/api/v1/alerts/{alerts['own'].pk}/", {"status": "acknowledged"}, format="json")
    assert answer.status_code == 403


def test_an_integration_sees_and_changes_every_alert(integration, alerts):
    client = api_as(integration)

    assert client.get("/api/v1/alerts/").json()["count"] == 4
    answer = client.patch(f"/api/v1/alerts/{alerts['other_team'].pk}/", {"status": "resolved"}, format="json")
    assert answer.status_code == 200
    assert Alert.objects.get(pk=alerts["other_team"].pk).resolved_by == integration


def test_anonymous_callers_get_401(api, alerts):
    assert api.get("/api/v1/alerts/").status_code == 401


@pytest.mark.parametrize("size", [2, 40])
def test_list_query_count_is_constant(csm, size, django_assert_max_num_queries, query_budget):
    for _ in range(size):
        account = AccountFactory(csm=csm)
        AlertFactory(account=account, owner=csm)
        AlertFactory(account=account, owner=None, type="renewal_risk", status="acknowledged")
    client = api_as(csm)

    with django_assert_max_num_queries(query_budget("api:alerts")):
        body = client.get("/api/v1/alerts/?page_size=1000").json()
    assert body["count"] == size * 2
