"""Who sees and changes which account, checked from the outside: pages, API, export."""

import pytest

from cs_platform.access import can_change, visible_accounts
from tests.conftest import api_as
from tests.factories import HandoverFactory

pytestmark = pytest.mark.django_db


def names(qs):
    return {a.name for a in qs}


def test_csm_sees_own_and_team_accounts_only(world, csm):
    assert names(visible_accounts(csm)) == {"Own Co", "Teammate Co"}


def test_manager_sees_the_team_accounts(world, manager):
    assert names(visible_accounts(manager)) == {"Own Co", "Teammate Co"}


def test_sales_sees_the_accounts_they_sold(world, sales):
    assert names(visible_accounts(sales)) == {"Own Co", "Other Team Co"}


def test_admin_and_integration_see_everything(world, admin_user, integration):
    assert len(visible_accounts(admin_user)) == 4
    assert len(visible_accounts(integration)) == 4


def test_inactive_user_sees_nothing(world, csm):
    csm.is_active = False
    assert not visible_accounts(csm).exists()


def test_sales_cannot_change_an_account_but_can_change_own_handover(world, sales):
    assert not can_change(sales, world["own"])
    assert can_change(sales, HandoverFactory(account=world["own"], sales_owner=sales))


def test_csm_cannot_change_other_team_account(world, csm):
    assert can_change(csm, world["teammates"])
    assert not can_change(csm, world["other_team"])


def test_csm_cannot_open_other_team_account_page(client, world, csm):
    client.force_login(csm)
    assert client.get(f"/accounts/{world['own'].pk}/").status_code == 200
    assert client.get(f"/accounts/{world['other_team'].pk}/").status_code == 404


def test_panels_of_invisible_account_answer_404(client, world, csm):
    client.force_login(csm)
    pk = world["other_team"].pk
    for url in (f"/health/account/{pk}/panel/", f"/renewals/account/{pk}/panel/", f"/playbooks/account/{pk}/panel/"):
        assert client.get(url).status_code == 404, url


def test_csm_cannot_read_other_team_account_through_api(world, csm):
    client = api_as(csm)
    assert client.get(f"/api/v1/accounts/{world['other_team'].pk}/").status_code == 404
    listed = {a["name"] for a in client.get("/api/v1/accounts/").json()["results"]}
    assert listed == {"Own Co", "Teammate Co"}


def test_export_contains_only_visible_accounts(client, world, sales):
    client.force_login(sales)
    body = b"".join(client.get("/accounts/?export=csv").streaming_content).decode("utf-8-sig")
    assert "Own Co" in body and "Other Team Co" in body
    assert "Teammate Co" not in body and "Nobody's Co" not in body


def test_anonymous_is_sent_to_login(client, world):
    response = client.get("/accounts/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_anonymous_api_call_is_refused(api, world):
    assert api.get("/api/v1/accounts/").status_code == 401
