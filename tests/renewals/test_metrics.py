"""Retention metrics on hand-built subscription histories: every figure worked out by hand
from the contract's definitions (renewals.metrics)."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from cs_platform.access import visible_accounts
from people.models import User
from renewals import metrics
from tests.factories import AccountFactory, ProductFactory, SubscriptionFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

START, END = dt.date(2025, 1, 1), dt.date(2026, 1, 1)


def sub(account, start, end, mrr):
    return SubscriptionFactory(account=account, start_date=start, end_date=end, mrr=D(mrr))


def make_history(csm_a: User, csm_b: User) -> dict[str, Account]:
    """Accounts A..K between 2025-01-01 and 2026-01-01 (csm_a has A, B, C; csm_b has D, F,
    G; E and K have no CSM):

    A steady, open-ended: 100 -> 100            B churned mid-year: 200 -> gone
    C downsized, three subscriptions: 350 -> 200 D upgraded with an add-on: 100 -> 180
    E started inside the range: new, 70        F ends exactly on the end date: 400 -> gone
    G starts exactly on the start date: 60.55   H ended exactly on the start date: nowhere
    I came and went inside the range: nowhere   J starts after the end date: nowhere
    K left and came back inside the range: 120 -> 130
    """
    ProductFactory()
    make = {
        "A": {"csm": csm_a, "tier": "strategic", "employee_count": 50},
        "B": {"csm": csm_a, "tier": "key", "employee_count": 500},
        "C": {"csm": csm_a, "tier": "key", "employee_count": 5000},
        "D": {"csm": csm_b, "tier": "standard", "employee_count": 20000},
        "E": {"csm": None, "team": None, "tier": "standard", "employee_count": None},
        "F": {"csm": csm_b, "tier": "strategic", "employee_count": 500},
        "G": {"csm": csm_b, "tier": "standard", "employee_count": 50},
        "H": {"csm": csm_a, "tier": "standard"},
        "I": {"csm": csm_a, "tier": "standard"},
        "J": {"csm": csm_a, "tier": "standard"},
        "K": {"csm": None, "team": None, "tier": "key", "employee_count": 99},
    }
    acc = {name: AccountFactory(name=f"Account {name}", **kw) for name, kw in make.items()}
    sub(acc["A"], dt.date(2024, 6, 1), None, "100")
    sub(acc["B"], dt.date(2024, 1, 1), dt.date(2025, 6, 1), "200")
    sub(acc["C"], dt.date(2024, 1, 1), dt.date(2025, 3, 1), "300")
    sub(acc["C"], dt.date(2025, 3, 1), None, "150")
    sub(acc["C"], dt.date(2024, 5, 1), None, "50")
    sub(acc["D"], dt.date(2024, 9, 1), None, "100")
    sub(acc["D"], dt.date(2025, 7, 1), dt.date(2026, 7, 1), "80")
    sub(acc["E"], dt.date(2025, 4, 1), None, "70")
    sub(acc["F"], dt.date(2024, 2, 1), dt.date(2026, 1, 1), "400")
    sub(acc["G"], dt.date(2025, 1, 1), None, "60.55")
    sub(acc["H"], dt.date(2023, 1, 1), dt.date(2025, 1, 1), "500")
    sub(acc["I"], dt.date(2025, 2, 1), dt.date(2025, 10, 1), "90")
    sub(acc["J"], dt.date(2026, 1, 2), None, "1000")
    sub(acc["K"], dt.date(2024, 1, 1), dt.date(2025, 5, 1), "120")
    sub(acc["K"], dt.date(2025, 9, 1), None, "130")
    return acc


@pytest.fixture
def csm_a(team):
    return UserFactory(username="csm.a", first_name="Ann", last_name="Alder", role=User.Role.CSM, team=team)


@pytest.fixture
def csm_b(other_team):
    return UserFactory(username="csm.b", first_name="Bo", last_name="Birch", role=User.Role.CSM, team=other_team)


@pytest.fixture
def history(csm_a, csm_b):
    return make_history(csm_a, csm_b)


# Start set A B C D F G K: 100 + 200 + 350 + 100 + 400 + 60.55 + 120 = 1330.55 on START.
# End set A C D E G K: 100 + 200 + 180 + 70 + 60.55 + 130 = 740.55 on END.
EXPECTED = {
    "accounts_start": 7,
    "accounts_churned": 2,  # B and F (F's subscription ends on END: inactive that day)
    "churn_rate": D("0.2857"),  # 2 / 7
    "retention_rate": D("0.7143"),
    "start_mrr": D("1330.55"),
    "retained_mrr": D("670.55"),  # A 100 + C 200 + D 180 + G 60.55 + K 130
    "net_mrr_retention": D("0.5040"),  # 670.55 / 1330.55 = 0.50396...
    "churned_mrr": D("600.00"),  # B 200 + F 400
    "downsell_mrr": D("150.00"),  # C 350 -> 200
    "mrr_churn_rate": D("0.5637"),  # 750 / 1330.55 = 0.56367...
    "gross_revenue_retention": D("0.4363"),  # 580.55 / 1330.55
    "expansion_mrr": D("90.00"),  # D 100 -> 180, K 120 -> 130
    "accounts_new": 1,  # E
    "accounts_retained": 5,
    "accounts_end": 6,
    "new_mrr": D("70.00"),
    "end_mrr": D("740.55"),
}


def test_every_figure_by_hand(history):
    result = metrics.retention(start=START, end=END)
    assert {k: result[k] for k in EXPECTED} == EXPECTED
    assert (result["start"], result["end"], result["group_by"], result["groups"]) == (START, END, None, [])


def test_figures_hold_together(history):
    r = metrics.retention(start=START, end=END)
    assert r["start_mrr"] - r["churned_mrr"] - r["downsell_mrr"] + r["expansion_mrr"] == r["retained_mrr"]
    assert r["retained_mrr"] + r["new_mrr"] == r["end_mrr"]
    assert r["accounts_start"] - r["accounts_churned"] + r["accounts_new"] == r["accounts_end"]
    assert r["retention_rate"] + r["churn_rate"] == 1
    assert r["gross_revenue_retention"] + r["mrr_churn_rate"] == 1
    assert isinstance(r["start_mrr"], D) and isinstance(r["churn_rate"], D)


def test_a_subscription_ending_on_a_day_is_inactive_that_day(history):
    one_day_later = metrics.retention(start=START, end=END - dt.timedelta(days=1))
    assert one_day_later["accounts_churned"] == 1  # only B: F is still active on 2025-12-31
    assert one_day_later["churned_mrr"] == D("200.00")


def test_an_account_is_in_the_start_set_on_its_first_day_and_not_on_its_last(history):
    """H's subscription ends on START: not active; G's starts on START: active."""
    ids = {a.pk for a in Account.objects.filter(name__in=["Account G"])}
    only_g = metrics.retention(start=START, end=END, accounts=Account.objects.filter(pk__in=ids))
    assert (only_g["accounts_start"], only_g["start_mrr"], only_g["accounts_churned"]) == (1, D("60.55"), 0)
    only_h = metrics.retention(start=START, end=END, accounts=Account.objects.filter(name="Account H"))
    assert (only_h["accounts_start"], only_h["accounts_new"], only_h["churn_rate"]) == (0, 0, None)


def test_rates_are_null_when_nothing_to_divide_by(db):
    result = metrics.retention(start=START, end=END)
    assert result["accounts_start"] == 0 and result["start_mrr"] == 0
    for key in ("churn_rate", "retention_rate", "net_mrr_retention", "mrr_churn_rate", "gross_revenue_retention"):
        assert result[key] is None, key


def test_zero_mrr_accounts_count_as_customers_but_leave_mrr_rates_null(db):
    ProductFactory()
    sub(AccountFactory(), dt.date(2024, 1, 1), None, "0")
    result = metrics.retention(start=START, end=END)
    assert (result["accounts_start"], result["churn_rate"], result["net_mrr_retention"]) == (1, D("0.0000"), None)


def test_grr_never_exceeds_one_even_with_large_expansion(db):
    ProductFactory()
    account = AccountFactory()
    sub(account, dt.date(2024, 1, 1), None, "100")
    sub(account, dt.date(2025, 6, 1), None, "900")
    result = metrics.retention(start=START, end=END)
    assert (result["net_mrr_retention"], result["gross_revenue_retention"]) == (D("10.0000"), D("1.0000"))


def test_breakdown_by_csm(history):
    groups = {g["key"]: g for g in metrics.retention(start=START, end=END, group_by="csm")["groups"]}
    assert list(groups) == ["csm.a", "csm.b", None]  # by name; accounts without a CSM last
    a, b, nobody = groups["csm.a"], groups["csm.b"], groups[None]
    assert (a["label"], b["label"], nobody["label"]) == ("Ann Alder", "Bo Birch", "No CSM")
    # csm.a: A 100 -> 100, B 200 -> gone, C 350 -> 200
    assert (a["accounts_start"], a["accounts_churned"], a["start_mrr"], a["retained_mrr"]) == (3, 1, 650, 300)
    assert (a["churned_mrr"], a["downsell_mrr"], a["net_mrr_retention"]) == (200, 150, D("0.4615"))
    # csm.b: D 100 -> 180, F 400 -> gone, G 60.55 -> 60.55
    assert (b["accounts_start"], b["accounts_churned"], b["start_mrr"], b["expansion_mrr"]) == (3, 1, D("560.55"), 80)
    assert b["mrr_churn_rate"] == D("0.7136")  # 400 / 560.55
    # nobody: K 120 -> 130, E new
    assert (nobody["accounts_start"], nobody["accounts_new"], nobody["new_mrr"], nobody["expansion_mrr"]) == (
        1, 1, 70, 10,
    )  # fmt: skip
    for key in ("accounts_start", "accounts_churned", "start_mrr", "retained_mrr", "accounts_new"):
        assert sum(g[key] for g in groups.values()) == EXPECTED[key], key


def test_breakdown_by_team_and_tier(history):
    teams = {g["key"]: g for g in metrics.retention(start=START, end=END, group_by="team")["groups"]}
    assert list(teams) == ["East", "West", None]
    assert teams[None]["label"] == "No team"
    assert (teams["East"]["accounts_start"], teams["West"]["accounts_start"]) == (3, 3)
    tiers = metrics.retention(start=START, end=END, group_by="tier")["groups"]
    assert [(g["key"], g["label"]) for g in tiers] == [
        ("strategic", "Strategic"),
        ("key", "Key"),
        ("standard", "Standard"),
    ]
    strategic, key, standard = tiers
    assert (strategic["accounts_start"], strategic["accounts_churned"], strategic["start_mrr"]) == (2, 1, 500)  # A F
    assert (key["accounts_start"], key["churned_mrr"], key["downsell_mrr"], key["expansion_mrr"]) == (3, 200, 150, 10)
    assert (standard["accounts_start"], standard["accounts_new"], standard["expansion_mrr"]) == (2, 1, 80)  # D G, E


def test_filters_by_csm_tier_and_segment(history):
    by_csm = metrics.retention(start=START, end=END, csm="csm.b")
    assert (by_csm["accounts_start"], by_csm["start_mrr"]) == (3, D("560.55"))
    by_tier = metrics.retention(start=START, end=END, tier="key")
    assert (by_tier["accounts_start"], by_tier["start_mrr"]) == (3, 670)  # B 200, C 350, K 120
    # segment = size band from the employee count: small < 100 (A 50, G 50, K 99)
    small = metrics.retention(start=START, end=END, segment="small")
    assert (small["accounts_start"], small["start_mrr"], small["expansion_mrr"]) == (3, D("280.55"), 10)
    medium = metrics.retention(start=START, end=END, segment="medium")  # B 500, F 500: both churned
    assert (medium["accounts_start"], medium["churn_rate"]) == (2, D("1.0000"))
    enterprise = metrics.retention(start=START, end=END, segment="enterprise")  # D
    assert (enterprise["accounts_start"], enterprise["expansion_mrr"]) == (1, 80)
    nobody = metrics.retention(start=START, end=END, csm="nobody-at-all")
    assert nobody["accounts_start"] == 0 and nobody["churn_rate"] is None


def test_scope_is_what_the_user_may_see(history, csm_a, csm_b):
    """csm.a (team East) sees A..C and H..J; E and K have no team, D F G are West's."""
    mine = metrics.retention(start=START, end=END, accounts=visible_accounts(csm_a))
    assert (mine["accounts_start"], mine["start_mrr"], mine["accounts_churned"]) == (3, 650, 1)
    filtered_out = metrics.retention(start=START, end=END, accounts=visible_accounts(csm_a), csm="csm.b")
    assert filtered_out["accounts_start"] == 0


# ------------------------------------------------------------------ months


@pytest.fixture
def months_history(db):
    """P steady 100; Q 50 ends on 2025-06-01; R 30 starts 2025-06-15; S 40 until 2025-07-01,
    then 60 from that day."""
    ProductFactory()
    p, q, r, s = (AccountFactory(name=n) for n in "PQRS")
    sub(p, dt.date(2025, 1, 1), None, "100")
    sub(q, dt.date(2025, 1, 1), dt.date(2025, 6, 1), "50")
    sub(r, dt.date(2025, 6, 15), None, "30")
    sub(s, dt.date(2025, 1, 1), dt.date(2025, 7, 1), "40")
    sub(s, dt.date(2025, 7, 1), None, "60")


def test_breakdown_by_month_compares_each_first_of_the_month_with_the_next(months_history):
    result = metrics.retention(start=dt.date(2025, 5, 1), end=dt.date(2025, 8, 1), group_by="month")
    may, june, july = result["groups"]
    assert [(g["key"], g["start"], g["end"]) for g in result["groups"]] == [
        ("2025-05", dt.date(2025, 5, 1), dt.date(2025, 6, 1)),
        ("2025-06", dt.date(2025, 6, 1), dt.date(2025, 7, 1)),
        ("2025-07", dt.date(2025, 7, 1), dt.date(2025, 8, 1)),
    ]
    # May: P 100, Q 50, S 40 -> Q leaves on June 1st
    assert (may["accounts_start"], may["accounts_churned"], may["start_mrr"], may["retained_mrr"]) == (3, 1, 190, 140)
    assert (may["churn_rate"], may["net_mrr_retention"], may["churned_mrr"]) == (D("0.3333"), D("0.7368"), 50)
    # June: P 100, S 40 -> S 60 on July 1st (+20), R arrives (new, 30)
    assert (june["accounts_start"], june["expansion_mrr"], june["accounts_new"], june["new_mrr"]) == (2, 20, 1, 30)
    assert (june["net_mrr_retention"], june["gross_revenue_retention"]) == (D("1.1429"), D("1.0000"))
    # July: P, R, S all stay
    assert (july["accounts_start"], july["start_mrr"], july["churn_rate"], july["net_mrr_retention"]) == (
        3, 190, D("0.0000"), D("1.0000"),
    )  # fmt: skip
    # the whole range: start set P Q S, Q lost, S up by 20, R new
    assert (result["accounts_start"], result["accounts_churned"], result["retained_mrr"]) == (3, 1, 160)


def test_month_breakdown_clips_to_a_range_that_starts_and_ends_mid_month(months_history):
    groups = metrics.retention(start=dt.date(2025, 5, 15), end=dt.date(2025, 7, 10), group_by="month")["groups"]
    assert [(g["start"], g["end"]) for g in groups] == [
        (dt.date(2025, 5, 15), dt.date(2025, 6, 1)),
        (dt.date(2025, 6, 1), dt.date(2025, 7, 1)),
        (dt.date(2025, 7, 1), dt.date(2025, 7, 10)),
    ]


def test_bad_ranges_are_validation_errors(db):
    with pytest.raises(ValidationError) as error:
        metrics.retention(start=END, end=START)
    assert "end" in error.value.message_dict
    with pytest.raises(ValidationError):
        metrics.retention(start=START, end=START)
    with pytest.raises(ValidationError) as error:
        metrics.retention(start=dt.date(2000, 1, 1), end=dt.date(2026, 1, 1), group_by="month")
    assert "end" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        metrics.retention(start=START, end=END, group_by="industry")
    assert "group_by" in error.value.message_dict
    # the extremes of the calendar are no problem without a month breakdown
    assert metrics.retention(start=dt.date(1, 1, 1), end=dt.date(9999, 12, 31))["accounts_start"] == 0
    last_year = metrics.retention(start=dt.date(9999, 1, 1), end=dt.date(9999, 12, 31), group_by="month")
    assert len(last_year["groups"]) == 12


# ------------------------------------------------------------------ cohorts


@pytest.fixture
def cohort_history(csm_a, csm_b):
    """As of 2025-07-15 with 3 months: cohorts April, May, June 2025."""
    ProductFactory()
    t, u, v, w, x, y = (AccountFactory(name=n, csm=csm_a) for n in "TUVWXY")
    z = AccountFactory(name="Z", csm=csm_b)
    sub(t, dt.date(2025, 4, 10), None, "100")  # April; grows to 150 on 2025-05-20
    sub(t, dt.date(2025, 5, 20), None, "50")
    sub(u, dt.date(2025, 4, 1), dt.date(2025, 6, 1), "200")  # April; gone on June 1st
    sub(v, dt.date(2025, 5, 3), None, "40")  # May: two subscriptions on its first day
    sub(v, dt.date(2025, 5, 3), dt.date(2025, 6, 10), "60")
    sub(w, dt.date(2025, 3, 1), None, "10")  # March: before the first cohort
    sub(w, dt.date(2025, 5, 1), None, "10")
    sub(x, dt.date(2025, 7, 2), None, "10")  # July: the current month, no cohort yet
    sub(y, dt.date(2025, 6, 30), dt.date(2025, 7, 1), "10")  # June, for one day
    sub(z, dt.date(2025, 4, 5), None, "999")  # April, another team's


def test_cohorts_by_hand(cohort_history, csm_a):
    table = metrics.cohorts(months=3, as_of=dt.date(2025, 7, 15), accounts=visible_accounts(csm_a))
    assert (table["months"], table["as_of"]) == (3, dt.date(2025, 7, 15))
    april, may, june = table["cohorts"]
    assert [c["month"] for c in table["cohorts"]] == [dt.date(2025, 4, 1), dt.date(2025, 5, 1), dt.date(2025, 6, 1)]

    def cells(cohort):
        return [
            (c["offset"], c["date"], c["accounts_active"], c["logo_retention"], c["mrr"], c["revenue_retention"])
            for c in cohort["cells"]
        ]

    assert (april["accounts"], april["start_mrr"]) == (2, D("300.00"))  # T 100 + U 200
    assert cells(april) == [
        (1, dt.date(2025, 5, 1), 2, D("1.0000"), D("300.00"), D("1.0000")),
        (2, dt.date(2025, 6, 1), 1, D("0.5000"), D("150.00"), D("0.5000")),
        (3, dt.date(2025, 7, 1), 1, D("0.5000"), D("150.00"), D("0.5000")),
    ]
    assert (may["accounts"], may["start_mrr"]) == (1, D("100.00"))  # V 40 + 60 on the same day
    assert cells(may) == [
        (1, dt.date(2025, 6, 1), 1, D("1.0000"), D("100.00"), D("1.0000")),
        (2, dt.date(2025, 7, 1), 1, D("1.0000"), D("40.00"), D("0.4000")),
    ]
    assert (june["accounts"], june["start_mrr"]) == (1, D("10.00"))
    assert cells(june) == [(1, dt.date(2025, 7, 1), 0, D("0.0000"), D("0.00"), D("0.0000"))]


def test_cohorts_of_everyone_and_empty_months(cohort_history):
    table = metrics.cohorts(months=4, as_of=dt.date(2025, 7, 1))
    march, april, may, june = table["cohorts"]
    assert (march["accounts"], april["accounts"], april["start_mrr"]) == (1, 3, D("1299.00"))  # W; T U Z
    empty = metrics.cohorts(months=2, as_of=dt.date(2025, 3, 1))["cohorts"]
    assert [(c["accounts"], c["start_mrr"], [x["logo_retention"] for x in c["cells"]]) for c in empty] == [
        (0, D("0.00"), [None, None]),
        (0, D("0.00"), [None]),
    ]


def test_cohort_filters(cohort_history):
    table = metrics.cohorts(months=3, as_of=dt.date(2025, 7, 15), csm="csm.b")
    assert [c["accounts"] for c in table["cohorts"]] == [1, 0, 0]


def test_cohort_months_are_checked(db):
    for months in (0, metrics.MAX_MONTHS + 1):
        with pytest.raises(ValidationError):
            metrics.cohorts(months=months)
    with pytest.raises(ValidationError):
        metrics.cohorts(months=12, as_of=dt.date(1, 3, 1))


# ------------------------------------------------------------------ queries


def _grow(size: int) -> None:
    ProductFactory()
    team = TeamFactory()
    for i in range(size):
        account = AccountFactory(csm=UserFactory(team=team), tier=Account.Tier.values[i % 3])
        sub(account, dt.date(2024, 1 + i % 12, 1), dt.date(2025, 1 + i % 12, 15) if i % 2 else None, "100")
        sub(account, dt.date(2025, 3, 1), dt.date(2025, 9, 1), "10")


@pytest.mark.parametrize("group_by", [None, "csm", "team", "tier", "month"])
def test_a_fixed_number_of_queries_whatever_the_size(group_by):
    counts = []
    for size in (3, 30):
        _grow(size)
        with CaptureQueriesContext(connection) as retention_queries:
            metrics.retention(start=START, end=END, group_by=group_by, tier="key", segment="medium")
        with CaptureQueriesContext(connection) as cohort_queries:
            metrics.cohorts(months=24, as_of=dt.date(2025, 12, 1), csm="nobody")
        counts.append((len(retention_queries), len(cohort_queries)))
    assert counts == [(1, 2), (1, 2)]


def test_groups_of_accounts_in_neither_set_are_left_out(history):
    between = AccountFactory(csm=UserFactory(username="csm.between"), tier="key")
    sub(between, dt.date(2025, 3, 1), dt.date(2025, 4, 1), "500")
    keys = [g["key"] for g in metrics.retention(start=START, end=END, group_by="csm")["groups"]]
    assert "csm.between" not in keys and keys == ["csm.a", "csm.b", None]
