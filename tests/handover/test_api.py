"""The handover API (issue 6, part 5): a CRM posts a won deal as a draft, reads its
status and cannot skip required items on submit."""

import datetime as dt

import pytest

from accounts.models import Account
from handover.models import Handover, HandoverProduct, HandoverStakeholder, HandoverTransition
from handover.services import handover_submit
from people.models import Notification, User
from tests.conftest import api_as
from tests.factories import AccountFactory, UserFactory
from tests.handover.helpers import FULL, complete_handover, product

pytestmark = pytest.mark.django_db

URL = "/api/v1/handovers/"


def deal(**overrides) -> dict:
    """A won deal as a CRM posts it, with every required item."""
    product("crm-pro")
    product("crm-analytics")
    body = {
        "external_id": "DEAL-1001",
        "account": {
            "external_id": "CRM-ACC-1",
            "name": "华信制造",
            "industry": "manufacturing",
            "region": "East China",
            "employee_count": 800,
        },
        "sales_owner": "sales.zhou",
        "team": "East",
        **{k: v.isoformat() if isinstance(v, dt.date) else v for k, v in FULL.items()},
        "products": [
            {"product": "crm-pro", "quantity": 50, "unit_price": "1200.00", "discount": "10"},
            {"product": "crm-analytics", "quantity": 5, "unit_price": "3000"},
        ],
        "stakeholders": [
            {"name": "Chen Jie", "title": "CFO", "role": "decision_maker", "influence": "high"},
            {"name": "Liu Yang", "title": "IT manager", "role": "it", "influence": "medium", "email": "liu@hx.cn"},
        ],
    }
    body.update(overrides)
    return body


def rows() -> tuple[int, ...]:
    return (
        Account.objects.count(),
        Handover.objects.count(),
        HandoverProduct.objects.count(),
        HandoverStakeholder.objects.count(),
        HandoverTransition.objects.count(),
    )


@pytest.fixture
def other_sales(db):
    return UserFactory(username="sales.qian", role=User.Role.SALES, team=None)


@pytest.fixture
def posted(integration, sales, team) -> dict:
    response = api_as(integration).post(URL, deal(), format="json")
    assert response.status_code == 201, response.content
    return response.json()


# ------------------------------------------------------------------ posting a won deal


def test_crm_posts_a_won_deal_as_a_draft_and_the_account_is_created(integration, sales, team):
    response = api_as(integration).post(URL, deal(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    account = Account.objects.get(external_id="CRM-ACC-1")
    assert (account.name, account.sales_owner, account.team, account.lifecycle_stage) == (
        "华信制造",
        sales,
        team,
        "handover",
    )
    handover = Handover.objects.get(external_id="DEAL-1001")
    assert handover.status == "draft" and handover.account == account and handover.sales_owner == sales
    assert body["id"] == handover.pk and body["account"] == account.pk and body["status"] == "draft"
    assert (body["sales_owner"], body["csm"], body["team_name"]) == ("sales.zhou", None, "East")
    assert body["completeness"] == {"percent": 100, "ready": True, "missing": []}
    assert body["contract_start"] == "2026-12-01" and body["promises"] == FULL["promises"]
    assert body["products"][0] == {
        "product": "crm-pro",
        "product_name": "CRM-PRO",
        "quantity": 50,
        "unit_price": "1200.00",
        "discount": "10.00",
        "yearly_amount": "54000.00",
    }
    assert [s["role"] for s in body["stakeholders"]] == ["decision_maker", "it"]
    assert [(t["from"], t["to"], t["by"]) for t in body["transitions"]] == [("", "draft", "crm-sync")]
    assert body["returned_items"] == [] and body["overdue"] is False


def test_posting_the_same_deal_again_updates_its_draft_without_a_duplicate(posted, integration):
    again = deal(needs="All 14 branches now.", products=[{"product": "crm-pro", "quantity": 60, "unit_price": "1100"}])
    response = api_as(integration).post(URL, again, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["id"] == posted["id"]
    assert Handover.objects.count() == 1 and Account.objects.count() == 1
    handover = Handover.objects.get()
    assert handover.needs == "All 14 branches now."
    assert [(p.product.code, p.quantity) for p in handover.products.all()] == [("crm-pro", 60)]
    assert handover.stakeholders.count() == 2  # not in the second post: kept
    before = rows()
    assert api_as(integration).post(URL, again, format="json").status_code == 200
    assert rows() == before


def test_a_deal_already_submitted_cannot_be_posted_again(posted, integration):
    assert api_as(integration).post(f"{URL}{posted['id']}/submit/", {}, format="json").status_code == 200
    response = api_as(integration).post(URL, deal(needs="Changed behind the CSM's back"), format="json")
    assert response.status_code == 400 and "external_id" in response.json()
    handover = Handover.objects.get()
    assert handover.status == "submitted" and handover.needs == FULL["needs"]


def _bad_product(body):
    body["products"][1]["product"] = "no-such-product"


def _bad_role(body):
    body["stakeholders"][0]["role"] = "kingmaker"


def _dates_backwards(body):
    body["contract_end"] = "2026-01-01"


def _not_a_date(body):
    body["kickoff_on"] = "next Tuesday"


def _no_deal_id(body):
    del body["external_id"]


def _new_account_without_name(body):
    del body["account"]["name"]


def _unknown_team(body):
    body["team"] = "Nowhere"


def _huge_team_id(body):
    body["team"] = 10**30


def _unknown_sales_owner(body):
    body["sales_owner"] = "csm.li"  # a CSM, not sales


def _negative_quantity(body):
    body["products"][0]["quantity"] = -3


def _discount_over_100(body):
    body["products"][0]["discount"] = "120"


def _bad_industry(body):
    body["account"]["industry"] = "astrology"


def _no_account(body):
    del body["account"]


@pytest.mark.parametrize(
    ("spoil", "field"),
    [
        (_bad_product, "products"),
        (_bad_role, "stakeholders"),
        (_dates_backwards, "contract_end"),
        (_not_a_date, "kickoff_on"),
        (_no_deal_id, "external_id"),
        (_new_account_without_name, "account"),
        (_unknown_team, "team"),
        (_huge_team_id, "team"),
        (_unknown_sales_owner, "sales_owner"),
        (_negative_quantity, "products"),
        (_discount_over_100, "products"),
        (_bad_industry, "account"),
        (_no_account, "account"),
    ],
)
def test_bad_input_gives_field_errors_and_creates_nothing(integration, sales, team, csm, spoil, field):
    body = deal()
    spoil(body)
    before = rows()
    response = api_as(integration).post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert rows() == before


def test_errors_in_lines_are_named_by_index(integration, sales, team):
    body = deal()
    body["products"][1]["product"] = "no-such-product"
    body["stakeholders"][1]["role"] = "kingmaker"
    errors = api_as(integration).post(URL, body, format="json").json()
    assert errors == {
        "products": {"1": {"product": ["Unknown product."]}},
        "stakeholders": {"1": {"role": ['"kingmaker" is not a valid choice.']}},
    }


def test_bad_input_on_an_existing_draft_changes_nothing(posted, integration):
    body = deal(needs="Should not be saved")
    body["stakeholders"][0]["role"] = "kingmaker"
    before = rows()
    assert api_as(integration).post(URL, body, format="json").status_code == 400
    assert rows() == before and Handover.objects.get().needs == FULL["needs"]


def test_a_sales_user_posts_their_own_deal_by_default(sales, team):
    body = deal()
    del body["sales_owner"]
    response = api_as(sales).post(URL, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["sales_owner"] == "sales.zhou"
    assert api_as(sales).get(f"{URL}{response.json()['id']}/").status_code == 200


def test_a_sales_user_cannot_post_for_another_sales_owner(sales, other_sales, team):
    response = api_as(sales).post(URL, deal(sales_owner="sales.qian"), format="json")
    assert response.status_code == 400 and "sales_owner" in response.json()
    assert Handover.objects.count() == 0


def test_an_integration_must_name_the_sales_owner(integration, team):
    body = deal()
    del body["sales_owner"]
    response = api_as(integration).post(URL, body, format="json")
    assert response.status_code == 400 and "sales_owner" in response.json()


def test_sales_cannot_post_a_deal_on_an_account_sold_by_someone_else(sales, other_sales, team):
    AccountFactory(external_id="CRM-ACC-1", sales_owner=other_sales, csm=None, team=team)
    response = api_as(sales).post(URL, deal(), format="json")
    assert response.status_code == 400 and "external_id" in response.json()["account"]
    assert Handover.objects.count() == 0


def test_a_deal_on_an_existing_customer_without_a_seller_goes_to_the_deal_owner(integration, sales, team):
    account = AccountFactory(external_id="CRM-ACC-1", name="Old Name", sales_owner=None, csm=None, team=None)
    response = api_as(integration).post(URL, deal(), format="json")
    assert response.status_code == 201, response.content
    account.refresh_from_db()
    assert account.name == "Old Name" and account.sales_owner == sales and account.team.name == "East"
    assert api_as(sales).get(f"{URL}{response.json()['id']}/").status_code == 200


def test_a_deal_cannot_move_to_another_account(posted, integration):
    body = deal()
    body["account"]["external_id"] = "CRM-ACC-2"
    response = api_as(integration).post(URL, body, format="json")
    assert response.status_code == 400 and "external_id" in response.json()["account"]
    assert not Account.objects.filter(external_id="CRM-ACC-2").exists()


def test_csms_and_managers_cannot_post_deals(csm, manager, sales, team):
    for user in (csm, manager):
        assert api_as(user).post(URL, deal(), format="json").status_code == 403
    assert Handover.objects.count() == 0


def test_anonymous_callers_are_refused(api):
    assert api.get(URL).status_code == 401
    assert api.post(URL, {}, format="json").status_code == 401


# ------------------------------------------------------------------ completing and submitting


def test_submit_with_missing_items_lists_them_and_changes_nothing(integration, sales, team, manager):
    body = deal(promises="", contract_end=None, stakeholders=[{"name": "Liu Yang", "role": "it"}])
    created = api_as(integration).post(URL, body, format="json").json()
    assert created["completeness"]["ready"] is False
    missing = [i["key"] for i in created["completeness"]["missing"] if i["required"]]
    assert missing == ["contract", "stakeholders", "promises"]
    before = rows()
    response = api_as(integration).post(f"{URL}{created['id']}/submit/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["missing"] == [
        "Missing: Contract dates",
        "Missing: Key people, with a decision maker",
        "Missing: What sales promised",
    ]
    assert Handover.objects.get().status == "draft" and rows() == before
    assert not Notification.objects.exists()


def test_submitting_a_complete_handover_tells_the_managers(posted, integration, sales, manager, csm):
    response = api_as(integration).post(f"{URL}{posted['id']}/submit/", {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "submitted" and body["submitted_at"]
    assert [(t["from"], t["to"], t["by"]) for t in body["transitions"]][-1] == ("draft", "submitted", "sales.zhou")
    assert Notification.objects.filter(user=manager, message__contains="waiting for review").count() == 1
    assert not Notification.objects.filter(user=csm).exists()


def test_submitting_to_a_named_csm_assigns_and_tells_them(posted, sales, csm):
    response = api_as(sales).post(f"{URL}{posted['id']}/submit/", {"csm": "csm.li"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["csm"] == "csm.li"
    assert Notification.objects.filter(user=csm, message__contains="assigned to you").count() == 1


def test_submitting_twice_is_refused(posted, sales):
    client = api_as(sales)
    assert client.post(f"{URL}{posted['id']}/submit/", {}, format="json").status_code == 200
    assert client.post(f"{URL}{posted['id']}/submit/", {}, format="json").status_code == 400
    assert Handover.objects.get().transitions.count() == 2


def test_patch_completes_a_draft_which_can_then_be_submitted(integration, sales, team, manager):
    created = api_as(integration).post(URL, deal(promises="", stakeholders=[]), format="json").json()
    client = api_as(sales)
    response = client.patch(
        f"{URL}{created['id']}/",
        {"promises": "Two on-site trainings.", "stakeholders": [{"name": "Chen Jie", "role": "decision_maker"}]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["completeness"]["ready"] is True
    assert Handover.objects.get().products.count() == 2  # not in the PATCH: kept
    assert client.post(f"{URL}{created['id']}/submit/", {}, format="json").json()["status"] == "submitted"


def test_patch_with_bad_input_changes_nothing(posted, sales):
    response = api_as(sales).patch(
        f"{URL}{posted['id']}/", {"needs": "x", "contract_start": "2028-01-01", "products": []}, format="json"
    )
    assert response.status_code == 400 and "contract_end" in response.json()
    handover = Handover.objects.get()
    assert handover.needs == FULL["needs"] and handover.products.count() == 2


def test_a_submitted_handover_cannot_be_patched(posted, sales):
    api_as(sales).post(f"{URL}{posted['id']}/submit/", {}, format="json")
    response = api_as(sales).patch(f"{URL}{posted['id']}/", {"needs": "Changed"}, format="json")
    assert response.status_code == 400
    assert Handover.objects.get().needs == FULL["needs"]


def test_csms_read_their_teams_handovers_but_do_not_write_them(posted, csm, manager):
    for user in (csm, manager):
        client = api_as(user)
        assert client.get(f"{URL}{posted['id']}/").status_code == 200
        assert [h["id"] for h in client.get(URL).json()["results"]] == [posted["id"]]
        assert client.patch(f"{URL}{posted['id']}/", {"needs": "x"}, format="json").status_code == 403
        assert client.post(f"{URL}{posted['id']}/submit/", {}, format="json").status_code == 403
    assert Handover.objects.get().status == "draft"


def test_accept_and_return_are_not_in_the_api(posted, csm):
    for verb in ("accept", "return"):
        assert api_as(csm).post(f"{URL}{posted['id']}/{verb}/", {}, format="json").status_code == 404


# ------------------------------------------------------------------ who sees what


def test_csm_of_another_team_cannot_see_it(posted, other_csm):
    client = api_as(other_csm)
    assert client.get(f"{URL}{posted['id']}/").status_code == 404
    assert client.get(URL).json()["count"] == 0
    assert client.post(f"{URL}{posted['id']}/submit/", {}, format="json").status_code == 404
    assert client.patch(f"{URL}{posted['id']}/", {"needs": "x"}, format="json").status_code == 404


def test_sales_of_another_account_cannot_see_it(posted, other_sales):
    client = api_as(other_sales)
    assert client.get(f"{URL}{posted['id']}/").status_code == 404
    assert client.get(URL).json()["count"] == 0
    assert client.patch(f"{URL}{posted['id']}/", {"needs": "x"}, format="json").status_code == 404
    assert client.post(f"{URL}{posted['id']}/submit/", {}, format="json").status_code == 404
    response = client.post(URL, deal(sales_owner="sales.qian", needs="Hijacked"), format="json")
    assert response.status_code == 400 and Handover.objects.get().needs == FULL["needs"]


def test_a_user_without_a_team_or_accounts_sees_nothing(posted):
    loner = UserFactory(username="csm.solo", role=User.Role.CSM, team=None)
    assert api_as(loner).get(URL).json()["count"] == 0
    assert api_as(loner).get(f"{URL}{posted['id']}/").status_code == 404


# ------------------------------------------------------------------ reading status


def test_the_crm_reads_the_status_by_its_deal_id(posted, integration, sales):
    client = api_as(integration)
    api_as(sales).post(f"{URL}{posted['id']}/submit/", {}, format="json")
    results = client.get(f"{URL}?external_id=DEAL-1001").json()["results"]
    assert [(h["id"], h["status"]) for h in results] == [(posted["id"], "submitted")]
    assert client.get(f"{URL}?external_id=DEAL-404").json()["count"] == 0


def test_list_filters(integration, sales, team):
    first = complete_handover(account=AccountFactory(csm=None, team=team, sales_owner=sales), sales_owner=sales)
    second = complete_handover(account=AccountFactory(csm=None, team=team, sales_owner=sales), sales_owner=sales)
    handover_submit(handover=second, by=sales)
    client = api_as(integration)

    def ids(query):
        return [h["id"] for h in client.get(f"{URL}?{query}").json()["results"]]

    assert ids("status=submitted") == [second.pk]
    assert ids("status=draft") == [first.pk]
    assert ids(f"account={first.account_id}") == [first.pk]
    assert ids(f"account_external_id={second.account.external_id}") == [second.pk]
    assert ids("sales_owner=sales.zhou&ordering=created_at") == [first.pk, second.pk]
    assert client.get(f"{URL}?status=lost").status_code == 400
    assert client.get(f"{URL}?account={'9' * 30}").status_code == 400


def test_overdue_submissions_are_marked_and_filterable(integration, sales, team, settings):
    settings.HANDOVER_REVIEW_DAYS = 3
    late = complete_handover(account=AccountFactory(csm=None, team=team, sales_owner=sales), sales_owner=sales)
    fresh = complete_handover(account=AccountFactory(csm=None, team=team, sales_owner=sales), sales_owner=sales)
    for handover in (late, fresh):
        handover_submit(handover=handover, by=sales)
    Handover.objects.filter(pk=late.pk).update(submitted_at=dt.datetime(2020, 1, 6, 9, 0, tzinfo=dt.UTC))
    client = api_as(integration)
    assert client.get(f"{URL}{late.pk}/").json()["overdue"] is True
    assert client.get(f"{URL}{fresh.pk}/").json()["overdue"] is False
    assert [h["id"] for h in client.get(f"{URL}?overdue=true").json()["results"]] == [late.pk]
    assert [h["id"] for h in client.get(f"{URL}?overdue=false").json()["results"]] == [fresh.pk]


@pytest.mark.parametrize("size", [1, 30])
def test_list_query_count_is_constant(integration, sales, team, size, django_assert_max_num_queries, query_budget):
    for _ in range(size):
        handover = complete_handover(
            account=AccountFactory(csm=None, team=team, sales_owner=sales), sales_owner=sales, team=team
        )
        handover_submit(handover=handover, by=sales)
    client = api_as(integration)
    with django_assert_max_num_queries(query_budget("api:handovers")):
        body = client.get(f"{URL}?page_size=100").json()
    assert body["count"] == size and all(h["completeness"]["percent"] == 100 for h in body["results"])
    assert all(len(h["transitions"]) == 2 and len(h["products"]) == 1 for h in body["results"])
