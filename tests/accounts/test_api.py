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


# ------------------------------------------------------------------ issue 4: profile fields, tier, access


def test_account_shows_profile_size_band_and_completeness(integration, csm):
    account = AccountFactory(
        csm=csm, employee_count=2500, service_model="consulting", product_view="platform", usage_driver="it"
    )
    body = api_as(integration).get(f"/api/v1/accounts/{account.pk}/").json()
    assert (body["service_model"], body["product_view"], body["usage_driver"]) == ("consulting", "platform", "it")
    assert body["size_band"] == "large" and body["completeness"] == 0 and body["tier"] == "standard"


def test_size_band_is_blank_without_employee_count(integration, csm):
    account = AccountFactory(csm=csm, employee_count=None)
    assert api_as(integration).get(f"/api/v1/accounts/{account.pk}/").json()["size_band"] == ""


def test_profile_fields_are_writable_but_tier_and_completeness_are_derived(csm):
    account = AccountFactory(csm=csm, tier="standard")
    response = api_as(csm).patch(
        f"/api/v1/accounts/{account.pk}/",
        {"service_model": "implementation", "product_view": "omnipotent", "usage_driver": "business",
         "tier": "strategic", "completeness": 100, "size_band": "enterprise"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.content
    account.refresh_from_db()
    assert (account.service_model, account.product_view, account.usage_driver) == (
        "implementation", "omnipotent", "business",
    )  # fmt: skip
    assert (account.tier, account.completeness) == ("standard", 0)


@pytest.mark.parametrize(
    "payload", [{"service_model": "magic"}, {"product_view": 7}, {"usage_driver": ["it"]}, {"name": "x" * 201}]
)
def test_bad_profile_values_give_field_errors(csm, payload):
    account = AccountFactory(csm=csm, name="Before")
    response = api_as(csm).patch(f"/api/v1/accounts/{account.pk}/", payload, format="json")
    assert response.status_code == 400 and set(payload) <= set(response.json())
    account.refresh_from_db()
    assert account.name == "Before" and account.service_model == "support"


def test_created_account_has_a_file_and_a_first_stage_change_by_the_caller(integration, csm):
    response = api_as(integration).post(
        "/api/v1/accounts/", {"external_id": "CRM-901", "name": "X", "csm": "csm.li"}, format="json"
    )
    account = Account.objects.get(pk=response.json()["id"])
    assert account.file is not None
    change = account.stage_changes.get()
    assert (change.from_stage, change.to_stage, change.changed_by) == ("", "handover", integration)


def test_stage_change_through_the_api_records_who(csm):
    account = AccountFactory(csm=csm, lifecycle_stage="onboarding")
    api_as(csm).patch(f"/api/v1/accounts/{account.pk}/", {"lifecycle_stage": "adoption"}, format="json")
    change = account.stage_changes.get()
    assert (change.from_stage, change.to_stage, change.changed_by) == ("onboarding", "adoption", csm)


def test_csm_cannot_read_or_change_another_teams_account(csm, other_csm):
    hidden = AccountFactory(csm=other_csm, name="Before")
    client = api_as(csm)
    assert client.get(f"/api/v1/accounts/{hidden.pk}/").status_code == 404
    assert client.patch(f"/api/v1/accounts/{hidden.pk}/", {"name": "After"}, format="json").status_code == 404
    assert hidden.pk not in [a["id"] for a in client.get("/api/v1/accounts/").json()["results"]]
    hidden.refresh_from_db()
    assert hidden.name == "Before"


def test_sales_reads_only_the_accounts_they_sold(world, sales):
    client = api_as(sales)
    names = {a["name"] for a in client.get("/api/v1/accounts/").json()["results"]}
    assert names == {"Own Co", "Other Team Co"}
    assert client.get(f"/api/v1/accounts/{world['own'].pk}/").status_code == 200
    assert client.get(f"/api/v1/accounts/{world['teammates'].pk}/").status_code == 404


@pytest.mark.parametrize("size", [5, 50])
def test_list_query_count_is_constant_with_5_and_50(
    integration, csm, size, django_assert_max_num_queries, query_budget
):
    for a in AccountFactory.create_batch(size, csm=csm):
        SubscriptionFactory(account=a)
    client = api_as(integration)
    with django_assert_max_num_queries(query_budget("api:accounts")):
        assert client.get("/api/v1/accounts/?page_size=100").json()["count"] == size


def test_a_crm_syncs_accounts_by_external_id(integration, csm):
    api = api_as(integration)
    body = {"name": "Suzhou Optics", "industry": "manufacturing", "employee_count": 320, "csm": csm.username}
    created = api.put("/api/v1/accounts/by-external-id/CRM-9001/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["external_id"] == "CRM-9001" and created.json()["csm"] == csm.username

    again = api.put("/api/v1/accounts/by-external-id/CRM-9001/", body, format="json")
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    renamed = api.patch("/api/v1/accounts/by-external-id/CRM-9001/", {"name": "Suzhou Optics Co."}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Suzhou Optics Co."
    assert Account.objects.filter(external_id="CRM-9001").count() == 1

    bad = api.put("/api/v1/accounts/by-external-id/CRM-9002/", {"name": "", "employee_count": -5}, format="json")
    assert bad.status_code == 400 and {"name", "employee_count"} <= set(bad.json())
    assert not Account.objects.filter(external_id="CRM-9002").exists()


def test_sync_by_external_id_cannot_reach_another_teams_account(manager, other_csm):
    hidden = AccountFactory(csm=other_csm, external_id="CRM-HIDDEN")
    response = api_as(manager).patch("/api/v1/accounts/by-external-id/CRM-HIDDEN/", {"name": "x"}, format="json")
    assert response.status_code == 404
    hidden.refresh_from_db()
    assert hidden.name != "x"


def test_only_managers_and_admins_assign_owners_through_the_api(csm, teammate, manager, other_csm):
    account = AccountFactory(csm=csm)
    moved = api_as(csm).patch(f"/api/v1/accounts/{account.pk}/", {"csm": teammate.username}, format="json")
    assert moved.status_code == 400 and "csm" in moved.json()
    renamed = api_as(csm).patch(f"/api/v1/accounts/{account.pk}/", {"name": "Renamed", "csm": csm.username})
    assert renamed.status_code == 200  # naming the current owner is not a change
    outside = api_as(manager).patch(f"/api/v1/accounts/{account.pk}/", {"csm": other_csm.username}, format="json")
    assert outside.status_code == 400
    inside = api_as(manager).patch(f"/api/v1/accounts/{account.pk}/", {"csm": teammate.username}, format="json")
    assert inside.status_code == 200 and inside.json()["csm"] == teammate.username
