"""The accounts resource of api-contract.md."""

import pytest

from accounts.models import Account
from tests.conftest import api_as
from tests.factories import AccountFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

CONTRACT_FIELDS = {
    "id", "external_id", "name", "industry", "employee_count", "csm", "lifecycle_stage", "tier",
    "mrr", "arr", "health_score", "health_band",
}  # fmt: skip


def test_account_carries_the_contract_fields(integration, csm):
    account = AccountFactory(csm=csm, health_score=64, health_band="yellow")
    SubscriptionFactory(account=account, mrr="1234.50")
    body = api_as(integration).get(f"/api/v1/accounts/{account.pk}/").json()
    assert set(body) >= CONTRACT_FIELDS
    assert body["csm"] == "csm.li"
    assert body["mrr"] == "1234.50" and body["arr"] == "14814.00"
    assert (body["health_score"], body["health_band"]) == (64, "yellow")


def test_list_filters_of_the_contract(integration, csm, teammate):
    AccountFactory(external_id="CRM-1", csm=csm, lifecycle_stage="onboarding", health_band="red", name="Alpha")
    AccountFactory(external_id="CRM-2", csm=teammate, lifecycle_stage="mature", health_band="green", name="Beta")
    client = api_as(integration)

    def ids(query):
        return [a["external_id"] for a in client.get(f"/api/v1/accounts/?{query}").json()["results"]]

    assert ids("external_id=CRM-2") == ["CRM-2"]
    assert ids("csm=csm.li") == ["CRM-1"]
    assert ids("lifecycle_stage=mature") == ["CRM-2"]
    assert ids("health_band=red") == ["CRM-1"]
    assert ids("search=alph") == ["CRM-1"]


def test_list_is_paginated_with_page_size_up_to_1000(integration, csm):
    AccountFactory.create_batch(3, csm=csm)
    client = api_as(integration)
    body = client.get("/api/v1/accounts/?page_size=2").json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"] and body["previous"] is None
    assert len(client.get("/api/v1/accounts/?page_size=5000").json()["results"]) == 3


@pytest.mark.parametrize("size", [1, 60])
def test_list_query_count_is_constant(integration, csm, size, django_assert_max_num_queries, query_budget):
    for a in AccountFactory.create_batch(size, csm=csm):
        SubscriptionFactory(account=a)
    client = api_as(integration)
    with django_assert_max_num_queries(query_budget("api:accounts")):
        assert client.get("/api/v1/accounts/?page_size=100").json()["count"] == size


def test_integration_user_creates_an_account(integration, csm):
    response = api_as(integration).post(
        "/api/v1/accounts/",
        {"external_id": "CRM-900", "name": "成都蓝海物流", "industry": "logistics", "csm": "csm.li", "tier": "key"},
        format="json",
    )
    assert response.status_code == 201, response.content
    account = Account.objects.get(external_id="CRM-900")
    assert account.csm == csm and response.json()["mrr"] == "0.00"


def test_bad_input_gives_field_errors_and_changes_nothing(integration, csm):
    AccountFactory(external_id="CRM-1", csm=csm)
    response = api_as(integration).post(
        "/api/v1/accounts/",
        {"external_id": "CRM-1", "name": "", "industry": "astrology", "csm": "nobody", "employee_count": -5},
        format="json",
    )
    assert response.status_code == 400
    assert {"external_id", "name", "industry", "csm", "employee_count"} <= set(response.json())
    assert Account.objects.count() == 1


@pytest.mark.parametrize("payload", [[], "text", {"name": {"nested": 1}}, {"employee_count": "x" * 5000}])
def test_malformed_payloads_answer_400_not_500(integration, payload):
    response = api_as(integration).post("/api/v1/accounts/", payload, format="json")
    assert response.status_code == 400


def test_csm_cannot_create_accounts(csm):
    response = api_as(csm).post("/api/v1/accounts/", {"external_id": "X", "name": "X"}, format="json")
    assert response.status_code == 403
    assert not Account.objects.exists()


def test_csm_updates_own_account_but_not_health(csm):
    account = AccountFactory(csm=csm)
    response = api_as(csm).patch(
        f"/api/v1/accounts/{account.pk}/", {"lifecycle_stage": "mature", "health_score": 1}, format="json"
    )
    assert response.status_code == 200
    account.refresh_from_db()
    assert account.lifecycle_stage == "mature" and account.health_score is None


def test_sales_cannot_update_the_account_they_sold(sales, csm):
    account = AccountFactory(csm=csm, sales_owner=sales)
    response = api_as(sales).patch(f"/api/v1/accounts/{account.pk}/", {"name": "Renamed"}, format="json")
    assert response.status_code == 403
    account.refresh_from_db()
    assert account.name != "Renamed"


def test_schema_and_offline_docs_are_served(client, csm):
    client.force_login(csm)
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200 and b"/api/v1/accounts/" in schema.content
    docs = client.get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower() and "//unpkg" not in docs


def test_token_from_the_standard_command_authenticates(integration):
    from django.core.management import call_command

    call_command("drf_create_token", "crm-sync")
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user=integration).key}")
    assert client.get("/api/v1/accounts/").status_code == 200
