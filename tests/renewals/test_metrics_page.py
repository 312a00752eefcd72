"""The retention metrics page: the same numbers as the API for the same filters, the
definitions beside them, breakdowns, cohorts, CSV exports, bad input and queries."""

import csv
import datetime as dt
import io
import re

import pytest
from dateutil.relativedelta import relativedelta
from django.urls import reverse
from django.utils import timezone

from people.models import User
from renewals.api_metrics import CohortTableSerializer, RetentionSerializer
from renewals.forms_metrics import presets
from tests.conftest import api_as
from tests.factories import AccountFactory, TeamFactory, UserFactory
from tests.renewals.test_metrics import make_history, sub

pytestmark = pytest.mark.django_db

URL = "/renewals/metrics/"
RANGE = "start=2025-01-01&end=2026-01-01"


@pytest.fixture
def csm_a(team):
    return UserFactory(username="csm.a", first_name="Ann", last_name="Alder", role=User.Role.CSM, team=team)


@pytest.fixture
def csm_b(other_team):
    return UserFactory(username="csm.b", first_name="Bo", last_name="Birch", role=User.Role.CSM, team=other_team)


@pytest.fixture
def history(csm_a, csm_b):
    return make_history(csm_a, csm_b)


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_url_name_and_login_required(client):
    assert reverse("renewals:metrics") == URL
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize(
    "query",
    [
        RANGE,
        f"{RANGE}&group_by=csm",
        f"{RANGE}&group_by=team&tier=key",
        f"{RANGE}&group_by=tier&segment=small",
        f"{RANGE}&group_by=month&csm=csm.b",
        "start=2025-05-15&end=2025-09-10&group_by=month",
    ],
)
def test_the_page_shows_the_same_numbers_as_the_api(client, history, admin_user, query):
    client.force_login(admin_user)
    response = client.get(f"{URL}?{query}")
    api_query = query if "group_by" in query else f"{query}&group_by=month"  # the page's default breakdown
    api = api_as(admin_user).get(f"/api/v1/metrics/retention/?{api_query}").json()
    assert RetentionSerializer(response.context["figures"]).data == api
    page = text(response)
    for key, field in (("logo_churn", "churn_rate"), ("nrr", "net_mrr_retention"), ("grr", "gross_revenue_retention")):
        value = api[field]
        shown = "—" if value is None else f"{float(value) * 100:.1f}%"
        assert re.search(rf'id="metric-{key}">.*?<p class="metric-value">{re.escape(shown)}</p>', page), key
    for group in api["groups"]:
        assert f'<th scope="row">{group["label"]}</th>' in page


def test_cohorts_on_the_page_are_the_api_cohorts(client, history, admin_user):
    client.force_login(admin_user)
    response = client.get(f"{URL}?{RANGE}&months=6")
    api = api_as(admin_user).get("/api/v1/metrics/cohorts/?months=6").json()
    assert CohortTableSerializer(response.context["cohorts"]).data == api
    assert len(response.context["cohort_rows"]) == 6


def test_headline_numbers_and_their_definitions(client, history, admin_user):
    client.force_login(admin_user)
    page = text(client.get(f"{URL}?{RANGE}"))
    # 2 of 7 customers lost; NRR 670.55 / 1330.55; GRR 580.55 / 1330.55; MRR churn 750 / 1330.55
    for expected in ("28.6%", "2 of 7 customers left", "71.4%", "50.4%", "43.6%", "56.4%", "90 <small>"):
        assert expected in page, expected
    for definition in (
        "Customers with an active subscription on the first day and none on the last day",
        "Upgrades do not count, so it is never above 100%",
        "the drop of customers who stayed but pay less (downsell MRR)",
        "a subscription that ends on a day no longer counts that day",
    ):
        assert definition in page, definition


def test_defaults_to_the_last_twelve_whole_months_by_month(client, history, admin_user):
    client.force_login(admin_user)
    response = client.get(URL)
    figures = response.context["figures"]
    this_month = timezone.localdate().replace(day=1)
    assert (figures["start"], figures["end"]) == (this_month - relativedelta(months=12), this_month)
    assert figures["group_by"] == "month" and len(figures["groups"]) == 12
    assert 'aria-current="true">Last 12 months' in text(response)


def test_presets():
    ranges = {p["key"]: (p["start"], p["end"]) for p in presets(dt.date(2025, 5, 20))}
    assert ranges == {
        "last_month": (dt.date(2025, 4, 1), dt.date(2025, 5, 1)),
        "last_quarter": (dt.date(2025, 1, 1), dt.date(2025, 4, 1)),
        "last_12_months": (dt.date(2024, 5, 1), dt.date(2025, 5, 1)),
        "year_to_date": (dt.date(2025, 1, 1), dt.date(2025, 5, 20)),
    }
    january = {p["key"]: (p["start"], p["end"]) for p in presets(dt.date(2026, 1, 1))}
    assert january["last_quarter"] == (dt.date(2025, 10, 1), dt.date(2026, 1, 1))
    assert "year_to_date" not in january  # an empty range


def test_preset_and_breakdown_links_keep_the_other_filters(client, history, admin_user):
    client.force_login(admin_user)
    page = client.get(f"{URL}?{RANGE}&tier=key&group_by=team").content.decode()
    assert "tier=key" in re.search(r'href="\?([^"]*)"[^>]*>Last month', page).group(1)
    tab = re.search(r'href="\?([^"#]*)#breakdown"[^>]*>CSM<', page).group(1)
    assert "group_by=csm" in tab and "tier=key" in tab and "start=2025-01-01" in tab


def test_a_csm_sees_only_their_accounts(client, history, csm_a):
    client.force_login(csm_a)
    response = client.get(f"{URL}?{RANGE}&group_by=csm")
    figures = response.context["figures"]
    assert (figures["accounts_start"], figures["start_mrr"]) == (3, 650)
    assert [g["key"] for g in figures["groups"]] == ["csm.a"]
    assert "Bo Birch" not in response.content.decode()  # not even in the CSM picker
    assert (
        RetentionSerializer(figures).data
        == api_as(csm_a).get(f"/api/v1/metrics/retention/?{RANGE}&group_by=csm").json()
    )


@pytest.mark.parametrize(
    "query",
    [
        "start=2025-06-01&end=2025-01-01",
        "start=2025-01-01&end=2025-01-01",
        "start=nonsense&end=2025-01-01",
        "start=2025-02-30",
        "end=2025-01-01",
        f"{RANGE}&group_by=industry",
        f"{RANGE}&tier=gold&segment=huge",
        f"{RANGE}&months=0",
        f"{RANGE}&months=abc",
        "start=1990-01-01&end=2026-01-01&group_by=month",
        f"{RANGE}&export=breakdown&end=bad",
    ],
)
def test_bad_input_shows_form_errors_never_a_500(client, history, admin_user, query):
    client.force_login(admin_user)
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 200
    assert response.context["figures"] is None and response.context["form"].errors
    assert 'class="field-errors"' in response.content.decode()


def test_the_calendar_edges_are_fine(client, history, admin_user):
    client.force_login(admin_user)
    response = client.get(f"{URL}?start=0001-01-01&end=9999-12-31&group_by=tier")
    assert response.status_code == 200 and response.context["figures"]["accounts_start"] == 0


def test_breakdown_csv_is_formula_guarded(client, history, admin_user):
    history["A"].team = TeamFactory(name='=HYPERLINK("http://x")')
    history["A"].save()
    client.force_login(admin_user)
    rows = csv_rows(client.get(f"{URL}?{RANGE}&group_by=team&export=breakdown"))
    header, *body = rows
    assert header[:5] == ["Group", "Key", "From", "To", "Accounts at start"]
    labels = [r[0] for r in body]
    assert '\'=HYPERLINK("http://x")' in labels and labels[-1] == "Whole range"
    whole = dict(zip(header, body[-1], strict=True))
    assert (whole["Accounts at start"], whole["Logo churn"], whole["Start MRR"], whole["NRR"]) == (
        "7", "0.2857", "1330.55", "0.5040",
    )  # fmt: skip


def test_cohort_csv(client, admin_user, csm_a):
    sub(AccountFactory(csm=csm_a), timezone.localdate().replace(day=1) - dt.timedelta(days=1), None, "100")
    client.force_login(admin_user)
    rows = csv_rows(client.get(f"{URL}?{RANGE}&months=3&export=cohorts"))
    assert rows[0][:5] == ["Cohort", "Accounts", "Starting MRR", "Month 1 logo retention", "Month 1 revenue retention"]
    assert len(rows) == 4
    assert rows[-1][1:] == ["1", "100.00", "1.0000", "1.0000"]


def test_the_page_renders_in_chinese(client, history, admin_user):
    client.force_login(admin_user)
    client.cookies["django_language"] = "zh-hans"
    assert client.get(f"{URL}?{RANGE}&group_by=tier").status_code == 200


@pytest.mark.parametrize("group_by", ["csm", "month"])
def test_query_count_is_constant(client, manager, group_by, query_budget, django_assert_max_num_queries):
    client.force_login(manager)
    counts = []
    for size in (3, 30):
        for i in range(size):
            account = AccountFactory(csm=UserFactory(team=manager.team), team=manager.team)
            sub(account, dt.date(2024, 1 + i % 12, 1), dt.date(2025, 1 + i % 12, 9) if i % 2 else None, "100")
        with django_assert_max_num_queries(query_budget("renewals:metrics")) as queries:
            assert client.get(f"{URL}?{RANGE}&group_by={group_by}").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
