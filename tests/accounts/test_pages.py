import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Account
from tests.factories import AccountFactory, ActivityFactory, StakeholderFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_account_list_shows_arr_from_active_subscriptions(client, csm):
    account = AccountFactory(name="Hangzhou Steel", csm=csm)
    SubscriptionFactory(account=account, mrr=1000)
    SubscriptionFactory(account=account, mrr=500)
    today = timezone.localdate()
    SubscriptionFactory(account=account, mrr=999, start_date=today - dt.timedelta(days=800), end_date=today)
    SubscriptionFactory(account=account, mrr=777, start_date=today + dt.timedelta(days=1), end_date=None)
    client.force_login(csm)
    page = client.get("/accounts/")
    row = page.context["page"].object_list[0]
    assert row.mrr == 1500 and row.arr == 18000
    assert "18,000" in page.content.decode()


def test_account_list_filters_and_searches(client, csm):
    AccountFactory(name="深圳华星科技有限公司", csm=csm, health_band="red", lifecycle_stage="onboarding")
    AccountFactory(name="Northwind Logistics", csm=csm, health_band="green")
    client.force_login(csm)
    names = lambda q: [a.name for a in client.get(f"/accounts/?{q}").context["page"].object_list]  # noqa: E731
    assert names("search=华星") == ["深圳华星科技有限公司"]
    assert names("health_band=green") == ["Northwind Logistics"]
    assert names("lifecycle_stage=onboarding") == ["深圳华星科技有限公司"]
    assert names("ordering=-name") == ["深圳华星科技有限公司", "Northwind Logistics"]


def test_bad_filter_values_do_not_fail(client, csm):
    AccountFactory(csm=csm)
    client.force_login(csm)
    response = client.get("/accounts/?health_band=purple&team=abc&page=999")
    assert response.status_code == 200


def test_account_list_is_paginated(client, csm):
    AccountFactory.create_batch(30, csm=csm)
    client.force_login(csm)
    page = client.get("/accounts/").context["page"]
    assert len(page.object_list) == 25 and page.paginator.count == 30


@pytest.mark.parametrize("size", [1, 40])
def test_account_list_query_count_is_constant(client, csm, size, django_assert_max_num_queries, query_budget):
    for a in AccountFactory.create_batch(size, csm=csm):
        SubscriptionFactory(account=a)
    client.force_login(csm)
    with django_assert_max_num_queries(query_budget("accounts:list")):
        assert client.get("/accounts/").status_code == 200
    with django_assert_max_num_queries(query_budget("accounts:export")):
        response = client.get("/accounts/?export=csv")
        body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.count("\n") == size + 1


@pytest.mark.parametrize("size", [1, 15])
def test_account_detail_groups_stakeholders_by_level(client, csm, size, django_assert_max_num_queries, query_budget):
    account = AccountFactory(csm=csm)
    StakeholderFactory(account=account, name="Chen Jie", role="decision_maker")
    StakeholderFactory(account=account, name="Amy Wu", role="day_to_day", is_active=False)
    StakeholderFactory.create_batch(size, account=account, role="end_user")
    ActivityFactory.create_batch(size, account=account)
    client.force_login(csm)
    with django_assert_max_num_queries(query_budget("accounts:detail")):
        response = client.get(f"/accounts/{account.pk}/")
    groups = response.context["stakeholders"]
    assert [s.name for s in groups["level1"]] == ["Chen Jie"]
    assert [s.name for s in groups["level2"]] == ["Amy Wu"]
    assert len(groups["others"]) == size
    assert "Left the company" in response.content.decode()


def test_size_band_follows_employee_count():
    assert Account(employee_count=50).size_band == "Small"
    assert Account(employee_count=5000).size_band == "Large"
    assert Account(employee_count=None).size_band == ""


def test_account_list_shows_next_renewal_completeness_and_both_exports(client, csm):
    from tests.factories import RenewalFactory

    account = AccountFactory(name="Ningbo Ports", csm=csm, completeness=45)
    due = timezone.localdate() + dt.timedelta(days=40)
    RenewalFactory(account=account, due_date=due)
    client.force_login(csm)
    html = client.get("/accounts/?search=ningbo").content.decode()
    assert due.isoformat() in html and "45%" in html
    assert "export=csv" in html and "export=xlsx" in html and "search=ningbo" in html


def test_csv_export_never_turns_a_name_into_a_formula(client, csm):
    AccountFactory(name='=HYPERLINK("http://evil")', csm=csm)
    client.force_login(csm)
    body = b"".join(client.get("/accounts/?export=csv").streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK" in body
