import pytest
from django.core.exceptions import ValidationError

from accounts.models import Account
from handover.models import Handover
from handover.services import handover_accept, handover_create, handover_return, handover_submit
from tests.factories import AccountFactory, HandoverFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def handover(team, sales):
    account = AccountFactory(csm=None, team=team, sales_owner=sales, lifecycle_stage="handover")
    return handover_create(account=account, sales_owner=sales, data={"deal_summary": "100 seats"})


def test_full_flow_records_every_transition(handover, sales, csm):
    handover_submit(handover=handover, by=sales)
    handover_return(handover=handover, by=csm, reason="Stakeholders are missing")
    handover = handover_submit(handover=handover, by=sales)
    handover = handover_accept(handover=handover, by=csm)
    assert [(t.from_status, t.to_status, t.by.username) for t in handover.transitions.all()] == [
        ("", "draft", "sales.zhou"),
        ("draft", "submitted", "sales.zhou"),
        ("submitted", "returned", "csm.li"),
        ("returned", "submitted", "sales.zhou"),
        ("submitted", "accepted", "csm.li"),
    ]
    account = Account.objects.get(pk=handover.account_id)
    assert (account.csm, account.lifecycle_stage) == (csm, "kickoff")


def test_sales_cannot_accept(handover, sales):
    handover_submit(handover=handover, by=sales)
    with pytest.raises(ValidationError):
        handover_accept(handover=handover, by=sales)
    assert Handover.objects.get().status == "submitted"


def test_csm_of_another_team_cannot_see_or_review(client, handover, sales, other_csm):
    handover_submit(handover=handover, by=sales)
    with pytest.raises(ValidationError):
        handover_accept(handover=handover, by=other_csm)
    client.force_login(other_csm)
    assert client.get(f"/handovers/{handover.pk}/").status_code == 404
    assert client.post(f"/handovers/{handover.pk}/accept/").status_code == 404


def test_return_needs_a_reason(handover, sales, csm):
    handover_submit(handover=handover, by=sales)
    with pytest.raises(ValidationError) as exc:
        handover_return(handover=handover, by=csm, reason="  ")
    assert "return_reason" in exc.value.message_dict


def test_double_accept_changes_nothing(handover, sales, csm, manager):
    handover_submit(handover=handover, by=sales)
    handover_accept(handover=handover, by=csm)
    handover_accept(handover=handover, by=manager)
    handover.refresh_from_db()
    assert handover.csm == csm and handover.transitions.filter(to_status="accepted").count() == 1


def test_pages_walk_the_flow(client, handover, sales, csm):
    client.force_login(sales)
    client.post(f"/handovers/{handover.pk}/submit/")
    client.force_login(csm)
    assert client.get("/handovers/").context["page"].object_list[0] == handover  # CS lands on "submitted"
    response = client.post(f"/handovers/{handover.pk}/return/", {"reason": ""}, follow=True)
    assert Handover.objects.get().status == "submitted" and "This field is required" in response.content.decode()
    client.post(f"/handovers/{handover.pk}/return/", {"reason": "Add the payment terms"})
    assert Handover.objects.get().status == "returned"
    assert client.post(f"/handovers/{handover.pk}/teleport/").status_code == 404


@pytest.mark.parametrize("size", [1, 12])
def test_list_and_detail_query_counts(client, team, sales, csm, size, django_assert_max_num_queries, query_budget):
    for _ in range(size):
        h = HandoverFactory(account=AccountFactory(csm=None, team=team, sales_owner=sales), sales_owner=sales)
        handover_submit(handover=h, by=sales)
    client.force_login(csm)
    with django_assert_max_num_queries(query_budget("handover:list")):
        response = client.get("/handovers/")
    assert response.context["page"].paginator.count == size
    assert {v: n for v, _, n in response.context["queues"]}["submitted"] == size
    with django_assert_max_num_queries(query_budget("handover:detail")):
        assert client.get(f"/handovers/{h.pk}/").context["can_review"]
