"""`make bench`: server time and SQL queries of the main pages and API lists, on the demo
data, against a baseline measured in the same run.

The baseline is GET /healthz (the full middleware stack plus one query and a broker
ping), so the ratios say how much a page costs beyond the fixed cost of any request on
this machine, and stay comparable between machines. Each size gets its own database
(SQLite under var/ unless BENCH_DATABASE_URL names another), loaded once and reused.

    .venv/bin/python bench/run.py                      # 400 accounts
    .venv/bin/python bench/run.py --accounts 400 2000  # how the figures scale
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/cs_bench .venv/bin/python bench/run.py
"""

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGES = [
    ("baseline: /healthz", "/healthz"),
    ("My work", "/playbooks/my-work/"),
    ("Accounts list", "/accounts/"),
    ("Accounts list, filtered", "/accounts/?health_band=red&ordering=-arr"),
    ("Account 360", "/accounts/{account}/"),
    ("Account stakeholders card", "/accounts/{account}/stakeholders/"),
    ("Account timeline card", "/accounts/{account}/timeline/"),
    ("Account history card", "/accounts/{account}/history/"),
    ("Account health panel", "/health/account/{account}/panel/"),
    ("Renewals pipeline", "/renewals/"),
    ("Handovers", "/handovers/"),
    ("Alerts", "/health/alerts/"),
    ("Dashboard overview", "/dashboards/"),
    ("API accounts, 100", "/api/v1/accounts/?page_size=100"),
    ("Accounts CSV export", "/accounts/?export=csv"),
    ("Accounts Excel export", "/accounts/?export=xlsx"),
    ("API stakeholders, 100", "/api/v1/stakeholders/?page_size=100"),
    ("API activities, 100", "/api/v1/activities/?page_size=100"),
    ("Success plan page", "/playbooks/plans/{plan}/"),
    ("Account plan panel", "/playbooks/account/{account}/plan/"),
    ("Stage report page", "/playbooks/plans/stages/{stage}/report/"),
    ("Stage report PDF", "/playbooks/plans/stages/{stage}/report.pdf"),
    ("Know-how search", "/playbooks/know-how/?q=training"),
    ("Best practices, account", "/playbooks/account/{account}/best-practices/"),
    ("Success paths", "/playbooks/paths/"),
    ("API success plans, 100", "/api/v1/success-plans/?page_size=100"),
    ("API tasks, 100", "/api/v1/tasks/?page_size=100"),
    ("Handover, accepted", "/handovers/{handover}/"),
    ("Kickoff page", "/handovers/kickoffs/{kickoff}/"),
    ("Kickoff minutes PDF", "/handovers/kickoffs/{kickoff}/minutes.pdf"),
    ("Notifications", "/notifications/"),
    ("API handovers, 100", "/api/v1/handovers/?page_size=100"),
]


def configure(accounts: int) -> None:
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        os.environ["DATABASE_URL"] = f"{url}_{accounts}"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{ROOT / 'var' / f'bench-{accounts}.sqlite3'}"
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "cs_platform.settings",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "testserver",
            "SECURE_SSL_REDIRECT": "false",
            "STATIC_MANIFEST": "false",
            "LOG_LEVEL": "WARNING",
        }
    )


def prepare(accounts: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    from demo.services import demo_is_needed, demo_load

    if connection.vendor == "postgresql":
        _create_pg_database(connection.settings_dict)
    call_command("migrate", verbosity=0)
    if demo_is_needed():
        print(f"  loading the demo with {accounts} accounts (once; kept for later runs)...", flush=True)
        demo_load(seed=7, accounts=accounts)


def _create_pg_database(settings_dict) -> None:
    import psycopg2

    params = {k: v for k, v in {
        "host": settings_dict["HOST"], "port": settings_dict["PORT"],
        "user": settings_dict["USER"], "password": settings_dict["PASSWORD"],
    }.items() if v}  # fmt: skip
    conn = psycopg2.connect(dbname="postgres", **params)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [settings_dict["NAME"]])
        if not cur.fetchone():
            cur.execute(f'CREATE DATABASE "{settings_dict["NAME"]}"')
    conn.close()


def measure(client, url: str, repeat: int) -> tuple[float, float, int, int]:
    """Median and worst server time in ms, queries of one request, response status."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm caches, templates and connections
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
    count = len(queries)  # now: the next request resets the log the count is read from
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times), count, response.status_code


def run(accounts: int, repeat: int) -> list[tuple]:
    configure(accounts)
    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise: no collectstatic here
    import django

    django.setup()
    prepare(accounts)

    from django.test import Client

    from accounts.models import Account
    from handover.models import Handover, Kickoff
    from people.models import User
    from playbooks.models import PlanStage, SuccessPlan

    manager = User.objects.get(username="manager")
    account = Account.objects.filter(team=manager.team).order_by("-health_score").first()
    plan = SuccessPlan.objects.filter(account__team=manager.team).order_by("pk").first()
    stage = PlanStage.objects.filter(plan__account__team=manager.team, report__isnull=False).order_by("pk").first()
    handover = Handover.objects.filter(account__team=manager.team, status="accepted").order_by("pk").first()
    kickoff = Kickoff.objects.filter(account__team=manager.team).order_by("pk").first()
    ids = {
        "account": account.pk,
        "plan": plan.pk if plan else 0,
        "stage": stage.pk if stage else 0,
        "handover": handover.pk if handover else 0,
        "kickoff": kickoff.pk if kickoff else 0,
    }
    client = Client()
    client.force_login(manager)
    rows = []
    for label, url in PAGES:
        median, worst, queries, status = measure(client, url.format(**ids), repeat)
        rows.append((label, median, worst, queries, status))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, nargs="+", default=[400])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    if len(args.accounts) > 1:
        # Django is set up once per process: run each size in its own process.
        import subprocess

        return max(
            subprocess.call([sys.executable, __file__, "--accounts", str(n), "--repeat", str(args.repeat)])
            for n in args.accounts
        )
    accounts = args.accounts[0]
    print(f"\n== {accounts} accounts, as the demo manager, {args.repeat} requests each (median, worst)")
    rows = run(accounts, args.repeat)
    baseline = rows[0][1]
    print(f"{'page':<28}{'median ms':>11}{'worst ms':>10}{'x baseline':>12}{'queries':>9}")
    failed = False
    for label, median, worst, queries, status in rows:
        flag = "" if status == 200 else f"  HTTP {status}"
        failed |= status != 200
        print(f"{label:<28}{median:>11.1f}{worst:>10.1f}{median / baseline:>12.1f}{queries:>9}{flag}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
