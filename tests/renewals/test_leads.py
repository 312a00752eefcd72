"""Expansion leads: the services (log, hand to sales, won, lost, with clear errors for a
move the status does not allow), the notification to sales, the lead bonus report, the
pages (account panel, list, CSV, lead page, report) and /api/v1/leads/."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from people.models import Notification, User
from renewals import leads
from renewals.models import Lead, Product
from tests.conftest import api_as
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(db):
    return Product.objects.create(code="analytics", name="Analytics Cloud", product_line="Analytics")


@pytest.fixture
def other_sales(db):
    return UserFactory(username="sales.sun", role=User.Role.SALES, team=None)


def log(account, by, title="Add 30 seats for the Suzhou plant", **kw):
    kw.setdefault("kind", Lead.Kind.UPSELL)
    return leads.lead_create(account=account, by=by, title=title, **kw)


def body(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8-sig")


# ------------------------------------------------------------------ services


def test_a_csm_logs_a_lead_credited_to_them(world, csm, product):
    lead = log(world["own"], csm, kind=Lead.Kind.CROSS_SELL, product=product, estimated_mrr=Decimal("3000"))
    assert (lead.status, lead.found_by, lead.product, lead.estimated_mrr) == ("open", csm, product, 3000)
    assert lead.sales_owner is None and lead.handed_on is None


def test_only_cs_who_may_change_the_account_log_leads(world, csm, sales, other_csm):
    with pytest.raises(PermissionDenied):
        log(world["other_team"], csm)
    with pytest.raises(PermissionDenied):
        log(world["own"], sales)
    with pytest.raises(PermissionDenied):
        log(world["own"], other_csm)


def test_a_lead_needs_a_title_and_a_kind(world, csm):
    with pytest.raises(ValidationError) as error:
        leads.lead_create(account=world["own"], by=csm, kind="bogus", title="  ")
    assert {"kind", "title"} <= set(error.value.message_dict)


def test_an_integration_logs_a_lead_for_a_csm_but_must_name_them(world, integration, csm, sales):
    with pytest.raises(ValidationError) as error:
        log(world["own"], integration)
    assert "found_by" in error.value.message_dict
    with pytest.raises(ValidationError):
        log(world["own"], integration, found_by=sales)  # credit goes to CS
    assert log(world["own"], integration, found_by=csm).found_by == csm


def test_a_csm_cannot_credit_someone_else(world, csm, teammate):
    with pytest.raises(ValidationError) as error:
        log(world["own"], csm, found_by=teammate)
    assert "found_by" in error.value.message_dict


def test_handing_to_sales_goes_to_the_account_sales_owner_and_notifies_them(
    world, csm, sales, today, django_capture_on_commit_callbacks
):
    lead = log(world["own"], csm)
    mail.outbox.clear()
    with pytest.raises(ValidationError):
        leads.lead_hand_to_sales(lead=lead, by=csm, on=today + dt.timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        lead = leads.lead_hand_to_sales(lead=lead, by=csm)
    assert (lead.status, lead.sales_owner, lead.handed_on) == ("with_sales", sales, today)
    note = Notification.objects.get(user=sales)
    assert "Add 30 seats for the Suzhou plant" in note.message and "Own Co" in note.message
    assert note.url == f"/renewals/leads/{lead.pk}/"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [sales.email]
    assert "New lead" in mail.outbox[0].subject


def test_handing_to_a_chosen_sales_person(world, csm, other_sales):
    lead = leads.lead_hand_to_sales(lead=log(world["own"], csm), by=csm, sales_owner=other_sales)
    assert lead.sales_owner == other_sales
    assert Notification.objects.filter(user=other_sales).count() == 1


def test_handing_needs_a_sales_person(world, csm, teammate):
    lead = log(world["teammates"], csm)  # no sales owner on this account
    with pytest.raises(ValidationError) as error:
        leads.lead_hand_to_sales(lead=lead, by=csm)
    assert "no sales owner" in error.value.message_dict["sales_owner"][0]
    with pytest.raises(ValidationError) as error:
        leads.lead_hand_to_sales(lead=lead, by=csm, sales_owner=teammate)
    assert "sales_owner" in error.value.message_dict


def test_bad_transitions_are_refused_with_clear_errors(world, csm, sales):
    lead = log(world["own"], csm)
    with pytest.raises(ValidationError) as error:
        leads.lead_mark_won(lead=lead, by=csm, won_mrr=Decimal(100))
    assert error.value.message_dict["status"] == ["Hand the lead to sales before marking it won."]
    lead = leads.lead_hand_to_sales(lead=lead, by=csm)
    with pytest.raises(ValidationError) as error:
        leads.lead_hand_to_sales(lead=lead, by=csm)
    assert error.value.message_dict["status"] == ["This lead is already with sales."]
    with pytest.raises(ValidationError) as error:
        leads.lead_mark_won(lead=lead, by=sales, won_mrr=None)
    assert "won_mrr" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        leads.lead_mark_lost(lead=lead, by=sales, reason="   ")
    assert "lost_reason" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        leads.lead_mark_won(lead=lead, by=sales, won_mrr=Decimal(5), on=lead.handed_on - dt.timedelta(days=1))
    assert "closed_on" in error.value.message_dict
    lead = leads.lead_mark_won(lead=lead, by=sales, won_mrr=Decimal("4500.00"))
    for move in (
        lambda: leads.lead_mark_lost(lead=lead, by=csm, reason="late"),
        lambda: leads.lead_mark_won(lead=lead, by=csm, won_mrr=Decimal(1)),
        lambda: leads.lead_hand_to_sales(lead=lead, by=csm),
    ):
        with pytest.raises(ValidationError) as error:
            move()
        assert error.value.message_dict["status"] == ["This lead is already closed (Won)."]


def test_sales_close_the_leads_handed_to_them_and_the_finder_is_told(world, csm, sales, other_sales, today):
    lead = leads.lead_hand_to_sales(lead=log(world["own"], csm), by=csm, sales_owner=other_sales)
    with pytest.raises(PermissionDenied):
        leads.lead_mark_won(lead=lead, by=sales, won_mrr=Decimal(1))  # sold the account, not given the lead
    won = leads.lead_mark_won(lead=lead, by=other_sales, won_mrr=Decimal("4500"))
    assert (won.status, won.won_mrr, won.closed_on) == ("won", Decimal("4500"), today)
    assert Notification.objects.filter(user=csm, message__contains="was won").exists()


def test_an_open_lead_may_be_dropped_by_cs_but_not_by_sales(world, csm, sales):
    lead = log(world["own"], csm)
    with pytest.raises(PermissionDenied):
        leads.lead_mark_lost(lead=lead, by=sales, reason="no")
    lost = leads.lead_mark_lost(lead=lead, by=csm, reason="Budget frozen until next year")
    assert (lost.status, lost.lost_reason) == ("lost", "Budget frozen until next year")


# ------------------------------------------------------------------ the lead report


def _closed(account, by, seller, *, found, handed, closed, won_mrr=None, reason=""):
    lead = log(account, by)
    Lead.objects.filter(pk=lead.pk).update(
        created_at=dt.datetime.combine(found, dt.time(10), tzinfo=timezone.get_default_timezone())
    )
    lead = leads.lead_hand_to_sales(lead=lead, by=by, sales_owner=seller, on=handed)
    if won_mrr is not None:
        return leads.lead_mark_won(lead=lead, by=seller, won_mrr=Decimal(won_mrr), on=closed)
    if reason:
        return leads.lead_mark_lost(lead=lead, by=seller, reason=reason, on=closed)
    return lead


def test_the_report_credits_the_finder_of_won_leads_over_the_range(world, csm, teammate, manager, sales):
    jan, feb, mar = dt.date(2026, 1, 10), dt.date(2026, 2, 10), dt.date(2026, 3, 10)
    own, mate = world["own"], world["teammates"]
    _closed(own, csm, sales, found=jan, handed=jan, closed=feb, won_mrr="1000")
    _closed(own, csm, sales, found=jan, handed=feb, closed=mar, won_mrr="500")  # won after the range
    _closed(own, csm, sales, found=feb, handed=feb, closed=feb, reason="No budget")
    _closed(mate, teammate, sales, found=dt.date(2025, 12, 1), handed=jan, closed=feb, won_mrr="2000")
    # Entirely before the range:
    _closed(mate, manager, sales, found=dt.date(2025, 6, 1), handed=dt.date(2025, 6, 2), closed=dt.date(2025, 7, 1),
            won_mrr="9999")  # fmt: skip
    report = leads.lead_report(user=manager, start=jan, end=feb + dt.timedelta(days=18))
    rows = {r["csm"].username: r for r in report["rows"]}
    assert set(rows) == {"csm.li", "csm.wang"}
    assert {k: rows["csm.li"][k] for k in ("found", "handed", "won", "lost", "won_mrr", "win_rate")} == {
        "found": 3, "handed": 3, "won": 1, "lost": 1, "won_mrr": Decimal("1000.00"), "win_rate": 50,
    }  # fmt: skip
    assert (rows["csm.wang"]["found"], rows["csm.wang"]["won"], rows["csm.wang"]["won_mrr"]) == (0, 1, 2000)
    assert report["total"]["won_mrr"] == Decimal("3000.00") and report["total"]["won"] == 2
    assert report["rows"][0]["csm"].username == "csm.wang"  # most MRR won first


def test_the_report_only_counts_leads_the_user_may_see(world, csm, other_csm, sales):
    day = timezone.localdate()
    _closed(world["other_team"], other_csm, sales, found=day, handed=day, closed=day, won_mrr="700")
    assert leads.lead_report(user=csm, start=day, end=day)["rows"] == []
    assert leads.lead_report(user=other_csm, start=day, end=day)["total"]["won_mrr"] == 700


# ------------------------------------------------------------------ pages


def test_the_panel_logs_a_lead_and_hands_it_over(client, world, csm, sales):
    account = world["own"]
    client.force_login(csm)
    panel = client.get(f"/renewals/account/{account.pk}/leads/")
    assert panel.status_code == 200 and b"Log a lead" in panel.content
    hx = {"HTTP_HX_REQUEST": "true"}
    bad = client.post(f"/renewals/account/{account.pk}/leads/add/", {"lead-kind": "upsell", "lead-title": ""}, **hx)
    assert bad.status_code == 200 and b"This field is required" in bad.content
    added = client.post(
        f"/renewals/account/{account.pk}/leads/add/",
        {"lead-kind": "cross_sell", "lead-title": "交叉销售：数据分析模块", "lead-estimated_mrr": "2400"},
        **hx,
    )
    assert added.status_code == 200 and "交叉销售：数据分析模块" in added.content.decode()
    lead = Lead.objects.get()
    assert lead.found_by == csm and lead.estimated_mrr == 2400
    handed = client.post(f"/renewals/leads/{lead.pk}/hand/", {"panel": "1", "sales_owner": ""}, **hx)
    assert handed.status_code == 200 and b"Lead handed to sales." in handed.content
    lead.refresh_from_db()
    assert lead.status == "with_sales" and lead.sales_owner == sales
    refused = client.post(f"/renewals/leads/{lead.pk}/hand/", {"panel": "1"}, **hx)
    assert b"already with sales" in refused.content


def test_sales_win_a_lead_from_its_page(client, world, csm, sales):
    lead = leads.lead_hand_to_sales(lead=log(world["own"], csm), by=csm)
    client.force_login(sales)
    page = client.get(f"/renewals/leads/{lead.pk}/")
    assert page.status_code == 200 and b"Mark won" in page.content
    answer = client.post(
        f"/renewals/leads/{lead.pk}/won/", {"won_mrr": "abc", "next": f"/renewals/leads/{lead.pk}/"}, follow=True
    )
    assert answer.status_code == 200 and b"Enter a number" in answer.content
    client.post(f"/renewals/leads/{lead.pk}/won/", {"won_mrr": "4500", "next": "https://evil.example/"})
    lead.refresh_from_db()
    assert (lead.status, lead.won_mrr) == ("won", Decimal("4500.00"))
    assert client.post(f"/renewals/leads/{lead.pk}/explode/", {}).status_code == 404


def test_the_lead_pages_of_another_team_answer_404(client, world, csm, other_csm, sales):
    theirs = log(world["other_team"], other_csm)
    client.force_login(csm)
    assert client.get(f"/renewals/leads/{theirs.pk}/").status_code == 404
    assert client.post(f"/renewals/leads/{theirs.pk}/lost/", {"lost_reason": "x"}).status_code == 404
    assert client.get(f"/renewals/account/{world['other_team'].pk}/leads/").status_code == 404
    assert client.post(f"/renewals/account/{world['other_team'].pk}/leads/add/", {}).status_code == 404
    listed = body(client.get("/renewals/leads/?export=csv"))
    assert theirs.title not in listed
    theirs.refresh_from_db()
    assert theirs.status == "open"


def test_sales_see_the_account_panel_without_forms(client, world, csm, sales):
    log(world["own"], csm)
    client.force_login(sales)
    panel = client.get(f"/renewals/account/{world['own'].pk}/leads/")
    assert panel.status_code == 200 and b"Log a lead" not in panel.content and b"Hand to sales" not in panel.content
    assert client.post(f"/renewals/account/{world['own'].pk}/leads/add/", {"lead-title": "x"}).status_code == 403


def test_the_list_filters_and_exports(client, world, csm, teammate, sales, today):
    a = log(world["own"], csm, title="Add 30 seats for the Suzhou plant")
    b = leads.lead_hand_to_sales(lead=log(world["teammates"], teammate, title="Mobile add-on"), by=teammate,
                                 sales_owner=sales)  # fmt: skip
    client.force_login(csm)

    def titles(query):
        response = client.get(f"/renewals/leads/?{query}")
        assert response.status_code == 200
        return {lead.title for lead in response.context["page"].object_list}

    assert titles("") == {a.title, b.title}
    assert titles("status=with_sales") == {b.title}
    assert titles(f"found_by={csm.pk}") == {a.title}
    assert titles(f"sales_owner={sales.pk}") == {b.title}
    assert titles("kind=cross_sell") == set()
    assert titles(f"month={today:%Y-%m}") == {a.title, b.title}
    assert titles("month=2001-01") == set()
    assert titles("search=Suzhou") == {a.title}
    assert titles("month=13-2025") == set()  # bad input: an empty list, not an error page
    csv = body(client.get("/renewals/leads/?export=csv&status=with_sales"))
    assert "Mobile add-on" in csv and "Suzhou" not in csv and "sales.zhou" in csv


def test_the_report_page_and_its_csv(client, world, manager, csm, sales, today):
    _closed(world["own"], csm, sales, found=today, handed=today, closed=today, won_mrr="1234.5")
    client.force_login(manager)
    page = client.get("/renewals/leads/report/")
    assert page.status_code == 200
    assert page.context["report"]["total"]["won_mrr"] == Decimal("1234.50")
    csv = body(client.get(f"/renewals/leads/report/?start={today}&end={today}&export=csv"))
    assert "csm.li" in csv and "1234.50" in csv
    odd = client.get("/renewals/leads/report/?start=2026-05-01&end=2026-01-01")
    assert odd.status_code == 200 and b"must not be before" in odd.content
    assert client.get("/renewals/leads/report/?start=garbage&team=abc").status_code == 200


@pytest.mark.parametrize("size", [2, 30])
def test_pages_run_a_fixed_number_of_queries(client, world, csm, teammate, sales, product, size,
                                             django_assert_max_num_queries, query_budget):  # fmt: skip
    account = world["own"]
    for i in range(size):
        lead = log(account if i % 2 else world["teammates"], csm if i % 2 else teammate, title=f"Lead {i}",
                   product=product if i % 3 else None)  # fmt: skip
        if i % 3 == 1:
            lead = leads.lead_hand_to_sales(lead=lead, by=csm, sales_owner=sales)
        if i % 6 == 1:
            leads.lead_mark_won(lead=lead, by=sales, won_mrr=Decimal(100))
    client.force_login(csm)
    first = Lead.objects.order_by("pk").first()
    for key, url in [
        ("renewals:leads", "/renewals/leads/"),
        ("renewals:leads", "/renewals/leads/?status=with_sales&kind=upsell"),
        ("renewals:lead_report", "/renewals/leads/report/"),
        ("renewals:lead_detail", f"/renewals/leads/{first.pk}/"),
        ("renewals:account_leads", f"/renewals/account/{account.pk}/leads/"),
    ]:
        with django_assert_max_num_queries(query_budget(key)):
            assert client.get(url).status_code == 200, url
    with django_assert_max_num_queries(query_budget("renewals:leads_export")):
        assert body(client.get("/renewals/leads/?export=csv")).count("\n") == size + 1


# ------------------------------------------------------------------ API


def test_api_creates_lists_and_moves_a_lead(world, csm, sales, product, today):
    client = api_as(csm)
    created = client.post(
        "/api/v1/leads/",
        {"account_external_id": world["own"].external_id, "kind": "cross_sell", "title": "交叉销售：数据分析模块",
         "product": "analytics", "estimated_mrr": "2400"},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    lead = created.json()
    assert (lead["status"], lead["found_by"], lead["product"], lead["sales_owner"]) == ("open", "csm.li", "analytics",
                                                                                         None)  # fmt: skip
    url = f"/api/v1/leads/{lead['id']}/"
    handed = client.patch(url, {"status": "with_sales"}, format="json")
    assert handed.status_code == 200, handed.json()
    assert (handed.json()["status"], handed.json()["sales_owner"]) == ("with_sales", "sales.zhou")
    assert handed.json()["handed_on"] == today.isoformat()
    back = client.patch(url, {"status": "open"}, format="json")
    assert back.status_code == 400 and back.json()["status"] == ["A lead cannot go back to open."]
    early = client.patch(url, {"won_mrr": "10"}, format="json")
    assert early.status_code == 400 and "won_mrr" in early.json()
    won = api_as(sales).patch(url, {"status": "won", "won_mrr": "2600.00"}, format="json")
    assert won.status_code == 200, won.json()
    assert (won.json()["status"], won.json()["won_mrr"]) == ("won", "2600.00")
    again = api_as(sales).patch(url, {"status": "won", "won_mrr": "2600.00"}, format="json")
    assert again.status_code == 200  # a retried request changes nothing
    changed = api_as(sales).patch(url, {"status": "lost", "lost_reason": "x"}, format="json")
    assert changed.status_code == 400 and changed.json()["status"] == ["This lead is already closed (Won)."]
    listed = client.get("/api/v1/leads/?status=won&found_by=csm.li").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == lead["id"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"status": "won", "won_mrr": "1"}, "status"),
        ({"status": "won", "lost_reason": "x"}, "lost_reason"),
        ({"status": "with_sales", "sales_owner": "csm.wang"}, "sales_owner"),
        ({"status": "lost"}, "lost_reason"),
        ({"status": "bogus"}, "status"),
        ({"account": 1}, "account"),
        ({"estimated_mrr": "-5"}, "estimated_mrr"),
        ({"product": "nope"}, "product"),
        ({"status": "with_sales", "handed_on": "2999-01-01"}, "handed_on"),
    ],
)
def test_api_bad_moves_answer_field_errors(world, csm, teammate, sales, payload, field):
    lead = log(world["own"], csm)
    response = api_as(csm).patch(f"/api/v1/leads/{lead.pk}/", payload, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json(), response.json()
    lead.refresh_from_db()
    assert lead.status == "open"


def test_api_scoping(world, csm, other_csm, sales, integration):
    theirs = log(world["other_team"], other_csm)
    mine = log(world["own"], csm)
    assert api_as(csm).get(f"/api/v1/leads/{theirs.pk}/").status_code == 404
    assert api_as(csm).patch(f"/api/v1/leads/{theirs.pk}/", {"status": "lost", "lost_reason": "x"}).status_code == 404
    refused = api_as(csm).post(
        "/api/v1/leads/", {"account": world["other_team"].pk, "kind": "upsell", "title": "x"}, format="json"
    )
    assert refused.status_code == 400 and "account" in refused.json()
    assert (
        api_as(sales)
        .post("/api/v1/leads/", {"account": world["own"].pk, "kind": "upsell", "title": "x"}, format="json")
        .status_code
        == 403
    )
    assert api_as(sales).patch(f"/api/v1/leads/{mine.pk}/", {"status": "lost", "lost_reason": "x"}).status_code == 403
    by_crm = api_as(integration).post(
        "/api/v1/leads/",
        {"account": world["other_team"].pk, "kind": "upsell", "title": "From the CRM", "found_by": "csm.zhao"},
        format="json",
    )
    assert by_crm.status_code == 201 and by_crm.json()["found_by"] == "csm.zhao"
    assert {row["id"] for row in api_as(csm).get("/api/v1/leads/").json()["results"]} == {mine.pk}


def test_sales_see_a_lead_handed_to_them_on_an_account_they_did_not_sell(world, csm, teammate, other_sales):
    lead = leads.lead_hand_to_sales(lead=log(world["teammates"], teammate), by=teammate, sales_owner=other_sales)
    client = api_as(other_sales)
    assert [row["id"] for row in client.get("/api/v1/leads/").json()["results"]] == [lead.pk]
    assert (
        client.patch(f"/api/v1/leads/{lead.pk}/", {"status": "lost", "lost_reason": "Chose a rival"}).status_code == 200
    )


@pytest.mark.parametrize("size", [2, 30])
def test_api_list_runs_a_fixed_number_of_queries(world, csm, sales, product, size, django_assert_max_num_queries,
                                                 query_budget):  # fmt: skip
    for i in range(size):
        lead = log(AccountFactory(csm=csm, sales_owner=sales), csm, title=f"L{i}", product=product if i % 2 else None)
        if i % 2:
            leads.lead_hand_to_sales(lead=lead, by=csm)
    client = api_as(csm)
    with django_assert_max_num_queries(query_budget("api:leads")):
        assert client.get("/api/v1/leads/?page_size=100").json()["count"] == size


# ------------------------------------------------------------------ demo


def test_the_demo_has_leads_in_every_status_and_partial_payments(db):
    from demo.services import demo_load
    from renewals.models import Invoice

    demo_load(seed=7, today=dt.date(2026, 11, 23), accounts=40)
    assert set(Lead.objects.values_list("status", flat=True)) == set(Lead.Status.values)
    assert set(Lead.objects.values_list("kind", flat=True)) == set(Lead.Kind.values)
    assert not Lead.objects.filter(found_by__isnull=True).exists()
    assert set(Lead.objects.exclude(status="open").values_list("sales_owner__role", flat=True)) <= {"sales", None}
    assert Lead.objects.filter(status="won", won_mrr__gt=0).exists()
    assert not Lead.objects.filter(status="lost", lost_reason="").exists()
    titles = list(Lead.objects.values_list("title", flat=True))
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in titles) and any(t.isascii() for t in titles)
    partial = Invoice.objects.filter(paid_on__isnull=True, paid_amount__gt=0)
    assert partial.exists()
    assert all(i.paid_amount < i.amount for i in partial)
