"""The account list's filters, sorting and exports, and the pages that create and edit an account."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from openpyxl import load_workbook

from accounts.filters import SIZE_BAND_RANGES
from accounts.models import Account
from people.models import User
from tests.factories import AccountFactory, RenewalFactory, StakeholderFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def days(n: int) -> dt.date:
    return TODAY() + dt.timedelta(days=n)


def names(client, query: str = "") -> list[str]:
    response = client.get(f"/accounts/?{query}")
    assert response.status_code == 200
    return [a.name for a in response.context["page"].object_list]


def csv_rows(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def xlsx_rows(response) -> tuple[list, list[list]]:
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    return rows[0], rows[1:]


@pytest.fixture
def renewals_world(csm):
    """Accounts whose earliest open renewal falls in each window."""
    make = lambda name: AccountFactory(name=name, csm=csm)  # noqa: E731
    in_10, in_50, in_120 = make("Due in 10"), make("Due in 50"), make("Due in 120")
    overdue, closed, none = make("Overdue"), make("Renewed already"), make("No renewal")
    RenewalFactory(account=in_10, due_date=days(10), stage="upcoming")
    RenewalFactory(account=in_10, due_date=days(375), stage="upcoming")  # a later term does not count
    RenewalFactory(account=in_50, due_date=days(50), stage="in_progress")
    RenewalFactory(account=in_50, due_date=days(-30), stage="renewed")  # a closed past one is not overdue
    RenewalFactory(account=in_120, due_date=days(120), stage="committed")
    RenewalFactory(account=overdue, due_date=days(-5), stage="upcoming")
    RenewalFactory(account=overdue, due_date=days(20), stage="upcoming")  # the overdue one comes first
    RenewalFactory(account=closed, due_date=days(15), stage="renewed")
    return {"none": none}


# ------------------------------------------------------------------ filters


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ("overdue", ["Overdue"]),
        ("30", ["Due in 10"]),
        ("60", ["Due in 10", "Due in 50"]),
        ("90", ["Due in 10", "Due in 50"]),
        ("180", ["Due in 10", "Due in 120", "Due in 50"]),
    ],
)
def test_renewal_window_follows_the_earliest_open_renewal(client, csm, renewals_world, window, expected):
    client.force_login(csm)
    assert names(client, f"renewal_window={window}") == expected


def test_list_shows_the_next_open_renewal_and_flags_it_when_overdue(client, csm, renewals_world):
    client.force_login(csm)
    response = client.get("/accounts/?ordering=next_renewal")
    rows = {a.name: a.next_renewal for a in response.context["page"].object_list}
    assert rows["Due in 10"] == days(10) and rows["Overdue"] == days(-5)
    assert rows["Renewed already"] is None and rows["No renewal"] is None
    html = response.content.decode()
    assert days(10).isoformat() in html and "overdue" in html


@pytest.mark.parametrize(
    ("band", "expected"), [("low", ["C0", "C39"]), ("medium", ["C40", "C69"]), ("high", ["C100", "C70"])]
)
def test_completeness_bands(client, csm, band, expected):
    for score in (0, 39, 40, 69, 70, 100):
        AccountFactory(name=f"C{score}", csm=csm, completeness=score)
    client.force_login(csm)
    assert names(client, f"completeness={band}") == expected


def test_service_model_filter(client, csm):
    AccountFactory(name="Consulting Co", csm=csm, service_model="consulting")
    AccountFactory(name="Support Co", csm=csm, service_model="support")
    client.force_login(csm)
    assert names(client, "service_model=consulting") == ["Consulting Co"]


def test_size_band_filter_agrees_with_size_band_for(client, csm):
    counts = [0, 99, 100, 999, 1000, 9999, 10000, 250000, None]
    for n in counts:
        AccountFactory(name=f"Staff {n}", csm=csm, employee_count=n)
    client.force_login(csm)
    for band in SIZE_BAND_RANGES:
        expected = sorted(f"Staff {n}" for n in counts if Account.size_band_for(n) == band)
        assert sorted(names(client, f"size_band={band}")) == expected, band


def test_filters_combine(client, csm, renewals_world):
    Account.objects.filter(name__in=["Due in 10", "Due in 50"]).update(service_model="consulting", completeness=80)
    Account.objects.filter(name="Due in 10").update(employee_count=50)
    client.force_login(csm)
    assert names(client, "service_model=consulting&completeness=high&renewal_window=60") == ["Due in 10", "Due in 50"]
    assert names(client, "service_model=consulting&renewal_window=60&size_band=small") == ["Due in 10"]
    assert names(client, "service_model=consulting&renewal_window=overdue") == []


@pytest.mark.parametrize(
    "bad",
    [
        "renewal_window=7",
        "renewal_window=",
        "completeness=99",
        "size_band=huge",
        "service_model=%00",
        "ordering=password",
        "ordering=-next_renewal,foo",
        "team=abc",
        "csm=999999",
    ],
)
def test_bad_filter_values_do_not_fail_and_change_nothing(client, csm, renewals_world, bad):
    client.force_login(csm)
    everything = names(client)
    assert names(client, bad) == everything
    # a bad value of one filter leaves the others working
    assert names(client, f"{bad}&renewal_window=30") == ["Due in 10"]
    assert client.get(f"/accounts/?{bad}&export=csv").status_code == 200
    assert client.get(f"/accounts/?{bad}&export=xlsx").status_code == 200


def test_search_finds_accounts_by_stakeholder_name_once(client, csm):
    account = AccountFactory(name="Hangzhou Steel", csm=csm)
    StakeholderFactory(account=account, name="Chen Jie")
    StakeholderFactory(account=account, name="Chen Jiehua", role="day_to_day")
    AccountFactory(name="Chen's Noodles", csm=csm)
    client.force_login(csm)
    assert names(client, "search=chen jie") == ["Hangzhou Steel"]
    assert names(client, "search=chen") == ["Chen's Noodles", "Hangzhou Steel"]


def test_new_filters_work_in_the_api_and_keep_the_contract(integration, csm, renewals_world):
    from tests.conftest import api_as

    client = api_as(integration)

    def ids(query):
        response = client.get(f"/api/v1/accounts/?{query}")
        assert response.status_code == 200
        return sorted(a["name"] for a in response.json()["results"])

    assert ids("renewal_window=60") == ["Due in 10", "Due in 50"]
    assert ids("renewal_window=60&csm=csm.li&size_band=medium") == ["Due in 10", "Due in 50"]
    assert ids("search=overdue") == ["Overdue"]
    assert client.get("/api/v1/accounts/?renewal_window=7").status_code == 400


# ------------------------------------------------------------------ sorting


def test_sort_by_completeness(client, csm):
    for name, score in (("Mid", 50), ("Top", 90), ("Low", 10)):
        AccountFactory(name=name, csm=csm, completeness=score)
    client.force_login(csm)
    assert names(client, "ordering=completeness") == ["Low", "Mid", "Top"]
    assert names(client, "ordering=-completeness") == ["Top", "Mid", "Low"]


def test_sort_by_next_renewal_puts_accounts_without_one_last(client, csm, renewals_world):
    client.force_login(csm)
    ascending = names(client, "ordering=next_renewal")
    assert ascending == ["Overdue", "Due in 10", "Due in 50", "Due in 120", "No renewal", "Renewed already"]
    descending = names(client, "ordering=-next_renewal")
    assert descending == ["Due in 120", "Due in 50", "Due in 10", "Overdue", "No renewal", "Renewed already"]


def test_sort_by_arr_and_health(client, csm):
    small, big = AccountFactory(name="Small", csm=csm, health_score=80), AccountFactory(name="Big", csm=csm)
    SubscriptionFactory(account=small, mrr=100)
    SubscriptionFactory(account=big, mrr=9000)
    client.force_login(csm)
    assert names(client, "ordering=-arr") == ["Big", "Small"]
    assert names(client, "ordering=-health_score") == ["Small", "Big"]  # no score sorts last


# ------------------------------------------------------------------ exports


def test_csv_export_has_the_filtered_rows_and_the_new_columns(client, csm, renewals_world):
    Account.objects.filter(name="Due in 10").update(completeness=55, service_model="consulting")
    SubscriptionFactory(account=Account.objects.get(name="Due in 10"), mrr=Decimal("1234.50"))
    client.force_login(csm)
    response = client.get("/accounts/?renewal_window=30&export=csv")
    assert response["Content-Disposition"] == 'attachment; filename="accounts.csv"'
    rows = csv_rows(response)
    assert [r["Name"] for r in rows] == ["Due in 10"]
    assert rows[0]["Next renewal"] == days(10).isoformat()
    assert rows[0]["File completeness (%)"] == "55"
    assert rows[0]["Service model"] == "Consulting"
    assert rows[0]["Size"] == "Medium"
    assert (rows[0]["MRR"], rows[0]["ARR"]) == ("1234.50", "14814.00")


def test_xlsx_export_has_numbers_and_dates_and_the_filtered_rows(client, csm, renewals_world):
    account = Account.objects.get(name="Due in 10")
    SubscriptionFactory(account=account, mrr=Decimal("1234.50"))
    Account.objects.filter(pk=account.pk).update(completeness=55, health_score=64, health_band="yellow")
    client.force_login(csm)
    response = client.get("/accounts/?renewal_window=60&ordering=next_renewal&export=xlsx")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="accounts.xlsx"'
    header, rows = xlsx_rows(response)
    assert header[:2] == ["External ID", "Name"]
    assert [row[header.index("Name")] for row in rows] == ["Due in 10", "Due in 50"]
    first = dict(zip(header, rows[0], strict=True))
    assert first["MRR"] == pytest.approx(1234.5) and first["ARR"] == pytest.approx(14814)
    assert first["Health score"] == 64 and first["File completeness (%)"] == 55
    assert first["Next renewal"].date() == days(10)  # a real date cell, not text
    assert first["Employees"] == 250


def test_xlsx_export_never_turns_text_into_formulas(client, csm):
    AccountFactory(name='=HYPERLINK("http://evil.example","x")', csm=csm)
    AccountFactory(name="Bell\x07 Co", csm=csm)
    client.force_login(csm)
    sheet = load_workbook(io.BytesIO(client.get("/accounts/?export=xlsx").content)).active
    cells = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert {c.data_type for c in cells} == {"s"}
    assert sorted(c.value for c in cells) == ['=HYPERLINK("http://evil.example","x")', "Bell Co"]


@pytest.mark.parametrize("export", ["csv", "xlsx"])
def test_a_csms_export_never_contains_another_teams_account(client, csm, world, export):
    client.force_login(csm)
    response = client.get(f"/accounts/?export={export}")
    if export == "csv":
        exported = sorted(r["Name"] for r in csv_rows(response))
    else:
        header, rows = xlsx_rows(response)
        exported = sorted(row[header.index("Name")] for row in rows)
    assert exported == ["Own Co", "Teammate Co"]


def test_sales_export_holds_only_the_accounts_they_sold(client, sales, world):
    client.force_login(sales)
    header, rows = xlsx_rows(client.get("/accounts/?export=xlsx"))
    assert sorted(row[header.index("Name")] for row in rows) == ["Other Team Co", "Own Co"]


def test_export_needs_a_login(client, world):
    response = client.get("/accounts/?export=xlsx")
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("size", [5, 50])
def test_list_and_exports_run_a_constant_number_of_queries(
    client, csm, size, django_assert_max_num_queries, query_budget
):
    for i, account in enumerate(AccountFactory.create_batch(size, csm=csm)):
        SubscriptionFactory(account=account)
        RenewalFactory(account=account, due_date=days(i % 200 - 20))
        StakeholderFactory(account=account, name=f"Person {i}")
    client.force_login(csm)
    query = "renewal_window=180&completeness=low&size_band=medium&service_model=support&search=account"
    with django_assert_max_num_queries(query_budget("accounts:list")):
        assert client.get("/accounts/").status_code == 200
    with django_assert_max_num_queries(query_budget("accounts:list")):
        assert client.get(f"/accounts/?{query}&ordering=-next_renewal").status_code == 200
    with django_assert_max_num_queries(query_budget("accounts:export")):
        rows = csv_rows(client.get("/accounts/?export=csv"))
    assert len(rows) == size
    with django_assert_max_num_queries(query_budget("accounts:export_xlsx")):
        _header, rows = xlsx_rows(client.get("/accounts/?export=xlsx&ordering=completeness"))
    assert len(rows) == size
    with django_assert_max_num_queries(query_budget("accounts:export_xlsx")):
        _header, rows = xlsx_rows(client.get(f"/accounts/?{query}&export=xlsx"))
    assert 0 < len(rows) < size or size == 5


def test_empty_state_when_nothing_matches(client, csm):
    AccountFactory(name="Alpha", csm=csm)
    client.force_login(csm)
    assert "No accounts match these filters." in client.get("/accounts/?search=zzz").content.decode()


# ------------------------------------------------------------------ create


def form_data(**overrides) -> dict:
    data = {
        "name": "Suzhou Precision",
        "external_id": "CRM-900",
        "industry": "manufacturing",
        "employee_count": "420",
        "region": "Jiangsu",
        "csm": "",
        "sales_owner": "",
        "team": "",
        "lifecycle_stage": "handover",
        "service_model": "implementation",
        "product_view": "platform",
        "usage_driver": "business",
    }
    data.update(overrides)
    return data


def test_manager_creates_an_account(client, manager, csm):
    client.force_login(manager)
    page = client.get("/accounts/new/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Identity" in html and "Owners" in html and "Segmentation" in html
    response = client.post("/accounts/new/", form_data(csm=str(csm.pk)), follow=True)
    account = Account.objects.get(external_id="CRM-900")
    assert response.redirect_chain[-1][0] == f"/accounts/{account.pk}/"
    assert account.team == csm.team and account.service_model == "implementation"
    assert account.stage_changes.count() == 1
    assert "Suzhou Precision" in [str(m) for m in response.context["messages"]][0]


def test_list_offers_new_account_only_to_who_may_create(client, manager, csm):
    client.force_login(manager)
    assert "/accounts/new/" in client.get("/accounts/").content.decode()
    client.force_login(csm)
    assert "/accounts/new/" not in client.get("/accounts/").content.decode()


@pytest.mark.parametrize("who", ["csm", "sales"])
def test_only_managers_and_admins_may_create(client, request, who):
    user = request.getfixturevalue(who)
    client.force_login(user)
    assert client.get("/accounts/new/").status_code == 404
    assert client.post("/accounts/new/", form_data()).status_code == 404
    assert not Account.objects.filter(external_id="CRM-900").exists()


def test_create_needs_a_login(client):
    assert client.get("/accounts/new/").status_code == 302


def test_admin_creates_an_account_of_any_team(client, admin_user, other_csm):
    client.force_login(admin_user)
    response = client.post("/accounts/new/", form_data(csm=str(other_csm.pk)))
    assert response.status_code == 302
    assert Account.objects.get(external_id="CRM-900").team == other_csm.team


def test_manager_cannot_create_an_account_for_another_teams_csm(client, manager, other_csm):
    client.force_login(manager)
    response = client.post("/accounts/new/", form_data(csm=str(other_csm.pk)))
    assert response.status_code == 400 and "csm" in response.context["form"].errors
    assert not Account.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"external_id": "EXISTING-1"}, "external_id", "Another account already uses this external ID."),
        ({"external_id": "existing-1"}, "external_id", "Another account already uses this external ID."),
        ({"employee_count": "-5"}, "employee_count", "greater than or equal to 0"),
        ({"employee_count": "many"}, "employee_count", "whole number"),
        ({"name": "   "}, "name", "Give the account a name."),
        ({"lifecycle_stage": "dormant"}, "lifecycle_stage", "Select a valid choice"),
    ],
)
def test_create_shows_validation_messages(client, manager, overrides, field, message):
    AccountFactory(external_id="EXISTING-1", csm=manager)
    client.force_login(manager)
    response = client.post("/accounts/new/", form_data(**overrides))
    assert response.status_code == 400
    assert any(message in error for error in response.context["form"].errors[field])
    assert message.replace("'", "&#x27;") in response.content.decode()
    assert Account.objects.count() == 1


def test_csm_must_be_a_csm(client, manager, sales):
    client.force_login(manager)
    response = client.post("/accounts/new/", form_data(csm=str(sales.pk)))
    assert response.status_code == 400
    assert "csm" in response.context["form"].errors
    assert not Account.objects.filter(external_id="CRM-900").exists()


def test_a_service_validation_error_is_shown_in_the_form(client, manager, monkeypatch):
    from accounts import services

    def refuse(**kwargs):
        raise ValidationError({"region": "No such region.", "tier": "Tier is derived from ARR."})

    monkeypatch.setattr(services, "account_create", refuse)
    client.force_login(manager)
    response = client.post("/accounts/new/", form_data())
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["region"] == ["No such region."]
    assert "Tier is derived from ARR." in form.non_field_errors()

    monkeypatch.setattr(services, "account_create", lambda **kw: (_ for _ in ()).throw(ValidationError("Nope.")))
    response = client.post("/accounts/new/", form_data())
    assert response.status_code == 400 and "Nope." in response.content.decode()


# ------------------------------------------------------------------ edit


def test_csm_edits_an_account_of_the_team(client, csm, world):
    account = world["teammates"]
    client.force_login(csm)
    page = client.get(f"/accounts/{account.pk}/edit/")
    assert page.status_code == 200 and page.context["form"].initial["name"] == "Teammate Co"
    data = form_data(name="Teammate Co (renamed)", external_id=account.external_id, csm=str(account.csm_id))
    data.update(team=str(account.team_id), lifecycle_stage="onboarding")
    response = client.post(f"/accounts/{account.pk}/edit/", data)
    assert response.status_code == 302 and response["Location"] == f"/accounts/{account.pk}/"
    account.refresh_from_db()
    assert account.name == "Teammate Co (renamed)" and account.lifecycle_stage == "onboarding"
    assert account.stage_changes.filter(to_stage="onboarding", changed_by=csm).exists()


def test_edit_keeps_its_own_external_id_but_not_anothers(client, csm, world):
    account = world["own"]
    client.force_login(csm)
    keep = form_data(name="Own Co", external_id=account.external_id, csm=str(csm.pk), team=str(csm.team_id))
    assert client.post(f"/accounts/{account.pk}/edit/", keep).status_code == 302
    steal = dict(keep, external_id=world["other_team"].external_id, name="Renamed")
    response = client.post(f"/accounts/{account.pk}/edit/", steal)
    assert response.status_code == 400
    assert "Another account already uses this external ID." in response.content.decode()
    assert response.context["account"].name == "Own Co"  # the title shows what is stored
    account.refresh_from_db()
    assert account.name == "Own Co"


def test_csm_of_another_team_gets_404(client, other_csm, world):
    client.force_login(other_csm)
    account = world["own"]
    assert client.get(f"/accounts/{account.pk}/edit/").status_code == 404
    assert client.post(f"/accounts/{account.pk}/edit/", form_data()).status_code == 404
    assert client.get("/accounts/999999/edit/").status_code == 404


def test_sales_cannot_edit_the_accounts_they_sold(client, sales, world):
    client.force_login(sales)
    account = world["own"]
    assert client.get(f"/accounts/{account.pk}/").status_code == 200
    assert client.get(f"/accounts/{account.pk}/edit/").status_code == 403
    assert client.post(f"/accounts/{account.pk}/edit/", form_data(external_id=account.external_id)).status_code == 403
    account.refresh_from_db()
    assert account.name == "Own Co"


def test_inactive_csm_cannot_be_chosen(client, manager):
    gone = UserFactory(role=User.Role.CSM, team=manager.team, is_active=False)
    client.force_login(manager)
    response = client.post("/accounts/new/", form_data(csm=str(gone.pk)))
    assert response.status_code == 400 and "csm" in response.context["form"].errors


def test_a_csm_edits_an_account_but_cannot_move_it_to_another_owner_or_team(client, csm, teammate, other_csm):
    account = AccountFactory(csm=csm, name="Hangzhou Steel")
    client.force_login(csm)
    form = client.get(f"/accounts/{account.pk}/edit/").context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data.update(name="Hangzhou Steel Group", csm=other_csm.pk, team=other_csm.team_id)
    response = client.post(f"/accounts/{account.pk}/edit/", data)
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.name == "Hangzhou Steel Group"
    assert (account.csm_id, account.team_id) == (csm.pk, csm.team_id)


def test_a_manager_assigns_only_within_the_team(client, manager, teammate, other_csm):
    account = AccountFactory(csm=teammate)
    client.force_login(manager)
    form = client.get(f"/accounts/{account.pk}/edit/").context["form"]
    assert other_csm not in form.fields["csm"].queryset and teammate in form.fields["csm"].queryset
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data["csm"] = other_csm.pk
    response = client.post(f"/accounts/{account.pk}/edit/", data)
    assert response.status_code == 400 and "csm" in response.context["form"].errors
    account.refresh_from_db()
    assert account.csm_id == teammate.pk
