"""Subscriptions and products API per the contract: /api/v1/subscriptions/ (create, read,
update, list with filters), the all-or-nothing bulk endpoint, who may write what, and
/api/v1/products/."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from renewals.models import Product, Subscription
from tests.conftest import api_as
from tests.factories import AccountFactory, ProductFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/subscriptions/"
BULK = "/api/v1/subscriptions/bulk/"
CONTRACT_FIELDS = {
    "id", "account", "product", "start_date", "end_date", "mrr", "quantity", "bill_period_months", "discount",
}  # fmt: skip


@pytest.fixture
def product(db):
    return ProductFactory(code="crm-pro", name="CRM Pro", product_line="CRM")


@pytest.fixture
def analytics(db):
    return Product.objects.create(code="analytics", name="Analytics Cloud", product_line="Analytics")


def item(of, **overrides):
    return {
        "account_external_id": of.external_id,
        "product": "crm-pro",
        "start_date": "2025-01-01",
        "end_date": "2026-01-01",
        "mrr": "1200.50",
        "quantity": 20,
        "bill_period_months": 12,
        "discount": "5",
        **overrides,
    }


def post_bulk(client, rows):
    return client.post(BULK, data=json.dumps(rows), content_type="application/json")


# ------------------------------------------------------------------ single items


def test_an_integration_creates_a_subscription_by_external_id_and_reads_the_contract_fields(
    world, integration, product
):
    account = world["own"]
    response = api_as(integration).post(URL, item(account), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) >= CONTRACT_FIELDS
    assert body["account"] == account.pk
    assert body["account_external_id"] == account.external_id
    assert body["product"] == "crm-pro"
    assert (body["start_date"], body["end_date"]) == ("2025-01-01", "2026-01-01")
    assert (body["mrr"], body["quantity"], body["bill_period_months"], body["discount"]) == ("1200.50", 20, 12, "5.00")
    stored = Subscription.objects.get(pk=body["id"])
    assert stored.mrr == Decimal("1200.50") and stored.account == account

    read = api_as(integration).get(f"{URL}{body['id']}/").json()
    assert read == body


def test_account_by_id_defaults_and_an_open_ended_subscription(world, csm, product):
    account = world["own"]
    response = api_as(csm).post(
        URL, {"account": account.pk, "product": "crm-pro", "start_date": "2025-02-01", "mrr": 300}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["end_date"] is None
    assert (body["quantity"], body["bill_period_months"], body["discount"]) == (1, 12, "0.00")


def test_the_tier_follows_the_new_contract_value(world, integration, product, settings):
    account = world["own"]
    mrr = Decimal(settings.ACCOUNT_TIER_THRESHOLDS["key"]) / 12 + 1
    big = item(account, start_date="2020-01-01", end_date=None, mrr=f"{mrr:.2f}")
    assert api_as(integration).post(URL, big, format="json").status_code == 201
    account.refresh_from_db()
    assert account.tier == Account.Tier.KEY


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"product": "nope"}, "product", "Unknown product."),
        ({"end_date": "2025-01-01"}, "end_date", "The end date must be after the start date."),
        ({"end_date": "2024-12-31"}, "end_date", "The end date must be after the start date."),
        ({"mrr": "-1"}, "mrr", None),
        ({"mrr": "abc"}, "mrr", None),
        ({"mrr": "1.234"}, "mrr", None),
        ({"discount": "101"}, "discount", None),
        ({"discount": "-5"}, "discount", None),
        ({"quantity": -1}, "quantity", None),
        ({"bill_period_months": 0}, "bill_period_months", None),
        ({"start_date": "01/02/2025"}, "start_date", None),
        ({"start_date": None}, "start_date", None),
        ({"account_external_id": "NOPE"}, "account_external_id", "Unknown account."),
    ],
)
def test_bad_input_answers_field_errors(world, integration, product, overrides, field, message):
    response = api_as(integration).post(URL, item(world["own"], **overrides), format="json")
    assert response.status_code == 400
    errors = response.json()
    assert field in errors, errors
    if message:
        assert message in errors[field]
    assert not Subscription.objects.exists()


def test_a_second_subscription_with_the_same_key_is_refused(world, integration, product):
    client = api_as(integration)
    first = client.post(URL, item(world["own"]), format="json").json()
    again = client.post(URL, item(world["own"], mrr="10"), format="json")
    assert again.status_code == 400
    assert str(first["id"]) in again.json()["start_date"][0]


def test_update_and_partial_update(world, csm, product, analytics):
    sub = SubscriptionFactory(account=world["own"], product=product, start_date=dt.date(2025, 1, 1), end_date=None)
    client = api_as(csm)
    patched = client.patch(f"{URL}{sub.pk}/", {"end_date": "2026-01-01", "mrr": "99.90"}, format="json")
    assert patched.status_code == 200, patched.json()
    sub.refresh_from_db()
    assert (sub.end_date, sub.mrr) == (dt.date(2026, 1, 1), Decimal("99.90"))
    # PATCH checks the end date against the stored start date.
    assert client.patch(f"{URL}{sub.pk}/", {"end_date": "2024-06-01"}, format="json").status_code == 400
    put = client.put(
        f"{URL}{sub.pk}/",
        {"product": "analytics", "start_date": "2025-03-01", "end_date": None, "mrr": "10", "quantity": 3},
        format="json",
    )
    assert put.status_code == 200, put.json()
    sub.refresh_from_db()
    assert (sub.product, sub.start_date, sub.end_date, sub.quantity) == (analytics, dt.date(2025, 3, 1), None, 3)
    moved = client.patch(f"{URL}{sub.pk}/", {"account": world["teammates"].pk}, format="json")
    assert moved.status_code == 400 and "account" in moved.json()


def test_list_filters_by_account_product_and_active_day(world, integration, product, analytics):
    own, other = world["own"], world["other_team"]
    a = SubscriptionFactory(account=own, product=product, start_date=dt.date(2025, 1, 1), end_date=dt.date(2026, 1, 1))
    b = SubscriptionFactory(account=own, product=analytics, start_date=dt.date(2025, 6, 1), end_date=None)
    c = SubscriptionFactory(
        account=other, product=product, start_date=dt.date(2024, 1, 1), end_date=dt.date(2025, 1, 1)
    )
    client = api_as(integration)

    def ids(query):
        response = client.get(f"{URL}?{query}")
        assert response.status_code == 200
        return {row["id"] for row in response.json()["results"]}

    assert ids("") == {a.pk, b.pk, c.pk}
    assert ids(f"account={own.pk}") == {a.pk, b.pk}
    assert ids(f"account_external_id={other.external_id}") == {c.pk}
    assert ids("product=analytics") == {b.pk}
    # Active on d: start_date <= d and (end_date null or end_date > d).
    assert ids("active_on=2025-01-01") == {a.pk}  # c ends that day: inactive
    assert ids("active_on=2025-06-01") == {a.pk, b.pk}
    assert ids("active_on=2026-01-01") == {b.pk}
    assert ids("active_on=2024-12-31") == {c.pk}
    bad = client.get(f"{URL}?active_on=yesterday")
    assert bad.status_code == 400 and "active_on" in bad.json()


def test_lists_are_paginated(world, integration, product):
    for i in range(5):
        SubscriptionFactory(account=world["own"], product=product, start_date=dt.date(2020, 1, 1 + i))
    body = api_as(integration).get(f"{URL}?page_size=2").json()
    assert set(body) >= {"count", "next", "previous", "results"}
    assert body["count"] == 5 and len(body["results"]) == 2


# ------------------------------------------------------------------ who may do what


def test_csm_sees_and_writes_only_their_team_accounts(world, csm, product):
    mine = SubscriptionFactory(account=world["own"], product=product)
    theirs = SubscriptionFactory(account=world["other_team"], product=product)
    client = api_as(csm)
    listed = {row["id"] for row in client.get(URL).json()["results"]}
    assert listed == {mine.pk}
    assert client.get(f"{URL}{theirs.pk}/").status_code == 404
    assert client.patch(f"{URL}{theirs.pk}/", {"mrr": "1"}, format="json").status_code == 404
    refused = client.post(URL, item(world["other_team"]), format="json")
    assert refused.status_code == 400 and refused.json()["account_external_id"] == ["Unknown account."]
    assert client.post(URL, item(world["teammates"]), format="json").status_code == 201  # the team's account


def test_manager_writes_the_team_accounts(world, manager, product):
    assert api_as(manager).post(URL, item(world["teammates"]), format="json").status_code == 201
    assert api_as(manager).post(URL, item(world["unsold"]), format="json").status_code == 400


def test_sales_read_the_accounts_they_sold_but_never_write(world, sales, product):
    sold = SubscriptionFactory(account=world["own"], product=product)
    client = api_as(sales)
    assert client.get(f"{URL}{sold.pk}/").status_code == 200
    assert client.post(URL, item(world["own"]), format="json").status_code == 403
    assert client.patch(f"{URL}{sold.pk}/", {"mrr": "1"}, format="json").status_code == 403
    assert post_bulk(client, [item(world["own"])]).status_code == 403
    assert not Subscription.objects.exclude(pk=sold.pk).exists()


def test_anonymous_callers_are_refused(api, product):
    assert api.get(URL).status_code in (401, 403)
    assert api.post(BULK, [], format="json").status_code in (401, 403)


# ------------------------------------------------------------------ bulk


def test_bulk_stores_every_item(world, integration, product, analytics):
    rows = [item(world["own"]), item(world["other_team"], product="analytics", end_date=None, quantity=None)]
    rows.append({"account": world["unsold"].pk, "product": "crm-pro", "start_date": "2025-05-01", "mrr": 7})
    response = post_bulk(api_as(integration), rows)
    assert response.status_code == 200, response.json()
    assert response.json() == {"created": 3, "updated": 0}
    by_account = {s.account_id: s for s in Subscription.objects.all()}
    assert by_account[world["own"].pk].mrr == Decimal("1200.50")
    assert by_account[world["other_team"].pk].end_date is None
    assert by_account[world["other_team"].pk].quantity == 1
    assert by_account[world["unsold"].pk].bill_period_months == 12


def test_one_bad_item_stores_nothing_and_every_bad_item_is_named_by_index(world, integration, product):
    rows = [item(world["own"], start_date=f"2025-01-{d:02d}") for d in range(1, 11)]
    rows[2]["product"] = "unknown-product"
    rows[5]["end_date"] = rows[5]["start_date"]
    rows[7] = "not an object"
    rows[9]["mrr"] = -3
    rows[9]["account_external_id"] = "NOPE"
    response = post_bulk(api_as(integration), rows)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [e["index"] for e in errors] == [2, 5, 7, 9]
    assert errors[0]["product"] == ["Unknown product."]
    assert errors[1]["end_date"] == ["The end date must be after the start date."]
    assert "non_field_errors" in errors[2]
    assert set(errors[3]) == {"index", "mrr", "account_external_id"}
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("product", None),
        ("product", 12),
        ("start_date", "2025-02-30"),
        ("start_date", "20250101"),
        ("end_date", 20260101),
        ("mrr", None),
        ("mrr", True),
        ("mrr", "NaN"),
        ("mrr", "1e400"),
        ("mrr", 1e400),
        ("mrr", "0.001"),
        ("quantity", 1.5),
        ("quantity", "many"),
        ("quantity", 2**40),
        ("bill_period_months", 0),
        ("bill_period_months", 121),
        ("discount", "100.01"),
        ("discount", []),
        ("account_external_id", {"x": 1}),
        ("account_external_id", "x" * 101),
    ],
)
def test_bulk_checks_each_field(world, integration, product, field, value):
    response = post_bulk(api_as(integration), [item(world["own"]), item(world["own"], **{field: value})])
    assert response.status_code == 400, response.json()
    (error,) = response.json()["errors"]
    assert error["index"] == 1 and field in error
    assert not Subscription.objects.exists()


def test_bulk_accepts_numbers_for_money(world, integration, product):
    response = post_bulk(api_as(integration), [item(world["own"], mrr=1200, discount=7.5)])
    assert response.status_code == 200, response.json()
    stored = Subscription.objects.get()
    assert (stored.mrr, stored.discount) == (Decimal("1200.00"), Decimal("7.50"))


def test_bulk_with_id_and_external_id_naming_different_accounts_is_refused(world, integration, product):
    row = item(world["own"], account=world["teammates"].pk)
    (error,) = post_bulk(api_as(integration), [row]).json()["errors"]
    assert "account_external_id" in error


def test_sending_the_same_list_twice_changes_nothing_and_a_change_updates(world, integration, product):
    client = api_as(integration)
    rows = [item(world["own"]), item(world["teammates"])]
    assert post_bulk(client, rows).json() == {"created": 2, "updated": 0}
    assert post_bulk(client, rows).json() == {"created": 0, "updated": 2}
    assert Subscription.objects.count() == 2
    rows[0]["mrr"] = "2000"
    assert post_bulk(client, rows).json() == {"created": 0, "updated": 2}
    assert Subscription.objects.get(account=world["own"]).mrr == Decimal("2000.00")


def test_the_same_key_twice_in_one_list_is_refused(world, integration, product):
    response = post_bulk(api_as(integration), [item(world["own"]), item(world["own"], mrr="3")])
    (error,) = response.json()["errors"]
    assert error["index"] == 1 and "item 0" in error["start_date"][0]


def test_a_csm_bulk_reaches_only_the_accounts_they_may_change(world, csm, product):
    response = post_bulk(api_as(csm), [item(world["own"]), item(world["other_team"])])
    assert response.status_code == 400
    assert response.json()["errors"] == [{"index": 1, "account_external_id": ["Unknown account."]}]
    assert post_bulk(api_as(csm), [item(world["own"]), item(world["teammates"])]).status_code == 200


@pytest.mark.parametrize("body", [b"{}", b'"text"', b"not json", b"[1, 2", b"null"])
def test_a_body_that_is_not_a_json_list_is_refused(integration, product, body):
    response = api_as(integration).post(BULK, data=body, content_type="application/json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()["errors"][0]


def test_a_body_that_is_not_json_at_all_is_refused(integration, product):
    response = api_as(integration).post(BULK, data="a,b", content_type="text/csv")
    assert response.status_code in (400, 415)


def test_more_than_ten_thousand_items_are_refused_whole(world, integration, product):
    rows = [item(world["own"], start_date="2025-01-01")] * 10_001
    response = post_bulk(api_as(integration), rows)
    assert response.status_code == 400
    assert "10,000" in response.json()["errors"][0]["non_field_errors"][0]


def test_ten_thousand_items_are_stored_in_a_fixed_number_of_statements(integration, product):
    accounts = [AccountFactory(csm=None, team=None) for _ in range(5)]
    day = dt.date(2000, 1, 1)

    def rows(n):
        return [
            item(accounts[i % 5], start_date=(day + dt.timedelta(days=i // 5)).isoformat(), end_date=None)
            for i in range(n)
        ]

    client = api_as(integration)
    with CaptureQueriesContext(connection) as small:
        assert post_bulk(client, rows(10)).status_code == 200
    Subscription.objects.all().delete()
    with CaptureQueriesContext(connection) as large:
        response = post_bulk(client, rows(10_000))
    assert response.status_code == 200 and response.json() == {"created": 10_000, "updated": 0}
    inserts = sum(1 for q in large.captured_queries if q["sql"].lstrip().upper().startswith("INSERT"))
    assert len(large.captured_queries) - inserts <= len(small.captured_queries)
    assert inserts <= 10_000 // 100 + 1  # batched, never one per item


def test_an_empty_list_stores_nothing(integration, product):
    response = post_bulk(api_as(integration), [])
    assert response.status_code == 200 and response.json() == {"created": 0, "updated": 0}


# ------------------------------------------------------------------ query counts


@pytest.mark.parametrize("size", [2, 40])
def test_the_list_runs_a_fixed_number_of_queries(world, integration, product, size, django_assert_max_num_queries,
                                                 query_budget):  # fmt: skip
    for i in range(size):
        account = AccountFactory(csm=world["own"].csm)
        SubscriptionFactory(account=account, product=product, start_date=dt.date(2020, 1, 1) + dt.timedelta(days=i))
    client = api_as(integration)
    with django_assert_max_num_queries(query_budget("api:subscriptions")):
        response = client.get(f"{URL}?page_size=100&active_on=2020-01-01")
    assert response.status_code == 200
    with django_assert_max_num_queries(query_budget("api:subscriptions")):
        assert client.get(f"{URL}?page_size=100").json()["count"] == size


# ------------------------------------------------------------------ products


def test_everyone_reads_products_only_admins_and_integrations_write_them(csm, admin_user, integration, product):
    client = api_as(csm)
    body = client.get("/api/v1/products/").json()
    assert body["results"] == [{"id": product.pk, "code": "crm-pro", "name": "CRM Pro", "product_line": "CRM"}]
    assert client.post("/api/v1/products/", {"code": "x", "name": "X", "product_line": "L"}).status_code == 403
    created = api_as(integration).post(
        "/api/v1/products/", {"code": "scm-core", "name": "SCM Core", "product_line": "Supply chain"}, format="json"
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    renamed = api_as(admin_user).patch(f"/api/v1/products/{pk}/", {"name": "SCM Core 2"}, format="json")
    assert renamed.status_code == 200 and Product.objects.get(pk=pk).name == "SCM Core 2"
    duplicate = api_as(integration).post(
        "/api/v1/products/", {"code": "scm-core", "name": "Again", "product_line": "X"}, format="json"
    )
    assert duplicate.status_code == 400 and "code" in duplicate.json()
    assert api_as(integration).get("/api/v1/products/?product_line=CRM").json()["count"] == 1


@pytest.mark.parametrize("size", [1, 30])
def test_products_list_runs_a_fixed_number_of_queries(csm, size, django_assert_max_num_queries, query_budget):
    Product.objects.bulk_create(Product(code=f"p{i}", name=f"P {i}", product_line="L") for i in range(size))
    client = api_as(csm)
    with django_assert_max_num_queries(query_budget("api:products")):
        assert client.get("/api/v1/products/").json()["count"] == size
