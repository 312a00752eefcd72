"""Import of accounts, stakeholders and subscriptions from CSV or Excel (issue 4, item 6)."""

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from accounts import imports
from accounts.models import Account, AccountStageChange, CustomerFile, Stakeholder
from renewals.models import Renewal, Subscription
from tests.factories import (
    AccountFactory,
    CustomerFileFactory,
    ProductFactory,
    StakeholderFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# Most SQL queries the preview page may run, whatever the number of rows: session, user,
# the reads of accounts, users and teams, the rolled-back transaction and the page's own.
PREVIEW_QUERY_BUDGET = 12

ACCOUNT_HEADER = ["external_id", "name", "industry", "employee_count", "csm", "lifecycle_stage"]


@pytest.fixture(autouse=True)
def _upload_dir(settings, tmp_path):
    settings.ACCOUNT_IMPORT_DIR = tmp_path / "imports"


def csv_file(rows, *, encoding="utf-8-sig", name="data.csv"):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode(encoding), content_type="text/csv")


def xlsx_file(rows, *, name="data.xlsx"):
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def upload(client, kind, file):
    return client.post("/accounts/import/", {"kind": kind, "file": file})


def apply(client):
    return client.post("/accounts/import/apply/", {"token": client.session["account_import"]["token"]})


def upload_and_apply(client, kind, file):
    response = upload(client, kind, file)
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    preview = client.get("/accounts/import/preview/")
    assert preview.status_code == 200
    return preview, apply(client)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


# ------------------------------------------------------------------ accounts


def test_manager_imports_accounts_from_csv_and_reimport_updates_by_external_id(client, manager, csm):
    client.force_login(manager)
    rows = [
        ACCOUNT_HEADER,
        ["CRM-1", "Hangzhou Steel", "Manufacturing", "1,200", "csm.li", "onboarding"],
        ["CRM-2", "Northwind", "retail", "", "", "Adoption"],
    ]
    upload(client, "accounts", csv_file(rows))
    preview = client.get("/accounts/import/preview/")
    assert preview.context["counts"] == {"new": 2, "update": 0, "skip": 0, "error": 0}
    assert Account.objects.count() == 0  # the preview changed nothing
    applied = apply(client)
    assert applied.status_code == 302 and applied.url == "/accounts/"
    assert "Imported: 2 new, 0 updated, 0 unchanged." in messages_of(applied)

    steel = Account.objects.get(external_id="CRM-1")
    assert (steel.name, steel.industry, steel.employee_count, steel.csm, steel.team) == (
        "Hangzhou Steel", "manufacturing", 1200, csm, manager.team,
    )  # fmt: skip
    assert steel.lifecycle_stage == "onboarding"
    assert Account.objects.get(external_id="CRM-2").team == manager.team  # a manager's account lands in their team
    assert CustomerFile.objects.filter(account=steel).exists()
    assert AccountStageChange.objects.filter(account=steel, to_stage="onboarding").exists()

    rows[1][1], rows[1][5] = "Hangzhou Steel Group", "adoption"
    preview, applied = upload_and_apply(client, "accounts", csv_file(rows))
    assert preview.context["counts"] == {"new": 0, "update": 1, "skip": 1, "error": 0}
    assert "Imported: 0 new, 1 updated, 1 unchanged." in messages_of(applied)
    assert Account.objects.count() == 2
    steel.refresh_from_db()
    assert steel.name == "Hangzhou Steel Group" and steel.lifecycle_stage == "adoption"
    assert AccountStageChange.objects.filter(account=steel, from_stage="onboarding", to_stage="adoption").exists()


def test_admin_imports_accounts_from_xlsx_and_reimport_updates(client, admin_user, csm, team):
    client.force_login(admin_user)
    rows = [
        [*ACCOUNT_HEADER, "team", "product_view"],
        ["X-1", "深圳华星科技有限公司", "technology", 80, "csm.li", "kickoff", "", "Vertical system"],
        ["X-2", "Contoso", "finance", 5000.0, "", "mature", "East", ""],
    ]
    preview, applied = upload_and_apply(client, "accounts", xlsx_file(rows))
    assert preview.context["counts"]["new"] == 2
    assert applied.status_code == 302
    huaxing = Account.objects.get(external_id="X-1")
    assert huaxing.name == "深圳华星科技有限公司" and huaxing.team == team and huaxing.product_view == "vertical"
    assert Account.objects.get(external_id="X-2").employee_count == 5000

    rows[2][1] = "Contoso Bank"
    _preview, applied = upload_and_apply(client, "accounts", xlsx_file(rows))
    assert Account.objects.count() == 2
    assert Account.objects.get(external_id="X-2").name == "Contoso Bank"


def test_a_file_with_one_bad_row_changes_nothing_and_shows_the_row_error(client, manager, csm):
    existing = AccountFactory(external_id="CRM-9", name="Old name", csm=csm)
    client.force_login(manager)
    rows = [
        ACCOUNT_HEADER,
        ["CRM-9", "New name", "retail", "", "csm.li", ""],
        ["CRM-10", "Fine Co", "retail", "", "csm.li", ""],
        ["CRM-11", "Bad Co", "retail", "many", "li.na", "sleeping"],
    ]
    assert upload(client, "accounts", csv_file(rows)).status_code == 302
    preview = client.get("/accounts/import/preview/")
    html = preview.content.decode()
    assert preview.context["counts"] == {"new": 1, "update": 1, "skip": 0, "error": 1}
    assert "no CSM with username &#x27;li.na&#x27;" in html
    bad = preview.context["report"].error_rows[0]
    assert bad.number == 4
    assert {column for column, _message in bad.errors} == {"csm", "employee_count", "lifecycle_stage"}
    assert "Row 4, csm: no CSM with username 'li.na'" in preview.context["report"].messages()
    assert "Apply" not in html

    response = apply(client)  # even when posted anyway
    assert response.status_code == 400
    existing.refresh_from_db()
    assert existing.name == "Old name" and Account.objects.count() == 1


def test_apply_service_is_all_or_nothing(manager, csm):
    rows = [["CRM-20", "Good", "csm.li"], ["CRM-21", "", "csm.li"]]
    dataset = imports.read_dataset(_csv_bytes([["external_id", "name", "csm"], *rows]), ".csv")
    with pytest.raises(imports.ImportFailed) as failure:
        imports.import_apply(user=manager, kind="accounts", dataset=dataset)
    assert failure.value.report.error_rows[0].errors == [("name", "This field cannot be blank.")]
    assert not Account.objects.exists()


def test_a_row_twice_in_one_file_is_an_error(client, manager, csm):
    client.force_login(manager)
    rows = [["external_id", "name", "csm"], ["D-1", "One", "csm.li"], ["D-1", "Two", "csm.li"]]
    upload(client, "accounts", csv_file(rows))
    report = client.get("/accounts/import/preview/").context["report"]
    assert report.messages() == ["Row 3, external_id: Row 2 of the file is about the same record."]


def test_gb18030_csv_is_read(client, manager, csm):
    client.force_login(manager)
    rows = [["external_id", "name", "region", "csm"], ["CN-1", "杭州钢铁集团", "华东", "csm.li"]]
    _preview, applied = upload_and_apply(client, "accounts", csv_file(rows, encoding="gb18030"))
    assert applied.status_code == 302
    account = Account.objects.get(external_id="CN-1")
    assert (account.name, account.region) == ("杭州钢铁集团", "华东")


# ------------------------------------------------------------------ access


def test_csm_gets_404_on_every_import_page(client, csm):
    client.force_login(csm)
    assert client.get("/accounts/import/").status_code == 404
    assert client.post("/accounts/import/", {"kind": "accounts"}).status_code == 404
    assert client.get("/accounts/import/preview/").status_code == 404
    assert client.post("/accounts/import/apply/", {"token": "x"}).status_code == 404
    assert client.get("/accounts/import/template/accounts.csv").status_code == 404


def test_import_link_shows_only_to_importers(client, csm, manager):
    client.force_login(csm)
    assert 'href="/accounts/import/"' not in client.get("/accounts/").content.decode()
    client.force_login(manager)
    assert 'href="/accounts/import/"' in client.get("/accounts/").content.decode()


def test_manager_cannot_import_rows_for_another_teams_account(client, manager, csm, other_csm):
    theirs = AccountFactory(external_id="WEST-1", name="Theirs", csm=other_csm)
    mine = AccountFactory(external_id="EAST-1", name="Mine", csm=csm)
    client.force_login(manager)

    rows = [["external_id", "name"], ["WEST-1", "Taken over"]]
    upload(client, "accounts", csv_file(rows))
    report = client.get("/accounts/import/preview/").context["report"]
    assert report.messages() == ["Row 2, external_id: unknown account external_id 'WEST-1'"]

    rows = [["account_external_id", "name"], ["WEST-1", "Spy"], ["NOPE-1", "Ghost"]]
    upload(client, "stakeholders", csv_file(rows))
    report = client.get("/accounts/import/preview/").context["report"]
    assert report.messages() == [  # the same words whether it exists or not
        "Row 2, account_external_id: unknown account external_id 'WEST-1'",
        "Row 3, account_external_id: unknown account external_id 'NOPE-1'",
    ]

    rows = [["external_id", "name", "csm"], ["EAST-1", "Mine", "csm.zhao"]]  # would hand it to the West team
    upload(client, "accounts", csv_file(rows))
    report = client.get("/accounts/import/preview/").context["report"]
    assert report.messages() == ["Row 2, team: Accounts you import must belong to your team (East)."]
    apply(client)

    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert theirs.name == "Theirs" and mine.csm == csm
    assert not Stakeholder.objects.exists()


def test_an_upload_cannot_be_applied_by_another_user(client, manager, csm, admin_user):
    client.force_login(manager)
    upload(client, "accounts", csv_file([["external_id", "name", "csm"], ["S-1", "Secret", "csm.li"]]))
    token = client.session["account_import"]["token"]

    other = Client()
    other.force_login(admin_user)
    response = other.post("/accounts/import/apply/", {"token": token})
    assert response.status_code == 302 and response.url == "/accounts/import/"
    assert "This upload is no longer available. Upload the file again." in messages_of(response)
    assert not Account.objects.exists()

    other_manager = UserFactory(username="mgr.two", role="manager", team=manager.team)
    other.force_login(other_manager)
    session = other.session
    session["account_import"] = dict(client.session["account_import"])  # even with the token in its session
    session.save()
    other.post("/accounts/import/apply/", {"token": token})
    assert not Account.objects.exists()

    response = client.post("/accounts/import/apply/", {"token": "0" * 32})  # a wrong token from the owner
    assert response.status_code == 302 and not Account.objects.exists()
    assert apply(client).status_code == 302 and Account.objects.filter(external_id="S-1").exists()


# ------------------------------------------------------------------ stakeholders and subscriptions


def test_stakeholders_import_creates_then_updates(client, manager, csm):
    account = AccountFactory(external_id="ACC-1", csm=csm)
    CustomerFileFactory(account=account)
    StakeholderFactory(account=account, name="Li Lei", title="IT lead", role="it")
    client.force_login(manager)
    rows = [
        ["account_external_id", "name", "title", "email", "role", "influence", "relationship"],
        ["ACC-1", "Chen Jing", "CIO", "chen@example.com", "Decision maker", "high", "Approves of us"],
        ["ACC-1", "Li Lei", "CTO", "", "it", "", ""],
    ]
    preview, applied = upload_and_apply(client, "stakeholders", csv_file(rows))
    assert preview.context["counts"] == {"new": 1, "update": 1, "skip": 0, "error": 0}
    assert applied.status_code == 302
    chen = Stakeholder.objects.get(name="Chen Jing")
    assert (chen.role, chen.influence, chen.relationship) == ("decision_maker", "high", "approves")
    assert Stakeholder.objects.get(name="Li Lei").title == "CTO"
    account.refresh_from_db()
    assert account.completeness == 10  # a decision maker is part of the customer file

    rows[1][4] = "chairman"
    rows[1][3] = "not-an-email"
    upload(client, "stakeholders", csv_file(rows))
    messages = client.get("/accounts/import/preview/").context["report"].messages()
    assert "Row 2, email: Enter a valid email address." in messages
    assert any(m.startswith("Row 2, role: 'chairman' is not one of: decision_maker") for m in messages)
    assert Stakeholder.objects.count() == 2


def test_subscriptions_import_creates_updates_and_syncs_renewals(client, manager, csm):
    account = AccountFactory(external_id="ACC-7", csm=csm)
    ProductFactory(code="crm-pro", name="CRM Pro")
    client.force_login(manager)
    today = timezone.localdate()
    start, end = today - dt.timedelta(days=30), today + dt.timedelta(days=335)
    rows = [
        ["account_external_id", "product", "start_date", "end_date", "mrr", "quantity", "discount"],
        ["ACC-7", "CRM Pro", start.isoformat(), end.isoformat(), "20,000", "50", "5%"],
    ]
    preview, applied = upload_and_apply(client, "subscriptions", csv_file(rows))
    assert preview.context["counts"]["new"] == 1
    assert applied.status_code == 302
    sub = Subscription.objects.get()
    assert (sub.mrr, sub.quantity, sub.discount, sub.end_date) == (Decimal("20000"), 50, Decimal("5"), end)
    account.refresh_from_db()
    assert account.tier == "key"  # ARR 240,000
    assert Renewal.objects.filter(account=account, due_date=end).exists()

    rows[1][4] = "90000"
    _preview, applied = upload_and_apply(client, "subscriptions", xlsx_file(rows))
    assert Subscription.objects.count() == 1 and Subscription.objects.get().mrr == 90000
    account.refresh_from_db()
    assert account.tier == "strategic"


def test_subscription_rows_name_unknown_products_and_bad_dates(client, manager, csm):
    AccountFactory(external_id="ACC-8", csm=csm)
    SubscriptionFactory(account__csm=csm)  # an existing product and subscription elsewhere
    client.force_login(manager)
    rows = [
        ["account_external_id", "product", "start_date", "end_date", "mrr"],
        ["ACC-8", "ERP Max", "2025-01-01", "", "100"],
        ["ACC-8", "crm-pro", "2025-13-45", "", "100"],
        ["ACC-8", "CRM Pro", "2025-02-01", "2025-01-01", "-5"],
    ]
    upload(client, "subscriptions", csv_file(rows))
    messages = client.get("/accounts/import/preview/").context["report"].messages()
    assert "Row 2, product: no product called 'ERP Max'" in messages
    assert "Row 3, start_date: '2025-13-45' is not a date; write it as YYYY-MM-DD." in messages
    assert "Row 4, end_date: The end date must be after the start date." in messages
    assert "Row 4, mrr: Ensure this value is greater than or equal to 0." in messages
    assert apply(client).status_code == 400
    assert Subscription.objects.count() == 1


# ------------------------------------------------------------------ bad files


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (SimpleUploadedFile("data.txt", b"external_id,name\n1,A\n"), "is not a .csv or .xlsx file"),
        (SimpleUploadedFile("data.xls", b"\xd0\xcf\x11\xe0"), "is not a .csv or .xlsx file"),
        (SimpleUploadedFile("data.csv", b""), "The submitted file is empty."),
        (SimpleUploadedFile("data.csv", b"\n\n"), "The file is empty."),
        (SimpleUploadedFile("data.csv", b"external_id,name\n"), "The file has a header row but no data rows."),
        (SimpleUploadedFile("data.csv", b"name,region\nA,East\n"), "Missing required columns: external_id."),
        (SimpleUploadedFile("data.csv", b"external_id,name,name\n1,A,B\n"), "more than once: name"),
        (SimpleUploadedFile("data.csv", b"\x00\x01\x02\xff\xfe\x00"), "could not be read as text"),
        (SimpleUploadedFile("data.xlsx", b"PK\x03\x04 not a workbook"), "could not be read as an Excel"),
    ],
)
def test_bad_files_get_a_clear_form_error(client, manager, file, message):
    client.force_login(manager)
    response = upload(client, "accounts", file)
    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors["file"])
    assert "account_import" not in client.session


def test_too_many_rows_and_too_large_files_are_refused(client, manager, monkeypatch):
    client.force_login(manager)
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    rows = [["external_id", "name"]] + [[f"R-{i}", "A"] for i in range(4)]
    response = upload(client, "accounts", csv_file(rows))
    assert "more than 3 rows" in response.context["form"].errors["file"][0]
    monkeypatch.setattr(imports, "MAX_UPLOAD_BYTES", 10)
    response = upload(client, "accounts", csv_file([["external_id", "name"], ["R-1", "A"]]))
    assert "larger than 5 MB" in response.context["form"].errors["file"][0]


def test_unknown_kind_and_missing_upload_do_not_fail(client, manager):
    client.force_login(manager)
    response = client.post("/accounts/import/", {"kind": "invoices"})
    assert response.status_code == 200 and set(response.context["form"].errors) == {"kind", "file"}
    assert client.get("/accounts/import/preview/").status_code == 302
    assert client.post("/accounts/import/apply/", {}).status_code == 302
    assert client.get("/accounts/import/template/invoices.csv").status_code == 404
    assert client.get("/accounts/import/template/accounts.pdf").status_code == 404


# ------------------------------------------------------------------ pages


def test_form_page_offers_templates_that_import_cleanly(client, admin_user):
    client.force_login(admin_user)
    page = client.get("/accounts/import/")
    assert page.status_code == 200 and "/accounts/import/template/subscriptions.xlsx" in page.content.decode()

    response = client.get("/accounts/import/template/accounts.csv")
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0].startswith("external_id,name,industry") and lines[1].startswith("CRM-10001,")

    response = client.get("/accounts/import/template/stakeholders.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in sheet[1]][:2] == ["account_external_id", "name"] and sheet.max_row == 2

    preview, applied = upload_and_apply(
        client, "accounts", SimpleUploadedFile("t.xlsx", client.get("/accounts/import/template/accounts.xlsx").content)
    )
    assert preview.context["counts"]["new"] == 1 and Account.objects.filter(external_id="CRM-10001").exists()


def test_preview_page_shows_counts_and_ignored_columns(client, manager, csm):
    AccountFactory(external_id="P-1", name="Same", csm=csm, industry="retail")
    client.force_login(manager)
    rows = [["external_id", "name", "industry", "colour"], ["P-1", "Same", "retail", "red"], ["P-2", "New", "", ""]]
    upload(client, "accounts", csv_file(rows))
    html = client.get("/accounts/import/preview/").content.decode()
    assert 'data-count="new">1<' in html and 'data-count="skip">1<' in html and 'data-count="error">0<' in html
    assert "will be ignored: colour" in html
    assert 'name="token"' in html


@pytest.mark.parametrize("size", [5, 50])
def test_preview_query_count_does_not_grow_with_rows(client, manager, csm, size, django_assert_max_num_queries):
    for i in range(size // 2):
        AccountFactory(external_id=f"Q-{i}", csm=csm)
    client.force_login(manager)
    rows = [["external_id", "name", "csm", "team"]] + [[f"Q-{i}", f"Name {i}", "csm.li", "East"] for i in range(size)]
    upload(client, "accounts", csv_file(rows))
    with django_assert_max_num_queries(PREVIEW_QUERY_BUDGET):
        response = client.get("/accounts/import/preview/")
    assert response.context["counts"] == {"new": size - size // 2, "update": size // 2, "skip": 0, "error": 0}


def _csv_bytes(rows) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()
