"""Why revenue was lost: churn records and downsized renewals per reason, on the metrics
page and in the retention API, with the team filter and a fixed number of queries."""

import datetime as dt
from decimal import Decimal as D

import pytest

from people.models import User
from renewals import metrics
from renewals.models import ChurnRecord, Renewal, RenewalReason
from tests.conftest import api_as
from tests.factories import AccountFactory, RenewalFactory, UserFactory
from tests.renewals.test_metrics import sub

pytestmark = pytest.mark.django_db

START, END = dt.date(2025, 1, 1), dt.date(2026, 1, 1)
RANGE = "start=2025-01-01&end=2026-01-01"
API = "/api/v1/metrics/retention/"
PAGE = "/renewals/metrics/"


def reason(name: str, kind: str = "churn") -> RenewalReason:
    return RenewalReason.objects.get_or_create(kind=kind, name=name)[0]


def churn(account, day, mrr, *reasons) -> ChurnRecord:
    record = ChurnRecord.objects.create(account=account, churned_on=day, mrr_lost=D(mrr), story="Gone.")
    record.reasons.set(reasons)
    return record


def downsize(account, due, term, renewed, *reasons) -> Renewal:
    renewal = RenewalFactory(
        account=account,
        due_date=due,
        stage=Renewal.Stage.DOWNSIZED,
        term_mrr=D(term),
        renewed_mrr=D(renewed),
        closed_on=due,
    )
    renewal.reasons.set(reasons)
    return renewal


@pytest.fixture
def csm_a(team):
    return UserFactory(username="csm.a", role=User.Role.CSM, team=team)


@pytest.fixture
def csm_b(other_team):
    return UserFactory(username="csm.b", role=User.Role.CSM, team=other_team)


@pytest.fixture
def losses(csm_a, csm_b):
    """A (csm_a): churned for price and budget, 300 lost; B (csm_a): downsized 500 -> 400
    for price; C (csm_b): churned with no reason, 99.99; D (csm_b): churned before the range."""
    price, budget = reason("Price"), reason("Budget cut")
    a, b = AccountFactory(csm=csm_a), AccountFactory(csm=csm_a)
    c, d = AccountFactory(csm=csm_b), AccountFactory(csm=csm_b)
    churn(a, dt.date(2025, 3, 1), "300.00", price, budget)
    downsize(b, dt.date(2025, 6, 1), "500.00", "400.00", price)
    churn(c, dt.date(2025, 12, 31), "99.99")
    churn(d, dt.date(2024, 12, 31), "1000.00", price)
    downsize(d, END, "800.00", "100.00", budget)  # due on the end day: outside [start, end)
    return {"price": price, "budget": budget, "a": a, "b": b, "c": c, "d": d}


def by_reason(rows) -> dict:
    return {r["reason"]: (r["accounts"], r["mrr_lost"]) for r in rows}


def test_churn_splits_evenly_downsizes_count_and_outside_records_are_ignored(losses):
    rows = metrics.loss_reasons(start=START, end=END, accounts=None)
    assert by_reason(rows) == {
        "Price": (2, D("250.00")),  # 300 / 2 + (500 - 400)
        "Budget cut": (1, D("150.00")),
        "No reason given": (1, D("99.99")),
    }
    assert [r["reason"] for r in rows] == ["Price", "Budget cut", "No reason given"]  # most MRR lost first
    assert rows[0]["reason_id"] == losses["price"].pk and rows[0]["kind"] == "churn"
    assert rows[-1]["reason_id"] is None and rows[-1]["kind"] is None
    assert sum(r["mrr_lost"] for r in rows) == D("499.99")


def test_uneven_splits_add_up_to_the_cent(csm_a):
    account = AccountFactory(csm=csm_a)
    churn(account, dt.date(2025, 5, 1), "100.00", reason("Price"), reason("Budget cut"), reason("Missing capability"))
    rows = metrics.loss_reasons(start=START, end=END, accounts=None)
    assert sorted(r["mrr_lost"] for r in rows) == [D("33.33"), D("33.33"), D("33.34")]
    assert all(r["accounts"] == 1 for r in rows)


def test_a_csm_sees_only_their_accounts(client, losses, csm_a):
    body = api_as(csm_a).get(f"{API}?{RANGE}").json()
    assert {r["reason"]: (r["accounts"], r["mrr_lost"]) for r in body["loss_reasons"]} == {
        "Price": (2, "250.00"),
        "Budget cut": (1, "150.00"),
    }
    client.force_login(csm_a)
    page = client.get(f"{PAGE}?{RANGE}").content.decode()
    assert "Why revenue was lost" in page and "No reason given" not in page


def test_the_api_field(losses, admin_user):
    body = api_as(admin_user).get(f"{API}?{RANGE}").json()
    assert body["loss_reasons"][0] == {
        "reason_id": losses["price"].pk,
        "reason": "Price",
        "kind": "churn",
        "accounts": 2,
        "mrr_lost": "250.00",
    }
    assert body["loss_reasons"][-1] == {
        "reason_id": None,
        "reason": "No reason given",
        "kind": None,
        "accounts": 1,
        "mrr_lost": "99.99",
    }
    # The CSM filter narrows them too.
    narrowed = api_as(admin_user).get(f"{API}?{RANGE}&csm=csm.b").json()["loss_reasons"]
    assert [(r["reason"], r["mrr_lost"]) for r in narrowed] == [("No reason given", "99.99")]


def test_team_filter(client, losses, admin_user, team, other_team):
    body = api_as(admin_user).get(f"{API}?{RANGE}&team={other_team.pk}").json()
    assert [(r["reason"], r["accounts"]) for r in body["loss_reasons"]] == [("No reason given", 1)]
    east = api_as(admin_user).get(f"{API}?{RANGE}&team={team.pk}").json()
    assert {r["reason"] for r in east["loss_reasons"]} == {"Price", "Budget cut"}
    assert api_as(admin_user).get(f"{API}?{RANGE}&team=x").status_code == 400
    client.force_login(admin_user)
    response = client.get(f"{PAGE}?{RANGE}&team={other_team.pk}")
    assert [r["reason"] for r in response.context["losses"]["rows"]] == ["No reason given"]
    page = response.content.decode()
    assert f'<option value="{other_team.pk}" selected>West</option>' in page
    assert "All teams" in page


def test_the_team_filter_narrows_the_retention_figures(admin_user, team, other_team, csm_a, csm_b):
    sub(AccountFactory(csm=csm_a), dt.date(2024, 1, 1), None, "100")
    sub(AccountFactory(csm=csm_b), dt.date(2024, 1, 1), None, "40")
    body = api_as(admin_user).get(f"{API}?{RANGE}&team={team.pk}").json()
    assert (body["accounts_start"], body["start_mrr"]) == (1, "100.00")


def test_a_manager_picks_among_their_teams(client, losses, manager, other_team):
    client.force_login(manager)
    page = client.get(f"{PAGE}?{RANGE}").content.decode()
    assert "East" in page and ">West<" not in page


def test_the_page_shows_shares(client, losses, admin_user):
    client.force_login(admin_user)
    response = client.get(f"{PAGE}?{RANGE}")
    rows = response.context["losses"]["rows"]
    assert [(r["reason"], r["share"]) for r in rows] == [
        ("Price", D("50.0")),
        ("Budget cut", D("30.0")),
        ("No reason given", D("20.0")),
    ]
    page = response.content.decode()
    assert "Share of lost MRR" in page and "50.0%" in page


@pytest.mark.parametrize("url, name", [(f"{API}?{RANGE}", "api:metrics_retention"), (f"{PAGE}?{RANGE}", None)])
def test_query_count_is_constant(client, admin_user, url, name, query_budget, django_assert_max_num_queries):
    client.force_login(admin_user)
    caller = api_as(admin_user) if name else client
    price, budget = reason("Price"), reason("Budget cut")
    counts = []
    for size in (2, 20):
        for i in range(size):
            account = AccountFactory()
            churn(account, dt.date(2025, 1 + i % 12, 1), "100", *([price, budget][: i % 3]))
            downsize(AccountFactory(), dt.date(2025, 1 + i % 12, 2), "200", "150", price)
        with django_assert_max_num_queries(query_budget(name or "renewals:metrics")) as queries:
            assert caller.get(url).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    rows = metrics.loss_reasons(start=START, end=END, accounts=None)
    assert sum(r["mrr_lost"] for r in rows) == D(22 * 100 + 22 * 50)
