"""The issue's browser test for the handover: sales drafts a package and submits it, the
CSM returns it for what is missing, sales completes it and resubmits, the CSM accepts,
the kickoff is recorded as held, and the first-project plan appears on the account with
its kickoff steps done."""

import importlib

import pytest
from django.apps import apps

from accounts.models import Account, Stakeholder
from handover.models import Handover, Kickoff
from people.models import Notification, User
from playbooks.models import PlanStep, SuccessPath, SuccessPlan
from renewals.models import Product, Subscription
from tests.browser.conftest import log_in
from tests.factories import TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def builtin_path() -> SuccessPath:
    """The built-in path and its step keys; a transactional test may start after a flush."""
    if not SuccessPath.objects.filter(is_builtin=True).exists():
        importlib.import_module("playbooks.migrations.0003_builtin_first_project_path_and_cadence").create(apps, None)
        importlib.import_module("playbooks.migrations.0005_builtin_step_keys").set_keys(apps, None)
    return SuccessPath.objects.get(is_builtin=True)


def fill(page, values: dict) -> None:
    for name, value in values.items():
        page.fill(f"[name={name}]", value)


def test_sales_to_cs_handover_through_kickoff(page):
    builtin_path()
    team = TeamFactory(name="East")
    csm = UserFactory(username="csm.browser", role=User.Role.CSM, team=team)
    sales = UserFactory(username="sales.browser", role=User.Role.SALES, team=None)
    product = Product.objects.create(code="crm-pro", name="CRM Professional", product_line="CRM")

    # Sales drafts the package for a new customer and submits it with the plan left vague.
    log_in(page, sales.username)
    page.goto("/handovers/new/")
    fill(page, {"name": "Huaxin Steel 华信钢铁", "external_id": "CRM-HX-1"})
    page.click("form button[type=submit].primary")
    page.wait_for_url("**/handovers/*/edit/")
    fill(
        page,
        {
            "contact_name": "Lin Hua",
            "contact_phone": "+86 138 0000 1111",
            "contract_start": "2026-12-01",
            "contract_end": "2027-12-01",
            "payment_terms": "Annual in advance, 30 days net",
            "needs": "Month-end close in two days.",
            "implementation_plan": "TBD",
            "anticipated_problems": "The IT team is small.",
            "promises": "Two on-site trainings.",
            "products-0-quantity": "40",
            "products-0-unit_price": "1800",
            "people-0-name": "Chen Jie",
            "people-0-title": "CFO",
        },
    )
    page.select_option("[name=team]", str(team.pk))
    page.select_option("[name=products-0-product]", str(product.pk))
    page.select_option("[name=people-0-role]", "decision_maker")
    page.click("button[name=submit]")
    page.wait_for_url("**/handovers/*/")
    handover = Handover.objects.get()
    assert handover.status == "submitted"

    # The CSM returns it: the implementation plan only says TBD.
    page.context.clear_cookies()
    log_in(page, csm.username)
    page.goto(f"/handovers/{handover.pk}/")
    page.locator("details.return-box > summary").click()
    page.fill("[name=return-reason]", "The implementation plan only says TBD.")
    page.check("input[name=return-missing][value=implementation_plan]")
    page.locator("details.return-box button[type=submit]").click()
    page.get_by_text("The implementation plan only says TBD.").first.wait_for()
    handover.refresh_from_db()
    assert (handover.status, handover.returned_items) == ("returned", ["implementation_plan"])
    assert Notification.objects.filter(user=sales, message__contains="returned").exists()

    # Sales sees what is missing, completes it and resubmits.
    page.context.clear_cookies()
    log_in(page, sales.username)
    page.goto("/handovers/?queue=returned")
    page.get_by_role("link", name="Huaxin Steel 华信钢铁").click()
    assert "Implementation plan and timeline" in page.locator(".hv-returned").inner_text()
    page.goto(f"/handovers/{handover.pk}/edit/")
    page.fill("[name=implementation_plan]", "Kickoff in December; go-live by the end of February.")
    page.click("button[name=submit]")
    page.wait_for_url(f"**/handovers/{handover.pk}/")
    handover.refresh_from_db()
    assert handover.status == "submitted"

    # The CSM accepts: account, customer file, stakeholders, subscription, kickoff, plan.
    page.context.clear_cookies()
    log_in(page, csm.username)
    page.goto(f"/handovers/{handover.pk}/")
    page.click("form[action$='/accept/'] button[type=submit]")
    page.wait_for_url(f"**/handovers/{handover.pk}/")
    handover.refresh_from_db()
    account = Account.objects.get(external_id="CRM-HX-1")
    assert handover.status == "accepted"
    assert (account.csm, account.lifecycle_stage) == (csm, "kickoff")
    assert Stakeholder.objects.filter(account=account, name="Chen Jie", role="decision_maker").exists()
    assert Subscription.objects.get(account=account).quantity == 40
    assert "Two on-site trainings." in account.file.sales_promises

    # The kickoff is recorded: minutes and group chat, then held.
    kickoff = Kickoff.objects.get(account=account)
    page.goto(f"/handovers/kickoffs/{kickoff.pk}/edit/")
    page.fill("[name=minutes]", "Goals agreed with the CFO; weekly call on Tuesdays.")
    page.check("[name=group_chat_created]")
    page.fill("[name=group_chat_name]", "华信 × CS")
    page.click("form.kickoff-form button[type=submit].primary")
    page.wait_for_url(f"**/handovers/kickoffs/{kickoff.pk}/")
    page.locator("#kickoff-hold button[type=submit]").click()
    page.wait_for_url(f"**/handovers/kickoffs/{kickoff.pk}/")
    kickoff.refresh_from_db()
    assert kickoff.status == "held"

    # The plan appears on the account with the kickoff steps done.
    page.goto(f"/accounts/{account.pk}/")
    page.locator("[data-testid=plan-progress]").wait_for()
    plan = SuccessPlan.objects.get(account=account)
    done = set(PlanStep.objects.filter(stage__plan=plan, status="done").values_list("key", flat=True))
    assert done == {"read_handover", "kickoff", "group_chat", "kickoff_minutes"}
    assert page.locator("[data-testid=plan-progress]").inner_text() == str(round(100 * 4 / 12))
