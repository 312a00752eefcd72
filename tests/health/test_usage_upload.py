"""/health/usage/upload/: managers and admins load usage events from a CSV file."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from health.models import UsageDaily, UsageEvent
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

URL = "/health/usage/upload/"
HEADER = "account_external_id,event_type,occurred_at,user_id,value,event_id\n"


def csv_file(text: str, name: str = "usage.csv", encoding: str = "utf-8") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


@pytest.fixture
def team_account(csm):
    return AccountFactory(external_id="CRM-1", csm=csm)


def upload(client, text, **kwargs):
    return client.post(URL, {"file": csv_file(text, **kwargs)})


def test_a_manager_uploads_events_of_their_team_and_sees_the_counts(client, manager, team_account):
    client.force_login(manager)
    text = (
        HEADER + "CRM-1,login,2025-03-01T09:30:00+08:00,u1,,e1\n"
        "CRM-1,login,2025-03-01 10:00:00,u2,2.5,e2\n"
        "\n"  # blank lines are skipped
        "CRM-1,export,2025-03-01T11:00:00Z,,3,e3\n"
    )
    response = upload(client, text)
    assert response.status_code == 200
    assert (response.context["result"].accepted, response.context["result"].duplicates) == (3, 0)
    assert b'data-count="accepted">3<' in response.content
    assert UsageEvent.objects.count() == 3 and UsageDaily.objects.count() == 2
    assert UsageEvent.objects.get(event_id="e1").value == 1

    again = upload(client, text)
    assert (again.context["result"].accepted, again.context["result"].duplicates) == (0, 3)
    assert UsageEvent.objects.count() == 3


def test_the_page_shows_the_form_and_columns(client, manager):
    client.force_login(manager)
    response = client.get(URL)
    assert response.status_code == 200
    assert b"account_external_id" in response.content and b'type="file"' in response.content


def test_a_bad_row_stores_nothing_and_the_page_names_line_and_column(client, manager, team_account):
    client.force_login(manager)
    text = (
        HEADER + "CRM-1,login,2025-03-01T09:30:00Z,u1,1,e1\n"
        "CRM-1,login,yesterday,u1,1,e2\n"
        "CRM-1,login,2025-03-01T09:30:00Z,u1,lots,e3\n"
    )
    response = upload(client, text)
    assert response.status_code == 400
    assert [row["line"] for row in response.context["errors"]] == [3, 4]
    assert response.context["errors"][0]["messages"][0][0] == "occurred_at"
    assert response.context["errors"][1]["messages"] == [("value", "A number is required.")]
    assert b"Nothing was stored" in response.content
    assert not UsageEvent.objects.exists()


def test_rows_for_another_teams_account_are_errors_for_a_manager(client, manager, team_account, other_csm):
    AccountFactory(external_id="CRM-9", csm=other_csm)
    client.force_login(manager)
    response = upload(
        client, HEADER + "CRM-1,login,2025-03-01T09:30:00Z,u1,1,e1\nCRM-9,login,2025-03-01T09:30:00Z,u1,1,e2\n"
    )
    assert response.status_code == 400
    assert response.context["errors"] == [{"line": 3, "messages": [("account_external_id", "Unknown account.")]}]
    assert not UsageEvent.objects.exists()


def test_an_admin_uploads_for_any_account(client, admin_user, other_csm):
    AccountFactory(external_id="CRM-9", csm=other_csm)
    client.force_login(admin_user)
    response = upload(client, HEADER + "CRM-9,login,2025-03-01T09:30:00Z,u1,1,e1\n")
    assert response.context["result"].accepted == 1


def test_only_the_first_50_errors_are_listed(client, manager, team_account):
    client.force_login(manager)
    rows = "".join(f"CRM-1,login,bad,u1,1,e{n}\n" for n in range(80))
    response = upload(client, HEADER + rows)
    assert len(response.context["errors"]) == 50 and response.context["error_count"] == 80
    assert not UsageEvent.objects.exists()


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        ("", "usage.csv", "file is empty."),
        ("\n\n", "usage.csv", "The file is empty."),
        ("account_external_id,event_type\nCRM-1,login\n", "usage.csv", "Missing required columns"),
        (HEADER, "usage.csv", "no data rows"),
        (HEADER + "CRM-1,login,2025-03-01T09:30:00Z,u1,1,e1\n", "usage.xlsx", "Upload a .csv file"),
    ],
)
def test_a_bad_file_is_refused_with_a_message(client, manager, team_account, text, name, message):
    client.force_login(manager)
    response = upload(client, text, name=name)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["file"])
    assert not UsageEvent.objects.exists()


def test_binary_garbage_is_refused_not_a_crash(client, manager):
    client.force_login(manager)
    response = client.post(URL, {"file": SimpleUploadedFile("usage.csv", b"\x00\x01\xff" * 100)})
    assert response.status_code == 400
    assert response.context["form"].errors["file"]


def test_a_gb18030_file_is_read(client, manager, csm):
    AccountFactory(external_id="客户-1", csm=csm)
    client.force_login(manager)
    response = upload(client, HEADER + "客户-1,登录,2025-03-01T09:30:00Z,张三,1,e1\n", encoding="gb18030")
    assert response.context["result"].accepted == 1
    assert UsageEvent.objects.get().event_type == "登录"


def test_more_than_ten_thousand_rows_are_refused(client, manager, team_account):
    client.force_login(manager)
    rows = "".join(f"CRM-1,login,2025-03-01T09:30:00Z,u1,1,e{n}\n" for n in range(10_001))
    response = upload(client, HEADER + rows)
    assert response.status_code == 400
    assert "more than 10,000 rows" in " ".join(response.context["form"].errors["file"])


def test_csms_do_not_get_the_page(client, csm):
    client.force_login(csm)
    assert client.get(URL).status_code == 404
    assert client.post(URL, {"file": csv_file(HEADER)}).status_code == 404


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]
