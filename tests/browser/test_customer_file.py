"""The issue's browser test: create an account, add two stakeholders, log a visit and
fill in a section of the customer file, watching completeness rise; in English and in
Chinese. Every step after creating the account happens without a page reload (HTMX)."""

import pytest
from playwright.sync_api import expect

from accounts.models import Account, Activity
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def completeness(page) -> int:
    return int(page.locator("[data-testid=completeness]").inner_text())


def wait_for_completeness(page, value: int) -> None:
    page.wait_for_function(
        "v => document.querySelector('[data-testid=completeness]').textContent.trim() === String(v)", arg=value
    )


def create_account(page, *, name: str, external_id: str, csm) -> None:
    """Through the "New account" form, as a manager does it."""
    page.goto("/accounts/new/")
    page.fill("[name=name]", name)
    page.fill("[name=external_id]", external_id)
    page.select_option("[name=csm]", str(csm.pk))
    page.click("form button[type=submit].primary")
    page.wait_for_selector("#file-card")
    # The plan and best-practice slots load after the page: let them settle before clicking.
    page.wait_for_load_state("networkidle")


def add_stakeholder(page, *, name: str, title: str, role: str) -> None:
    card = page.locator("#stakeholders-card")
    page.wait_for_load_state("networkidle")
    card.locator("details.addbox > summary").click()
    expect(card.locator("[name=new-name]")).to_be_visible()
    card.locator("[name=new-name]").fill(name)
    card.locator("[name=new-title]").fill(title)
    card.locator("[name=new-role]").select_option(role)
    card.locator("[name=new-relationship]").select_option("understands")
    card.locator("form.stakeholder-form button[type=submit]").click()
    page.locator("#stakeholders-card").get_by_text(name, exact=True).wait_for()


def run_the_flow(page, *, name: str, external_id: str, csm, lang: str) -> None:
    create_account(page, name=name, external_id=external_id, csm=csm)
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("h1").inner_text() == name
    url = page.url
    start = completeness(page)
    assert start == 0

    add_stakeholder(page, name="陈杰", title="CIO", role="decision_maker")
    wait_for_completeness(page, 10)
    add_stakeholder(page, name="Amy Wu", title="IT lead", role="day_to_day")
    wait_for_completeness(page, 20)

    # Log an on-site visit with both stakeholders; it appears on top of the timeline.
    timeline = page.locator("#timeline-card")
    timeline.locator("details.logbox > summary").click()
    timeline.locator("[name=activity-summary]").wait_for()
    timeline.locator("[name=activity-kind]").select_option("onsite_visit")
    timeline.locator("[name=activity-summary]").fill(f"Visited {name} with the plant manager")
    for box in timeline.locator("input[name=activity-stakeholders]").all():
        box.check()
    timeline.locator("form.log-form button[type=submit]").click()
    page.locator("#timeline-list li").first.get_by_text(f"Visited {name} with the plant manager").wait_for()
    assert completeness(page) == 20  # a visit is a touch, not a section of the file

    # Fill in the company overview: one more section, ten more points.
    page.locator("#file-card .card-head button").click()
    page.locator("#file-card textarea[name=overview]").fill("Steel maker; 2,000 employees.")
    page.locator("#file-card form button[type=submit].primary").click()
    wait_for_completeness(page, 30)
    assert page.locator("#file-card").get_by_text("Steel maker; 2,000 employees.").is_visible()

    assert page.url == url  # no page reload and no navigation along the way
    account = Account.objects.get(external_id=external_id)
    assert account.completeness == 30
    activity = Activity.objects.get(account=account)
    assert activity.kind == "onsite_visit" and activity.stakeholders.count() == 2


def test_customer_file_grows_in_english_and_in_chinese(page, csm, manager):
    log_in(page, manager.username)
    run_the_flow(page, name="Hangzhou Steel", external_id="HZ-STEEL", csm=csm, lang="en")

    page.click("button[lang=zh-hans]")  # the language switcher in the top bar
    page.wait_for_selector("html[lang=zh-hans]")
    run_the_flow(page, name="杭州钢铁有限公司", external_id="HZ-STEEL-2", csm=csm, lang="zh-hans")
    assert page.locator("#stakeholders-card h2").inner_text() == "关键人"  # the page really is in Chinese
