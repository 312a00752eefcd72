import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import AccountFactory, AlertFactory, RenewalFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_team_load_per_csm(client, manager, csm, teammate, other_csm):
    today = timezone.localdate()
    for band in ["green", "green", "red"]:
        a = AccountFactory(csm=csm, health_band=band)
        SubscriptionFactory(account=a, mrr=1000)
    b = AccountFactory(csm=teammate, health_band="yellow")
    AlertFactory(account=b)
    RenewalFactory(account=b, due_date=today + dt.timedelta(days=20))
    RenewalFactory(account=b, due_date=today + dt.timedelta(days=200))
    AccountFactory(csm=other_csm)  # another team: not the manager's
    client.force_login(manager)
    response = client.get("/dashboards/")
    rows = {r["csm"].username: r for r in response.context["load"]}
    assert set(rows) == {"csm.li", "csm.wang"}
    assert (rows["csm.li"]["accounts"], rows["csm.li"]["arr"], rows["csm.li"]["green"], rows["csm.li"]["red"]) == (
        3, 36000, 2, 1,
    )  # fmt: skip
    assert (rows["csm.wang"]["open_alerts"], rows["csm.wang"]["renewals_90d"]) == (1, 1)
    assert response.context["totals"]["accounts"] == 4


def test_over_target_stands_out(client, manager, csm, settings):
    AccountFactory.create_batch(41, csm=csm)
    client.force_login(manager)
    response = client.get("/dashboards/")
    assert response.context["load"][0]["over_target"]
    assert 'class="over"' in response.content.decode()


@pytest.mark.parametrize("size", [1, 6])
def test_overview_query_count(client, manager, team, size, django_assert_max_num_queries, query_budget):
    for _ in range(size):
        csm = UserFactory(team=team)
        for a in AccountFactory.create_batch(3, csm=csm):
            SubscriptionFactory(account=a)
            AlertFactory(account=a)
    client.force_login(manager)
    with django_assert_max_num_queries(query_budget("dashboards:overview")):
        assert len(client.get("/dashboards/").context["load"]) == size
