import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from accounts.models import Account, CustomerFile, Stakeholder
from handover.models import Handover, Kickoff
from handover.services import (
    business_days_after,
    business_days_between,
    handover_accept,
    handover_completeness,
    handover_create,
    handover_return,
    handover_submit,
    handover_update,
    handovers_flag_overdue,
    kickoff_hold,
    kickoff_update,
)
from people.models import Notification
from playbooks.models import PlanStep, SuccessPlan
from renewals.models import Subscription
from tests.factories import AccountFactory
from tests.handover.helpers import complete_handover

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(team, sales):
    return AccountFactory(csm=None, team=team, sales_owner=sales, lifecycle_stage="handover")


@pytest.fixture
def handover(account, sales, team):
    return complete_handover(account=account, sales_owner=sales, team=team)


def test_full_flow_records_every_transition(handover, sales, csm):
    handover_submit(handover=handover, by=sales)
    handover_return(handover=handover, by=csm, reason="Stakeholders are missing", missing=["stakeholders"])
    handover = handover_submit(handover=handover, by=sales)
    handover = handover_accept(handover=handover, by=csm)
    assert [(t.from_status, t.to_status, t.by.username) for t in handover.transitions.all()] == [
        ("", "draft", "sales.zhou"),
        ("draft", "submitted", "sales.zhou"),
        ("submitted", "returned", "csm.li"),
        ("returned", "submitted", "sales.zhou"),
        ("submitted", "accepted", "csm.li"),
    ]
    assert "Missing: Key people, with a decision maker" in handover.transitions.all()[2].note
    account = Account.objects.get(pk=handover.account_id)
    assert (account.csm, account.lifecycle_stage) == (csm, "kickoff")


def test_an_empty_draft_cannot_be_submitted_and_the_missing_items_are_named(account, sales, team):
    handover = handover_create(account=account, sales_owner=sales, data={"needs": "Faster close"}, team=team)
    completeness = handover_completeness(handover)
    assert 0 < completeness.percent < 50
    assert [i.key for i in completeness.missing_required][:3] == ["contact", "products", "contract"]
    with pytest.raises(ValidationError) as error:
        handover_submit(handover=handover, by=sales)
    assert "Missing: What sales promised" in error.value.message_dict["missing"]
    assert Handover.objects.get().status == "draft"


def test_a_complete_package_is_100_percent(handover):
    assert handover_completeness(handover).percent == 100
    assert handover_completeness(handover).ready


def test_sales_cannot_accept(handover, sales):
    handover_submit(handover=handover, by=sales)
    with pytest.raises(ValidationError):
        handover_accept(handover=handover, by=sales)
    assert Handover.objects.get().status == "submitted"


def test_a_csm_of_another_team_cannot_review(handover, sales, other_csm):
    handover_submit(handover=handover, by=sales)
    with pytest.raises(ValidationError):
        handover_accept(handover=handover, by=other_csm)
    with pytest.raises(ValidationError):
        handover_return(handover=handover, by=other_csm, reason="no")
    assert Handover.objects.get().status == "submitted"


def test_return_needs_a_reason_and_tells_sales(handover, sales, csm):
    handover_submit(handover=handover, by=sales)
    with pytest.raises(ValidationError):
        handover_return(handover=handover, by=csm, reason="  ")
    with pytest.raises(ValidationError):
        handover_return(handover=handover, by=csm, reason="x", missing=["nonsense"])
    handover_return(handover=handover, by=csm, reason="Who decides?", missing=["stakeholders", "promises"])
    handover.refresh_from_db()
    assert (handover.status, handover.returned_items) == ("returned", ["stakeholders", "promises"])
    note = Notification.objects.get(user=sales)
    assert "returned by" in note.message and note.url == f"/handovers/{handover.pk}/"


def test_accept_copies_the_package_schedules_the_kickoff_and_starts_the_plan(
    handover, sales, csm, account, django_capture_on_commit_callbacks
):
    sales.email = "sales.zhou@example.com"
    sales.save()
    handover_submit(handover=handover, by=sales)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        handover_accept(handover=handover, by=csm)

    file = CustomerFile.objects.get(account=account)
    assert "Two on-site trainings" in file.sales_promises
    assert "Month-end close" in file.goals
    assert "CRM-PRO × 50" in file.products_bought and "50% on signature" in file.process_payment
    people = {s.name: (s.role, s.influence) for s in Stakeholder.objects.filter(account=account)}
    assert people == {
        "Chen Jie": ("decision_maker", "high"),
        "Liu Yang": ("it", "medium"),
        "Wang Lei": ("day_to_day", "medium"),
    }
    sub = Subscription.objects.get(account=account)
    assert (sub.quantity, sub.start_date, sub.end_date, sub.mrr) == (
        50, dt.date(2026, 12, 1), dt.date(2027, 12, 1), 4500
    )  # 50 × 1,200 × 90% / 12  # fmt: skip
    kickoff = Kickoff.objects.get(account=account)
    assert kickoff.status == "scheduled" and kickoff.handover == handover
    plan = SuccessPlan.objects.get(account=account)
    assert plan.name.startswith("First project")
    assert PlanStep.objects.get(stage__plan=plan, key="read_handover").status == "done"
    assert Notification.objects.filter(user=sales, message__contains="accepted").exists()
    assert [m.to for m in mail.outbox] == [["sales.zhou@example.com"]]
    assert "accepted" in mail.outbox[0].subject and f"/handovers/{handover.pk}/" in mail.outbox[0].body


def test_accept_twice_creates_one_plan_one_kickoff_one_subscription(handover, sales, csm, account):
    handover_submit(handover=handover, by=sales)
    handover_accept(handover=handover, by=csm)
    handover_accept(handover=handover, by=csm)
    assert SuccessPlan.objects.filter(account=account).count() == 1
    assert Kickoff.objects.filter(account=account).count() == 1
    assert Subscription.objects.filter(account=account).count() == 1
    assert Stakeholder.objects.filter(account=account).count() == 3
    assert Handover.objects.get().transitions.filter(to_status="accepted").count() == 1


def test_only_sales_owner_changes_a_draft_and_never_after_submit(handover, sales, csm):
    with pytest.raises(ValidationError):
        handover_update(handover=handover, by=csm, data={"needs": "x"})
    handover_update(handover=handover, by=sales, data={"needs": "Close in 2 days"})
    handover_submit(handover=handover, by=sales)
    with pytest.raises(ValidationError):
        handover_update(handover=handover, by=sales, data={"needs": "changed"})
    assert Handover.objects.get().needs == "Close in 2 days"


def test_contract_must_end_after_it_starts(handover, sales):
    with pytest.raises(ValidationError) as error:
        handover_update(handover=handover, by=sales, data={"contract_end": dt.date(2026, 11, 1)})
    assert "contract_end" in error.value.message_dict


def test_business_days():
    friday = dt.date(2026, 11, 20)
    assert business_days_after(friday, 1) == dt.date(2026, 11, 23)
    assert business_days_after(friday, 5) == dt.date(2026, 11, 27)
    assert business_days_between(friday, dt.date(2026, 11, 25)) == 3


def test_overdue_handovers_are_flagged_to_managers_once(handover, sales, manager, settings):
    settings.HANDOVER_REVIEW_DAYS = 3
    handover_submit(handover=handover, by=sales)
    Handover.objects.filter(pk=handover.pk).update(submitted_at=dt.datetime(2026, 11, 16, 9, 0, tzinfo=dt.UTC))
    assert handovers_flag_overdue(today=dt.date(2026, 11, 19)) == 0  # three business days: not yet
    assert handovers_flag_overdue(today=dt.date(2026, 11, 20)) == 1
    assert handovers_flag_overdue(today=dt.date(2026, 11, 23)) == 0  # told once
    assert Notification.objects.filter(user=manager, message__contains="business days").count() == 1


def test_holding_the_kickoff_completes_the_plan_steps_and_logs_it(handover, sales, csm, account):
    handover_submit(handover=handover, by=sales)
    handover_accept(handover=handover, by=csm)
    kickoff = Kickoff.objects.get(account=account)
    kickoff_update(
        kickoff=kickoff,
        by=csm,
        data={"minutes": "Goals agreed.", "group_chat_created": True, "group_chat_name": "华信 x 我们"},
    )
    kickoff_hold(kickoff=kickoff, by=csm)
    kickoff_hold(kickoff=kickoff, by=csm)  # twice: nothing more
    plan = SuccessPlan.objects.get(account=account)
    done = set(PlanStep.objects.filter(stage__plan=plan, status="done").values_list("key", flat=True))
    assert done == {"read_handover", "kickoff", "group_chat", "kickoff_minutes"}
    account.refresh_from_db()
    assert account.lifecycle_stage == "onboarding"
    assert account.activities.filter(kind="meeting", summary__startswith="Kickoff meeting").count() == 1
