"""`make bench`, part 2: usage ingestion rate through the bulk API's code path.

Creates a fresh database with 1,000 accounts and no demo data (SQLite under var/ unless
BENCH_DATABASE_URL names a server, then `<url>_ingest`, dropped and created each run),
generates events spread over the last 90 days (`--days`), and posts them in requests of 10,000
through `health.ingest.usage_events_ingest_json`, the function the API view calls with
the request body (JSON parsing, validation, duplicate check, insert, rollup). Only the
calls are timed, not the generation of the payloads. Then posts everything again (all
duplicates), and checks the rollup against the raw events.

    .venv/bin/python bench/ingest.py                       # 200,000 events, SQLite
    .venv/bin/python bench/ingest.py --events 1000000
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/cs_bench .venv/bin/python bench/ingest.py
"""

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET = 20_000  # events/s, issue 7 part 9
EVENT_TYPES = [
    "login", "report_viewed", "report_exported", "dashboard_shared", "invoice_created", "api_call",
    "workflow_run", "user_invited", "search", "comment_added", "file_uploaded", "integration_synced",
]  # fmt: skip


def configure() -> None:
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        os.environ["DATABASE_URL"] = f"{url}_ingest"
    else:
        path = ROOT / "var" / "bench-ingest.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "cs_platform.settings",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "testserver",
            "SECURE_SSL_REDIRECT": "false",
            "STATIC_MANIFEST": "false",
            "LOG_LEVEL": "WARNING",
            # Late events queue a rescoring task; in memory it goes away with the process
            # instead of waiting in the dev broker for the next `make run`.
            "CELERY_BROKER_URL": "memory://",
        }
    )


def _recreate_pg_database(settings_dict) -> None:
    import psycopg2

    params = {k: v for k, v in {
        "host": settings_dict["HOST"], "port": settings_dict["PORT"],
        "user": settings_dict["USER"], "password": settings_dict["PASSWORD"],
    }.items() if v}  # fmt: skip
    conn = psycopg2.connect(dbname="postgres", **params)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{settings_dict["NAME"]}"')
        cur.execute(f'CREATE DATABASE "{settings_dict["NAME"]}"')
    conn.close()


def prepare(accounts: int):
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Account
    from people.models import User

    if connection.vendor == "postgresql":
        _recreate_pg_database(connection.settings_dict)
    call_command("migrate", verbosity=0)
    Account.objects.bulk_create(
        [Account(external_id=f"BENCH-{i:05d}", name=f"Bench account {i}") for i in range(accounts)],
        batch_size=1000,
    )
    return User.objects.create(username="bench-telemetry", role=User.Role.INTEGRATION)


def _user_id(rng: random.Random, account: int) -> str:
    return f"{account}-u{rng.randrange(25)}"


def payload(
    chunk: int,
    size: int,
    accounts: int,
    now: dt.datetime,
    days: int = 90,
    *,
    account_prefix: str = "BENCH-",
    event_types: list[str] = EVENT_TYPES,
    id_prefix: str = "bench-",
    user_id=_user_id,
) -> bytes:
    """The body of request number `chunk`: the same bytes every time it is asked for.
    bench/health.py shapes it for its own accounts and event types."""
    rng = random.Random(chunk)
    first = chunk * size
    events = []
    for n in range(first, first + size):
        account = rng.randrange(accounts)
        events.append(
            {
                "account_external_id": f"{account_prefix}{account:05d}",
                "event_type": event_types[min(int(rng.expovariate(0.35)), len(event_types) - 1)],
                "occurred_at": (now - dt.timedelta(seconds=rng.randrange(days * 86400))).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "user_id": user_id(rng, account),
                "value": rng.choice((1, 1, 1, 2, 5, 0.5)),
                "event_id": f"{id_prefix}{n:010d}",
            }
        )
    return json.dumps(events).encode()


def post_all(
    total: int, size: int, accounts: int, now: dt.datetime, days: int, by, **shape
) -> tuple[float, list[float], int, int]:
    """Post `total` events in requests of `size`; only the calls are timed. `shape` goes to
    `payload`."""
    from health.ingest import usage_events_ingest_json

    elapsed, per_request, accepted, duplicates = 0.0, [], 0, 0
    for chunk in range((total + size - 1) // size):
        body = payload(chunk, min(size, total - chunk * size), accounts, now, days, **shape)
        start = time.perf_counter()
        result = usage_events_ingest_json(body, by=by)
        took = time.perf_counter() - start
        elapsed += took
        per_request.append(took)
        accepted += result.accepted
        duplicates += result.duplicates
    return elapsed, per_request, accepted, duplicates


def rollup_check() -> tuple[int, bool]:
    """Rollup row count, and whether it equals a recomputation from the raw events."""
    from django.db.models import Count, Q, Sum
    from django.db.models.functions import TruncDate
    from django.utils import timezone

    from health.models import UsageDaily, UsageEvent

    expected = {
        (r["account_id"], r["day"], r["event_type"]): (r["n"], round(r["s"], 6), r["u"])
        for r in UsageEvent.objects.annotate(day=TruncDate("occurred_at", tzinfo=timezone.get_default_timezone()))
        .values("account_id", "day", "event_type")
        .annotate(n=Count("id"), s=Sum("value"), u=Count("user_id", distinct=True, filter=~Q(user_id="")))
        .order_by()
    }
    actual = {
        (r.account_id, r.day, r.event_type): (r.events, round(r.value_sum, 6), r.distinct_users)
        for r in UsageDaily.objects.all()
    }
    return len(actual), actual == expected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=10_000, help="events per request (at most 10,000)")
    parser.add_argument(
        "--days", type=int, default=90, help="spread of the events back from now (fewer days: denser rollup rows)"
    )
    args = parser.parse_args()
    configure()
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    by = prepare(args.accounts)
    now = timezone.now().replace(microsecond=0)
    print(
        f"\n== usage ingestion: {args.events:,} events, {args.accounts:,} accounts, "
        f"{args.batch:,} per request, over {args.days} days, {connection.vendor}"
    )
    elapsed, per_request, accepted, duplicates = post_all(args.events, args.batch, args.accounts, now, args.days, by)
    rate = args.events / elapsed
    print(
        f"new events     {rate:>10,.0f} events/s  ({elapsed:.1f} s; median request "
        f"{statistics.median(per_request):.2f} s, worst {max(per_request):.2f} s; "
        f"accepted {accepted:,}, duplicates {duplicates:,})"
    )
    again, per_request, accepted_again, duplicates_again = post_all(
        args.events, args.batch, args.accounts, now, args.days, by
    )
    print(
        f"re-post        {args.events / again:>10,.0f} events/s  ({again:.1f} s; median request "
        f"{statistics.median(per_request):.2f} s; accepted {accepted_again:,}, duplicates {duplicates_again:,})"
    )
    rows, right = rollup_check()
    print(f"rollup rows    {rows:>10,}  (equals a recomputation from raw events: {'yes' if right else 'NO'})")
    print(f"target         {TARGET:>10,} events/s: {'met' if rate >= TARGET else 'NOT met'} (x{rate / TARGET:.2f})")
    ok = right and accepted == args.events and accepted_again == 0 and duplicates_again == args.events
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
