"""A real Celery worker process, on the configured broker (Redis in CI, the filesystem
broker by default), runs a real task against the test database."""

import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from cs_platform.celery import app as celery_app
from renewals.models import Renewal
from renewals.tasks import renewals_sync_task
from tests.conftest import skip_or_fail
from tests.factories import AccountFactory, SubscriptionFactory

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _test_database_url() -> str:
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def worker_queue():
    """Start `celery worker` on a queue of its own, so no other worker takes our task."""
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:
        skip_or_fail(f"broker {celery_app.conf.broker_url} unreachable: {exc}")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": _test_database_url()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "cs_platform", "worker", "--pool=solo", "-Q", queue,
         "--without-mingle", "--without-gossip", "--without-heartbeat", "-l", "info", "-n", f"{queue}@%h"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        yield queue
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        print(out[-4000:])


def test_real_worker_syncs_renewals_and_a_second_run_changes_nothing(worker_queue):
    today = timezone.localdate()
    account = AccountFactory()
    SubscriptionFactory(account=account, mrr=800, end_date=today + dt.timedelta(days=40))
    SubscriptionFactory(account=account, mrr=200, end_date=today + dt.timedelta(days=40))

    first = renewals_sync_task.apply_async(args=[today.isoformat()], queue=worker_queue)
    assert first.get(timeout=90) == {"terms": 1, "created": 1, "refreshed": 1}
    assert first.state == "SUCCESS"
    renewal = Renewal.objects.get(account=account)
    assert renewal.due_date == today + dt.timedelta(days=40) and renewal.forecast_mrr == 1000

    second = renewals_sync_task.apply_async(args=[today.isoformat()], queue=worker_queue)
    assert second.get(timeout=90)["created"] == 0
    assert Renewal.objects.count() == 1
