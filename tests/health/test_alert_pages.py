"""The alerts page: filters, counts per type, acknowledge and resolve per row (htmx and
plain posts), who may see and act, and a fixed number of queries."""

import pytest
from django.utils import timezone

from health.models import Alert
from people.models import User
from tests.factories import AccountFactory, AlertFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/health/alerts/"


def _names(response) -> list[str]:
    return [a.account.name for a in response.context["page"].object_list]


@pytest.fixture
def alerts(world, csm, teammate):
    """Alerts on the four accounts of `world`, of several types and statuses."""
    return {
        "own_open": AlertFactory(
            account=world["own"],
            type="payment_overdue",
            severity="high",
            owner=csm,
            reason="Invoice INV-1 of 12,000.00 CNY is 40 days overdue",
        ),  # fmt: skip
        "own_ack": AlertFactory(
            account=world["own"], type="no_recent_touch", severity="low", owner=csm, status="acknowledged"
        ),  # fmt: skip
        "own_resolved": AlertFactory(account=world["own"], type="health_drop", owner=csm, status="resolved"),
        "teammates": AlertFactory(account=world["teammates"], type="health_drop", severity="high", owner=teammate),
        "other_team": AlertFactory(account=world["other_team"], type="payment_overdue"),
    }


def test_unresolved_alerts_of_visible_accounts_by_default(client, csm, alerts):
    client.force_login(csm)

    response = client.get(URL)

    assert response.status_code == 200
    assert sorted(_names(response)) == ["Own Co", "Own Co", "Teammate Co"]
    body = response.content.decode()
    assert "Invoice INV-1 of 12,000.00 CNY is 40 days overdue" in body
    assert f'href="/accounts/{alerts["own_open"].account_id}/"' in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=resolved", ["health_drop"]),
        ("status=", ["health_drop", "health_drop", "no_recent_touch", "payment_overdue"]),
        ("status=acknowledged", ["no_recent_touch"]),
        ("type=health_drop", ["health_drop"]),
        ("severity=high", ["health_drop", "payment_overdue"]),
        ("search=teammate", ["health_drop"]),
        ("mine=on", ["no_recent_touch", "payment_overdue"]),
    ],
)
def test_filters(client, csm, alerts, query, expected):
    client.force_login(csm)

    response = client.get(f"{URL}?{query}")

    assert sorted(a.type for a in response.context["page"].object_list) == expected


def test_filter_by_csm(client, manager, teammate, alerts):
    client.force_login(manager)

    response = client.get(f"{URL}?csm={teammate.pk}")

    assert _names(response) == ["Teammate Co"]


def test_counts_per_type_follow_the_other_filters(client, csm, alerts):
    client.force_login(csm)

    counts = {t["type"]: t["n"] for t in client.get(f"{URL}?type=health_drop").context["type_counts"]}

    # Unresolved (the default status) of every type, whichever type is chosen.
    assert counts == {
        "renewal_risk": 0, "health_drop": 1, "activation_overdue": 0, "no_recent_touch": 1, "payment_overdue": 1,
        "stakeholder_left": 0,
    }  # fmt: skip


def test_acknowledge_with_htmx_swaps_the_row(client, csm, alerts):
    alert = alerts["own_open"]
    client.force_login(csm)

    response = client.post(
        f"/health/alerts/{alert.pk}/status/", {"status": "acknowledged", "next": URL}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert body.startswith(f'<tr id="alert-{alert.pk}"') and "Acknowledged" in body
    assert 'value="acknowledged"' not in body and 'value="resolved"' in body  # resolve is still offered
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == ("acknowledged", csm) and alert.acknowledged_at


def test_resolve_with_a_note_and_go_back_without_htmx(client, csm, alerts):
    alert = alerts["own_ack"]
    client.force_login(csm)
    back = f"{URL}?type=no_recent_touch"

    response = client.post(
        f"/health/alerts/{alert.pk}/status/", {"status": "resolved", "resolution": "Met on site", "next": back}
    )

    assert response.status_code == 302 and response["Location"] == back
    alert.refresh_from_db()
    assert (alert.status, alert.resolved_by, alert.resolution) == ("resolved", csm, "Met on site")


def test_going_back_never_leaves_the_site(client, csm, alerts):
    client.force_login(csm)

    response = client.post(
        f"/health/alerts/{alerts['own_open'].pk}/status/", {"status": "acknowledged", "next": "https://evil.example/"}
    )

    assert response["Location"] == URL


def test_a_refused_change_shows_why_in_the_row(client, csm, alerts):
    alert = alerts["own_resolved"]
    client.force_login(csm)

    response = client.post(f"/health/alerts/{alert.pk}/status/", {"status": "acknowledged"}, HTTP_HX_REQUEST="true")

    assert "resolved, which is final" in response.content.decode()
    alert.refresh_from_db()
    assert alert.status == "resolved"


def test_other_teams_csm_gets_404_and_cannot_act(client, other_csm, alerts):
    alert = alerts["own_open"]
    client.force_login(other_csm)

    assert client.post(f"/health/alerts/{alert.pk}/status/", {"status": "acknowledged"}).status_code == 404
    assert "Own Co" not in client.get(URL).content.decode()
    alert.refresh_from_db()
    assert alert.status == "open"


def test_sales_see_alerts_of_accounts_they_sold_but_may_not_act(client, sales, alerts):
    alert = alerts["own_open"]
    client.force_login(sales)

    response = client.get(URL)

    assert "Own Co" in response.content.decode() and not response.context["may_act"]
    assert f"/health/alerts/{alert.pk}/status/" not in response.content.decode()
    assert client.post(f"/health/alerts/{alert.pk}/status/", {"status": "acknowledged"}).status_code == 403
    alert.refresh_from_db()
    assert alert.status == "open"


def test_actions_are_offered_to_who_may_change_the_account(client, csm, alerts):
    client.force_login(csm)

    body = client.get(URL).content.decode()

    assert f'action="/health/alerts/{alerts["own_open"].pk}/status/"' in body
    assert "Acknowledge" in body and "Resolve" in body


def test_only_posts_change_an_alert(client, csm, alerts):
    client.force_login(csm)

    assert client.get(f"/health/alerts/{alerts['own_open'].pk}/status/?status=resolved").status_code == 405


def test_anonymous_users_are_sent_to_log_in(client, alerts):
    assert client.get(URL).status_code == 302
    assert client.post(f"/health/alerts/{alerts['own_open'].pk}/status/", {"status": "resolved"}).status_code == 302


@pytest.mark.parametrize("size", [2, 30])
def test_alert_pages_run_a_fixed_number_of_queries(client, csm, size, django_assert_max_num_queries, query_budget):
    for i in range(size):
        owner = UserFactory(role=User.Role.CSM, team=csm.team)
        account = AccountFactory(csm=owner, team=csm.team, name=f"Acct {i}")
        AlertFactory(account=account, owner=owner, type=Alert.Type.values[i % 6])
        AlertFactory(account=account, owner=owner, type=Alert.Type.values[(i + 1) % 6], status="acknowledged")
    client.force_login(csm)

    with django_assert_max_num_queries(query_budget("health:alert_list")):
        response = client.get(f"{URL}?severity=medium")
    assert response.context["page"].paginator.count == size * 2
    assert sum(t["n"] for t in response.context["type_counts"]) == size * 2
    with django_assert_max_num_queries(query_budget("health:my_alerts")):
        client.get("/health/alerts/mine/")


def test_raised_date_is_shown(client, csm, alerts):
    client.force_login(csm)

    assert timezone.localdate().isoformat() in client.get(URL).content.decode()
