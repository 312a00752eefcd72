"""The issue's browser test for health: a manager raises a measure's weight in the
scorecard editor, saves it as a new active version, recomputes every score from the
scorecards page, and the account's health panel explains the new score with the new
version, weights and points."""

import datetime as dt

import pytest
from django.utils import timezone

from cs_platform.celery import app as celery_app
from health.models import HealthScore, ScorecardVersion, UsageDaily
from health.scorecards import active_version
from health.services import health_score_run
from people.models import User
from tests.browser.conftest import log_in
from tests.factories import AccountFactory, SubscriptionFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def eager_celery():
    """The live server runs the scoring task in process (the real-worker test covers the
    broker); Celery reads the flag from its own configuration."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


def test_manager_changes_a_weight_recomputes_and_sees_the_score_explained(page, eager_celery):
    manager = UserFactory(username="mgr.browser", role=User.Role.MANAGER)
    account = AccountFactory(name="Huaxin Steel 华信钢铁", csm=manager, team=manager.team)
    SubscriptionFactory(account=account, quantity=10)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    UsageDaily.objects.create(account=account, day=yesterday, event_type="login", events=60, distinct_users=3)
    v1 = active_version()
    health_score_run()
    before = HealthScore.objects.get(account=account)
    weights_v1 = {m.key: m.weight for m in v1.measures.all()}

    log_in(page, manager.username)
    page.goto(f"/health/scorecards/{v1.pk}/edit/")
    rows = page.locator("[data-rows] > *")
    keys = [rows.nth(i).locator("input[name$='-key']").input_value() for i in range(rows.count())]
    row = rows.nth(keys.index("usage_per_seat"))
    row.locator("input[name$='-weight']").fill("200")
    page.locator("input[name=name]").fill("Usage first")
    page.locator("input[name=activate]").check()
    page.get_by_role("button", name="Save as a new version").click()
    page.wait_for_url("**/health/scorecards/*/")
    v2 = ScorecardVersion.objects.get(is_active=True)
    assert v2.number == v1.number + 1 and v2.based_on_id == v1.pk and v2.name == "Usage first"
    assert {m.key: m.weight for m in v1.measures.all()} == weights_v1  # the old version is kept as it was

    page.goto("/health/scorecards/")
    page.get_by_role("button", name="Recompute all scores now").click()
    page.locator("#recompute-box[data-state=SUCCESS]").wait_for()
    assert "Scored 1 account" in page.locator("#recompute-box").inner_text()

    after = HealthScore.objects.get(account=account)
    assert after.scorecard_id == v2.pk and after.score != before.score
    page.goto(f"/accounts/{account.pk}/")
    panel = page.locator("#health-panel")
    panel.locator("table.explain").wait_for()
    assert f"Scorecard v{v2.number} Usage first" in panel.inner_text()
    usage_row = panel.locator("table.explain tbody tr", has_text="All events per licensed seat")
    cells = usage_row.locator("td")
    assert cells.nth(1).inner_text() == "6"  # 60 events over 10 seats in the last 30 days
    total = sum(m.weight for m in v2.measures.all())
    assert cells.nth(3).inner_text() == f"{round(200 / (total - 10) * 100)}%"  # NPS has no data: left out
    assert panel.locator("table.explain tfoot").inner_text().split()[-1] == str(after.score)
