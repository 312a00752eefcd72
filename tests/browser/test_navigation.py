"""Key flows in a real browser: log in, visit every section, switch to Chinese."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.browser.conftest import log_in
from tests.factories import (
    AccountFactory,
    AlertFactory,
    HandoverFactory,
    HealthScoreFactory,
    PlaybookStepFactory,
    RenewalFactory,
    StakeholderFactory,
    SubscriptionFactory,
    TaskFactory,
)  # fmt: skip

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def data(csm, manager, sales):
    today = timezone.localdate()
    account = AccountFactory(
        name="杭州云帆科技有限公司", csm=csm, sales_owner=sales, health_score=38, health_band="red"
    )
    SubscriptionFactory(account=account, mrr=12000)
    StakeholderFactory(account=account, name="王磊", title="CIO")
    HealthScoreFactory(account=account, score=38, band="red")
    AlertFactory(account=account, reason="Logins fell 45% in 30 days")
    RenewalFactory(account=account, due_date=today + dt.timedelta(days=45), risk="high")
    TaskFactory(account=account, owner=csm, title="Call the CIO about the drop", due_date=today)
    HandoverFactory(account=AccountFactory(csm=None, team=csm.team, sales_owner=sales), sales_owner=sales)
    PlaybookStepFactory(title="Book an executive visit")
    return account


def test_csm_visits_every_section_and_switches_to_chinese(page, data, csm):
    log_in(page, "csm.li")
    assert page.locator("h1").inner_text() == "My work"
    assert page.get_by_text("Call the CIO about the drop").is_visible()
    page.wait_for_selector("text=Logins fell 45% in 30 days")  # the alerts panel loaded by HTMX

    for link, heading in [("Accounts", "Accounts"), ("Handovers", "Handovers"), ("Renewals", "Renewals"),
                          ("Playbooks", "Playbooks"), ("Dashboards", "Team overview"),
                          ("Scorecards", "Health scorecards")]:  # fmt: skip
        page.click(f"nav.mainnav >> text={link}")
        assert page.locator("h1").inner_text() == heading

    page.click("nav.mainnav >> text=Accounts")
    page.click("text=杭州云帆科技有限公司")
    assert page.locator("h1").inner_text() == "杭州云帆科技有限公司"
    page.wait_for_selector("canvas[data-chart=health][data-drawn]")  # HTMX panel, then its chart
    page.wait_for_selector("text=CRM Pro")  # subscriptions panel
    page.locator("#stakeholders-card").get_by_text("王磊").first.wait_for()  # the stakeholder map, loaded by HTMX

    page.click("button[lang=zh-hans]")
    page.wait_for_selector("html[lang=zh-hans]")
    assert page.locator("nav.mainnav").inner_text().split() == [
        "我的工作",
        "客户",
        "交接",
        "续约",
        "行动手册",
        "仪表盘",
        "评分卡",
    ]
    page.click("nav.mainnav >> text=我的工作")
    assert page.locator("h1").inner_text() == "我的工作"


def test_completing_a_task_needs_no_page_reload(page, data, csm):
    log_in(page, "csm.li")
    page.evaluate("window.__marker = 'same page'")
    page.click("#task-1 button.check, li.task button.check")
    page.wait_for_selector("li.task.done")
    assert page.evaluate("window.__marker") == "same page"
    assert csm.tasks.get().status == "done"


def test_manager_sees_team_load_with_charts(page, data, manager):
    log_in(page, "mgr.chen")
    page.click("nav.mainnav >> text=Dashboards")
    page.wait_for_selector("canvas[data-chart=bands][data-drawn]")
    page.wait_for_selector("canvas[data-chart=renewals][data-drawn]")
    assert (
        "csm.li" in page.locator("table.data").inner_text() or str(data.csm) in page.locator("table.data").inner_text()
    )
