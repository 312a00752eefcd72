"""The retention metrics API: the contract's field names and semantics, breakdowns,
filters, who sees what, bad input, and a fixed number of queries."""

import datetime as dt

import pytest

from people.models import User
from tests.conftest import api_as
from tests.factories import AccountFactory, UserFactory
from tests.renewals.test_metrics import EXPECTED, make_history, sub

pytestmark = pytest.mark.django_db

URL = "/api/v1/metrics/retention/"
COHORTS = "/api/v1/metrics/cohorts/"
RANGE = "start=2025-01-01&end=2026-01-01"
CONTRACT = [
    "accounts_start", "accounts_churned", "churn_rate", "retention_rate", "start_mrr", "retained_mrr",
    "net_mrr_retention", "churned_mrr", "downsell_mrr", "mrr_churn_rate",
]  # fmt: skip


# Used when tests/query_counts.json has no entry yet: most queries one request may run.
@pytest.fixture
def csm_a(team):
    return UserFactory(username="csm.a", first_name="Ann", last_name="Alder", role=User.Role.CSM, team=team)


@pytest.fixture
def csm_b(other_team):
    return UserFactory(username="csm.b", first_name="Bo", last_name="Birch", role=User.Role.CSM, team=other_team)


@pytest.fixture
def history(csm_a, csm_b):
    return make_history(csm_a, csm_b)


def test_contract_fields_with_money_and_rates_as_decimal_strings(history, integration):
    body = api_as(integration).get(f"{URL}?{RANGE}").json()
    assert set(CONTRACT) <= set(body)
    assert body == {
        "start": "2025-01-01",
        "end": "2026-01-01",
        "accounts_start": 7,
        "accounts_churned": 2,
        "churn_rate": "0.2857",
        "retention_rate": "0.7143",
        "start_mrr": "1330.55",
        "retained_mrr": "670.55",
        "net_mrr_retention": "0.5040",
        "churned_mrr": "600.00",
        "downsell_mrr": "150.00",
        "mrr_churn_rate": "0.5637",
        "gross_revenue_retention": "0.4363",
        "expansion_mrr": "90.00",
        "accounts_new": 1,
        "accounts_retained": 5,
        "accounts_end": 6,
        "new_mrr": "70.00",
        "end_mrr": "740.55",
        "group_by": None,
        "groups": [],
        "loss_reasons": [],
    }
    assert {k: str(v) for k, v in EXPECTED.items()} == {
        k: str(v) for k, v in body.items() if k in EXPECTED
    }  # the same figures as the function


def test_rates_are_null_without_a_start_set(integration):
    body = api_as(integration).get(f"{URL}?{RANGE}").json()
    assert body["accounts_start"] == 0 and body["start_mrr"] == "0.00"
    assert body["churn_rate"] is None and body["net_mrr_retention"] is None and body["mrr_churn_rate"] is None


@pytest.mark.parametrize("group_by", ["csm", "team", "tier", "month"])
def test_groups_carry_the_same_fields(history, integration, group_by):
    body = api_as(integration).get(f"{URL}?{RANGE}&group_by={group_by}").json()
    assert body["group_by"] == group_by and body["groups"]
    top = set(body) - {"group_by", "groups", "loss_reasons"}
    for group in body["groups"]:
        assert set(group) == top | {"key", "label"}


def test_group_by_csm_keys_are_usernames(history, integration):
    groups = api_as(integration).get(f"{URL}?{RANGE}&group_by=csm").json()["groups"]
    assert [(g["key"], g["label"], g["accounts_start"], g["start_mrr"]) for g in groups] == [
        ("csm.a", "Ann Alder", 3, "650.00"),
        ("csm.b", "Bo Birch", 3, "560.55"),
        (None, "No CSM", 1, "120.00"),
    ]


def test_group_by_month_gives_a_row_per_month(history, integration):
    body = api_as(integration).get(f"{URL}?{RANGE}&group_by=month").json()
    assert [g["key"] for g in body["groups"]] == [f"2025-{m:02d}" for m in range(1, 13)]
    assert (body["groups"][0]["start"], body["groups"][0]["end"]) == ("2025-01-01", "2025-02-01")
    assert body["groups"][-1]["end"] == "2026-01-01"
    # F's subscription ends on 2026-01-01: lost in December's row
    assert (body["groups"][-1]["accounts_churned"], body["groups"][-1]["churned_mrr"]) == (1, "400.00")


def test_filters_csm_tier_segment(history, integration):
    client = api_as(integration)
    assert client.get(f"{URL}?{RANGE}&csm=csm.b").json()["start_mrr"] == "560.55"
    assert client.get(f"{URL}?{RANGE}&tier=key").json()["start_mrr"] == "670.00"
    small = client.get(f"{URL}?{RANGE}&segment=small&tier=key").json()  # K only
    assert (small["accounts_start"], small["expansion_mrr"]) == (1, "10.00")


def test_a_csm_sees_only_the_figures_of_accounts_they_may_see(history, csm_a, csm_b, admin_user):
    mine = api_as(csm_a).get(f"{URL}?{RANGE}").json()
    assert (mine["accounts_start"], mine["start_mrr"], mine["accounts_churned"]) == (3, "650.00", 1)
    assert api_as(csm_a).get(f"{URL}?{RANGE}&csm=csm.b").json()["accounts_start"] == 0
    theirs = api_as(csm_b).get(f"{URL}?{RANGE}&group_by=csm").json()
    assert [g["key"] for g in theirs["groups"]] == ["csm.b"]
    assert api_as(admin_user).get(f"{URL}?{RANGE}").json()["accounts_start"] == 7


def test_sales_see_the_accounts_they_sold(history, sales):
    history["B"].sales_owner = sales
    history["B"].save()
    body = api_as(sales).get(f"{URL}?{RANGE}").json()
    assert (body["accounts_start"], body["accounts_churned"], body["churned_mrr"]) == (1, 1, "200.00")


def test_login_required(api):
    assert api.get(f"{URL}?{RANGE}").status_code in (401, 403)
    assert api.get(COHORTS).status_code in (401, 403)


@pytest.mark.parametrize(
    "query, fields",
    [
        ("", {"start", "end"}),
        ("start=2025-01-01", {"end"}),
        ("end=2025-01-01", {"start"}),
        ("start=2025-02-30&end=2025-03-01", {"start"}),
        ("start=yesterday&end=today", {"start", "end"}),
        ("start=2025/01/01&end=2025/02/01", {"start", "end"}),
        ("start=01-01-2025&end=2025-02-01", {"start"}),
        ("start=2025-01-01&end=2025-01-01", {"end"}),
        ("start=2025-06-01&end=2025-01-01", {"end"}),
        (f"{RANGE}&group_by=industry", {"group_by"}),
        (f"{RANGE}&tier=gold", {"tier"}),
        (f"{RANGE}&segment=huge", {"segment"}),
        (f"{RANGE}&csm={'x' * 151}", {"csm"}),
        ("start=1990-01-01&end=2026-01-01&group_by=month", {"end"}),
        ("start=99999-01-01&end=2026-01-01", {"start"}),
        ("start=2025-01-01%00&end=2026-01-01", {"start"}),
    ],
)
def test_bad_input_is_a_400_with_field_errors(integration, query, fields):
    response = api_as(integration).get(f"{URL}?{query}")
    assert response.status_code == 400
    assert set(response.json()) == fields


def test_the_calendar_edges_are_no_500(integration):
    client = api_as(integration)
    assert client.get(f"{URL}?start=0001-01-01&end=9999-12-31").status_code == 200
    assert client.get(f"{URL}?start=9999-01-01&end=9999-12-31&group_by=month").status_code == 200
    assert client.get(f"{URL}?start=0001-01-01&end=0001-03-01&group_by=month").status_code == 200


# ------------------------------------------------------------------ cohorts


def test_cohorts_shape_and_figures(integration, csm_a):
    sub(t := AccountFactory(csm=csm_a), dt.date(2025, 4, 10), None, "100")
    sub(t, dt.date(2025, 5, 20), None, "50")
    sub(AccountFactory(csm=csm_a), dt.date(2025, 4, 1), dt.date(2025, 6, 1), "200")
    body = api_as(integration).get(f"{COHORTS}?months=3&as_of=2025-07-15").json()
    assert (body["months"], body["as_of"]) == (3, "2025-07-15")
    april = body["cohorts"][0]
    assert (april["month"], april["accounts"], april["start_mrr"]) == ("2025-04-01", 2, "300.00")
    assert april["cells"][1] == {
        "offset": 2,
        "date": "2025-06-01",
        "accounts_active": 1,
        "logo_retention": "0.5000",
        "mrr": "150.00",
        "revenue_retention": "0.5000",
    }
    assert [len(c["cells"]) for c in body["cohorts"]] == [3, 2, 1]
    assert body["cohorts"][1]["cells"][0]["logo_retention"] is None  # May: no accounts


def test_cohorts_default_to_twelve_months_and_are_scoped(integration, csm_a, other_csm):
    sub(AccountFactory(csm=other_csm), dt.date(2025, 4, 10), None, "100")
    assert len(api_as(integration).get(COHORTS).json()["cohorts"]) == 12
    table = api_as(csm_a).get(f"{COHORTS}?months=3&as_of=2025-07-15").json()
    assert [c["accounts"] for c in table["cohorts"]] == [0, 0, 0]
    table = api_as(integration).get(f"{COHORTS}?months=3&as_of=2025-07-15&csm={other_csm.username}").json()
    assert [c["accounts"] for c in table["cohorts"]] == [1, 0, 0]


@pytest.mark.parametrize(
    "query, field",
    [
        ("months=0", "months"),
        ("months=61", "months"),
        ("months=twelve", "months"),
        ("as_of=2025-13-01", "as_of"),
        ("as_of=0001-02-01", "as_of"),
        ("tier=gold", "tier"),
        ("segment=x", "segment"),
    ],
)
def test_cohorts_bad_input_is_a_400(integration, query, field):
    response = api_as(integration).get(f"{COHORTS}?{query}")
    assert response.status_code == 400
    assert field in response.json()


# ------------------------------------------------------------------ queries


def _grow(size: int, csm) -> None:
    for i in range(size):
        account = AccountFactory(csm=csm if i % 2 else UserFactory(team=csm.team), tier=("key", "standard")[i % 2])
        sub(account, dt.date(2024, 1 + i % 12, 1), dt.date(2025, 1 + i % 12, 15) if i % 3 else None, "100")
        sub(account, dt.date(2025, 3, 1), None, "10")


@pytest.mark.parametrize("user", ["integration", "csm"])
def test_query_count_is_constant(request, user, query_budget, django_assert_max_num_queries):
    caller = request.getfixturevalue(user)
    client = api_as(caller)
    counts = []
    for size in (3, 30):
        _grow(size, request.getfixturevalue("csm"))
        for url, name in (
            (f"{URL}?{RANGE}&group_by=month&tier=key", "api:metrics_retention"),
            (f"{URL}?{RANGE}&group_by=csm", "api:metrics_retention"),
            (f"{COHORTS}?months=24&segment=medium", "api:metrics_cohorts"),
        ):
            with django_assert_max_num_queries(query_budget(name)) as queries:
                assert client.get(url).status_code == 200
            counts.append(len(queries))
    assert counts[:3] == counts[3:]
