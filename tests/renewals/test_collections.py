"""Collections (回款): ageing buckets and collections per CSM computed on hand-built
invoices, recording payments, the collections page with its CSV exports and the
account page's invoices panel; scoped like everything else."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from renewals import collections
from renewals.models import Invoice
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db


def make(account, *, due, amount="1000", paid="0", paid_on=None, issued=None, n=[0]) -> Invoice:  # noqa: B006
    n[0] += 1
    return Invoice.objects.create(
        account=account,
        number=f"INV-{n[0]:05d}",
        amount=Decimal(amount),
        paid_amount=Decimal(paid),
        paid_on=paid_on,
        issued_on=issued or due - dt.timedelta(days=30),
        due_date=due,
    )


def body(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8-sig")


# ------------------------------------------------------------------ buckets


def test_open_invoices_fall_into_ageing_buckets_by_days_past_due(world, today):
    account = world["own"]
    days = {
        "not_due": [-10, 0],  # due today is not yet overdue
        "1_30": [1, 30],
        "31_60": [31, 60],
        "61_90": [61, 90],
        "90_plus": [91, 400],
    }
    for offsets in days.values():
        for offset in offsets:
            make(account, due=today - dt.timedelta(days=offset), amount="1000", paid="250")
    make(account, due=today - dt.timedelta(days=45), paid="1000", paid_on=today - dt.timedelta(days=40))  # paid
    buckets = collections.collections_buckets(Invoice.objects.all(), today=today)
    assert [b["key"] for b in buckets] == ["not_due", "1_30", "31_60", "61_90", "90_plus"]
    assert all(b["count"] == 2 and b["amount"] == Decimal("1500.00") for b in buckets), buckets
    for key, offsets in days.items():
        for offset in offsets:
            assert collections.bucket_for(today - dt.timedelta(days=offset), today) == key
    assert Invoice.objects.filter(collections.bucket_q("overdue", today), collections.OPEN).count() == 8


def test_collections_per_csm_over_a_range(world, csm, teammate, today):
    start, end = dt.date(2026, 1, 1), dt.date(2026, 3, 31)
    own, mate = world["own"], world["teammates"]
    nobody = AccountFactory(csm=None, team=csm.team)
    # csm.li: two invoices issued in the range, one paid, one half paid and overdue.
    make(own, issued=dt.date(2026, 1, 5), due=dt.date(2026, 2, 4), amount="1000", paid="1000",
         paid_on=dt.date(2026, 2, 1))  # fmt: skip
    make(own, issued=dt.date(2026, 3, 1), due=dt.date(2026, 3, 31), amount="2000", paid="500")
    make(own, issued=dt.date(2025, 12, 31), due=dt.date(2026, 1, 30), amount="9999")  # before the range
    # csm.wang: one invoice not yet due on `today` (issued inside the range).
    make(mate, issued=dt.date(2026, 3, 31), due=today + dt.timedelta(days=5), amount="300")
    make(nobody, issued=dt.date(2026, 2, 1), due=dt.date(2026, 3, 1), amount="50")
    result = collections.collections_by_csm(Invoice.objects.all(), start=start, end=end, today=today)
    rows = {r["csm"].username if r["csm"] else None: r for r in result["rows"]}
    assert {k: rows["csm.li"][k] for k in ("invoices", "invoiced", "collected", "outstanding", "overdue", "rate")} == {
        "invoices": 2, "invoiced": 3000, "collected": 1500, "outstanding": 1500, "overdue": 1500, "rate": 50,
    }  # fmt: skip
    assert (rows["csm.wang"]["outstanding"], rows["csm.wang"]["overdue"]) == (300, 0)
    assert rows[None]["invoiced"] == 50
    assert result["rows"][-1]["csm"] is None  # accounts without a CSM last
    total = result["total"]
    assert (total["invoices"], total["invoiced"], total["collected"], total["outstanding"]) == (4, 3350, 1500, 1850)


# ------------------------------------------------------------------ payments


def test_recording_payments_up_to_paid_in_full(world, csm, today):
    invoice = make(world["own"], due=today - dt.timedelta(days=10), amount="1000")
    invoice = collections.invoice_payment_record(invoice=invoice, by=csm, amount=Decimal("400"), paid_on=today)
    assert (invoice.paid_amount, invoice.paid_on) == (Decimal("400"), None)
    for amount, paid_on, field in [
        (Decimal("600.01"), today, "amount"),
        (Decimal("0"), today, "amount"),
        (Decimal("10"), today + dt.timedelta(days=1), "paid_on"),
        (Decimal("10"), invoice.issued_on - dt.timedelta(days=1), "paid_on"),
    ]:
        with pytest.raises(ValidationError) as error:
            collections.invoice_payment_record(invoice=invoice, by=csm, amount=amount, paid_on=paid_on)
        assert field in error.value.message_dict
    yesterday = today - dt.timedelta(days=1)
    invoice = collections.invoice_payment_record(invoice=invoice, by=csm, amount=Decimal("600"), paid_on=yesterday)
    assert (invoice.paid_amount, invoice.paid_on) == (Decimal("1000"), yesterday)
    with pytest.raises(ValidationError, match="already paid in full"):
        collections.invoice_payment_record(invoice=invoice, by=csm, amount=Decimal("1"), paid_on=today)


def test_only_cs_of_the_account_and_administrators_record_payments(world, csm, other_csm, sales, admin_user, today):
    invoice = make(world["own"], due=today, amount="100")
    for user in (other_csm, sales):
        with pytest.raises(PermissionDenied):
            collections.invoice_payment_record(invoice=invoice, by=user, amount=Decimal("1"), paid_on=today)
    collections.invoice_payment_record(invoice=invoice, by=admin_user, amount=Decimal("1"), paid_on=today)


def test_only_billing_writers_save_invoices(world, csm, integration, today):
    data = {"number": "N1", "amount": Decimal("10"), "issued_on": today, "due_date": today}
    with pytest.raises(PermissionDenied):
        collections.invoice_save(by=csm, account=world["own"], data=data)
    invoice, created = collections.invoice_save(by=integration, account=world["own"], data=data)
    assert created and invoice.paid_amount == 0


# ------------------------------------------------------------------ pages


def test_the_collections_page_lists_open_invoices_with_buckets_and_per_csm_totals(client, world, manager, today):
    own, mate = world["own"], world["teammates"]
    late = make(own, due=today - dt.timedelta(days=45), amount="1000", paid="100", issued=today - dt.timedelta(days=75))
    soon = make(mate, due=today + dt.timedelta(days=3), amount="500", issued=today - dt.timedelta(days=27))
    make(own, due=today - dt.timedelta(days=5), amount="70", paid="70", paid_on=today - dt.timedelta(days=6))
    make(world["other_team"], due=today - dt.timedelta(days=100), amount="777")  # another team
    client.force_login(manager)
    page = client.get("/renewals/collections/")
    assert page.status_code == 200
    assert [i.pk for i in page.context["page"].object_list] == [late.pk, soon.pk]  # oldest due first
    amounts = {b["key"]: b["amount"] for b in page.context["buckets"]}
    assert amounts == {"not_due": 500, "1_30": 0, "31_60": 900, "61_90": 0, "90_plus": 0}
    assert page.context["open_total"] == 1400
    per_csm = {r["csm"].username: r for r in page.context["per_csm"]["rows"]}
    assert set(per_csm) == {"csm.li", "csm.wang"}
    assert (per_csm["csm.li"]["invoiced"], per_csm["csm.li"]["collected"]) == (1070, 170)
    content = page.content.decode()
    assert "Other Team Co" not in content and "777" not in content

    def listed(query):
        return [i.pk for i in client.get(f"/renewals/collections/?{query}").context["page"].object_list]

    assert listed("bucket=31_60") == [late.pk]
    assert listed("bucket=overdue") == [late.pk]
    assert listed("bucket=not_due") == [soon.pk]
    assert listed(f"csm={world['teammates'].csm.pk}") == [soon.pk]
    assert listed(f"team={manager.team.pk}") == [late.pk, soon.pk]
    assert listed("account=Teammate") == [soon.pk]
    assert listed("bucket=bogus") == []  # bad input: an empty list, not an error
    bucketed = client.get("/renewals/collections/?bucket=31_60")
    assert {b["key"]: b["count"] for b in bucketed.context["buckets"]}["not_due"] == 1  # buckets ignore the bucket
    assert client.get("/renewals/collections/?start=2026-13-01&end=x").status_code == 200


def test_collections_exports(client, world, csm, today):
    make(world["own"], due=today - dt.timedelta(days=10), amount="1234.5", issued=today - dt.timedelta(days=40))
    make(world["other_team"], due=today - dt.timedelta(days=10), amount="777", issued=today - dt.timedelta(days=40))
    client.force_login(csm)
    csv = body(client.get("/renewals/collections/?export=csv"))
    assert "Own Co" in csv and "1234.50" in csv and "Other Team Co" not in csv and "1–30 days overdue" in csv
    by_csm = body(client.get(f"/renewals/collections/?export=csm_csv&start={today.replace(month=1, day=1)}"))
    assert "1234.50" in by_csm and "777" not in by_csm


def test_the_invoices_panel_records_a_payment(client, world, csm, today):
    invoice = make(world["own"], due=today - dt.timedelta(days=12), amount="1000", issued=today - dt.timedelta(days=42))
    make(
        world["own"], due=today - dt.timedelta(days=50), amount="300", paid="300", paid_on=today - dt.timedelta(days=49)
    )
    client.force_login(csm)
    panel = client.get(f"/renewals/account/{world['own'].pk}/invoices/")
    assert panel.status_code == 200 and b"Record a payment" in panel.content and b"12 days overdue" in panel.content
    assert panel.context["outstanding"] == 1000 and panel.context["overdue"] == 1000
    hx = {"HTTP_HX_REQUEST": "true"}
    too_much = client.post(f"/renewals/invoices/{invoice.pk}/payment/", {"amount": "1000.01", "paid_on": today}, **hx)
    assert too_much.status_code == 200 and b"More than the balance" in too_much.content
    bad = client.post(f"/renewals/invoices/{invoice.pk}/payment/", {"amount": "x", "paid_on": "y"}, **hx)
    assert bad.status_code == 200 and b"Enter a number" in bad.content
    done = client.post(f"/renewals/invoices/{invoice.pk}/payment/", {"amount": "1000", "paid_on": today}, **hx)
    assert done.status_code == 200 and b"Payment recorded" in done.content
    invoice.refresh_from_db()
    assert (invoice.paid_amount, invoice.paid_on) == (Decimal("1000.00"), today)
    redirected = client.post(f"/renewals/invoices/{invoice.pk}/payment/", {"amount": "1", "paid_on": today})
    assert redirected.status_code == 302


def test_another_team_sees_neither_panel_nor_invoices(client, world, csm, other_csm, sales, today):
    invoice = make(world["own"], due=today, amount="100")
    client.force_login(other_csm)
    assert client.get(f"/renewals/account/{world['own'].pk}/invoices/").status_code == 404
    assert (
        client.post(f"/renewals/invoices/{invoice.pk}/payment/", {"amount": "1", "paid_on": today}).status_code == 404
    )
    assert "INV-" not in body(client.get("/renewals/collections/?export=csv"))
    client.force_login(sales)  # sold the account: reads the panel, records nothing
    panel = client.get(f"/renewals/account/{world['own'].pk}/invoices/")
    assert panel.status_code == 200 and b"Record a payment" not in panel.content
    assert (
        client.post(f"/renewals/invoices/{invoice.pk}/payment/", {"amount": "1", "paid_on": today}).status_code == 403
    )
    invoice.refresh_from_db()
    assert invoice.paid_amount == 0


def test_anonymous_users_are_sent_to_log_in(client, world):
    for url in ("/renewals/collections/", "/renewals/leads/", "/renewals/leads/report/"):
        assert client.get(url).status_code == 302


@pytest.mark.parametrize("size", [2, 30])
def test_pages_run_a_fixed_number_of_queries(client, world, csm, size, today, django_assert_max_num_queries,
                                             query_budget):  # fmt: skip
    account = world["own"]
    for i in range(size):
        other = AccountFactory(csm=UserFactory(team=csm.team), team=csm.team)
        make(
            account if i % 2 else other, due=today - dt.timedelta(days=7 * i), amount="100", paid="10" if i % 3 else "0"
        )
        make(account, due=today - dt.timedelta(days=i), amount="50", paid="50", paid_on=today - dt.timedelta(days=i))
    client.force_login(csm)
    for url in ("/renewals/collections/", "/renewals/collections/?bucket=overdue&account=Co"):
        with django_assert_max_num_queries(query_budget("renewals:collections")):
            assert client.get(url).status_code == 200
    for url in ("/renewals/collections/?export=csv", "/renewals/collections/?export=csm_csv"):
        with django_assert_max_num_queries(query_budget("renewals:collections_export")):
            body(client.get(url))
    with django_assert_max_num_queries(query_budget("renewals:account_invoices")):
        panel = client.get(f"/renewals/account/{account.pk}/invoices/")
    assert len(panel.context["open_invoices"]) == size // 2
