import datetime as dt

import pytest

from renewals.models import Renewal
from renewals.services import renewals_sync
from tests.factories import AccountFactory, RenewalFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_one_renewal_per_account_and_term(today):
    account = AccountFactory()
    term_end = today + dt.timedelta(days=100)
    SubscriptionFactory(account=account, mrr=300, end_date=term_end)
    SubscriptionFactory(account=account, mrr=700, end_date=term_end)
    SubscriptionFactory(account=account, mrr=50, end_date=today + dt.timedelta(days=500))  # beyond the horizon
    SubscriptionFactory(account=account, mrr=50, end_date=None)  # open-ended: nothing to renew

    assert renewals_sync(today=today) == {"terms": 1, "created": 1, "refreshed": 1}
    renewal = Renewal.objects.get()
    assert (renewal.due_date, renewal.forecast_mrr, renewal.owner) == (term_end, 1000, account.csm)


def test_sync_is_idempotent_and_refreshes_open_forecasts_only(today):
    account = AccountFactory()
    sub = SubscriptionFactory(account=account, mrr=300, end_date=today + dt.timedelta(days=30))
    renewals_sync(today=today)
    closed = RenewalFactory(account=account, due_date=today + dt.timedelta(days=60), stage="renewed", forecast_mrr=5)
    SubscriptionFactory(account=account, mrr=900, end_date=closed.due_date)

    sub.mrr = 450
    sub.save()
    assert renewals_sync(today=today)["created"] == 0
    assert Renewal.objects.count() == 2
    assert Renewal.objects.get(due_date=sub.end_date).forecast_mrr == 450
    closed.refresh_from_db()
    assert closed.forecast_mrr == 5  # a decided renewal keeps its figures


@pytest.mark.parametrize("size", [1, 30])
def test_pipeline_counts_each_month_with_constant_queries(client, csm, today, size, django_assert_max_num_queries,
                                                          query_budget):  # fmt: skip
    for i in range(size):
        account = AccountFactory(csm=csm)
        RenewalFactory(account=account, due_date=today + dt.timedelta(days=30 * (i % 11)), forecast_mrr=100,
                       risk="high" if i % 3 == 0 else "low")  # fmt: skip
    client.force_login(csm)
    with django_assert_max_num_queries(query_budget("renewals:pipeline")):
        response = client.get("/renewals/")
    months = response.context["months"]
    assert len(months) == 12
    assert sum(m["count"] for m in months) == size
    assert sum(m["forecast_mrr"] for m in months) == 100 * size
    assert sum(m["at_risk_count"] for m in months) == len([i for i in range(size) if i % 3 == 0])


def test_pipeline_filters_and_exports(client, csm, teammate, today):
    mine = RenewalFactory(account=AccountFactory(csm=csm, name="Mine Co"), due_date=today + dt.timedelta(days=5))
    RenewalFactory(account=AccountFactory(csm=teammate, name="Theirs Co"), due_date=today + dt.timedelta(days=6))
    RenewalFactory(account=AccountFactory(csm=csm, name="Past Co"), due_date=today - dt.timedelta(days=6))
    client.force_login(csm)
    listed = [r.account.name for r in client.get("/renewals/").context["page"].object_list]
    assert listed == ["Mine Co", "Theirs Co"]  # upcoming only by default
    assert [r.pk for r in client.get("/renewals/?mine=true").context["page"].object_list] == [mine.pk]
    body = b"".join(client.get("/renewals/?export=csv&risk=low").streaming_content).decode("utf-8-sig")
    assert "Mine Co" in body and "Past Co" not in body
    assert client.get("/renewals/?due_after=not-a-date").status_code == 200


@pytest.mark.parametrize("size", [1, 10])
def test_account_panel_lists_subscriptions(client, csm, today, size, django_assert_max_num_queries, query_budget):
    account = AccountFactory(csm=csm)
    SubscriptionFactory.create_batch(size, account=account)
    RenewalFactory(account=account, due_date=today + dt.timedelta(days=9))
    client.force_login(csm)
    with django_assert_max_num_queries(query_budget("renewals:account_panel")):
        response = client.get(f"/renewals/account/{account.pk}/panel/")
    assert len(response.context["subscriptions"]) == size
    assert response.context["next_renewal"].due_date == today + dt.timedelta(days=9)
