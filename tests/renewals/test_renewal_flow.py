"""A renewal's own flow: stage forward, probability, forecast and owner, close with an
outcome (renewed, downsized, churned) with reasons and story; who may; bad input changes
nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from people.models import Notification, User
from renewals.models import ChurnRecord, RenewalReason
from renewals.services import renewal_close, renewal_set_stage, renewal_update
from tests.factories import AccountFactory, RenewalFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db


def reason(kind: str, name: str) -> RenewalReason:
    return RenewalReason.objects.get(kind=kind, name=name)


@pytest.fixture
def account(csm, sales):
    return AccountFactory(csm=csm, sales_owner=sales, name="Acme")


@pytest.fixture
def renewal(account, csm):
    due = timezone.localdate() + dt.timedelta(days=30)
    SubscriptionFactory(account=account, end_date=due, mrr=Decimal("1000.00"))
    return RenewalFactory(account=account, due_date=due, owner=csm, term_mrr=1000, forecast_mrr=1000)


def _fields(renewal):
    renewal.refresh_from_db()
    return (
        renewal.stage, renewal.probability, renewal.forecast_mrr, renewal.owner_id, renewal.renewed_mrr,
        renewal.closed_on, renewal.outcome, list(renewal.reasons.values_list("pk", flat=True)),
    )  # fmt: skip


# ------------------------------------------------------------------ stage


def test_stage_moves_forward_only(renewal, csm):
    renewal_set_stage(renewal=renewal, stage="in_progress", by=csm)
    renewal_set_stage(renewal=renewal, stage="in_progress", by=csm)  # the same again: nothing happens
    renewal_set_stage(renewal=renewal, stage="committed", by=csm)
    with pytest.raises(ValidationError) as err:
        renewal_set_stage(renewal=renewal, stage="upcoming", by=csm)
    assert "forward only" in err.value.message_dict["stage"][0]
    renewal.refresh_from_db()
    assert renewal.stage == "committed"


@pytest.mark.parametrize("stage", ["renewed", "churned", "lost", ""])
def test_a_closing_or_unknown_stage_is_refused(renewal, csm, stage):
    before = _fields(renewal)
    with pytest.raises(ValidationError) as err:
        renewal_set_stage(renewal=renewal, stage=stage, by=csm)
    assert "stage" in err.value.message_dict
    assert _fields(renewal) == before


def test_update_sets_probability_and_a_forecast_the_sync_then_keeps(renewal, csm):
    renewal_update(renewal=renewal, data={"probability": 60, "forecast_mrr": Decimal("750.50")}, by=csm)
    renewal.refresh_from_db()
    assert (renewal.probability, renewal.forecast_mrr, renewal.forecast_manual) == (60, Decimal("750.50"), True)
    assert renewal.weighted_mrr == Decimal("450.30")


@pytest.mark.parametrize(
    "data, field",
    [
        ({"probability": 101}, "probability"),
        ({"probability": "80"}, "probability"),
        ({"forecast_mrr": "-5"}, "forecast_mrr"),
        ({"forecast_mrr": "abc"}, "forecast_mrr"),
        ({"stage": "upcoming", "probability": 50}, "stage"),
        ({"risk": "low"}, "risk"),
    ],
)
def test_bad_updates_name_the_field_and_change_nothing(renewal, csm, data, field):
    renewal.stage = "in_progress"
    renewal.save()
    before = _fields(renewal)
    with pytest.raises(ValidationError) as err:
        renewal_update(renewal=renewal, data=data, by=csm)
    assert field in err.value.message_dict
    assert _fields(renewal) == before


def test_a_manager_reassigns_within_the_team_and_the_new_owner_is_told(renewal, manager, teammate, csm):
    renewal_update(renewal=renewal, data={"owner": teammate}, by=manager)
    renewal.refresh_from_db()
    assert (renewal.owner, renewal.co_owner) == (teammate, csm)  # the CSM stays beside the new owner
    assert Notification.objects.filter(user=teammate, url=f"/renewals/{renewal.pk}/").exists()


def test_a_manager_may_hand_a_renewal_to_sales_but_not_to_another_team(renewal, manager, sales, other_csm):
    renewal_update(renewal=renewal, data={"owner": sales}, by=manager)
    with pytest.raises(ValidationError) as err:
        renewal_update(renewal=renewal, data={"owner": other_csm}, by=manager)
    assert "owner" in err.value.message_dict
    renewal.refresh_from_db()
    assert renewal.owner == sales


def test_a_csm_cannot_reassign(renewal, csm, teammate):
    with pytest.raises(ValidationError) as err:
        renewal_update(renewal=renewal, data={"owner": teammate}, by=csm)
    assert "owner" in err.value.message_dict


# ------------------------------------------------------------------ close


def test_close_as_renewed_with_reasons_why_they_renew(renewal, csm, sales):
    renewal.owner, renewal.co_owner = sales, csm  # a first-year renewal: sales renews
    renewal.save()
    fit, price = reason("renew", "Product fit"), reason("renew", "Price")
    renewal_close(renewal=renewal, outcome="renewed", renewed_mrr="1100", reasons=[fit, price], story="QBR", by=sales)
    renewal.refresh_from_db()
    assert (renewal.stage, renewal.renewed_mrr, renewal.outcome) == ("renewed", Decimal("1100.00"), "QBR")
    assert (renewal.closed_on, renewal.closed_by) == (timezone.localdate(), sales)
    assert set(renewal.reasons.all()) == {fit, price}
    assert renewal.result == "renewed"
    assert Notification.objects.filter(user=csm).exists()


def test_close_as_downsized(renewal, csm):
    cut = reason("churn", "Budget cut")
    renewal_close(renewal=renewal, outcome="downsized", renewed_mrr=Decimal("600"), reasons=[cut], by=csm)
    renewal.refresh_from_db()
    assert (renewal.stage, renewal.renewed_mrr, renewal.account.lifecycle_stage) == ("downsized", 600, "adoption")


def test_close_as_churned_runs_the_churn_flow(renewal, csm, account):
    left = reason("churn", "Moved to a competitor")
    renewal_close(renewal=renewal, outcome="churned", reasons=[left], story="Chose a rival suite.", by=csm)
    renewal.refresh_from_db()
    account.refresh_from_db()
    assert (renewal.stage, renewal.renewed_mrr, renewal.outcome) == ("churned", 0, "Chose a rival suite.")
    assert list(renewal.reasons.all()) == [left]
    assert account.lifecycle_stage == "churned"
    record = ChurnRecord.objects.get(account=account)
    assert (record.renewal, record.churned_on, record.mrr_lost) == (renewal, renewal.due_date, 1000)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"outcome": "renewed", "renewed_mrr": None}, "renewed_mrr"),
        ({"outcome": "renewed", "renewed_mrr": "900"}, "renewed_mrr"),  # less than up for renewal: a downsize
        ({"outcome": "renewed", "renewed_mrr": "1000", "reasons": [("churn", "Price")]}, "reasons"),
        ({"outcome": "downsized", "renewed_mrr": "1000", "reasons": [("churn", "Price")]}, "renewed_mrr"),
        ({"outcome": "downsized", "renewed_mrr": "0", "reasons": [("churn", "Price")]}, "renewed_mrr"),
        ({"outcome": "downsized", "renewed_mrr": "500"}, "reasons"),
        ({"outcome": "churned", "reasons": [("churn", "Price")]}, "story"),
        ({"outcome": "churned", "story": "Gone", "reasons": [("renew", "Price")]}, "reasons"),
        ({"outcome": "churned", "story": "Gone"}, "reasons"),
        ({"outcome": "churned", "story": "Gone", "renewed_mrr": "5", "reasons": [("churn", "Price")]}, "renewed_mrr"),
        ({"outcome": "won"}, "outcome"),
    ],
)
def test_bad_closes_name_the_field_and_change_nothing(renewal, csm, account, kwargs, field):
    kwargs = dict(kwargs)
    kwargs["reasons"] = [reason(*r) for r in kwargs.get("reasons", [])]
    before = _fields(renewal)
    with pytest.raises(ValidationError) as err:
        renewal_close(renewal=renewal, by=csm, **kwargs)
    assert field in err.value.message_dict
    assert _fields(renewal) == before
    account.refresh_from_db()
    assert account.lifecycle_stage == "adoption" and not ChurnRecord.objects.exists()


def test_a_closed_renewal_is_final(renewal, csm):
    renewal_close(renewal=renewal, outcome="renewed", renewed_mrr="1000", by=csm)
    with pytest.raises(ValidationError) as err:
        renewal_close(renewal=renewal, outcome="renewed", renewed_mrr="2000", by=csm)
    assert "closed" in err.value.message_dict["outcome"][0]
    with pytest.raises(ValidationError):
        renewal_update(renewal=renewal, data={"probability": 10}, by=csm)
    renewal.refresh_from_db()
    assert renewal.renewed_mrr == 1000


def test_a_retired_reason_is_refused(renewal, csm):
    old = reason("renew", "Price")
    old.is_active = False
    old.save()
    with pytest.raises(ValidationError) as err:
        renewal_close(renewal=renewal, outcome="renewed", renewed_mrr="1000", reasons=[old], by=csm)
    assert "no longer in use" in err.value.message_dict["reasons"][0]


# ------------------------------------------------------------------ who may


def test_the_sales_owner_works_the_renewal_another_seller_may_not(renewal, account, sales):
    renewal.owner = sales
    renewal.save()
    renewal_set_stage(renewal=renewal, stage="committed", by=sales)
    stranger = UserFactory(role=User.Role.SALES, team=None)
    account.sales_owner = stranger
    account.save()  # the stranger sold it (so sees it) but does not own the renewal
    with pytest.raises(PermissionDenied):
        renewal_close(renewal=renewal, outcome="renewed", renewed_mrr="1000", by=stranger)


def test_a_seller_who_does_not_own_it_cannot_move_it(renewal, sales):
    with pytest.raises(PermissionDenied):
        renewal_set_stage(renewal=renewal, stage="in_progress", by=sales)


def test_another_team_cannot_touch_it(renewal, other_csm):
    with pytest.raises(PermissionDenied):
        renewal_set_stage(renewal=renewal, stage="in_progress", by=other_csm)
    with pytest.raises(PermissionDenied):
        renewal_close(renewal=renewal, outcome="renewed", renewed_mrr="1000", by=other_csm)
    renewal.refresh_from_db()
    assert renewal.stage == "upcoming"
