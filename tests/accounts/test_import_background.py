"""Large imports are applied by a Celery worker while the page follows the task; the
result is the same all-or-nothing import as the inline one."""

import pytest

from accounts.models import Account
from accounts.tasks import import_apply_task
from cs_platform.celery import app
from tests.accounts.test_import import _upload_dir, csv_file, upload  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

HEADER = ["external_id", "name", "industry", "csm"]


@pytest.fixture(autouse=True)
def _large_from_three_rows(settings):
    settings.ACCOUNT_IMPORT_INLINE_ROWS = 2
    yield
    app.control.purge()  # the message the page queued; these tests run the task themselves


def _start(client, rows):
    assert upload(client, "accounts", csv_file([HEADER, *rows])).status_code == 302
    token = client.session["account_import"]["token"]
    response = client.post("/accounts/import/apply/", {"token": token})
    assert response.status_code == 302 and response["Location"] == "/accounts/import/status/"
    return client.session["account_import"]


def _run_the_worker(meta, user):
    """What the worker does with the queued message, here in-process (stored like a worker's result)."""
    args = [user.pk, meta["kind"], meta["token"], meta["extension"]]
    return import_apply_task.apply(args=args, task_id=meta["task_id"]).get()


def test_a_large_file_is_applied_in_the_background_and_the_page_shows_the_result(client, manager, csm):
    client.force_login(manager)
    meta = _start(client, [[f"BG-{i}", f"Background {i}", "retail", csm.username] for i in range(3)])

    waiting = client.get("/accounts/import/status/")
    assert waiting.status_code == 200 and "Importing 3 rows in the background" in waiting.content.decode()
    assert not Account.objects.filter(external_id__startswith="BG-").exists()

    assert _run_the_worker(meta, manager) == {
        "ok": True,
        "errors": [],
        "counts": {"new": 3, "update": 0, "skip": 0, "error": 0},
    }
    done = client.get("/accounts/import/status/", headers={"HX-Request": "true"})
    assert done.status_code == 204 and done["HX-Redirect"] == "/accounts/"
    assert Account.objects.filter(external_id__startswith="BG-", team=csm.team).count() == 3
    assert "account_import" not in client.session


def test_a_large_file_with_one_bad_row_changes_nothing(client, manager, csm):
    client.force_login(manager)
    rows = [[f"BAD-{i}", f"Bad {i}", "retail", csm.username] for i in range(3)] + [["BAD-9", "", "retail", "nobody"]]
    meta = _start(client, rows)
    outcome = _run_the_worker(meta, manager)
    assert outcome["ok"] is False and any("Row 5" in line for line in outcome["errors"])
    response = client.get("/accounts/import/status/")
    assert response.status_code == 302 and response["Location"] == "/accounts/import/"
    assert not Account.objects.filter(external_id__startswith="BAD-").exists()


def test_nobody_else_follows_or_applies_anothers_import(client, manager, csm, admin_user):
    client.force_login(manager)
    meta = _start(client, [[f"MINE-{i}", f"Mine {i}", "retail", csm.username] for i in range(3)])
    client.force_login(admin_user)
    assert client.get("/accounts/import/status/").status_code == 302  # no import of theirs
    # The task itself only reads the upload from the importer's own folder.
    other = import_apply_task.apply(args=[admin_user.pk, meta["kind"], meta["token"], meta["extension"]]).get()
    assert other["ok"] is False and not Account.objects.filter(external_id__startswith="MINE-").exists()
