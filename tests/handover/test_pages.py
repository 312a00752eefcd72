"""The handover pages from the outside: start, fill, submit, review, queues and counts."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Account
from cs_platform.context_processors import nav_counts
from handover.models import Handover, HandoverProduct, HandoverStakeholder
from handover.services import handover_accept, handover_create, handover_return, handover_submit
from people.models import Notification, User
from tests.factories import AccountFactory, UserFactory
from tests.handover.helpers import FULL, complete_handover, product

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(team, sales):
    return AccountFactory(name="Huaxin Foods", csm=None, team=team, sales_owner=sales, lifecycle_stage="handover")


@pytest.fixture
def draft(account, sales):
    return handover_create(account=account, sales_owner=sales, data={"needs": "Faster month-end close"})


@pytest.fixture
def handover(account, sales, team):
    return complete_handover(account=account, sales_owner=sales, team=team)


@pytest.fixture
def submitted(handover, sales):
    return handover_submit(handover=handover, by=sales)


def package_post(handover, *, products=None, people=None, submit=False, **fields) -> dict:
    """What the browser posts from the package form: every field, the two formsets and
    their management forms."""
    data = {key: "" if value is None else str(value) for key, value in FULL.items()}
    data.update(team=str(handover.account.team_id or ""), csm="", kickoff_on="", deal_summary="")
    data.update({key: str(value) for key, value in fields.items()})
    products = (
        [{"product": product().pk, "quantity": 50, "unit_price": "1200", "discount": "10"}]
        if products is None
        else products
    )
    people = (
        [{"name": "Chen Jie", "title": "CFO", "role": "decision_maker", "influence": "high"}]
        if people is None
        else people
    )
    for prefix, rows in (("products", products), ("people", people)):
        data[f"{prefix}-TOTAL_FORMS"] = str(len(rows))
        data[f"{prefix}-INITIAL_FORMS"] = "0"
        data[f"{prefix}-MIN_NUM_FORMS"] = "0"
        data[f"{prefix}-MAX_NUM_FORMS"] = "1000"
        for i, row in enumerate(rows):
            for key, value in row.items():
                data[f"{prefix}-{i}-{key}"] = str(value)
    if submit:
        data["submit"] = "1"
    return data


def snapshot(handover: Handover) -> tuple:
    handover.refresh_from_db()
    return (
        {f: getattr(handover, f) for f in FULL},
        handover.status,
        list(handover.products.values_list("product_id", "quantity", "unit_price", "discount")),
        list(handover.stakeholders.values_list("name", "role")),
    )


# ------------------------------------------------------------------ starting a handover


def test_sales_starts_a_handover_for_an_account_they_sold(client, sales, account):
    client.force_login(sales)
    page = client.get("/handovers/new/")
    assert page.status_code == 200 and "Huaxin Foods" in page.content.decode()
    response = client.post("/handovers/new/", {"account": account.pk})
    handover = Handover.objects.get(account=account)
    assert response.status_code == 302 and response.url == f"/handovers/{handover.pk}/edit/"
    assert (handover.status, handover.sales_owner) == ("draft", sales)


def test_sales_starts_a_handover_for_a_new_customer(client, sales):
    client.force_login(sales)
    response = client.post("/handovers/new/", {"name": "Yunfan Tech", "external_id": "CRM-9001"})
    account = Account.objects.get(external_id="CRM-9001")
    assert (account.name, account.sales_owner, account.lifecycle_stage) == ("Yunfan Tech", sales, "handover")
    assert response.url == f"/handovers/{account.handovers.get().pk}/edit/"


@pytest.mark.parametrize(
    "post, field, message",
    [
        ({}, None, "Choose an account, or name a new one."),
        ({"name": "Yunfan Tech"}, "external_id", "Give the new account&#x27;s ID"),
        ({"external_id": "EXT-TAKEN"}, "name", "Give the new account a name."),
        ({"name": "Yunfan Tech", "external_id": "ext-taken"}, "external_id", "Another account already uses this ID."),
        ({"account": "999999"}, "account", "Select a valid choice"),
    ],
)
def test_starting_a_handover_with_bad_input_says_what_is_wrong_and_creates_nothing(
    client, sales, account, post, field, message
):
    AccountFactory(external_id="EXT-TAKEN")
    client.force_login(sales)
    accounts = Account.objects.count()
    response = client.post("/handovers/new/", post)
    assert response.status_code == 400
    assert message in response.content.decode()
    if field:
        assert field in response.context["form"].errors
    assert Handover.objects.count() == 0 and Account.objects.count() == accounts


def test_sales_cannot_start_a_handover_for_an_account_they_did_not_sell(client, sales, world):
    client.force_login(sales)
    response = client.post("/handovers/new/", {"account": world["teammates"].pk})
    assert response.status_code == 400 and "account" in response.context["form"].errors
    assert not Handover.objects.exists()


def test_an_account_gets_one_handover_in_progress(client, sales, account, draft):
    client.force_login(sales)
    response = client.post("/handovers/new/", {"account": account.pk})
    assert response.status_code == 400
    assert "already has a handover in progress" in response.content.decode()
    assert f"/handovers/{draft.pk}/" in response.content.decode()
    assert Handover.objects.count() == 1


def test_admin_names_the_salesperson_of_a_new_customer(client, admin_user, sales):
    client.force_login(admin_user)
    response = client.post("/handovers/new/", {"name": "Lanting", "external_id": "CRM-7", "sales_owner": ""})
    assert response.status_code == 400 and "sales_owner" in response.context["form"].errors
    client.post("/handovers/new/", {"name": "Lanting", "external_id": "CRM-7", "sales_owner": sales.pk})
    assert Handover.objects.get().sales_owner == sales


def test_admin_starts_a_handover_for_the_salesperson_of_the_account(client, admin_user, account, sales):
    client.force_login(admin_user)
    response = client.post("/handovers/new/", {"account": account.pk})
    assert response.status_code == 302
    assert Handover.objects.get().sales_owner == sales


@pytest.mark.parametrize("who", ["csm", "manager", "integration"])
def test_only_sales_and_admins_start_handovers(client, who, request):
    client.force_login(request.getfixturevalue(who))
    assert client.get("/handovers/new/").status_code == 404
    assert client.post("/handovers/new/", {"name": "X", "external_id": "X-1"}).status_code == 404
    assert not Handover.objects.exists()


# ------------------------------------------------------------------ the package form


def test_the_package_form_shows_every_section_and_marks_required_items(client, sales, draft):
    client.force_login(sales)
    response = client.get(f"/handovers/{draft.pk}/edit/")
    body = response.content.decode()
    assert response.status_code == 200
    for title in ("Customer basics", "The deal", "Needs and expectations", "Purchase and interaction history",
                  "Implementation plan", "Support after the sale", "Key people", "Anticipated problems",
                  "Feedback from the sales process", "What sales promised", "Receiving team and kickoff"):  # fmt: skip
        assert title in body, title
    assert body.count('class="req"') >= 10  # required items and fields are marked
    completeness = response.context["completeness"]
    assert 0 < completeness.percent < 50
    assert f'data-testid="completeness">{completeness.percent}<' in body
    assert "Products, quantities and prices" in body  # listed as missing
    assert 'id="products-template"' in body and 'id="people-template"' in body


def test_saving_the_package_stores_fields_lines_and_people(client, sales, draft, team):
    client.force_login(sales)
    data = package_post(
        draft,
        products=[
            {"product": product().pk, "quantity": 50, "unit_price": "1200", "discount": "10"},
            {"product": product("bi").pk, "quantity": 5, "unit_price": "800", "discount": ""},
            {"product": "", "quantity": "1", "unit_price": "", "discount": "0"},  # the blank extra line
        ],
        people=[
            {"name": "Chen Jie", "title": "CFO", "role": "decision_maker", "influence": "high"},
            {"name": "Liu Yang", "title": "IT manager", "role": "it", "influence": "medium", "email": "ly@example.com"},
        ],
        team=team.pk,
    )
    response = client.post(f"/handovers/{draft.pk}/edit/", data)
    assert response.status_code == 302 and response.url == f"/handovers/{draft.pk}/"
    fields, status, lines, people = snapshot(draft)
    assert fields == FULL and status == "draft"
    assert lines == [(product().pk, 50, 1200, 10), (product("bi").pk, 5, 800, 0)]
    assert people == [("Chen Jie", "decision_maker"), ("Liu Yang", "it")]
    page = client.get(f"/handovers/{draft.pk}/")
    assert page.context["completeness"].percent == 100


def test_lines_can_be_removed(client, sales, handover):
    client.force_login(sales)
    data = package_post(
        handover,
        people=[
            {"name": "Chen Jie", "title": "CFO", "role": "decision_maker", "influence": "high"},
            {"name": "Liu Yang", "title": "IT", "role": "it", "influence": "medium", "DELETE": "on"},
        ],
    )
    data["people-INITIAL_FORMS"] = "2"
    assert client.post(f"/handovers/{handover.pk}/edit/", data).status_code == 302
    assert list(handover.stakeholders.values_list("name", flat=True)) == ["Chen Jie"]


def test_stored_lines_are_shown_for_editing(client, sales, handover):
    client.force_login(sales)
    response = client.get(f"/handovers/{handover.pk}/edit/")
    assert response.context["products"].initial_form_count() == 1
    assert response.context["people"].initial_form_count() == 2
    assert 'value="Liu Yang"' in response.content.decode()


@pytest.mark.parametrize(
    "change, where, message",
    [
        ({"contact_email": "not-an-email"}, "contact_email", "Enter an email address"),
        ({"contract_start": "2027-01-01", "contract_end": "2026-01-01"}, "contract_end", "must end after it starts"),
        ({"contract_start": "next tuesday"}, "contract_start", "Enter a date such as"),
        ({"products": [{"product": "", "quantity": "0", "unit_price": "-5", "discount": "150"}]}, "products", None),
        ({"people": [{"name": " ", "role": "", "influence": "high", "email": "x"}]}, "people", None),
    ],
)
def test_bad_input_shows_errors_by_the_field_and_changes_nothing(client, sales, handover, change, where, message):
    client.force_login(sales)
    before = snapshot(handover)
    lines = {key: change.pop(key) for key in ("products", "people") if key in change}
    response = client.post(f"/handovers/{handover.pk}/edit/", package_post(handover, **lines, **change))
    assert response.status_code == 400
    body = response.content.decode()
    assert "Nothing was saved" in body
    if where in ("products", "people"):
        line = response.context[where].forms[0]
        expected = (
            {"product", "quantity", "unit_price", "discount"} if where == "products" else {"name", "role", "email"}
        )
        assert set(line.errors) == expected
    else:
        assert where in response.context["form"].errors
        assert message in body
    assert snapshot(handover) == before


def test_line_errors_are_worded_for_people(client, sales, handover):
    client.force_login(sales)
    data = package_post(handover, products=[{"product": "", "quantity": "0", "unit_price": "-5", "discount": "150"}])
    body = client.post(f"/handovers/{handover.pk}/edit/", data).content.decode()
    for message in ("Choose the product.", "At least 1.", "The price cannot be negative.", "The discount is at most"):
        assert message in body


def test_a_tampered_form_is_refused_without_an_error_page(client, sales, handover):
    client.force_login(sales)
    before = snapshot(handover)
    data = {key: value for key, value in package_post(handover).items() if "FORMS" not in key}
    response = client.post(f"/handovers/{handover.pk}/edit/", data)
    assert response.status_code == 400 and "Nothing was saved" in response.content.decode()
    assert snapshot(handover) == before


def test_a_receiving_csm_must_be_in_the_receiving_team(client, sales, handover, other_csm, team):
    client.force_login(sales)
    before = snapshot(handover)
    response = client.post(f"/handovers/{handover.pk}/edit/", package_post(handover, csm=other_csm.pk, team=team.pk))
    assert response.status_code == 400
    assert "This CSM is not in the receiving team." in response.content.decode()
    assert snapshot(handover) == before and Handover.objects.get().csm is None


def test_naming_the_receiving_csm(client, sales, handover, csm, team):
    client.force_login(sales)
    client.post(f"/handovers/{handover.pk}/edit/", package_post(handover, csm=csm.pk, team=team.pk))
    assert Handover.objects.get().csm == csm


def test_save_and_submit_submits_a_complete_package(client, sales, draft):
    client.force_login(sales)
    response = client.post(f"/handovers/{draft.pk}/edit/", package_post(draft, submit=True))
    assert response.url == f"/handovers/{draft.pk}/"
    assert Handover.objects.get().status == "submitted"


def test_save_and_submit_keeps_an_incomplete_package_as_a_draft_and_says_what_is_missing(client, sales, draft):
    client.force_login(sales)
    response = client.post(f"/handovers/{draft.pk}/edit/", package_post(draft, promises="", submit=True), follow=True)
    body = response.content.decode()
    assert "Saved, but not submitted yet." in body and "Missing: What sales promised" in body
    draft.refresh_from_db()
    assert (draft.status, draft.payment_terms) == ("draft", FULL["payment_terms"])  # the rest was saved


def test_only_the_sales_owner_edits(client, csm, manager, handover):
    for user in (csm, manager):
        client.force_login(user)
        assert client.get(f"/handovers/{handover.pk}/edit/").status_code == 403
        assert client.post(f"/handovers/{handover.pk}/edit/", package_post(handover, needs="x")).status_code == 403
    assert Handover.objects.get().needs == FULL["needs"]


def test_a_submitted_package_can_no_longer_be_edited(client, sales, submitted):
    client.force_login(sales)
    response = client.post(f"/handovers/{submitted.pk}/edit/", package_post(submitted, needs="changed"))
    assert response.status_code == 302 and response.url == f"/handovers/{submitted.pk}/"
    assert Handover.objects.get().needs == FULL["needs"]


# ------------------------------------------------------------------ the package page


def test_the_package_page_shows_the_deal_people_completeness_and_history(client, sales, handover):
    HandoverProduct.objects.create(handover=handover, product=product("bi"), quantity=3, unit_price=1000)
    client.force_login(sales)
    response = client.get(f"/handovers/{handover.pk}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "54,000.00" in body  # 50 × 1,200 less 10%
    assert "3,000.00" in body and "57,000.00" in body  # the second line and the total per year
    assert "Chen Jie" in body and "Decision maker" in body and "Influence: High" in body
    assert FULL["promises"] in body and FULL["address"] in body
    assert response.context["completeness"].percent == 100
    assert [t.to_status for t in response.context["transitions"]] == ["draft"]
    assert "Submit for review" in body and "Accept handover" not in body


def test_submit_from_the_page(client, sales, handover, manager):
    client.force_login(sales)
    response = client.post(f"/handovers/{handover.pk}/submit/")
    assert response.status_code == 302
    assert Handover.objects.get().status == "submitted"
    assert Notification.objects.filter(user=manager).exists()


def test_a_refused_submit_lists_the_missing_items(client, sales, draft):
    client.force_login(sales)
    response = client.post(f"/handovers/{draft.pk}/submit/")
    body = response.content.decode()
    assert response.status_code == 400
    assert "Not submitted" in body and "Missing: Products, quantities and prices" in body
    assert Handover.objects.get().status == "draft"


def test_the_csm_returns_it_with_a_reason_and_the_missing_items(client, csm, sales, submitted):
    client.force_login(csm)
    page = client.get(f"/handovers/{submitted.pk}/").content.decode()
    assert "Accept handover" in page and "Return to sales" in page and "Submit for review" not in page
    response = client.post(
        f"/handovers/{submitted.pk}/return/",
        {"return-reason": "Who signs off on go-live?", "return-missing": ["stakeholders", "implementation_plan"]},
    )
    assert response.status_code == 302
    handover = Handover.objects.get()
    assert (handover.status, handover.returned_items) == ("returned", ["stakeholders", "implementation_plan"])

    client.force_login(sales)
    body = client.get(f"/handovers/{submitted.pk}/").content.decode()
    assert "Who signs off on go-live?" in body and "Returned by" in body
    assert "Key people, with a decision maker" in body and "asked for by the CSM" in body
    edit = client.get(f"/handovers/{submitted.pk}/edit/")
    assert "Who signs off on go-live?" in edit.content.decode()
    assert {s.key for s in edit.context["sections"] if s.returned} == {"people", "plan"}


def test_a_return_needs_a_reason(client, csm, submitted):
    client.force_login(csm)
    response = client.post(f"/handovers/{submitted.pk}/return/", {"return-reason": "  "})
    assert response.status_code == 400
    assert "reason" in response.context["return_form"].errors
    assert Handover.objects.get().status == "submitted"
    response = client.post(f"/handovers/{submitted.pk}/return/", {"return-reason": "x", "return-missing": ["bogus"]})
    assert response.status_code == 400 and "missing" in response.context["return_form"].errors


def test_the_csm_accepts_and_the_page_links_account_kickoff_and_plan(client, csm, submitted, account):
    client.force_login(csm)
    assert client.post(f"/handovers/{submitted.pk}/accept/").status_code == 302
    assert client.post(f"/handovers/{submitted.pk}/accept/").status_code == 302  # a double click
    handover = Handover.objects.get()
    assert (handover.status, handover.csm) == ("accepted", csm)
    response = client.get(f"/handovers/{handover.pk}/")
    body = response.content.decode()
    assert f'href="/accounts/{account.pk}/"' in body
    assert response.context["plan_url"] and response.context["plan_url"] in body
    assert "kickoff meeting" in body.lower() and handover.kickoff.scheduled_on.isoformat() in body
    if response.context["kickoff_url"]:  # once the kickoff pages exist, the page links there
        assert f'href="{response.context["kickoff_url"]}"' in body
    assert "Accept handover" not in body and "Edit package" not in body


def test_sales_can_never_accept_or_return(client, sales, submitted):
    client.force_login(sales)
    assert client.post(f"/handovers/{submitted.pk}/accept/").status_code == 403
    assert client.post(f"/handovers/{submitted.pk}/return/", {"return-reason": "no"}).status_code == 403
    assert client.post(f"/handovers/{submitted.pk}/assign/", {"assign-csm": "1"}).status_code == 403
    assert Handover.objects.get().status == "submitted"


def test_a_csm_of_another_team_gets_404(client, other_csm, submitted):
    client.force_login(other_csm)
    pk = submitted.pk
    for url in (f"/handovers/{pk}/", f"/handovers/{pk}/edit/"):
        assert client.get(url).status_code == 404, url
    for url in (f"/handovers/{pk}/accept/", f"/handovers/{pk}/return/", f"/handovers/{pk}/submit/"):
        assert client.post(url, {"return-reason": "x"}).status_code == 404, url
    assert Handover.objects.get().status == "submitted"


def test_sales_see_only_handovers_of_accounts_they_sold(client, submitted):
    other_sales = UserFactory(role=User.Role.SALES, team=None)
    client.force_login(other_sales)
    assert client.get(f"/handovers/{submitted.pk}/").status_code == 404
    assert client.get("/handovers/?queue=submitted").context["page"].paginator.count == 0


def test_integration_users_cannot_use_the_pages(client, integration, submitted):
    client.force_login(integration)
    for url in ("/handovers/", f"/handovers/{submitted.pk}/", f"/handovers/{submitted.pk}/edit/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/handovers/{submitted.pk}/accept/").status_code == 404


def test_the_manager_assigns_a_csm_of_the_team(client, manager, csm, other_csm, submitted):
    client.force_login(manager)
    page = client.get(f"/handovers/{submitted.pk}/")
    choices = list(page.context["assign_form"].fields["csm"].queryset)
    assert csm in choices and other_csm not in choices
    response = client.post(f"/handovers/{submitted.pk}/assign/", {"assign-csm": other_csm.pk})
    assert response.status_code == 400 and "csm" in response.context["assign_form"].errors
    assert client.post(f"/handovers/{submitted.pk}/assign/", {"assign-csm": csm.pk}).status_code == 302
    assert Handover.objects.get().csm == csm
    assert Notification.objects.filter(user=csm, message__contains="assigned to you").exists()


def test_a_csm_cannot_assign(client, csm, teammate, submitted):
    client.force_login(csm)
    assert client.get(f"/handovers/{submitted.pk}/").context["assign_form"] is None
    assert client.post(f"/handovers/{submitted.pk}/assign/", {"assign-csm": teammate.pk}).status_code == 403


def test_an_overdue_submission_is_tagged(client, csm, submitted):
    Handover.objects.filter(pk=submitted.pk).update(submitted_at=timezone.now() - dt.timedelta(days=10))
    client.force_login(csm)
    assert "Overdue" in client.get(f"/handovers/{submitted.pk}/").content.decode()


def test_pages_answer_no_get_for_actions(client, sales, handover):
    client.force_login(sales)
    assert client.get(f"/handovers/{handover.pk}/submit/").status_code == 405


# ------------------------------------------------------------------ queues


def _queue(client, key):
    response = client.get(f"/handovers/?queue={key}")
    assert response.status_code == 200
    return [h.account.name for h in response.context["page"].object_list]


@pytest.fixture
def every_state(team, sales, csm):
    """One handover in each state, plus an overdue one, all for `team`, sold by `sales`."""

    def make(name):
        account = AccountFactory(name=name, csm=None, team=team, sales_owner=sales, lifecycle_stage="handover")
        return complete_handover(account=account, sales_owner=sales, team=team)

    make("Draft Co")
    handover_submit(handover=make("Waiting Co"), by=sales)
    late = handover_submit(handover=make("Late Co"), by=sales)
    Handover.objects.filter(pk=late.pk).update(submitted_at=timezone.now() - dt.timedelta(days=14))
    returned = handover_submit(handover=make("Returned Co"), by=sales)
    handover_return(handover=returned, by=csm, reason="Who decides?", missing=["stakeholders"])
    accepted = handover_submit(handover=make("Accepted Co"), by=sales)
    handover_accept(handover=accepted, by=csm)


def test_sales_queues(client, sales, every_state):
    client.force_login(sales)
    response = client.get("/handovers/")
    assert [key for key, _label, _n in response.context["queues"]] == ["drafts", "returned", "submitted", "accepted"]
    assert {key: n for key, _label, n in response.context["queues"]} == {
        "drafts": 1, "returned": 1, "submitted": 2, "accepted": 1
    }  # fmt: skip
    assert _queue(client, "drafts") == ["Draft Co"]
    assert _queue(client, "returned") == ["Returned Co"]
    assert _queue(client, "submitted") == ["Late Co", "Waiting Co"]  # the longest waiting first
    assert _queue(client, "accepted") == ["Accepted Co"]
    assert "New handover" in response.content.decode()


def test_cs_queues(client, csm, every_state):
    client.force_login(csm)
    response = client.get("/handovers/")
    assert {key: n for key, _label, n in response.context["queues"]} == {
        "review": 2, "overdue": 1, "returned": 1, "accepted": 1
    }  # fmt: skip
    assert [h.account.name for h in response.context["page"].object_list] == ["Late Co", "Waiting Co"]
    assert _queue(client, "overdue") == ["Late Co"]
    assert _queue(client, "returned") == ["Returned Co"]
    assert "Overdue" in response.content.decode() and "New handover" not in response.content.decode()
    assert _queue(client, "nonsense") == ["Late Co", "Waiting Co"]  # an unknown queue: the first


def test_the_list_shows_completeness_and_days_waiting(client, csm, every_state):
    client.force_login(csm)
    rows = {h.account.name: h for h in client.get("/handovers/").context["page"].object_list}
    assert rows["Late Co"].completeness.percent == 100 and rows["Late Co"].overdue
    assert rows["Late Co"].days_waiting >= 8 and rows["Waiting Co"].days_waiting == 0


def test_a_csm_of_another_team_sees_empty_queues(client, other_csm, every_state):
    client.force_login(other_csm)
    response = client.get("/handovers/")
    assert all(n == 0 for _key, _label, n in response.context["queues"])


def test_the_list_is_paginated(client, csm, team, sales):
    for _i in range(27):
        account = AccountFactory(csm=None, team=team, sales_owner=sales)
        handover_submit(handover=complete_handover(account=account, sales_owner=sales, team=team), by=sales)
    client.force_login(csm)
    page = client.get("/handovers/?queue=review&page=2").context["page"]
    assert page.paginator.count == 27 and len(page.object_list) == 2


@pytest.mark.parametrize("size", [1, 12])
def test_pages_run_a_fixed_number_of_queries(
    client, csm, manager, sales, team, size, django_assert_max_num_queries, query_budget
):
    for _i in range(size):
        account = AccountFactory(csm=None, team=team, sales_owner=sales)
        handover = handover_submit(handover=complete_handover(account=account, sales_owner=sales, team=team), by=sales)
        HandoverStakeholder.objects.bulk_create(
            [HandoverStakeholder(handover=handover, name=f"P{j}", role="end_user") for j in range(size)]
        )
    for reviewer in (csm, manager):  # the manager also gets the list of CSMs to assign
        client.force_login(reviewer)
        with django_assert_max_num_queries(query_budget("handover:list")):
            assert client.get("/handovers/").status_code == 200
        with django_assert_max_num_queries(query_budget("handover:detail")):
            assert client.get(f"/handovers/{handover.pk}/").status_code == 200
    client.force_login(sales)
    with django_assert_max_num_queries(query_budget("handover:list")):
        assert client.get("/handovers/?queue=submitted").status_code == 200
    draft = complete_handover(account=AccountFactory(csm=None, team=team, sales_owner=sales), sales_owner=sales)
    HandoverProduct.objects.bulk_create(
        [HandoverProduct(handover=draft, product=product(), quantity=1, unit_price=1) for _j in range(size)]
    )
    with django_assert_max_num_queries(query_budget("handover:edit")):
        assert client.get(f"/handovers/{draft.pk}/edit/").status_code == 200


# ------------------------------------------------------------------ navigation counts


def test_sales_see_drafts_and_returned_next_to_handovers(client, sales, every_state):
    client.force_login(sales)
    response = client.get("/handovers/")
    assert response.context["nav_counts"]["handovers"] == 2
    assert 'class="count nav-count"' in response.content.decode()


def test_cs_see_what_waits_for_review_with_a_warning_when_overdue(client, csm, every_state):
    client.force_login(csm)
    body = client.get("/handovers/").content.decode()
    assert 'class="count nav-count nav-count-warn" title="1 overdue">2</span>' in body


def test_no_count_when_nothing_waits(client, other_csm, every_state):
    client.force_login(other_csm)
    assert "nav-count" not in client.get("/handovers/").content.decode()


@pytest.mark.parametrize("who", ["sales", "csm", "admin_user"])
def test_the_navigation_counts_take_one_query(who, request, every_state, django_assert_num_queries):
    user = User.objects.get(pk=request.getfixturevalue(who).pk)
    with django_assert_num_queries(1):
        counts = nav_counts(user)
    assert counts["handovers"] == 2  # sales: a draft and a returned one; CS: two submitted
    assert counts["handovers_overdue"] == (0 if who == "sales" else 1)
