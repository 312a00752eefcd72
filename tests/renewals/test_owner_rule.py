"""renewals_sync: who owns each renewal (the CSM; sales for a first-year renewal and for a
renewal that adds a product line new to the account, with the CSM as co-owner), term and
forecast, risk from health and alerts, idempotent and a fixed number of statements."""

import datetime as dt
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.db import connection
from django.test.utils import CaptureQueriesContext

from health.models import Alert
from renewals.models import Renewal
from renewals.services import renewals_risk_refresh, renewals_sync
from tests.factories import AccountFactory, AlertFactory, ProductFactory, RenewalFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 10)
DUE = TODAY + dt.timedelta(days=60)


@pytest.fixture
def crm():
    return ProductFactory(code="crm-pro", name="CRM Pro", product_line="CRM")


@pytest.fixture
def scm():
    return ProductFactory(code="scm-core", name="SCM Core", product_line="SCM")


@pytest.fixture
def account(csm, sales):
    return AccountFactory(csm=csm, sales_owner=sales)


def _years_old(account, product, *, years=3, mrr=1000):
    """A customer since `years` ago whose current term ends on DUE, the earlier terms
    renewed."""
    start = DUE - relativedelta(years=years)
    SubscriptionFactory(account=account, product=product, start_date=start, end_date=DUE - relativedelta(years=1))
    RenewalFactory(account=account, due_date=DUE - relativedelta(years=1), stage=Renewal.Stage.RENEWED)
    return SubscriptionFactory(
        account=account, product=product, start_date=DUE - relativedelta(years=1), end_date=DUE, mrr=mrr
    )


def _renewal(account, due=DUE) -> Renewal:
    return Renewal.objects.get(account=account, due_date=due)


def test_the_csm_renews_an_established_customer(account, csm, crm):
    _years_old(account, crm)
    renewals_sync(today=TODAY)
    renewal = _renewal(account)
    assert (renewal.owner, renewal.co_owner, renewal.owner_rule) == (csm, None, Renewal.OwnerRule.CSM)
    assert renewal.new_product_lines == ""


def test_sales_renews_the_first_year_with_the_csm_as_co_owner(account, csm, sales, crm):
    SubscriptionFactory(account=account, product=crm, start_date=DUE - relativedelta(months=12), end_date=DUE)
    renewals_sync(today=TODAY)
    renewal = _renewal(account)
    assert (renewal.owner, renewal.co_owner, renewal.owner_rule) == (sales, csm, Renewal.OwnerRule.FIRST_YEAR)


def test_a_customer_of_more_than_13_months_is_not_in_its_first_year(account, csm, crm):
    start = DUE - relativedelta(months=13) - dt.timedelta(days=1)
    SubscriptionFactory(account=account, product=crm, start_date=start, end_date=DUE)
    renewals_sync(today=TODAY)
    assert _renewal(account).owner_rule == Renewal.OwnerRule.CSM
    assert _renewal(account).owner == csm


def test_a_renewal_after_a_kept_one_is_not_first_year_even_within_13_months(account, csm, crm):
    """Two six-month terms: the second renewal follows one already renewed."""
    start = DUE - relativedelta(months=12)
    SubscriptionFactory(account=account, product=crm, start_date=start, end_date=start + relativedelta(months=6))
    RenewalFactory(account=account, due_date=start + relativedelta(months=6), stage=Renewal.Stage.DOWNSIZED)
    SubscriptionFactory(account=account, product=crm, start_date=start + relativedelta(months=6), end_date=DUE)
    renewals_sync(today=TODAY)
    assert (_renewal(account).owner, _renewal(account).owner_rule) == (csm, Renewal.OwnerRule.CSM)


def test_sales_renews_when_the_next_term_adds_a_product_line_new_to_the_account(account, csm, sales, crm, scm):
    _years_old(account, crm)
    SubscriptionFactory(account=account, product=crm, start_date=DUE, end_date=DUE + relativedelta(years=1))
    SubscriptionFactory(account=account, product=scm, start_date=DUE + dt.timedelta(days=10), end_date=None)
    renewals_sync(today=TODAY)
    renewal = _renewal(account)
    assert (renewal.owner, renewal.co_owner) == (sales, csm)
    assert (renewal.owner_rule, renewal.new_product_lines) == (Renewal.OwnerRule.NEW_PRODUCT_LINE, "SCM")


@pytest.mark.parametrize(
    "when, earlier_line",
    [
        pytest.param(DUE + dt.timedelta(days=45), False, id="starts-too-late-for-this-term"),
        pytest.param(DUE - dt.timedelta(days=5), False, id="starts-inside-the-current-term"),
        pytest.param(DUE + dt.timedelta(days=10), True, id="the-account-had-the-line-before"),
    ],
)
def test_a_line_is_new_only_when_first_bought_within_30_days_after_the_due_date(
    account, csm, crm, scm, when, earlier_line
):
    _years_old(account, crm)
    if earlier_line:
        SubscriptionFactory(
            account=account, product=scm, start_date=DUE - relativedelta(years=2), end_date=DUE - relativedelta(years=1)
        )
    SubscriptionFactory(account=account, product=scm, start_date=when, end_date=None)
    renewals_sync(today=TODAY)
    renewal = _renewal(account)
    assert (renewal.owner, renewal.owner_rule, renewal.new_product_lines) == (csm, Renewal.OwnerRule.CSM, "")


def test_without_a_sales_owner_the_csm_keeps_a_first_year_renewal(csm, crm):
    account = AccountFactory(csm=csm, sales_owner=None)
    SubscriptionFactory(account=account, product=crm, start_date=DUE - relativedelta(months=12), end_date=DUE)
    renewals_sync(today=TODAY)
    renewal = _renewal(account)
    assert (renewal.owner, renewal.co_owner, renewal.owner_rule) == (csm, None, Renewal.OwnerRule.FIRST_YEAR)


def test_term_mrr_and_forecast_come_from_the_subscriptions_ending_on_the_due_date(account, crm, scm):
    _years_old(account, crm, mrr=700)
    SubscriptionFactory(account=account, product=scm, start_date=DUE - relativedelta(years=1), end_date=DUE, mrr=300)
    SubscriptionFactory(account=account, product=scm, start_date=TODAY, end_date=None, mrr=999)  # not up for renewal
    renewals_sync(today=TODAY)
    renewal = _renewal(account)
    assert (renewal.term_mrr, renewal.forecast_mrr, renewal.probability) == (1000, 1000, 80)


def _snapshot():
    return list(
        Renewal.objects.order_by("account_id", "due_date").values_list(
            "account_id", "due_date", "owner_id", "co_owner_id", "owner_rule", "new_product_lines", "stage",
            "term_mrr", "forecast_mrr", "risk",
        )
    )  # fmt: skip


def test_running_the_sync_twice_gives_the_same_rows(account, other_csm, sales, crm, scm):
    _years_old(account, crm)
    first_year = AccountFactory(csm=other_csm, sales_owner=sales)
    SubscriptionFactory(account=first_year, product=crm, start_date=TODAY - dt.timedelta(days=200), end_date=DUE)
    assert renewals_sync(today=TODAY)["created"] == 2
    before = _snapshot()
    assert renewals_sync(today=TODAY) == {"terms": 2, "created": 0, "refreshed": 2}
    assert _snapshot() == before


def test_the_sync_keeps_a_hand_set_owner_and_forecast_and_refreshes_the_rest(account, teammate, crm):
    sub = _years_old(account, crm, mrr=1000)
    renewals_sync(today=TODAY)
    Renewal.objects.filter(account=account, due_date=DUE).update(
        owner=teammate, forecast_mrr=Decimal("600.00"), forecast_manual=True
    )
    sub.mrr = Decimal("1200.00")
    sub.save()
    renewals_sync(today=TODAY)
    renewal = _renewal(account)
    assert (renewal.owner, renewal.forecast_mrr, renewal.term_mrr) == (teammate, 600, 1200)


def test_a_term_that_moved_replaces_the_untouched_renewal_and_keeps_a_worked_one(account, crm, scm):
    sub = _years_old(account, crm)
    other = SubscriptionFactory(account=account, product=scm, start_date=TODAY, end_date=DUE + dt.timedelta(days=20))
    renewals_sync(today=TODAY)
    Renewal.objects.filter(account=account, due_date=other.end_date).update(stage=Renewal.Stage.IN_PROGRESS)
    sub.end_date = DUE + dt.timedelta(days=7)
    sub.save()
    other.end_date = DUE + dt.timedelta(days=40)
    other.save()
    renewals_sync(today=TODAY)
    dues = set(Renewal.objects.filter(account=account, due_date__gte=TODAY).values_list("due_date", "stage"))
    assert dues == {
        (DUE + dt.timedelta(days=7), "upcoming"),
        (DUE + dt.timedelta(days=20), "in_progress"),  # worked on: stays for a person to close
        (DUE + dt.timedelta(days=40), "upcoming"),
    }


def test_churned_accounts_get_no_renewal(csm, crm):
    account = AccountFactory(csm=csm, lifecycle_stage="churned")
    SubscriptionFactory(account=account, product=crm, end_date=DUE)
    renewals_sync(today=TODAY)
    assert not Renewal.objects.filter(account=account).exists()


@pytest.mark.parametrize(
    "band, alert_type, alert_status, risk",
    [
        ("green", None, None, "low"),
        ("red", None, None, "high"),
        ("yellow", None, None, "medium"),
        ("green", "payment_overdue", "open", "high"),
        ("green", "renewal_risk", "acknowledged", "high"),
        ("", "stakeholder_left", "open", "high"),
        ("green", "health_drop", "open", "medium"),
        ("green", "payment_overdue", "resolved", "low"),
        ("yellow", "stakeholder_left", "open", "high"),
    ],
)
def test_risk_comes_from_health_band_and_open_alerts(account, crm, band, alert_type, alert_status, risk):
    account.health_band = band
    account.save()
    if alert_type:
        AlertFactory(account=account, type=alert_type, status=alert_status)
    _years_old(account, crm)
    renewals_sync(today=TODAY)
    assert _renewal(account).risk == risk


def test_risk_refresh_touches_open_renewals_only(account, crm):
    closed = RenewalFactory(account=account, due_date=TODAY - dt.timedelta(days=3), stage="renewed", risk="low")
    upcoming = RenewalFactory(account=account, due_date=DUE, risk="low")
    AlertFactory(account=account, type=Alert.Type.RENEWAL_RISK)
    assert renewals_risk_refresh(account_ids=[account.pk]) == 1
    closed.refresh_from_db()
    upcoming.refresh_from_db()
    assert (closed.risk, upcoming.risk) == ("low", "high")


def _world(n: int, csm, sales, crm, scm):
    """n accounts of every kind: established, first year, new product line, red with an
    alert, a stale renewal."""
    for i in range(n):
        account = AccountFactory(csm=csm, sales_owner=sales, health_band=["green", "red", "yellow"][i % 3])
        kind = i % 3
        if kind == 0:
            _years_old(account, crm)
        elif kind == 1:
            SubscriptionFactory(account=account, product=crm, start_date=DUE - relativedelta(months=11), end_date=DUE)
        else:
            _years_old(account, crm)
            SubscriptionFactory(account=account, product=scm, start_date=DUE + dt.timedelta(days=3), end_date=None)
            AlertFactory(account=account, type=Alert.Type.PAYMENT_OVERDUE)
    RenewalFactory(account=account, due_date=DUE + dt.timedelta(days=3))  # its term is gone: removed


@pytest.mark.parametrize("size", [3, 30])
def test_the_sync_runs_a_fixed_number_of_statements(csm, sales, crm, scm, size):
    _world(size, csm, sales, crm, scm)
    with CaptureQueriesContext(connection) as queries:
        result = renewals_sync(today=TODAY)
    assert result["created"] == size
    rules = set(Renewal.objects.filter(due_date=DUE).values_list("owner_rule", flat=True))
    assert rules == {"csm", "first_year", "new_product_line"}
    # Whatever the size: reads, one insert, the stale delete, the forecast and risk updates.
    assert len(queries) == 13, [q["sql"][:120] for q in queries]
