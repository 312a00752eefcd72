"""The contract's health read endpoints: /api/v1/health-scores/ and /api/v1/accounts/{id}/health/."""

import datetime as dt

import pytest
from django.utils import timezone

from health.models import HealthOverride
from tests.conftest import api_as
from tests.factories import AccountFactory, HealthScoreFactory

pytestmark = pytest.mark.django_db

COMPONENTS = [
    {"measure": "usage_trend", "raw_value": 1.2, "score": 90, "weight": 0.6},
    {"measure": "engagement", "raw_value": 22.0, "score": 70, "weight": 0.4},
]


def test_scores_of_a_date_one_per_visible_account(world, csm):
    today = timezone.localdate()
    for account, score in [(world["own"], 82), (world["teammates"], 35), (world["other_team"], 60)]:
        HealthScoreFactory(account=account, as_of=today, score=score, band="green" if score >= 70 else "red")
        HealthScoreFactory(account=account, as_of=today - dt.timedelta(days=1), score=50, band="yellow")
    body = api_as(csm).get("/api/v1/health-scores/").json()  # the latest date by default
    assert body["count"] == 2  # the other team's account is not visible
    assert {(r["account"], r["account_external_id"], r["score"], r["band"], r["as_of"]) for r in body["results"]} == {
        (world["own"].pk, world["own"].external_id, 82, "green", today.isoformat()),
        (world["teammates"].pk, world["teammates"].external_id, 35, "red", today.isoformat()),
    }
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    older = api_as(csm).get(f"/api/v1/health-scores/?as_of={yesterday}").json()
    assert {r["score"] for r in older["results"]} == {50}
    red = api_as(csm).get("/api/v1/health-scores/?band=red").json()
    assert [r["account"] for r in red["results"]] == [world["teammates"].pk]


def test_bad_filters_answer_400_and_no_scores_is_an_empty_list(csm):
    assert api_as(csm).get("/api/v1/health-scores/?as_of=yesterday").status_code == 400
    assert api_as(csm).get("/api/v1/health-scores/?band=purple").status_code == 400
    assert api_as(csm).get("/api/v1/health-scores/").json()["count"] == 0


def test_account_health_explains_the_score_with_history_and_override(world, csm):
    account = world["own"]
    today = timezone.localdate()
    for days, score in [(2, 70), (1, 74)]:
        HealthScoreFactory(account=account, as_of=today - dt.timedelta(days=days), score=score)
    HealthScoreFactory(account=account, as_of=today, score=78, components=COMPONENTS)
    HealthScoreFactory(account=account, as_of=today - dt.timedelta(days=200), score=20, band="red")  # too old
    HealthOverride.objects.create(
        account=account, score=35, reason="CIO is reviewing vendors", expires_on=today + dt.timedelta(days=30),
        created_by=csm,
    )  # fmt: skip
    body = api_as(csm).get(f"/api/v1/accounts/{account.pk}/health/").json()
    assert (body["score"], body["band"], body["as_of"]) == (78, "green", today.isoformat())
    assert body["components"] == COMPONENTS
    assert [p["score"] for p in body["history"]] == [70, 74, 78]
    assert body["override"]["score"] == 35 and body["override"]["created_by"] == "csm.li"


def test_an_account_without_scores_answers_nulls(world, csm):
    body = api_as(csm).get(f"/api/v1/accounts/{world['own'].pk}/health/").json()
    assert body == {
        "score": None, "band": None, "computed_at": None, "as_of": None, "components": [], "history": [],
        "override": None,
    }  # fmt: skip


def test_what_the_caller_may_not_see_is_404(world, csm, sales, api):
    assert api_as(csm).get(f"/api/v1/accounts/{world['other_team'].pk}/health/").status_code == 404
    assert api_as(csm).get("/api/v1/accounts/999999/health/").status_code == 404
    assert api_as(sales).get(f"/api/v1/accounts/{world['own'].pk}/health/").status_code == 200  # sold it
    assert api.get(f"/api/v1/accounts/{world['own'].pk}/health/").status_code == 401


@pytest.mark.parametrize("size", [2, 20])
def test_the_scores_list_runs_a_fixed_number_of_queries(csm, size, django_assert_max_num_queries, query_budget):
    for _ in range(size):
        HealthScoreFactory(account=AccountFactory(csm=csm))
    client = api_as(csm)
    with django_assert_max_num_queries(query_budget("api:health_scores")):
        assert client.get("/api/v1/health-scores/?page_size=100").json()["count"] == size
