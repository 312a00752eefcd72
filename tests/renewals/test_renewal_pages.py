"""The renewal pages: pipeline by month, board by stage, my renewals, past renewals, the
renewal's page with its edit and close forms, CSV exports; constant queries, access from
outside (other team: 404), bad input shown on the form and nothing changed."""

import datetime as dt
from decimal import Decimal

import pytest

from renewals.models import Renewal, RenewalReason
from tests.factories import AccountFactory, RenewalFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def reason(kind: str, name: str) -> RenewalReason:
    return RenewalReason.objects.get(kind=kind, name=name)


def _renewals(n: int, csm, today, *, closed: bool = False):
    """n renewals of `csm`'s accounts in every stage and risk, with reasons when closed."""
    stages = ["renewed", "downsized", "churned"] if closed else ["upcoming", "in_progress", "committed"]
    made = []
    for i in range(n):
        account = AccountFactory(csm=csm)
        due = today - dt.timedelta(days=10 + 20 * (i % 9)) if closed else today + dt.timedelta(days=5 + 25 * (i % 12))
        r = RenewalFactory(account=account, due_date=due, stage=stages[i % 3], risk=["low", "medium", "high"][i % 3],
                           term_mrr=1000, forecast_mrr=900, probability=50,
                           renewed_mrr={"renewed": 1000, "downsized": 700, "churned": 0}.get(stages[i % 3]),
                           outcome=f"Story {i}" if closed else "")  # fmt: skip
        if closed:
            r.reasons.set([reason("churn", "Price") if i % 3 else reason("renew", "Service value")])
        made.append(r)
    return made


def _csv(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8-sig")


# ------------------------------------------------------------------ pipeline


def test_pipeline_months_count_mrr_up_forecast_expected_and_risk(client, csm, today):
    account = AccountFactory(csm=csm)
    RenewalFactory(account=account, due_date=today + dt.timedelta(days=3), term_mrr=1000, forecast_mrr=800,
                   probability=50, risk="high")  # fmt: skip
    RenewalFactory(account=AccountFactory(csm=csm), due_date=today + dt.timedelta(days=4), term_mrr=500,
                   forecast_mrr=500, stage="renewed", renewed_mrr=600, risk="high")  # fmt: skip
    client.force_login(csm)
    response = client.get("/renewals/")
    totals = response.context["totals"]
    assert (totals["count"], totals["term_mrr"], totals["forecast_mrr"]) == (2, 1500, 1300)
    assert totals["expected_mrr"] == 400 + 600  # 800 x 50%, and what the closed one renewed
    assert (totals["at_risk_count"], totals["at_risk_mrr"]) == (1, 800)  # open ones only
    assert b"What these numbers mean" in response.content
    month = today.replace(day=1)
    assert f"due_after={month.isoformat()}".encode() in response.content  # each month opens its renewals


def test_pipeline_rows_link_to_the_account_and_the_renewal(client, csm, today):
    r = RenewalFactory(account=AccountFactory(csm=csm, name="Linked Co"), due_date=today + dt.timedelta(days=9))
    client.force_login(csm)
    body = client.get("/renewals/").content.decode()
    assert f'href="/accounts/{r.account_id}/"' in body and f'href="/renewals/{r.pk}/"' in body


@pytest.mark.parametrize("size", [2, 24])
def test_pipeline_export_runs_constant_queries_and_guards_formulas(
    client, csm, today, size, django_assert_max_num_queries, query_budget
):
    _renewals(size, csm, today)
    RenewalFactory(account=AccountFactory(csm=csm, name="=HYPERLINK(1)"), due_date=today + dt.timedelta(days=1))
    client.force_login(csm)
    with django_assert_max_num_queries(query_budget("renewals:export")):
        body = _csv(client.get("/renewals/?export=csv"))
    assert len(body.strip().splitlines()) == size + 2
    assert "'=HYPERLINK(1)" in body and "\n=HYPERLINK" not in body


# ------------------------------------------------------------------ board


@pytest.mark.parametrize("size", [3, 30])
def test_board_groups_open_renewals_by_stage_with_constant_queries(
    client, csm, today, size, django_assert_max_num_queries, query_budget
):
    _renewals(size, csm, today)
    RenewalFactory(account=AccountFactory(csm=csm), due_date=today + dt.timedelta(days=2), stage="renewed")
    client.force_login(csm)
    with django_assert_max_num_queries(query_budget("renewals:board")):
        response = client.get("/renewals/board/?due_before=" + (today + dt.timedelta(days=400)).isoformat())
    columns = response.context["columns"]
    assert [c["stage"] for c in columns] == ["upcoming", "in_progress", "committed"]
    assert sum(c["count"] for c in columns) == size  # closed ones are not on the board
    assert all(card.stage == c["stage"] for c in columns for card in c["cards"])
    dues = [card.due_date for card in columns[0]["cards"]]
    assert dues == sorted(dues)


def test_board_shows_90_days_by_default(client, csm, today):
    RenewalFactory(account=AccountFactory(csm=csm), due_date=today + dt.timedelta(days=30))
    RenewalFactory(account=AccountFactory(csm=csm), due_date=today + dt.timedelta(days=200))
    RenewalFactory(account=AccountFactory(csm=csm), due_date=today - dt.timedelta(days=3))  # overdue, still open
    client.force_login(csm)
    assert client.get("/renewals/board/").context["columns"][0]["count"] == 2


def test_board_button_moves_a_renewal_forward(client, csm, today):
    r = RenewalFactory(account=AccountFactory(csm=csm), due_date=today + dt.timedelta(days=30))
    client.force_login(csm)
    response = client.post(f"/renewals/{r.pk}/stage/", {"stage": "committed", "next": "/renewals/board/"},
                           HTTP_HX_REQUEST="true")  # fmt: skip
    assert response.status_code == 200 and response["HX-Trigger"] == "renewal-moved"
    r.refresh_from_db()
    assert r.stage == "committed"
    back = client.post(f"/renewals/{r.pk}/stage/", {"stage": "upcoming"}, HTTP_HX_REQUEST="true")
    assert "HX-Trigger" not in back and b"forward only" in back.content
    r.refresh_from_db()
    assert r.stage == "committed"
    plain = client.post(f"/renewals/{r.pk}/stage/", {"stage": "committed", "next": "https://evil.example/"})
    assert plain.status_code == 302 and plain["Location"] == "/renewals/board/"


def test_sales_see_buttons_only_on_renewals_they_own(client, sales, csm, today):
    mine = RenewalFactory(account=AccountFactory(csm=csm, sales_owner=sales), owner=sales,
                          due_date=today + dt.timedelta(days=5))  # fmt: skip
    theirs = RenewalFactory(account=AccountFactory(csm=csm, sales_owner=sales), due_date=today + dt.timedelta(days=6))
    client.force_login(sales)
    cards = {c.pk: c for col in client.get("/renewals/board/").context["columns"] for c in col["cards"]}
    assert cards[mine.pk].may_change and not cards[theirs.pk].may_change
    assert client.post(f"/renewals/{theirs.pk}/stage/", {"stage": "committed"}).status_code == 403
    assert client.post(f"/renewals/{mine.pk}/stage/", {"stage": "committed"}).status_code == 302


# ------------------------------------------------------------------ my renewals


@pytest.mark.parametrize("size", [2, 20])
def test_my_renewals_are_those_i_own_or_co_own(
    client, csm, sales, teammate, today, size, django_assert_max_num_queries, query_budget
):
    _renewals(size, csm, today)
    co = RenewalFactory(account=AccountFactory(csm=csm, sales_owner=sales), owner=sales, co_owner=csm,
                        due_date=today + dt.timedelta(days=4))  # fmt: skip
    RenewalFactory(account=AccountFactory(csm=teammate), due_date=today + dt.timedelta(days=4))
    RenewalFactory(account=AccountFactory(csm=csm), due_date=today - dt.timedelta(days=4), stage="renewed")
    client.force_login(csm)
    with django_assert_max_num_queries(query_budget("renewals:mine")):
        response = client.get("/renewals/mine/")
    listed = response.context["page"].object_list
    assert co in listed and len(listed) == min(size + 1, 25)
    assert response.context["totals"]["count"] == size + 1
    assert len(client.get("/renewals/mine/?status=closed").context["page"].object_list) == 1


# ------------------------------------------------------------------ past


@pytest.mark.parametrize("size", [3, 27])
def test_past_renewals_with_outcome_reasons_and_story(
    client, csm, today, size, django_assert_max_num_queries, query_budget
):
    _renewals(size, csm, today, closed=True)
    _renewals(2, csm, today)  # open ones are not past
    client.force_login(csm)
    with django_assert_max_num_queries(query_budget("renewals:past")):
        response = client.get("/renewals/past/")
    assert response.context["page"].paginator.count == size
    outcomes = response.context["outcomes"]
    assert sum(outcomes.values()) == size and outcomes["renewed"] == (size + 2) // 3
    counts = {r["name"]: r["n"] for r in response.context["reasons"]}
    assert counts == {"Service value": (size + 2) // 3, "Price": size - (size + 2) // 3}
    assert b"Story 0" in response.content


def test_past_renewals_filter_by_outcome_reason_owner_and_month(client, csm, teammate, today):
    made = _renewals(6, csm, today, closed=True)
    other = RenewalFactory(account=AccountFactory(csm=teammate), owner=teammate, due_date=made[0].due_date,
                           stage="churned", renewed_mrr=0)  # fmt: skip
    client.force_login(csm)

    def pks(query):
        return {r.pk for r in client.get("/renewals/past/?" + query).context["page"].object_list}

    assert pks("outcome=churned") == {made[2].pk, made[5].pk, other.pk}
    assert pks(f"reason={reason('renew', 'Service value').pk}") == {made[0].pk, made[3].pk}
    assert pks("owner=csm.wang") == {other.pk}
    month = made[0].due_date.strftime("%Y-%m")
    assert {r.due_date.strftime("%Y-%m") for r in Renewal.objects.filter(pk__in=pks(f"month={month}"))} == {month}
    assert client.get("/renewals/past/?month=2026-13").context["page"].paginator.count == 0
    body = _csv(client.get("/renewals/past/?export=csv&outcome=churned"))
    assert "Story 2" in body and "Story 0" not in body and "Price" in body


# ------------------------------------------------------------------ the renewal's page


@pytest.fixture
def renewal(csm, today):
    account = AccountFactory(csm=csm, name="Detail Co", health_band="red")
    SubscriptionFactory(account=account, end_date=today + dt.timedelta(days=40), mrr=Decimal("1000.00"))
    return RenewalFactory(account=account, due_date=today + dt.timedelta(days=40), term_mrr=1000, forecast_mrr=1000)


@pytest.mark.parametrize("who", ["csm", "manager"])
def test_the_renewal_page_runs_constant_queries(client, renewal, who, request, django_assert_max_num_queries,
                                                query_budget):  # fmt: skip
    client.force_login(request.getfixturevalue(who))
    with django_assert_max_num_queries(query_budget("renewals:detail")):
        response = client.get(f"/renewals/{renewal.pk}/")
    assert response.status_code == 200
    assert len(response.context["term_subscriptions"]) == 1
    assert ("owner" in response.context["edit_form"].fields) is (who == "manager")  # can_reassign


def test_edit_saves_and_bad_input_is_shown_and_changes_nothing(client, renewal, csm):
    client.force_login(csm)
    ok = client.post(f"/renewals/{renewal.pk}/edit/", {"stage": "in_progress", "probability": 65,
                                                      "forecast_mrr": "850.00"})  # fmt: skip
    assert ok.status_code == 302
    renewal.refresh_from_db()
    assert (renewal.stage, renewal.probability, renewal.forecast_mrr, renewal.forecast_manual) == (
        "in_progress", 65, 850, True,
    )  # fmt: skip
    bad = client.post(f"/renewals/{renewal.pk}/edit/", {"stage": "upcoming", "probability": 150,
                                                       "forecast_mrr": "-1"})  # fmt: skip
    assert bad.status_code == 200
    assert {"stage", "probability", "forecast_mrr"} <= set(bad.context["edit_form"].errors)
    renewal.refresh_from_db()
    assert (renewal.stage, renewal.probability, renewal.forecast_mrr) == ("in_progress", 65, 850)


def test_close_from_the_page_and_wrong_reasons_are_refused(client, renewal, csm):
    client.force_login(csm)
    wrong = client.post(f"/renewals/{renewal.pk}/close/", {"outcome": "renewed", "renewed_mrr": "1000",
                                                          "reasons": [reason("churn", "Price").pk]})  # fmt: skip
    assert wrong.status_code == 200 and "reasons" in wrong.context["close_form"].errors
    renewal.refresh_from_db()
    assert renewal.stage == "upcoming"
    ok = client.post(f"/renewals/{renewal.pk}/close/", {"outcome": "downsized", "renewed_mrr": "700",
                                                       "reasons": [reason("churn", "Budget cut").pk],
                                                       "story": "Cut 30 seats."})  # fmt: skip
    assert ok.status_code == 302
    page = client.get(f"/renewals/{renewal.pk}/")
    assert page.context["edit_form"] is None and b"Cut 30 seats." in page.content


def test_another_team_gets_404_everywhere(client, renewal, other_csm):
    client.force_login(other_csm)
    for url in (f"/renewals/{renewal.pk}/",):
        assert client.get(url).status_code == 404
    for url, data in (
        (f"/renewals/{renewal.pk}/edit/", {"probability": 1, "stage": "upcoming", "forecast_mrr": "1"}),
        (f"/renewals/{renewal.pk}/close/", {"outcome": "renewed", "renewed_mrr": "1000"}),
        (f"/renewals/{renewal.pk}/stage/", {"stage": "committed"}),
    ):
        assert client.post(url, data).status_code == 404
    for url in ("/renewals/?export=csv&due_after=", "/renewals/past/?export=csv", "/renewals/mine/?export=csv"):
        assert "Detail Co" not in _csv(client.get(url))
    assert "Detail Co" not in client.get("/renewals/board/").content.decode()
    renewal.refresh_from_db()
    assert (renewal.stage, renewal.probability) == ("upcoming", 80)


def test_a_seller_who_does_not_own_the_renewal_reads_but_cannot_change_it(client, renewal, sales):
    renewal.account.sales_owner = sales
    renewal.account.save()
    client.force_login(sales)
    page = client.get(f"/renewals/{renewal.pk}/")
    assert page.status_code == 200 and page.context["edit_form"] is None
    assert client.post(f"/renewals/{renewal.pk}/edit/", {"probability": 1}).status_code == 403
    assert client.post(f"/renewals/{renewal.pk}/close/", {"outcome": "renewed"}).status_code == 403
