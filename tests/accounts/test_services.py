"""accounts.services: completeness, tiers, stage history, creation and the timeline."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import services
from accounts.models import Account, AccountStageChange, Activity, CustomerFile
from tests.factories import (
    AccountFactory,
    CustomerFileFactory,
    StakeholderFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db

POINTS = {s.key: s.points for s in services.FILE_SECTIONS}


# ------------------------------------------------------------------ completeness


def test_empty_file_scores_zero_with_every_section_missing():
    result = services.file_completeness(file=CustomerFile(), has_decision_maker=False, has_day_to_day=False)
    assert result.score == 0 and result.present == []
    assert [s.key for s in result.missing] == [s.key for s in services.FILE_SECTIONS]


def test_no_file_at_all_scores_zero():
    assert services.file_completeness(file=None, has_decision_maker=False, has_day_to_day=False).score == 0


@pytest.mark.parametrize("key", services.TEXT_SECTIONS)
def test_each_text_section_adds_its_points(key):
    file = CustomerFile(**{key: "Written down"})
    result = services.file_completeness(file=file, has_decision_maker=False, has_day_to_day=False)
    assert result.score == POINTS[key]
    assert key not in [s.key for s in result.missing] and [s.key for s in result.present] == [key]


def test_whitespace_is_not_content():
    file = CustomerFile(overview="   \n ")
    assert services.file_completeness(file=file, has_decision_maker=False, has_day_to_day=False).score == 0


def test_key_people_add_their_points():
    file = CustomerFile()
    assert services.file_completeness(file=file, has_decision_maker=True, has_day_to_day=False).score == 10
    assert services.file_completeness(file=file, has_decision_maker=True, has_day_to_day=True).score == 20


def test_full_file_scores_100():
    file = CustomerFile(**dict.fromkeys(services.TEXT_SECTIONS, "x"))
    result = services.file_completeness(file=file, has_decision_maker=True, has_day_to_day=True)
    assert result.score == 100 and result.missing == []


def test_refresh_stores_the_score_and_an_inactive_decision_maker_does_not_count():
    account = AccountFactory()
    CustomerFileFactory(account=account, overview="x", goals="y")
    StakeholderFactory(account=account, role="decision_maker", is_active=False, left_on=timezone.localdate())
    StakeholderFactory(account=account, role="day_to_day")
    services.account_completeness_refresh(account_ids=[account.pk])
    account.refresh_from_db()
    assert account.completeness == POINTS["overview"] + POINTS["goals"] + POINTS["day_to_day"]


def test_account_without_a_file_refreshes_to_zero():
    account = AccountFactory()
    Account.objects.filter(pk=account.pk).update(completeness=50)
    services.account_completeness_refresh(account_ids=[account.pk])
    account.refresh_from_db()
    assert account.completeness == 0


@pytest.mark.parametrize("size", [3, 30])
def test_refresh_of_many_accounts_is_a_fixed_number_of_queries(size, django_assert_max_num_queries):
    accounts = AccountFactory.create_batch(size)
    for i, account in enumerate(accounts):
        CustomerFileFactory(account=account, overview="x" if i % 2 else "")
        StakeholderFactory(account=account, role="decision_maker")
    with django_assert_max_num_queries(2):
        assert services.account_completeness_refresh() == size
    scores = dict(Account.objects.values_list("pk", "completeness"))
    assert scores == {a.pk: (20 if i % 2 else 10) for i, a in enumerate(accounts)}


def test_customer_file_update_strips_refreshes_and_rejects_unknown_sections():
    account = AccountFactory()
    file = services.customer_file_update(account=account, data={"overview": "  Group of 3 hubs  "})
    assert file.overview == "Group of 3 hubs"
    account.refresh_from_db()
    assert account.completeness == POINTS["overview"]
    with pytest.raises(ValidationError) as error:
        services.customer_file_update(account=account, data={"overview": "", "secret_notes": "x"})
    assert "secret_notes" in error.value.message_dict
    assert CustomerFile.objects.get(account=account).overview == "Group of 3 hubs"


# ------------------------------------------------------------------ tiers


@pytest.mark.parametrize(
    "arr, tier",
    [(0, "standard"), (None, "standard"), (199_999, "standard"), (200_000, "key"), (999_999.99, "key"),
     (1_000_000, "strategic")],
)  # fmt: skip
def test_tier_from_arr_with_default_thresholds(settings, arr, tier):
    settings.ACCOUNT_TIER_THRESHOLDS = {"strategic": 1_000_000, "key": 200_000}
    assert services.account_tier_for(arr) == tier


def test_tier_thresholds_come_from_settings(settings):
    settings.ACCOUNT_TIER_THRESHOLDS = {"strategic": 100_000, "key": 10_000}
    assert services.account_tier_for(Decimal("12000")) == "key"
    assert services.account_tier_for(Decimal("100000")) == "strategic"


def test_tiers_refresh_sets_tiers_from_active_subscriptions(settings, django_assert_max_num_queries):
    settings.ACCOUNT_TIER_THRESHOLDS = {"strategic": 120_000, "key": 24_000}
    big, middle, small = AccountFactory(tier="standard"), AccountFactory(tier="standard"), AccountFactory(tier="key")
    SubscriptionFactory(account=big, mrr=Decimal("10000"))  # ARR 120,000
    SubscriptionFactory(account=middle, mrr=Decimal("2000"))  # ARR 24,000
    ended = timezone.localdate() - dt.timedelta(days=1)
    SubscriptionFactory(account=small, mrr=Decimal("50000"), end_date=ended)  # no longer active
    with django_assert_max_num_queries(4):
        assert services.account_tiers_refresh() == 3
    tiers = dict(Account.objects.values_list("pk", "tier"))
    assert (tiers[big.pk], tiers[middle.pk], tiers[small.pk]) == ("strategic", "key", "standard")
    assert services.account_tiers_refresh() == 0  # a second run changes nothing


# ------------------------------------------------------------------ creation and stage history


def test_account_create_makes_a_file_and_a_first_stage_change(csm):
    account = services.account_create(data={"external_id": "CRM-1", "name": "Blue Sea", "csm": csm}, by=csm)
    assert CustomerFile.objects.filter(account=account).exists()
    assert account.team == csm.team
    change = AccountStageChange.objects.get(account=account)
    assert (change.from_stage, change.to_stage, change.changed_by) == ("", "handover", csm)


def test_account_create_validates_and_leaves_nothing_behind():
    with pytest.raises(ValidationError) as error:
        services.account_create(data={"external_id": "", "name": "", "industry": "astrology"})
    assert {"external_id", "name", "industry"} <= set(error.value.message_dict)
    assert not Account.objects.exists() and not AccountStageChange.objects.exists()


def test_stage_change_is_recorded_with_who(csm):
    account = AccountFactory(csm=csm, lifecycle_stage="onboarding")
    services.account_update(account=account, data={"lifecycle_stage": "adoption"}, by=csm)
    change = AccountStageChange.objects.get(account=account)
    assert (change.from_stage, change.to_stage, change.changed_by) == ("onboarding", "adoption", csm)


def test_no_stage_change_when_the_stage_is_unchanged(csm):
    account = AccountFactory(csm=csm, lifecycle_stage="onboarding")
    services.account_update(account=account, data={"name": "Renamed", "lifecycle_stage": "onboarding"}, by=csm)
    services.account_stage_set(account=account, stage="onboarding", by=csm)
    assert not AccountStageChange.objects.filter(account=account).exists()


# ------------------------------------------------------------------ stakeholders and the timeline


def test_decision_maker_leaving_is_one_major_event(csm):
    person = StakeholderFactory(account=AccountFactory(csm=csm), role="decision_maker")
    services.stakeholder_mark_left(stakeholder=person, by=csm)
    services.stakeholder_mark_left(stakeholder=person, by=csm)
    event = Activity.objects.get()
    assert event.kind == "major_event" and event.created_by == csm


def test_leaving_in_the_future_is_rejected():
    person = StakeholderFactory()
    with pytest.raises(ValidationError) as error:
        services.stakeholder_mark_left(stakeholder=person, left_on=timezone.localdate() + dt.timedelta(days=1))
    assert "left_on" in error.value.message_dict
    person.refresh_from_db()
    assert person.is_active and not Activity.objects.exists()


def test_activity_log_puts_an_entry_with_participants(csm):
    account = AccountFactory(csm=csm)
    person = StakeholderFactory(account=account)
    activity = services.activity_log(
        account=account, kind="meeting", occurred_at=timezone.now(), summary="  QBR  ", stakeholders=[person], by=csm
    )
    assert activity.summary == "QBR" and list(activity.stakeholders.all()) == [person]
    assert list(activity.participants.all()) == [csm] and activity.created_by == csm


def test_activity_log_rejects_a_future_date(csm):
    account = AccountFactory(csm=csm)
    with pytest.raises(ValidationError) as error:
        services.activity_log(
            account=account, kind="call", occurred_at=timezone.now() + dt.timedelta(days=3), summary="Call", by=csm
        )
    assert "occurred_at" in error.value.message_dict
    assert not Activity.objects.exists()


def test_activity_log_rejects_another_accounts_stakeholders(csm):
    account = AccountFactory(csm=csm)
    stranger = StakeholderFactory(account=AccountFactory(csm=csm))
    with pytest.raises(ValidationError) as error:
        services.activity_log(
            account=account, kind="call", occurred_at=timezone.now(), summary="Call", stakeholders=[stranger], by=csm
        )
    assert "stakeholders" in error.value.message_dict
    assert not Activity.objects.exists()


def test_activity_log_rejects_a_bad_kind_and_empty_summary(csm):
    with pytest.raises(ValidationError) as error:
        services.activity_log(account=AccountFactory(csm=csm), kind="séance", occurred_at=timezone.now(), summary=" ")
    assert {"kind", "summary"} <= set(error.value.message_dict)


def test_the_date_someone_left_can_be_corrected(db):
    import datetime as dt

    from accounts import services
    from tests.factories import StakeholderFactory

    person = StakeholderFactory(role="end_user")
    services.stakeholder_mark_left(stakeholder=person, left_on=dt.date(2026, 10, 1))
    services.stakeholder_update(stakeholder=person, data={"left_on": dt.date(2026, 9, 15)})
    person.refresh_from_db()
    assert (person.is_active, person.left_on) == (False, dt.date(2026, 9, 15))


def test_a_system_posting_an_activity_is_not_listed_as_a_participant(db, integration):
    from django.utils import timezone

    from accounts import services
    from tests.factories import AccountFactory

    activity = services.activity_log(
        account=AccountFactory(), kind="email", occurred_at=timezone.now(), summary="Synced from CRM", by=integration
    )
    assert list(activity.participants.all()) == []
