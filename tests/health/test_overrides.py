"""Manual health overrides: set by the account's CSM (or its manager, or an administrator)
with a reason and an expiry, shown beside the computed score, never replacing it."""

import datetime as dt

import pytest
from django.utils import timezone

from health.models import HealthOverride, HealthScore
from health.overrides import override_in_force, overrides_in_force
from people.models import User
from tests.conftest import api_as
from tests.factories import AccountFactory, HealthScoreFactory, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/health-overrides/"


def today() -> dt.date:
    return timezone.localdate()


def days(n: int) -> dt.date:
    return today() + dt.timedelta(days=n)


def panel_url(account) -> str:
    return f"/health/account/{account.pk}/panel/"


def set_url(account) -> str:
    return f"/health/account/{account.pk}/override/"


def end_url(override) -> str:
    return f"/health/account/{override.account_id}/override/{override.pk}/end/"


def form_data(**values) -> dict:
    data = {"score": 35, "reason": "Champion left; usage will drop", "expires_on": days(30).isoformat()}
    data.update(values)
    return {f"override-{key}": value for key, value in data.items()}


def override(account, *, score=35, expires_on=None, by=None, **extra) -> HealthOverride:
    return HealthOverride.objects.create(
        account=account, score=score, reason="because", expires_on=expires_on or days(30), created_by=by, **extra
    )


@pytest.fixture
def li_na(team):
    return UserFactory(username="li.na", first_name="娜", last_name="李", role=User.Role.CSM, team=team)


# ------------------------------------------------------------------ the health panel


def test_csm_sets_an_override_shown_beside_the_computed_score(client, li_na):
    account = AccountFactory(csm=li_na)
    HealthScoreFactory(account=account, score=82, band="green", as_of=today())
    client.force_login(li_na)

    response = client.post(set_url(account), form_data(expires_on=days(38)), HTTP_HX_REQUEST="true")

    assert response.status_code == 200, response.content
    saved = HealthOverride.objects.get()
    assert (saved.score, saved.created_by, saved.expires_on, saved.ended_at) == (35, li_na, days(38), None)
    html = response.content.decode()
    assert "Override set." in html
    assert f"by 李娜 until {days(38).isoformat()} — Champion left; usage will drop" in html
    assert response.context["override"] == saved and response.context["latest"].score == 82
    assert ">82<" in html and ">35<" in html  # both scores, side by side
    # the computed score and its history are untouched
    assert list(HealthScore.objects.values_list("score", flat=True)) == [82]


def test_override_is_shown_even_before_the_account_is_scored(client, csm):
    account = AccountFactory(csm=csm)
    override(account, score=20, by=csm)
    client.force_login(csm)
    html = client.get(panel_url(account)).content.decode()
    assert "This account has not been scored yet." in html and "Override" in html and ">20<" in html


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"score": 101}, "score"),
        ({"score": -1}, "score"),
        ({"score": ""}, "score"),
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"expires_on": "today"}, "expires_on"),
        ({"expires_on": "yesterday"}, "expires_on"),
        ({"expires_on": "beyond"}, "expires_on"),
        ({"expires_on": ""}, "expires_on"),
    ],
)
def test_bad_overrides_show_field_errors_and_change_nothing(client, csm, values, field):
    account = AccountFactory(csm=csm)
    current = override(account, score=50, by=csm)
    special = {"today": today(), "yesterday": days(-1), "beyond": days(91)}
    client.force_login(csm)

    response = client.post(
        set_url(account), form_data(**{k: special.get(v, v) for k, v in values.items()}), HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert field in response.context["override_form"].errors
    assert "Override set." not in response.content.decode()
    assert list(HealthOverride.objects.all()) == [current]
    current.refresh_from_db()
    assert current.ended_at is None


def test_expiry_may_be_tomorrow_or_exactly_the_limit_away(client, csm):
    account = AccountFactory(csm=csm)
    client.force_login(csm)
    for expires_on in (days(1), days(90)):
        response = client.post(set_url(account), form_data(expires_on=expires_on), HTTP_HX_REQUEST="true")
        assert "Override set." in response.content.decode()
    assert HealthOverride.objects.count() == 2


def test_the_limit_is_the_health_override_max_days_setting(client, csm, settings):
    settings.HEALTH_OVERRIDE_MAX_DAYS = 10
    account = AccountFactory(csm=csm)
    client.force_login(csm)
    response = client.post(set_url(account), form_data(expires_on=days(11)), HTTP_HX_REQUEST="true")
    assert "10 days" in str(response.context["override_form"].errors["expires_on"])
    client.post(set_url(account), form_data(expires_on=days(10)), HTTP_HX_REQUEST="true")
    assert HealthOverride.objects.get().expires_on == days(10)


def test_a_new_override_ends_the_previous_one(client, csm):
    account = AccountFactory(csm=csm)
    client.force_login(csm)
    client.post(set_url(account), form_data(score=30), HTTP_HX_REQUEST="true")
    client.post(set_url(account), form_data(score=60, reason="Renewal signed"), HTTP_HX_REQUEST="true")

    first, second = HealthOverride.objects.order_by("pk")
    assert first.ended_at is not None and second.ended_at is None
    assert override_in_force(account, today()) == second
    assert "Renewal signed" in client.get(panel_url(account)).content.decode()


def test_remove_override_ends_it_and_the_computed_score_stands_alone(client, csm):
    account = AccountFactory(csm=csm)
    HealthScoreFactory(account=account, score=82)
    current = override(account, by=csm)
    client.force_login(csm)

    response = client.post(end_url(current), HTTP_HX_REQUEST="true")

    assert response.status_code == 200 and "Override removed." in response.content.decode()
    current.refresh_from_db()
    assert current.ended_at is not None
    assert response.context["override"] is None and 'data-testid="health-override"' not in response.content.decode()
    assert HealthOverride.objects.count() == 1  # kept, as history


def test_without_htmx_setting_goes_back_to_the_account_page(client, csm):
    account = AccountFactory(csm=csm)
    client.force_login(csm)
    response = client.post(set_url(account), form_data())
    assert response.status_code == 302 and response.url == f"/accounts/{account.pk}/"
    assert HealthOverride.objects.count() == 1


def test_who_may_override_on_the_page(client, world, csm, teammate, manager, sales, other_csm, admin_user):
    account = world["own"]
    for user, status in [(sales, 403), (teammate, 403), (other_csm, 404)]:
        client.force_login(user)
        assert client.post(set_url(account), form_data(), HTTP_HX_REQUEST="true").status_code == status, user
        if status == 403:
            assert client.get(panel_url(account)).context["override_form"] is None
    assert not HealthOverride.objects.exists()
    for user in (csm, manager, admin_user):
        client.force_login(user)
        assert client.get(panel_url(account)).context["override_form"] is not None
        assert "Override set." in client.post(set_url(account), form_data(), HTTP_HX_REQUEST="true").content.decode()
    assert HealthOverride.objects.count() == 3


def test_others_cannot_remove_an_override(client, world, teammate, sales, other_csm, csm):
    current = override(world["own"], by=csm)
    for user, status in [(sales, 403), (teammate, 403), (other_csm, 404)]:
        client.force_login(user)
        assert client.post(end_url(current), HTTP_HX_REQUEST="true").status_code == status
    current.refresh_from_db()
    assert current.ended_at is None


# ------------------------------------------------------------------ in force


def test_an_override_is_in_force_on_its_expiry_day_and_not_the_day_after():
    account = AccountFactory()
    current = override(account, expires_on=days(5))
    assert override_in_force(account, today()) == current
    assert override_in_force(account, days(5)) == current
    assert override_in_force(account, days(6)) is None
    assert overrides_in_force([account.pk], days(5)) == {account.pk: current}
    assert overrides_in_force([account.pk], days(6)) == {}


def test_an_ended_override_is_not_in_force():
    account = AccountFactory()
    override(account, ended_at=timezone.now())
    assert override_in_force(account, today()) is None
    assert overrides_in_force([account.pk], today()) == {}


def test_overrides_in_force_takes_one_query_and_the_newest_wins(django_assert_num_queries):
    accounts = [AccountFactory() for _ in range(5)]
    override(accounts[0], score=10)
    newest = override(accounts[0], score=90)
    other = override(accounts[1], score=40)
    override(accounts[2], expires_on=days(-1))  # expired
    override(accounts[3], ended_at=timezone.now())  # ended
    with django_assert_num_queries(1):
        found = overrides_in_force([a.pk for a in accounts], today())
        assert found[accounts[0].pk].created_by_id is None  # created_by comes in the same query
    assert found == {accounts[0].pk: newest, accounts[1].pk: other}


# ------------------------------------------------------------------ API


def test_api_sets_an_override_and_lists_it_in_force(li_na):
    account = AccountFactory(csm=li_na, external_id="CRM-9")
    client = api_as(li_na)

    response = client.post(
        API,
        {"account_external_id": "CRM-9", "score": 35, "reason": "Champion left", "expires_on": days(20).isoformat()},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    saved = HealthOverride.objects.get()
    assert body == {
        "id": saved.pk,
        "account": account.pk,
        "account_external_id": "CRM-9",
        "score": 35,
        "reason": "Champion left",
        "expires_on": days(20).isoformat(),
        "created_by": "li.na",
        "created_at": body["created_at"],
        "ended_at": None,
        "in_force": True,
    }
    listed = client.get(API, {"account": account.pk, "in_force": "true"}).json()
    assert [row["id"] for row in listed["results"]] == [saved.pk]


def test_api_in_force_filter_follows_the_expiry_day_and_ending(csm):
    account = AccountFactory(csm=csm)
    last_day = override(account, expires_on=today())
    expired = override(account, expires_on=days(-1))
    ended = override(account, ended_at=timezone.now())
    client = api_as(csm)
    rows = client.get(API, {"account": account.pk}).json()["results"]
    assert {row["id"]: row["in_force"] for row in rows} == {last_day.pk: True, expired.pk: False, ended.pk: False}
    assert [r["id"] for r in client.get(API, {"in_force": "true"}).json()["results"]] == [last_day.pk]
    assert {r["id"] for r in client.get(API, {"in_force": "false"}).json()["results"]} == {expired.pk, ended.pk}


def test_api_new_override_ends_the_previous_and_end_removes_it(csm):
    account = AccountFactory(csm=csm)
    client = api_as(csm)
    payload = {"account": account.pk, "score": 30, "reason": "r", "expires_on": days(10).isoformat()}
    first = client.post(API, payload, format="json").json()
    second = client.post(API, {**payload, "score": 70}, format="json").json()
    assert client.get(f"{API}{first['id']}/").json()["in_force"] is False

    ended = client.post(f"{API}{second['id']}/end/")
    assert ended.status_code == 200 and ended.json()["in_force"] is False and ended.json()["ended_at"]
    again = client.post(f"{API}{second['id']}/end/")  # ending twice changes nothing
    assert again.status_code == 200 and again.json()["ended_at"] == ended.json()["ended_at"]
    assert override_in_force(account, today()) is None


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"score": 101}, "score"),
        ({"score": -5}, "score"),
        ({"reason": ""}, "reason"),
        ({"reason": "  "}, "reason"),
        ({"reason": None}, "reason"),
        ({"expires_on": "today"}, "expires_on"),
        ({"expires_on": "yesterday"}, "expires_on"),
        ({"expires_on": "beyond"}, "expires_on"),
        ({"expires_on": "31/12/2026"}, "expires_on"),
        ({"account": 999999}, "account"),
    ],
)
def test_api_bad_input_answers_400_and_changes_nothing(csm, values, field):
    account = AccountFactory(csm=csm)
    current = override(account, by=csm)
    special = {"today": today(), "yesterday": days(-1), "beyond": days(91)}
    payload = {"account": account.pk, "score": 35, "reason": "why", "expires_on": days(10)}
    payload.update({k: special.get(v, v) if isinstance(v, str) else v for k, v in values.items()})
    payload = {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in payload.items() if v is not None}

    response = api_as(csm).post(API, payload, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert list(HealthOverride.objects.all()) == [current]
    current.refresh_from_db()
    assert current.ended_at is None


def test_api_permissions(world, csm, teammate, manager, sales, other_csm, integration, admin_user):
    account = world["own"]
    current = override(account, by=csm)
    hidden = override(world["other_team"])
    payload = {"account": account.pk, "score": 50, "reason": "r", "expires_on": days(10).isoformat()}

    # other teams see nothing: the list leaves it out, the override itself and its end answer 404
    other = api_as(other_csm)
    assert current.pk not in [r["id"] for r in other.get(API).json()["results"]]
    assert other.get(f"{API}{current.pk}/").status_code == 404
    assert other.post(f"{API}{current.pk}/end/").status_code == 404
    assert other.post(API, payload, format="json").status_code == 400  # an unknown account to them
    # sales read the accounts they sold; teammates and integrations read; none of them write
    for user in (sales, teammate, integration):
        client = api_as(user)
        assert client.get(f"{API}{current.pk}/").status_code == 200
        assert client.post(API, payload, format="json").status_code == 403
        assert client.post(f"{API}{current.pk}/end/").status_code == 403
    assert [r["id"] for r in api_as(csm).get(API).json()["results"]] == [current.pk]
    assert HealthOverride.objects.count() == 2 and override_in_force(account, today()) == current
    # the account's CSM, its manager and an administrator write
    for user in (csm, manager, admin_user):
        assert api_as(user).post(API, payload, format="json").status_code == 201
    assert api_as(admin_user).post(f"{API}{hidden.pk}/end/").status_code == 200


@pytest.mark.parametrize("size", [1, 25])
def test_api_list_and_panel_query_counts_do_not_grow(client, csm, size, django_assert_max_num_queries, query_budget):
    account = AccountFactory(csm=csm)
    HealthScoreFactory(account=account)
    for i in range(size):
        override(account, by=csm, ended_at=timezone.now() if i else None)
        override(AccountFactory(csm=csm), by=UserFactory())
    api = api_as(csm)
    with django_assert_max_num_queries(query_budget("api:health_overrides")):
        assert api.get(API, {"page_size": 100}).json()["count"] == 2 * size
    client.force_login(csm)
    with django_assert_max_num_queries(query_budget("health:account_panel")):
        assert client.get(panel_url(account)).context["override"] is not None
