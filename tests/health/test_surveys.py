"""Surveys (NPS 0-10, CSAT 1-5): recorded on the account's health panel and through
`/api/v1/survey-responses/`, shown on the panel, scoped by cs_platform.access."""

import datetime as dt

import pytest
from django.utils import timezone

from health.models import SurveyResponse
from tests.conftest import api_as
from tests.factories import AccountFactory, HealthScoreFactory, StakeholderFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/survey-responses/"


def today() -> dt.date:
    return timezone.localdate()


def panel_url(account) -> str:
    return f"/health/account/{account.pk}/panel/"


def record_url(account) -> str:
    return f"/health/account/{account.pk}/surveys/"


def form_data(**values) -> dict:
    data = {"kind": "nps", "score": 9, "stakeholder": "", "responded_on": today().isoformat(), "comment": ""}
    data.update(values)
    return {f"survey-{key}": value for key, value in data.items()}


def answer(account, *, kind="nps", score=9, days_ago=0, stakeholder=None, **extra) -> SurveyResponse:
    return SurveyResponse.objects.create(
        account=account,
        kind=kind,
        score=score,
        responded_on=today() - dt.timedelta(days=days_ago),
        stakeholder=stakeholder,
        **extra,
    )


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# ------------------------------------------------------------------ the health panel


def test_csm_records_an_nps_answer_from_a_stakeholder_on_the_health_panel(client, csm):
    account = AccountFactory(csm=csm)
    person = StakeholderFactory(account=account, name="王芳")
    client.force_login(csm)

    response = client.post(
        record_url(account),
        form_data(score=10, stakeholder=person.pk, comment="Support is quick"),
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    saved = SurveyResponse.objects.get()
    assert (saved.account, saved.stakeholder, saved.kind, saved.score, saved.created_by) == (
        account, person, "nps", 10, csm,
    )  # fmt: skip
    html = response.content.decode()
    assert "Survey answer recorded." in html
    assert "Support is quick" in html and "王芳" in html
    assert response.context["surveys"]["latest_nps"] == saved


def test_without_htmx_recording_goes_back_to_the_account_page(client, csm):
    account = AccountFactory(csm=csm)
    client.force_login(csm)
    response = client.post(record_url(account), form_data(kind="csat", score=4))
    assert response.status_code == 302 and response.url == f"/accounts/{account.pk}/"
    assert SurveyResponse.objects.get().score == 4


def test_panel_shows_latest_nps_and_csat_recent_answers_and_the_12_month_nps(client, csm):
    account = AccountFactory(csm=csm)
    li = StakeholderFactory(account=account, name="李雷")
    han = StakeholderFactory(account=account, name="韩梅梅")
    answer(account, score=10, days_ago=3, stakeholder=li)  # promoter
    answer(account, score=9, days_ago=40)  # promoter
    answer(account, score=8, days_ago=100)  # passive
    answer(account, score=3, days_ago=200)  # detractor
    answer(account, score=0, days_ago=400)  # older than 12 months: left out of the NPS
    answer(account, kind="csat", score=2, days_ago=30)
    newest_csat = answer(account, kind="csat", score=4, days_ago=5, stakeholder=han)
    answer(AccountFactory(csm=csm), score=0)  # another account
    client.force_login(csm)

    response = client.get(panel_url(account))

    summary = response.context["surveys"]
    assert summary["latest_nps"].score == 10 and summary["latest_nps"].stakeholder == li
    assert summary["latest_csat"] == newest_csat
    # 2 promoters, 1 passive, 1 detractor out of 4: 50% - 25%
    nps = summary["nps"]
    assert (nps.score, nps.responses, nps.promoters, nps.passives, nps.detractors) == (25, 4, 2, 1, 1)
    assert [a.score for a in summary["recent"]] == [10, 4, 2, 9, 8]
    html = response.content.decode()
    assert "+25" in html and "李雷" in html and "韩梅梅" in html
    assert (today() - dt.timedelta(days=5)).isoformat() in html


def test_panel_without_answers_says_so_and_shows_no_nps(client, csm):
    account = AccountFactory(csm=csm)
    client.force_login(csm)
    response = client.get(panel_url(account))
    assert response.context["surveys"]["nps"] is None
    assert "No survey answers yet." in response.content.decode()


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"kind": "nps", "score": 11}, "score"),
        ({"kind": "nps", "score": -1}, "score"),
        ({"kind": "csat", "score": 0}, "score"),
        ({"kind": "csat", "score": 6}, "score"),
        ({"kind": "ces"}, "kind"),
        ({"responded_on": "tomorrow"}, "responded_on"),
        ({"responded_on": ""}, "responded_on"),
        ({"stakeholder": "other"}, "stakeholder"),
        ({"stakeholder": "gone"}, "stakeholder"),
    ],
)
def test_bad_answers_show_field_errors_on_the_panel_and_write_nothing(client, csm, values, field):
    account = AccountFactory(csm=csm)
    elsewhere = StakeholderFactory(account=AccountFactory(csm=csm))
    gone = StakeholderFactory(account=account, is_active=False, left_on=today() - dt.timedelta(days=10))
    special = {
        "tomorrow": (today() + dt.timedelta(days=1)).isoformat(),
        "other": elsewhere.pk,
        "gone": gone.pk,
    }
    client.force_login(csm)

    response = client.post(
        record_url(account),
        form_data(**{k: special.get(v, v) if isinstance(v, str) else v for k, v in values.items()}),
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert field in response.context["survey_form"].errors
    assert "Survey answer recorded." not in response.content.decode()
    assert 'class="field-errors"' in response.content.decode()
    assert not SurveyResponse.objects.exists()


def test_csat_score_from_one_to_five_is_accepted(client, csm):
    account = AccountFactory(csm=csm)
    client.force_login(csm)
    for score in (1, 5):
        client.post(record_url(account), form_data(kind="csat", score=score), HTTP_HX_REQUEST="true")
    assert sorted(SurveyResponse.objects.values_list("score", flat=True)) == [1, 5]


def test_sales_see_answers_but_no_form_and_cannot_record(client, world, sales):
    account = world["own"]
    answer(account, score=7)
    client.force_login(sales)
    response = client.get(panel_url(account))
    assert response.status_code == 200 and response.context["survey_form"] is None
    assert response.context["surveys"]["latest_nps"].score == 7
    assert client.post(record_url(account), form_data(), HTTP_HX_REQUEST="true").status_code == 403
    assert SurveyResponse.objects.count() == 1


def test_other_team_gets_404_on_the_panel_and_the_form(client, world, csm):
    account = world["other_team"]
    client.force_login(csm)
    assert client.get(panel_url(account)).status_code == 404
    assert client.post(record_url(account), form_data(), HTTP_HX_REQUEST="true").status_code == 404
    assert not SurveyResponse.objects.exists()


def test_teammate_and_manager_may_record(client, world, teammate, manager):
    for user in (teammate, manager):
        client.force_login(user)
        response = client.post(record_url(world["own"]), form_data(), HTTP_HX_REQUEST="true")
        assert response.status_code == 200 and "Survey answer recorded." in response.content.decode()
    assert SurveyResponse.objects.count() == 2


# ------------------------------------------------------------------ API


def test_api_records_an_answer_by_account_id(csm):
    account = AccountFactory(csm=csm, external_id="CRM-1")
    person = StakeholderFactory(account=account, name="陈静")
    response = api_as(csm).post(
        API,
        {"account": account.pk, "stakeholder": person.pk, "kind": "csat", "score": 5, "comment": "Great onboarding",
         "responded_on": "2026-01-15"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    saved = SurveyResponse.objects.get()
    assert body == {
        "id": saved.pk,
        "account": account.pk,
        "account_external_id": "CRM-1",
        "stakeholder": person.pk,
        "stakeholder_name": "陈静",
        "kind": "csat",
        "score": 5,
        "comment": "Great onboarding",
        "responded_on": "2026-01-15",
        "external_id": None,
        "created_by": csm.username,
        "created_at": body["created_at"],
    }


def test_api_records_an_answer_by_account_external_id_dated_today_by_default(integration):
    account = AccountFactory(external_id="CRM-2")
    response = api_as(integration).post(API, {"account_external_id": "CRM-2", "kind": "nps", "score": 0}, format="json")
    assert response.status_code == 201, response.content
    saved = SurveyResponse.objects.get()
    assert (saved.account, saved.score, saved.responded_on) == (account, 0, today())


def test_posting_the_same_external_id_again_updates_that_answer(integration):
    account = AccountFactory(external_id="CRM-3")
    client = api_as(integration)
    payload = {"account_external_id": "CRM-3", "kind": "nps", "score": 6, "external_id": "typeform-42"}

    first = client.post(API, payload, format="json")
    again = client.post(API, payload, format="json")
    changed = client.post(API, {**payload, "score": 8, "comment": "Better now"}, format="json")

    assert (first.status_code, again.status_code, changed.status_code) == (201, 200, 200)
    assert first.json()["id"] == again.json()["id"] == changed.json()["id"]
    saved = SurveyResponse.objects.get()
    assert (saved.account, saved.score, saved.comment, saved.external_id) == (account, 8, "Better now", "typeform-42")


def test_an_external_id_of_another_accounts_answer_is_refused(integration):
    first = AccountFactory(external_id="CRM-A")
    AccountFactory(external_id="CRM-B")
    answer(first, score=9, external_id="tool-1")
    response = api_as(integration).post(
        API, {"account_external_id": "CRM-B", "kind": "nps", "score": 1, "external_id": "tool-1"}, format="json"
    )
    assert response.status_code == 400 and "external_id" in response.json()
    assert SurveyResponse.objects.get().account == first


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"kind": "nps", "score": 11}, "score"),
        ({"kind": "csat", "score": 0}, "score"),
        ({"kind": "csat", "score": 6}, "score"),
        ({"kind": "ces"}, "kind"),
        ({"score": "high"}, "score"),
        ({"responded_on": "tomorrow"}, "responded_on"),
        ({"responded_on": "15/01/2026"}, "responded_on"),
        ({"stakeholder": "other"}, "stakeholder"),
        ({"stakeholder": "hidden"}, "stakeholder"),
        ({"stakeholder": "gone"}, "stakeholder"),
        ({"account": 999999}, "account"),
        ({"account": "hidden"}, "account"),
        ({"account": None, "account_external_id": "NOPE"}, "account_external_id"),
        ({"external_id": "x" * 101}, "external_id"),
    ],
)
def test_api_bad_input_answers_400_with_field_errors_and_writes_nothing(world, csm, values, field):
    account = world["own"]
    special = {
        "tomorrow": (today() + dt.timedelta(days=1)).isoformat(),
        "other": StakeholderFactory(account=world["teammates"]).pk,
        "hidden": StakeholderFactory(account=world["other_team"]).pk,
        "gone": StakeholderFactory(account=account, is_active=False).pk,
    }
    if values.get("account") == "hidden":
        values = {**values, "account": world["other_team"].pk}
    payload = {"account": account.pk, "kind": "nps", "score": 7}
    payload.update({k: special.get(v, v) if isinstance(v, str) else v for k, v in values.items()})
    payload = {k: v for k, v in payload.items() if v is not None}

    response = api_as(csm).post(API, payload, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not SurveyResponse.objects.exists()


def test_a_stakeholder_who_left_after_the_answer_may_be_named(csm):
    account = AccountFactory(csm=csm)
    person = StakeholderFactory(account=account, is_active=False, left_on=today() - dt.timedelta(days=10))
    response = api_as(csm).post(
        API,
        {"account": account.pk, "stakeholder": person.pk, "kind": "nps", "score": 4,
         "responded_on": (today() - dt.timedelta(days=30)).isoformat()},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content


def test_api_lists_only_visible_answers_and_hides_other_teams(world, csm):
    mine = answer(world["own"])
    teammates = answer(world["teammates"])
    hidden = answer(world["other_team"])
    client = api_as(csm)
    assert set(ids(client.get(API))) == {mine.pk, teammates.pk}
    assert client.get(f"{API}{hidden.pk}/").status_code == 404
    assert client.get(f"{API}{mine.pk}/").status_code == 200


def test_sales_read_the_answers_of_accounts_they_sold_but_cannot_write(world, sales):
    sold = answer(world["own"])
    answer(world["teammates"])
    client = api_as(sales)
    assert ids(client.get(API)) == [sold.pk]
    response = client.post(API, {"account": world["own"].pk, "kind": "nps", "score": 9}, format="json")
    assert response.status_code == 403
    assert SurveyResponse.objects.count() == 2


def test_api_filters_by_account_kind_and_since(csm):
    one, two = AccountFactory(csm=csm, external_id="F-1"), AccountFactory(csm=csm)
    recent_nps = answer(one, days_ago=5)
    old_nps = answer(one, days_ago=60)
    csat = answer(one, kind="csat", score=3, days_ago=1)
    answer(two)
    client = api_as(csm)
    assert ids(client.get(API, {"account": one.pk})) == [csat.pk, recent_nps.pk, old_nps.pk]
    assert ids(client.get(API, {"account_external_id": "F-1", "kind": "nps"})) == [recent_nps.pk, old_nps.pk]
    since = (today() - dt.timedelta(days=30)).isoformat()
    assert ids(client.get(API, {"account": one.pk, "since": since})) == [csat.pk, recent_nps.pk]
    assert client.get(API, {"since": "not-a-date"}).status_code == 400


# ------------------------------------------------------------------ query counts


@pytest.mark.parametrize("size", [1, 25])
def test_panel_and_api_list_query_counts_do_not_grow_with_answers(
    client, csm, size, django_assert_max_num_queries, query_budget
):
    account = AccountFactory(csm=csm)
    people = [StakeholderFactory(account=account) for _ in range(3)]
    HealthScoreFactory(account=account, score=64, band="yellow")
    for i in range(size):
        answer(account, kind="nps" if i % 2 else "csat", score=4, days_ago=i, stakeholder=people[i % 3])
        answer(AccountFactory(csm=csm), stakeholder=None)
    client.force_login(csm)
    with django_assert_max_num_queries(query_budget("health:account_panel")):
        response = client.get(panel_url(account))
    assert len(response.context["surveys"]["recent"]) == min(size, 5)
    api = api_as(csm)
    with django_assert_max_num_queries(query_budget("api:survey_responses")):
        assert api.get(API, {"page_size": 100}).json()["count"] == 2 * size
