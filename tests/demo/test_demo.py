"""The demo data `make run` loads: realistic, covering every screen, deterministic, and
loaded only into an empty database."""

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Account, Activity, Stakeholder
from demo.services import DEMO_PASSWORD, demo_load, demo_logins
from handover.models import Handover
from health.models import Alert, HealthScore, UsageDaily
from people.models import Team, User
from playbooks.models import PlaybookRun, Task
from renewals.models import Renewal, Subscription

TODAY = dt.date(2026, 11, 23)


@pytest.fixture
def demo(db):
    return demo_load(seed=7, today=TODAY, accounts=40)


def test_the_demo_has_people_in_every_role_on_three_teams(demo):
    assert Team.objects.count() == 3
    roles = {role: User.objects.filter(role=role).count() for role in User.Role.values}
    assert roles[User.Role.MANAGER] == 3
    assert roles[User.Role.CSM] + roles[User.Role.MANAGER] >= 10
    assert roles[User.Role.SALES] >= 3
    assert roles[User.Role.ADMIN] >= 1 and roles[User.Role.INTEGRATION] >= 1
    for team in Team.objects.all():
        assert team.members.filter(role=User.Role.CSM).exists()


def test_the_demo_covers_every_screen(demo):
    assert Account.objects.count() == 40
    # Chinese and English company names.
    names = list(Account.objects.values_list("name", flat=True))
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in name) for name in names)
    assert any(name.isascii() for name in names)
    assert len({a.industry for a in Account.objects.all()}) >= 4
    assert Subscription.objects.count() >= 40
    assert Stakeholder.objects.count() >= 80
    assert Activity.objects.count() >= 80
    # Handovers in every state.
    assert set(Handover.objects.values_list("status", flat=True)) == set(Handover.Status.values)
    # Renewals spread over the next 12 months.
    open_renewals = Renewal.objects.filter(due_date__gte=TODAY, due_date__lt=TODAY + dt.timedelta(days=366))
    assert len({(r.due_date.year, r.due_date.month) for r in open_renewals}) >= 6
    # Usage rolled up, 90 days of health up to today, accounts carry their latest band.
    assert UsageDaily.objects.exists()
    assert HealthScore.objects.aggregate(last=Max("as_of"))["last"] == TODAY
    assert HealthScore.objects.filter(as_of__lte=TODAY - dt.timedelta(days=80)).exists()
    assert set(Account.objects.exclude(lifecycle_stage="churned").values_list("health_band", flat=True)) >= {
        "green",
        "yellow",
        "red",
    }
    assert Alert.objects.filter(status=Alert.Status.OPEN).exists()
    assert PlaybookRun.objects.exists()


def test_every_cs_person_has_work_in_each_bucket(demo):
    for user in User.objects.filter(role=User.Role.CSM):
        if not Account.objects.filter(csm=user).exists():
            continue
        open_tasks = Task.objects.filter(owner=user, status=Task.Status.OPEN)
        assert open_tasks.filter(due_date__lt=TODAY).exists(), user
        assert open_tasks.filter(due_date=TODAY).exists(), user
        assert open_tasks.filter(due_date__gt=TODAY, due_date__lte=TODAY + dt.timedelta(days=7)).exists(), user


def test_demo_logins_work_and_show_populated_pages(demo, client):
    usernames = [username for username, _label in demo_logins()]
    assert usernames[:4] == ["admin", "manager", "csm", "sales"]
    for username in ("csm", "manager"):
        assert client.login(username=username, password=DEMO_PASSWORD)
        page = client.get("/accounts/")
        assert page.status_code == 200
        visible = page.context["page"].paginator.count
        assert 0 < visible < 40  # their team's book, not everyone's
        assert client.get("/playbooks/my-work/").status_code == 200
        client.logout()
    # The integration user exists for the API but cannot use the pages.
    refused = client.post("/login/", {"username": "integration", "password": DEMO_PASSWORD})
    assert not refused.wsgi_request.user.is_authenticated


def test_the_same_seed_gives_the_same_data(db):
    def names():
        with transaction.atomic():
            demo_load(seed=3, today=TODAY, accounts=20)
            result = list(Account.objects.order_by("external_id").values_list("external_id", "name", "csm__username"))
            transaction.set_rollback(True)
        return result

    first = names()
    assert first and names() == first


def test_load_demo_only_fills_an_empty_database(db, capsys):
    call_command("load_demo", "--accounts", "20", "--seed", "5")
    assert Account.objects.count() == 20
    assert "csm" in capsys.readouterr().out

    call_command("load_demo", "--if-empty")
    assert Account.objects.count() == 20
    assert "already has 20 accounts" in capsys.readouterr().out

    with pytest.raises(CommandError, match="already has"):
        call_command("load_demo")


def test_load_demo_rejects_a_too_small_book(db):
    with pytest.raises(CommandError, match="at least"):
        call_command("load_demo", "--accounts", "3")
    assert not Account.objects.exists()


def test_the_demo_fills_customer_files_history_and_segments(demo):
    from accounts.models import AccountStageChange, CustomerFile

    accounts = list(Account.objects.all())
    assert CustomerFile.objects.count() == len(accounts)
    scores = [a.completeness for a in accounts]
    assert min(scores) < 50 and max(scores) >= 80  # some files need work, some are nearly done
    assert {a.service_model for a in accounts} >= {"support", "implementation"}
    assert all(a.product_view and a.usage_driver for a in accounts)
    # Each account's stage history ends in the stage it is in.
    last = {}
    for change in AccountStageChange.objects.order_by("changed_at", "pk"):
        last[change.account_id] = change.to_stage
    assert last == {a.pk: a.lifecycle_stage for a in accounts}
    # Who did what is on record, before today.
    assert Account.history.filter(history_user__isnull=False).count() == len(accounts)
    assert CustomerFile.history.filter(history_type="~").exists()
    assert Activity.stakeholders.through.objects.exists()


def test_the_demo_handovers_carry_full_packages_kickoffs_and_plans(demo):
    from handover.models import Kickoff
    from handover.services import handover_completeness
    from playbooks.models import PlanStep, SuccessPlan

    handovers = list(Handover.objects.prefetch_related("products", "stakeholders").select_related("account"))
    for handover in handovers:
        if handover.status != Handover.Status.DRAFT:
            assert handover_completeness(handover).ready, handover  # nothing submitted with a gap
    returned = [h for h in handovers if h.transitions.filter(to_status="returned").exists()]
    assert returned and all(h.transitions.get(to_status="returned").note for h in returned)
    accepted = [h for h in handovers if h.status == Handover.Status.ACCEPTED]
    for handover in accepted:
        kickoff = Kickoff.objects.get(handover=handover)
        assert kickoff.participants.exists()
        plan = SuccessPlan.objects.get(account=handover.account)
        assert plan.started_on == timezone.localtime(handover.decided_at).date()  # dated with the acceptance
        if kickoff.status == Kickoff.Status.HELD:
            assert kickoff.minutes and kickoff.held_on <= TODAY
            assert PlanStep.objects.get(stage__plan=plan, key="kickoff").status == "done"
