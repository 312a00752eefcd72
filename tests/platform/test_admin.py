"""Every model of ours is in the admin, and each changelist opens with data in it."""

import pytest
from django.apps import apps
from django.contrib import admin

from tests.factories import (
    ActivityFactory,
    AlertFactory,
    HandoverFactory,
    HealthScoreFactory,
    PlaybookStepFactory,
    RenewalFactory,
    StakeholderFactory,
    SubscriptionFactory,
    TaskFactory,
    UsageEventFactory,
)  # fmt: skip

pytestmark = pytest.mark.django_db
OUR_APPS = ["people", "accounts", "renewals", "playbooks", "health", "handover"]


def test_every_model_is_registered():
    missing = [
        m.__name__
        for a in OUR_APPS
        for m in apps.get_app_config(a).get_models()
        # Audit history tables are read through their model's admin (History button).
        if m not in admin.site._registry and not m.__name__.startswith("Historical")
    ]
    assert missing == []


def test_every_changelist_and_change_page_opens(client, admin_user):
    for factory in (
        ActivityFactory,
        AlertFactory,
        HandoverFactory,
        HealthScoreFactory,
        PlaybookStepFactory,
        RenewalFactory,
        StakeholderFactory,
        SubscriptionFactory,
        TaskFactory,
        UsageEventFactory,
    ):
        factory()
    from health.scorecards import active_version

    active_version()  # a scorecard version with its measures
    client.force_login(admin_user)
    for app in OUR_APPS:
        for model in apps.get_app_config(app).get_models():
            if model.__name__.startswith("Historical"):
                continue
            meta = model._meta
            url = f"/admin/{meta.app_label}/{meta.model_name}/"
            assert client.get(url).status_code == 200, url
            obj = model.objects.first()
            if obj is not None:
                assert client.get(f"{url}{obj.pk}/change/").status_code == 200, url
                if hasattr(model, "history"):
                    assert client.get(f"{url}{obj.pk}/history/").status_code == 200, url
