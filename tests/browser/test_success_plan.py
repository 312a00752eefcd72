"""The issue's browser test for success plans: on an account page, start the built-in
first-project path, complete the steps of the first stage watching stage and overall
progress rise (HTMX, no reload), then write the stage report, open its printable page
and fetch its PDF."""

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from people.models import User
from playbooks.models import PlanStep, StageReport, SuccessPath, SuccessPlan, Task
from tests.browser.conftest import log_in
from tests.factories import AccountFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def first_project_path() -> SuccessPath:
    """The built-in path; a transactional test may start after a flush removed it."""
    path = SuccessPath.objects.filter(is_builtin=True).first()
    if path is None:
        migration = importlib.import_module("playbooks.migrations.0003_builtin_first_project_path_and_cadence")
        migration.create(apps, None)
        path = SuccessPath.objects.get(is_builtin=True)
    return path


def wait_for_text(page, selector: str, value: str) -> None:
    """Wait until `selector` reads `value` and htmx has settled the swapped content (a
    change made before htmx processed the new form would be lost)."""
    page.wait_for_function(
        "([s, v]) => { const el = document.querySelector(s);"
        " return el && el.textContent.trim() === v"
        " && !document.querySelector('.htmx-added, .htmx-settling, .htmx-swapping, .htmx-request'); }",
        arg=[selector, value],
    )


def test_start_the_first_project_path_complete_a_stage_and_produce_the_stage_report(page):
    path = first_project_path()
    csm = UserFactory(username="csm.browser", role=User.Role.CSM)
    account = AccountFactory(name="Huaxin Steel 华信钢铁", csm=csm)
    start = timezone.localdate() - dt.timedelta(days=3)

    log_in(page, csm.username)
    page.goto(f"/accounts/{account.pk}/")
    panel = page.locator("#plan-panel")
    panel.get_by_text("Start a success plan").wait_for()
    panel.locator("[name=plan-path]").select_option(str(path.pk))
    panel.locator("[name=plan-started_on]").fill(start.isoformat())
    panel.locator("form.plan-start-form button[type=submit]").click()
    page.locator("[data-testid=plan-progress]").wait_for()
    url = page.url
    assert page.locator("[data-testid=plan-progress]").inner_text() == "0"
    assert page.locator("[data-testid=plan-stage]").count() == 4

    first_stage = '[data-testid=plan-stage][data-stage="1"]'
    steps = page.locator(f"{first_stage} [data-testid=step-status]")
    count = steps.count()
    assert count == 4
    for done in range(1, count + 1):
        page.locator(f"{first_stage} [data-testid=step-status]").nth(done - 1).select_option("done")
        wait_for_text(page, f"{first_stage} [data-testid=stage-progress]", str(round(100 * done / count)))
    wait_for_text(page, "[data-testid=plan-progress]", str(round(100 * count / 12)))
    assert page.url == url  # every change happened in place
    plan = SuccessPlan.objects.get(account=account)
    assert PlanStep.objects.filter(stage__plan=plan, status="done").count() == 4
    assert Task.objects.filter(plan_step__stage__plan=plan, status="done").count() == 4
    # The current step moved on to the second stage.
    assert "Process workshops" in page.locator(".plan-current").inner_text()

    # The completed stage offers its report: write it, then see the printable page.
    page.locator(f"{first_stage} [data-testid=stage-report-link]").click()
    page.locator("textarea[name=achievements]").fill("Kickoff held with the CIO; goals and plan agreed.")
    page.locator("textarea[name=next_steps]").fill("Process workshops with finance and purchasing.")
    page.locator("form.stage-report-form button[type=submit]").click()
    report = page.locator("[data-testid=stage-report]")
    report.get_by_text("Kickoff held with the CIO; goals and plan agreed.").wait_for()
    assert "Business process confirmation" in report.inner_text()  # the next stage
    assert StageReport.objects.get(stage__plan=plan).achievements.startswith("Kickoff held")

    page.emulate_media(media="print")
    assert not page.locator("header.topbar").is_visible()
    assert report.is_visible()
    page.emulate_media(media="screen")

    href = page.locator("[data-testid=report-pdf]").get_attribute("href")
    response = page.request.get(href)
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
