"""The churn flow: subscriptions closed, account churned, open renewals closed, a churn
record with reasons and story kept; atomic, and refused the second time. The "Record
churn" form on the account page."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import AccountStageChange
from renewals.models import ChurnRecord, Renewal, RenewalReason, Subscription
from renewals.services import churn_record
from tests.factories import AccountFactory, ProductFactory, RenewalFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 6, 15)


def reasons(*names: str, kind: str = "churn") -> list[RenewalReason]:
    return list(RenewalReason.objects.filter(kind=kind, name__in=names).order_by("name"))


@pytest.fixture
def account(csm, sales):
    return AccountFactory(csm=csm, sales_owner=sales, name="Leaving Co", lifecycle_stage="mature")


@pytest.fixture
def history(account):
    """Running lines, one that ended long ago, one that would start after the churn, and
    an open renewal plus a closed one."""
    crm = ProductFactory(code="crm-pro", product_line="CRM")
    scm = ProductFactory(code="scm-core", name="SCM", product_line="SCM")
    return {
        "main": SubscriptionFactory(account=account, product=crm, start_date=DAY - dt.timedelta(days=300),
                                    end_date=DAY + dt.timedelta(days=65), mrr=Decimal("1500.00")),
        "open_ended": SubscriptionFactory(account=account, product=scm, start_date=DAY - dt.timedelta(days=100),
                                          end_date=None, mrr=Decimal("400.00")),
        "ended": SubscriptionFactory(account=account, product=crm, start_date=DAY - dt.timedelta(days=700),
                                     end_date=DAY - dt.timedelta(days=300), mrr=Decimal("900.00")),
        "future": SubscriptionFactory(account=account, product=scm, start_date=DAY + dt.timedelta(days=10),
                                      end_date=None, mrr=Decimal("50.00")),
        "renewal": RenewalFactory(account=account, due_date=DAY + dt.timedelta(days=65), stage="in_progress"),
        "past": RenewalFactory(account=account, due_date=DAY - dt.timedelta(days=300), stage="renewed"),
    }  # fmt: skip


def test_recording_churn_closes_everything_and_keeps_the_story(account, history, csm):
    why = reasons("Budget cut", "Moved to a competitor")
    record = churn_record(account=account, churned_on=DAY, reasons=why, story="Budget frozen; moved to X.", by=csm)

    account.refresh_from_db()
    assert account.lifecycle_stage == "churned"
    assert AccountStageChange.objects.filter(account=account, to_stage="churned", changed_by=csm).exists()
    ends = dict(Subscription.objects.filter(account=account).values_list("pk", "end_date"))
    assert ends == {
        history["main"].pk: DAY,
        history["open_ended"].pk: DAY,
        history["ended"].pk: DAY - dt.timedelta(days=300),  # already over: untouched
    }  # the line that would have started after the churn is void
    assert (record.churned_on, record.mrr_lost, record.story, record.recorded_by) == (
        DAY, Decimal("1900.00"), "Budget frozen; moved to X.", csm,
    )  # fmt: skip
    assert list(record.reasons.order_by("name")) == why
    assert record.renewal == history["renewal"]
    renewal = Renewal.objects.get(pk=history["renewal"].pk)
    assert (renewal.stage, renewal.renewed_mrr, renewal.closed_by, renewal.outcome) == (
        "churned", 0, csm, "Budget frozen; moved to X.",
    )  # fmt: skip
    assert list(renewal.reasons.order_by("name")) == why
    assert Renewal.objects.get(pk=history["past"].pk).stage == "renewed"


def test_a_second_churn_is_refused_with_a_clear_message(account, history, csm):
    churn_record(account=account, churned_on=DAY, reasons=reasons("Budget cut"), story="Gone.", by=csm)
    with pytest.raises(ValidationError) as err:
        churn_record(account=account, churned_on=DAY, reasons=reasons("Price"), story="Again?", by=csm)
    assert "already recorded as churned on 2026-06-15" in err.value.messages[0]
    assert ChurnRecord.objects.count() == 1


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"reasons": []}, "reasons"),
        ({"reasons": "renew"}, "reasons"),
        ({"story": "   "}, "story"),
        ({"churned_on": dt.date(2999, 1, 1)}, "churned_on"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(account, history, csm, kwargs, field):
    args = {"churned_on": DAY, "reasons": reasons("Budget cut"), "story": "Gone."} | kwargs
    if args["reasons"] == "renew":
        args["reasons"] = reasons("Price", kind="renew")
    with pytest.raises(ValidationError) as err:
        churn_record(account=account, by=csm, **args)
    assert field in err.value.message_dict
    account.refresh_from_db()
    assert account.lifecycle_stage == "mature"
    assert Subscription.objects.filter(account=account).count() == 4
    assert Subscription.objects.get(pk=history["main"].pk).end_date == DAY + dt.timedelta(days=65)
    assert Renewal.objects.get(pk=history["renewal"].pk).stage == "in_progress"
    assert not ChurnRecord.objects.exists()


def test_sales_and_other_teams_may_not_record_churn(account, history, sales, other_csm):
    for user in (sales, other_csm):
        with pytest.raises(PermissionDenied):
            churn_record(account=account, churned_on=DAY, reasons=reasons("Price"), story="x", by=user)
    assert not ChurnRecord.objects.exists()


# ------------------------------------------------------------------ the account page


def _post(client, account, **data):
    payload = {"churn-churned_on": DAY.isoformat(), "churn-story": "They left.", **data}
    return client.post(f"/renewals/account/{account.pk}/churn/", payload, HTTP_HX_REQUEST="true")


def test_the_account_panel_offers_the_churn_form_and_records_it(client, account, history, csm):
    client.force_login(csm)
    panel = client.get(f"/renewals/account/{account.pk}/panel/")
    assert panel.context["churn_form"] is not None
    choices = [label for _value, label in panel.context["churn_form"].fields["reasons"].choices]
    assert "Budget cut" in choices and "Product fit" not in choices  # active churn reasons only
    assert b"Record churn" in panel.content

    response = _post(client, account, **{"churn-reasons": [r.pk for r in reasons("Budget cut")]})
    assert response.status_code == 200 and response["HX-Refresh"] == "true"
    account.refresh_from_db()
    assert account.lifecycle_stage == "churned"

    panel = client.get(f"/renewals/account/{account.pk}/panel/")
    assert panel.context["churn_form"] is None
    assert panel.context["churn"].story == "They left."
    assert b"They left." in panel.content


def test_the_form_shows_errors_and_changes_nothing(client, account, history, csm):
    client.force_login(csm)
    response = _post(client, account, **{"churn-reasons": [reasons("Price", kind="renew")[0].pk], "churn-story": ""})
    assert response.status_code == 200
    form = response.context["churn_form"]
    assert {"reasons", "story"} <= set(form.errors)
    account.refresh_from_db()
    assert account.lifecycle_stage == "mature" and not ChurnRecord.objects.exists()


def test_the_churn_form_answers_other_teams_404_and_sales_403(client, account, history, other_csm, sales):
    client.force_login(other_csm)
    assert client.get(f"/renewals/account/{account.pk}/panel/").status_code == 404
    assert _post(client, account, **{"churn-reasons": [reasons("Price")[0].pk]}).status_code == 404
    client.force_login(sales)
    panel = client.get(f"/renewals/account/{account.pk}/panel/")
    assert panel.status_code == 200 and panel.context["churn_form"] is None
    assert _post(client, account, **{"churn-reasons": [reasons("Price")[0].pk]}).status_code == 403
    account.refresh_from_db()
    assert account.lifecycle_stage == "mature"


@pytest.mark.parametrize("size", [1, 12])
def test_the_account_panel_runs_a_fixed_number_of_queries(
    client, csm, size, django_assert_max_num_queries, query_budget
):
    account = AccountFactory(csm=csm)
    SubscriptionFactory.create_batch(size, account=account)
    RenewalFactory(account=account, due_date=DAY)
    client.force_login(csm)
    with django_assert_max_num_queries(query_budget("renewals:account_panel")):
        response = client.get(f"/renewals/account/{account.pk}/panel/")
    assert len(response.context["subscriptions"]) == size
    churned = AccountFactory(csm=csm, lifecycle_stage="churned")
    record = ChurnRecord.objects.create(account=churned, churned_on=DAY, story="Gone", mrr_lost=10)
    record.reasons.set(reasons("Price", "Budget cut"))
    with django_assert_max_num_queries(query_budget("renewals:account_panel")):
        response = client.get(f"/renewals/account/{churned.pk}/panel/")
    assert response.context["churn"] == record


def test_mrr_lost_is_exact_to_the_cent_whatever_the_database(csm):
    """SQLite sums decimals as floats: 2862.38 + 1147.79 must still be 4010.17."""
    account = AccountFactory(csm=csm)
    for mrr in ("2862.38", "1147.79"):
        SubscriptionFactory(account=account, start_date=DAY - dt.timedelta(days=90), end_date=None, mrr=Decimal(mrr))
    record = churn_record(account=account, churned_on=DAY, reasons=reasons("Price"), story="Gone.", by=csm)
    record.refresh_from_db()
    assert record.mrr_lost == Decimal("4010.17")
