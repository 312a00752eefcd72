"""Renewals API per the contract (`/api/v1/renewals/`): fields, filters (due_before,
due_after, owner, risk, and more), pagination, scope by role, PATCH and close with 400
field errors, constant queries."""

import datetime as dt
from decimal import Decimal

import pytest

from renewals.models import ChurnRecord, Renewal, RenewalReason
from tests.conftest import api_as
from tests.factories import RenewalFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/renewals/"


def reason(kind: str, name: str) -> RenewalReason:
    return RenewalReason.objects.get(kind=kind, name=name)


@pytest.fixture
def renewals(world, csm, sales, today):
    """Renewals of every world account: own (sales owns it, first year), teammate's, the
    other team's (sold by sales), nobody's; one closed."""
    own = RenewalFactory(
        account=world["own"], due_date=today + dt.timedelta(days=20), owner=sales, co_owner=csm,
        owner_rule="first_year", term_mrr=1000, forecast_mrr=900, probability=70, risk="high",
    )  # fmt: skip
    SubscriptionFactory(account=world["own"], end_date=own.due_date, mrr=Decimal("1000.00"))
    return {
        "own": own,
        "teammates": RenewalFactory(
            account=world["teammates"], due_date=today + dt.timedelta(days=50), risk="low", term_mrr=1000
        ),  # fmt: skip
        "other_team": RenewalFactory(account=world["other_team"], due_date=today + dt.timedelta(days=80)),
        "unsold": RenewalFactory(account=world["unsold"], due_date=today + dt.timedelta(days=90)),
        "closed": RenewalFactory(
            account=world["teammates"],
            due_date=today - dt.timedelta(days=300),
            stage="renewed",
            renewed_mrr=1200,
            term_mrr=1000,
            outcome="Happy.",
        ),  # fmt: skip
    }


def _names(response) -> list[str]:
    return [r["account_name"] for r in response.json()["results"]]


def test_list_has_the_contract_fields(csm, renewals, today):
    renewals["closed"].reasons.set([reason("renew", "Service value")])
    response = api_as(csm).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert {"count", "next", "previous", "results"} <= set(body)
    first = body["results"][0]
    for field in ("account", "due_date", "owner", "stage", "forecast_mrr", "risk", "outcome"):
        assert field in first
    closed = next(r for r in body["results"] if r["id"] == renewals["closed"].pk)
    assert closed["outcome"] == "renewed" and closed["story"] == "Happy." and closed["renewed_mrr"] == "1200.00"
    assert closed["reasons"] == [reason("renew", "Service value").pk]
    own = next(r for r in body["results"] if r["id"] == renewals["own"].pk)
    assert own == own | {
        "account": renewals["own"].account_id, "due_date": (today + dt.timedelta(days=20)).isoformat(),
        "owner": "sales.zhou", "co_owner": "csm.li", "owner_rule": "first_year", "stage": "upcoming",
        "term_mrr": "1000.00", "forecast_mrr": "900.00", "probability": 70, "expected_mrr": "630.00",
        "risk": "high", "outcome": None,
    }  # fmt: skip


def test_each_role_sees_its_scope(csm, sales, other_csm, admin_user, renewals):
    assert sorted(_names(api_as(csm).get(URL))) == ["Own Co", "Teammate Co", "Teammate Co"]
    assert sorted(_names(api_as(sales).get(URL))) == ["Other Team Co", "Own Co"]
    assert sorted(_names(api_as(other_csm).get(URL))) == ["Nobody's Co", "Other Team Co"]
    assert api_as(admin_user).get(URL).json()["count"] == 5
    assert api_as(other_csm).get(f"{URL}{renewals['own'].pk}/").status_code == 404


def test_filters_of_the_contract_and_more(csm, renewals, today):
    client = api_as(csm)
    soon = (today + dt.timedelta(days=30)).isoformat()
    assert _names(client.get(URL, {"due_before": soon, "due_after": today.isoformat()})) == ["Own Co"]
    assert _names(client.get(URL, {"owner": "sales.zhou"})) == ["Own Co"]
    assert _names(client.get(URL, {"risk": "low", "status": "open"})) == ["Teammate Co"]
    assert _names(client.get(URL, {"stage": "renewed"})) == ["Teammate Co"]
    assert len(_names(client.get(URL, {"account": renewals["own"].account_id}))) == 1
    assert len(_names(client.get(URL, {"status": "open"}))) == 2
    assert client.get(URL, {"risk": "extreme"}).status_code == 400
    assert client.get(URL, {"due_before": "soon"}).status_code == 400
    page = client.get(URL, {"page_size": 1}).json()
    assert page["count"] == 3 and len(page["results"]) == 1 and page["next"]


@pytest.mark.parametrize("size", [2, 30])
def test_list_runs_constant_queries(integration, today, size, django_assert_max_num_queries, query_budget):
    for i in range(size):
        r = RenewalFactory(due_date=today + dt.timedelta(days=i), co_owner=None)
        r.reasons.set([reason("renew", "Price")])
    client = api_as(integration)
    client.get(URL)  # the token is looked up once per request; warm nothing else
    with django_assert_max_num_queries(query_budget("api:renewals")):
        response = client.get(URL, {"page_size": 100})
    assert response.json()["count"] == size


# ------------------------------------------------------------------ writes


def test_patch_moves_the_stage_and_sets_probability_and_forecast(csm, renewals):
    r = renewals["own"]
    response = api_as(csm).patch(f"{URL}{r.pk}/", {"stage": "committed", "probability": 90, "forecast_mrr": "950.00"},
                                 format="json")  # fmt: skip
    assert response.status_code == 200, response.json()
    assert (response.json()["stage"], response.json()["probability"], response.json()["forecast_mrr"]) == (
        "committed", 90, "950.00",
    )  # fmt: skip
    r.refresh_from_db()
    assert r.forecast_manual


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"stage": "renewed"}, "stage"),
        ({"probability": 120}, "probability"),
        ({"forecast_mrr": "-3"}, "forecast_mrr"),
        ({"forecast_mrr": "1e400"}, "forecast_mrr"),
        ({"risk": "low"}, "risk"),
        ({"owner": "nobody-here"}, "owner"),
        ({"owner": "csm.wang"}, "owner"),  # a CSM may not reassign
    ],
)
def test_bad_patches_answer_400_with_field_errors_and_change_nothing(csm, teammate, renewals, payload, field):
    r = renewals["own"]
    response = api_as(csm).patch(f"{URL}{r.pk}/", payload, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    r.refresh_from_db()
    assert (r.stage, r.probability, r.forecast_mrr, r.owner.username) == ("upcoming", 70, 900, "sales.zhou")


def test_backward_stage_is_a_field_error(csm, renewals):
    r = renewals["own"]
    api_as(csm).patch(f"{URL}{r.pk}/", {"stage": "committed"}, format="json")
    response = api_as(csm).patch(f"{URL}{r.pk}/", {"stage": "upcoming"}, format="json")
    assert response.status_code == 400 and "forward only" in response.json()["stage"][0]


def test_a_manager_reassigns_through_the_api(manager, teammate, renewals):
    r = renewals["own"]
    response = api_as(manager).patch(f"{URL}{r.pk}/", {"owner": "csm.wang"}, format="json")
    assert response.status_code == 200 and response.json()["owner"] == "csm.wang"


def test_close_renewed_downsized_and_churned(csm, renewals, world):
    client = api_as(csm)
    r = renewals["own"]
    bad = client.post(f"{URL}{r.pk}/close/", {"outcome": "renewed", "renewed_mrr": "1000",
                                             "reasons": [reason("churn", "Price").pk]}, format="json")  # fmt: skip
    assert bad.status_code == 400 and "reasons" in bad.json()
    missing = client.post(f"{URL}{r.pk}/close/", {"outcome": "renewed"}, format="json")
    assert missing.status_code == 400 and "renewed_mrr" in missing.json()
    no_story = client.post(f"{URL}{r.pk}/close/", {"outcome": "churned", "reasons": [reason("churn", "Price").pk]},
                           format="json")  # fmt: skip
    assert no_story.status_code == 400 and "story" in no_story.json()
    unknown = client.post(f"{URL}{r.pk}/close/", {"outcome": "churned", "reasons": [99999]}, format="json")
    assert unknown.status_code == 400 and "reasons" in unknown.json()
    r.refresh_from_db()
    assert r.stage == "upcoming" and not ChurnRecord.objects.exists()

    ok = client.post(f"{URL}{r.pk}/close/", {"outcome": "churned", "reasons": [reason("churn", "Price").pk],
                                            "story": "Too expensive after the merger."}, format="json")  # fmt: skip
    assert ok.status_code == 200, ok.json()
    assert (ok.json()["stage"], ok.json()["outcome"], ok.json()["renewed_mrr"]) == ("churned", "churned", "0.00")
    world["own"].refresh_from_db()
    assert world["own"].lifecycle_stage == "churned"
    assert ChurnRecord.objects.get().mrr_lost == 1000

    again = client.post(f"{URL}{r.pk}/close/", {"outcome": "renewed", "renewed_mrr": "5"}, format="json")
    assert again.status_code == 400 and "outcome" in again.json()

    t = renewals["teammates"]
    cut = {"outcome": "downsized", "renewed_mrr": "500", "reasons": [reason("churn", "Budget cut").pk]}
    down = client.post(f"{URL}{t.pk}/close/", cut, format="json")
    assert down.status_code == 200 and down.json()["outcome"] == "downsized"


def test_writes_answer_404_outside_and_403_to_a_seller_who_does_not_own_it(sales, other_csm, renewals):
    own, other = renewals["own"], renewals["other_team"]
    assert api_as(other_csm).patch(f"{URL}{own.pk}/", {"probability": 1}, format="json").status_code == 404
    assert api_as(other_csm).post(f"{URL}{own.pk}/close/", {"outcome": "renewed"}, format="json").status_code == 404
    # sales sold the other team's account (so sees it) but its CSM owns that renewal
    assert api_as(sales).patch(f"{URL}{other.pk}/", {"probability": 1}, format="json").status_code == 403
    assert api_as(sales).patch(f"{URL}{own.pk}/", {"probability": 55}, format="json").status_code == 200
    assert api_as(sales).delete(f"{URL}{own.pk}/").status_code == 405
    other.refresh_from_db()
    assert other.probability == 80
    assert Renewal.objects.count() == 5


def test_reasons_are_listed_for_integrations(integration):
    body = api_as(integration).get("/api/v1/renewal-reasons/", {"kind": "renew"}).json()
    assert [r["name"] for r in body["results"]] == ["Product fit", "Price", "Service value", "Executive relationship"]
