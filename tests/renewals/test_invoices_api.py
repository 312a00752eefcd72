"""Invoices API (/api/v1/invoices/): CRUD for billing systems, upsert by external_id, the
all-or-nothing bulk endpoint, reading scoped to the caller's accounts."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from renewals.models import Invoice
from tests.conftest import api_as
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/invoices/"
BULK = "/api/v1/invoices/bulk/"


def invoice(of, n=1, **overrides):
    return {
        "account_external_id": of.external_id,
        "external_id": f"BILL-{n}",
        "number": f"INV-{n:04d}",
        "amount": "36000.00",
        "issued_on": "2025-03-01",
        "due_date": "2025-03-31",
        **overrides,
    }


def make(account, n=1, **fields) -> Invoice:
    values = {
        "number": f"INV-{n:04d}",
        "external_id": f"BILL-{n}",
        "amount": Decimal("1000.00"),
        "issued_on": dt.date(2025, 1, 1),
        "due_date": dt.date(2025, 1, 31),
    }
    values.update(fields)
    return Invoice.objects.create(account=account, **values)


def post_bulk(client, rows):
    return client.post(BULK, data=json.dumps(rows), content_type="application/json")


# ------------------------------------------------------------------ single invoices


def test_a_billing_system_creates_reads_updates_and_deletes_an_invoice(world, integration):
    client = api_as(integration)
    created = client.post(URL, invoice(world["own"]), format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["account"] == world["own"].pk and body["account_external_id"] == world["own"].external_id
    assert (body["amount"], body["paid_amount"], body["paid_on"]) == ("36000.00", "0.00", None)
    assert body["outstanding"] == "36000.00"
    assert body["days_overdue"] == (timezone.localdate() - dt.date(2025, 3, 31)).days
    pk = body["id"]
    assert client.get(f"{URL}{pk}/").json() == body

    partial = client.patch(f"{URL}{pk}/", {"paid_amount": "6000"}, format="json")
    assert partial.status_code == 200, partial.json()
    assert (partial.json()["paid_amount"], partial.json()["outstanding"]) == ("6000.00", "30000.00")

    paid = client.patch(f"{URL}{pk}/", {"paid_on": "2025-04-02"}, format="json")
    assert paid.status_code == 200, paid.json()
    assert (paid.json()["paid_amount"], paid.json()["outstanding"], paid.json()["days_overdue"]) == (
        "36000.00",
        "0.00",
        None,
    )

    replaced = client.put(f"{URL}{pk}/", invoice(world["own"], amount="100", number="INV-X"), format="json")
    assert replaced.status_code == 200, replaced.json()
    stored = Invoice.objects.get(pk=pk)
    assert (stored.number, stored.amount, stored.paid_amount, stored.paid_on) == ("INV-X", 100, 0, None)

    assert client.delete(f"{URL}{pk}/").status_code == 204
    assert not Invoice.objects.exists()


def test_posting_a_known_external_id_updates_that_invoice(world, integration):
    client = api_as(integration)
    first = client.post(URL, invoice(world["own"]), format="json").json()
    again = client.post(URL, invoice(world["own"], amount="40000", paid_amount="40000", paid_on="2025-04-01"))
    assert again.status_code == 200, again.json()
    assert again.json()["id"] == first["id"]
    assert Invoice.objects.get().paid_on == dt.date(2025, 4, 1)
    moved = client.post(URL, invoice(world["teammates"]), format="json")
    assert moved.status_code == 400 and "external_id" in moved.json()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"due_date": "2025-02-01"}, "due_date"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "x"}, "amount"),
        ({"paid_amount": "36000.01"}, "paid_amount"),
        ({"paid_amount": "100", "paid_on": "2025-04-01"}, "paid_on"),
        ({"paid_amount": "36000"}, "paid_on"),
        ({"issued_on": "1 March"}, "issued_on"),
        ({"number": ""}, "number"),
        ({"number": "N" * 51}, "number"),
        ({"account_external_id": "NOPE"}, "account_external_id"),
    ],
)
def test_bad_input_answers_field_errors(world, integration, overrides, field):
    response = api_as(integration).post(URL, invoice(world["own"], **overrides), format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Invoice.objects.exists()


def test_an_invoice_without_external_id_is_created_each_time(world, integration):
    client = api_as(integration)
    row = invoice(world["own"])
    del row["external_id"]
    assert client.post(URL, row, format="json").status_code == 201
    assert client.post(URL, row, format="json").status_code == 201
    assert Invoice.objects.filter(external_id__isnull=True).count() == 2


# ------------------------------------------------------------------ who may do what


def test_csms_read_the_invoices_of_their_accounts_and_never_write(world, csm, teammate):
    own, theirs = make(world["own"], 1), make(world["other_team"], 2)
    client = api_as(csm)
    assert [row["id"] for row in client.get(URL).json()["results"]] == [own.pk]
    assert client.get(f"{URL}{theirs.pk}/").status_code == 404
    assert client.post(URL, invoice(world["own"], n=9), format="json").status_code == 403
    assert client.patch(f"{URL}{own.pk}/", {"paid_amount": "1"}, format="json").status_code == 403
    assert client.delete(f"{URL}{own.pk}/").status_code == 403
    assert post_bulk(client, [invoice(world["own"], n=9)]).status_code == 403
    assert Invoice.objects.count() == 2


def test_sales_read_the_invoices_of_the_accounts_they_sold(world, sales):
    sold, unsold = make(world["own"], 1), make(world["teammates"], 2)
    ids = [row["id"] for row in api_as(sales).get(URL).json()["results"]]
    assert sold.pk in ids and unsold.pk not in ids


def test_administrators_write_invoices(world, admin_user):
    assert api_as(admin_user).post(URL, invoice(world["unsold"]), format="json").status_code == 201


def test_list_filters(world, integration):
    today = timezone.localdate()
    overdue = make(world["own"], 1, issued_on=today - dt.timedelta(days=60), due_date=today - dt.timedelta(days=30))
    paid = make(world["own"], 2, paid_amount=Decimal("1000"), paid_on=dt.date(2025, 1, 20))
    future = make(world["other_team"], 3, issued_on=today, due_date=today + dt.timedelta(days=30))
    client = api_as(integration)

    def ids(query):
        response = client.get(f"{URL}?{query}")
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert ids("status=overdue") == {overdue.pk}
    assert ids("status=paid") == {paid.pk}
    assert ids("status=open") == {overdue.pk, future.pk}
    assert ids(f"account_external_id={world['other_team'].external_id}") == {future.pk}
    assert ids(f"csm={world['own'].csm.username}") == {overdue.pk, paid.pk}
    assert ids("external_id=BILL-2") == {paid.pk}
    assert ids(f"due_after={today.isoformat()}") == {future.pk}
    assert client.get(f"{URL}?due_after=soon").status_code == 400


# ------------------------------------------------------------------ bulk


def test_bulk_creates_then_updates_by_external_id(world, integration):
    client = api_as(integration)
    rows = [invoice(world["own"], 1), invoice(world["teammates"], 2, paid_on="2025-03-20")]
    assert post_bulk(client, rows).json() == {"created": 2, "updated": 0}
    paid = Invoice.objects.get(external_id="BILL-2")
    assert (paid.paid_amount, paid.paid_on) == (Decimal("36000.00"), dt.date(2025, 3, 20))
    assert post_bulk(client, rows).json() == {"created": 0, "updated": 2}  # a retry changes nothing
    rows[0]["paid_amount"] = "1000"
    rows.append(invoice(world["unsold"], 3))
    assert post_bulk(client, rows).json() == {"created": 1, "updated": 2}
    assert Invoice.objects.get(external_id="BILL-1").paid_amount == Decimal("1000.00")
    assert Invoice.objects.count() == 3


def test_one_bad_invoice_stores_nothing_and_every_bad_one_is_named(world, integration):
    rows = [invoice(world["own"], n) for n in range(6)]
    rows[1]["due_date"] = "2025-01-01"
    rows[3]["external_id"] = "BILL-0"
    del rows[4]["number"]
    rows[5]["paid_amount"] = "99999"
    response = post_bulk(api_as(integration), rows)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [e["index"] for e in errors] == [1, 3, 4, 5]
    assert errors[0]["due_date"] == ["The due date cannot be before the issue date."]
    assert errors[1]["external_id"] == ["Repeats item 0."]
    assert errors[2]["number"] == ["This field is required."]
    assert "paid_amount" in errors[3]
    assert not Invoice.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("external_id", None),
        ("external_id", ""),
        ("amount", None),
        ("amount", "1,000"),
        ("amount", 1e300),
        ("issued_on", "2025-13-01"),
        ("paid_on", "tomorrow"),
        ("account_external_id", None),
    ],
)
def test_bulk_checks_each_field(world, integration, field, value):
    rows = [invoice(world["own"], 1), invoice(world["own"], 2, **{field: value})]
    if field == "account_external_id":
        del rows[1]["account_external_id"]
        field = "account_external_id"
    response = post_bulk(api_as(integration), rows)
    assert response.status_code == 400, response.json()
    (error,) = response.json()["errors"]
    assert error["index"] == 1 and field in error, error


def test_bulk_refuses_to_move_an_invoice_to_another_account(world, integration):
    make(world["own"], 1)
    response = post_bulk(api_as(integration), [invoice(world["teammates"], 1)])
    assert response.json() == {"errors": [{"index": 0, "external_id": ["This invoice belongs to another account."]}]}


@pytest.mark.parametrize("body", [b"{}", b"not json", b"null"])
def test_a_bulk_body_that_is_not_a_list_is_refused(integration, body):
    response = api_as(integration).post(BULK, data=body, content_type="application/json")
    assert response.status_code == 400 and "non_field_errors" in response.json()["errors"][0]


def test_ten_thousand_invoices_in_one_request(integration):
    account = AccountFactory(csm=None, team=None)
    rows = [invoice(account, n) for n in range(10_000)]
    response = post_bulk(api_as(integration), rows)
    assert response.status_code == 200, response.content[:500]
    assert response.json() == {"created": 10_000, "updated": 0}
    too_many = post_bulk(api_as(integration), rows + [invoice(account, 10_001)])
    assert too_many.status_code == 400


# ------------------------------------------------------------------ query counts


@pytest.mark.parametrize("size", [2, 40])
def test_the_list_runs_a_fixed_number_of_queries(world, integration, size, django_assert_max_num_queries,
                                                 query_budget):  # fmt: skip
    for n in range(size):
        make(AccountFactory(csm=world["own"].csm), n)
    client = api_as(integration)
    with django_assert_max_num_queries(query_budget("api:invoices")):
        assert client.get(f"{URL}?page_size=100&status=open").json()["count"] == size
