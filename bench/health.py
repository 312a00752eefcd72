"""`make bench`, part 3: health at scale (issue 7, part 9), on PostgreSQL only.

Generates 10,000 accounts with subscriptions, stakeholders, touches, NPS answers and
invoices, and 5,000,000 usage events over the last 90 days in SQL (INSERT ... SELECT over
generate_series, secondary indexes built after the load), then the daily rollup in one
set-based statement. The database is `<BENCH_DATABASE_URL>_health` (default
postgres://postgres@127.0.0.1:5432/cs_bench_health); it is created and migrated when
missing, and kept: a marker table records what was generated, so later runs reuse it
(`--regenerate` starts over). Then, in one run:

(a) ingestion through the bulk API's code path (`health.ingest.usage_events_ingest_json`
    on bodies of 10,000 events, as bench/ingest.py) into this big database; the events
    are deleted again afterwards and their rollup rows recomputed, so runs stay alike;
(b) one full scoring run, `health.services.health_score_run()` for today: seconds,
    accounts scored, SQL statements;
(c) a naive per-account ORM loop over a sample (queries per account, the measures in
    Python, update_or_create of the HealthScore), scaled up to every active account,
    and checked against what the engine stored;
(d) the floor: one bare aggregate over the rollup rows the default scorecard reads.

    .venv/bin/python bench/health.py
    .venv/bin/python bench/health.py --regenerate --accounts 2000 --events 1000000
"""

import argparse
import datetime as dt
import importlib.util
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pg  # noqa: E402  (bench/, the script's folder, is on sys.path)

TARGET_INGEST = 20_000  # events/s
TARGET_SCORING = 10.0  # seconds for every account
TARGET_FLOOR_RATIO = 3.0  # scoring within 3x of the bare aggregate
EVENT_TYPES = [
    "login", "report_viewed", "dashboard_viewed", "search", "report_exported", "api_call", "workflow_run",
    "user_invited",
]  # fmt: skip


# ------------------------------------------------------------------ generation


class _Step:
    def __init__(self, label: str):
        self.label = label

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            print(f"  {self.label:<52}{time.perf_counter() - self.start:>7.1f} s", flush=True)


def _drop_secondary(cur, table: str) -> list[str]:
    """Drop a table's foreign keys, unique constraints and plain indexes (not its primary
    key) before a bulk load; returns the statements that put them back."""
    cur.execute(
        "SELECT conname, pg_get_constraintdef(oid), contype FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype IN ('u', 'f')",
        [table],
    )
    constraints = cur.fetchall()
    cur.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s AND NOT EXISTS"
        " (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.indexname))::regclass)",
        [table],
    )
    indexes = cur.fetchall()
    for name, _def, _type in constraints:
        cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _def in indexes:
        cur.execute(f'DROP INDEX "{name}"')
    restore = [definition for _name, definition in indexes]
    restore += [f'ALTER TABLE {table} ADD CONSTRAINT "{n}" {d}' for n, d, t in constraints if t == "u"]
    restore += [f'ALTER TABLE {table} ADD CONSTRAINT "{n}" {d}' for n, d, t in constraints if t == "f"]
    return restore


def generate(*, accounts: int, events: int, days: int) -> None:
    from django.conf import settings
    from django.db import connection, transaction

    from accounts.models import Account
    from people.models import Team, User
    from renewals.models import Product

    types = "ARRAY[" + ", ".join(f"'{t}'" for t in EVENT_TYPES) + "]"
    with _Step("team, CSMs, accounts (bulk_create)"):
        team = Team.objects.create(name="Bench team")
        csms = [
            User.objects.create(username=f"bench-csm-{i}", role=User.Role.CSM, team=team, first_name=f"CSM {i}")
            for i in range(2)
        ]
        User.objects.create(username="bench-manager", role=User.Role.MANAGER, team=team)
        User.objects.create(username="bench-telemetry", role=User.Role.INTEGRATION)
        stages = [Account.Stage.ONBOARDING, Account.Stage.ADOPTION, Account.Stage.MATURE, Account.Stage.RENEWAL]
        Account.objects.bulk_create(
            [
                Account(
                    external_id=f"HB-{i:05d}",
                    name=f"Bench account {i:05d}",
                    csm=csms[i % 2],
                    team=team,
                    lifecycle_stage=stages[i % 4],
                    completeness=(i * 37) % 11 * 10,
                )  # fmt: skip
                for i in range(accounts)
            ],
            batch_size=2000,
        )
        product = Product.objects.create(code="bench-suite", name="Bench suite", product_line="suite")

    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        cur.execute("SET maintenance_work_mem = '512MB'")
        cur.execute("SET work_mem = '256MB'")
        cur.execute("SELECT setseed(0.42)")
        # Each account's shape: seats, how much it uses the product (4% not at all), how
        # many event types, whether its usage grows or fades (skew), and its users.
        cur.execute(
            """
            CREATE TEMP TABLE hb_profile AS
            SELECT id AS account_id, substr(external_id, 4)::int AS idx,
                   (5 + floor(power(random(), 2) * 195))::int AS seats,
                   CASE WHEN random() < 0.04 THEN 0.0 ELSE exp(random() * 3.0) END AS weight,
                   (1 + floor(random() * 8))::int AS breadth,
                   0.5 + random() * 1.5 AS skew,
                   0.2 + random() * 0.8 AS user_share,
                   floor(random() * 9)::int AS touches, floor(random() * 3)::int AS answers,
                   0 AS n, 1 AS users
            FROM accounts_account ORDER BY id
            """
        )
        cur.execute("UPDATE hb_profile SET users = greatest(1, round(seats * user_share))")
        cur.execute(
            "UPDATE hb_profile p SET n = floor(%s * p.weight / t.s) FROM (SELECT sum(weight) AS s FROM hb_profile) t",
            [events],
        )
        cur.execute(
            """
            UPDATE hb_profile p SET n = n + 1
            FROM (SELECT account_id, row_number() OVER (ORDER BY weight DESC, account_id) AS rn FROM hb_profile) o,
                 (SELECT %s - sum(n) AS rest FROM hb_profile) r
            WHERE o.account_id = p.account_id AND o.rn <= r.rest
            """,
            [events],
        )
        with _Step("subscriptions, stakeholders, touches, NPS, invoices"), transaction.atomic():
            cur.execute(
                """
                    INSERT INTO renewals_subscription
                        (account_id, product_id, start_date, end_date, mrr, quantity, bill_period_months, discount)
                    SELECT account_id, %(product)s, current_date - (30 + floor(random() * 700))::int,
                           current_date + (1 + floor(random() * 365))::int, seats * 50, seats, 12, 0
                    FROM hb_profile
                    UNION ALL
                    SELECT account_id, %(product)s, current_date - (1 + floor(random() * 200))::int, NULL,
                           500, 10, 12, 0
                    FROM hb_profile WHERE random() < 0.1
                    """,
                {"product": product.pk},
            )
            cur.execute(
                """
                    INSERT INTO accounts_stakeholder (account_id, name, title, email, phone, role, relationship,
                        influence, goals, demands, personality, is_active, left_on)
                    SELECT account_id, r.name || ' ' || idx, '', '', '', r.role, 'understands', 'high', '', '', '',
                           true, NULL
                    FROM hb_profile, (VALUES ('decision_maker', 'Decision maker'), ('day_to_day', 'Contact'))
                         AS r (role, name)
                    """
            )
            cur.execute(
                """
                    INSERT INTO accounts_activity (account_id, kind, occurred_at, summary, next_step, created_by_id)
                    SELECT account_id,
                           (ARRAY['call', 'email', 'meeting', 'check_in', 'business_review', 'training',
                                  'executive_visit', 'complaint'])[1 + floor(power(random(), 1.4) * 8)::int],
                           now() - random() * interval '150 days', 'Bench touch', '', NULL
                    FROM hb_profile, generate_series(1, touches)
                    """
            )
            cur.execute(
                """
                    INSERT INTO accounts_activity_stakeholders (activity_id, stakeholder_id)
                    SELECT a.id, s.id FROM accounts_activity a
                    JOIN accounts_stakeholder s ON s.account_id = a.account_id
                    WHERE a.kind IN ('call', 'meeting', 'business_review') AND random() < 0.3
                    """
            )
            cur.execute(
                """
                    INSERT INTO health_surveyresponse (account_id, stakeholder_id, kind, score, comment,
                        responded_on, external_id, created_by_id, created_at)
                    SELECT account_id, NULL, 'nps', floor(random() * 11)::int, '',
                           current_date - (1 + floor(random() * 240))::int, NULL, NULL, now()
                    FROM hb_profile, generate_series(1, answers)
                    """
            )
            cur.execute(
                """
                    INSERT INTO renewals_invoice (account_id, number, external_id, amount, issued_on, due_date,
                        paid_amount, paid_on)
                    SELECT account_id, 'HB-' || idx || '-' || g, NULL, x.amount, x.due - 30, x.due,
                           CASE WHEN x.paid THEN x.amount ELSE 0 END, CASE WHEN x.paid THEN x.due - 3 END
                    FROM hb_profile, generate_series(1, 2) g,
                         LATERAL (SELECT (1000 + floor(random() * 50000))::numeric AS amount,
                                         current_date + 30 - (floor(random() * 150))::int AS due,
                                         random() < 0.85 AS paid
                                  WHERE g > 0) x
                    """
            )
        with _Step(f"{events:,} usage events (INSERT ... SELECT)"):
            restore = _drop_secondary(cur, "health_usageevent")
            cur.execute(
                f"""
                INSERT INTO health_usageevent (account_id, event_type, occurred_at, user_id, value, event_id)
                SELECT p.account_id,
                       ({types})[1 + least(p.breadth - 1, floor(power(random(), 1.6) * p.breadth)::int)],
                       date_trunc('second', now() - power(random(), p.skew) * interval '{days} days'),
                       CASE WHEN random() < 0.02 THEN ''
                            ELSE 'u' || p.idx || '-' || floor(power(random(), 1.5) * p.users)::int END,
                       CASE WHEN random() < 0.8 THEN 1 ELSE round((random() * 10)::numeric, 1)::float END,
                       'g' || p.idx || '-' || g
                FROM hb_profile p, generate_series(1, p.n) g
                """
            )
        with _Step("their indexes and constraints"):
            for statement in restore:
                cur.execute(statement)
        with _Step("the daily rollup (one INSERT ... SELECT)"):
            restore = _drop_secondary(cur, "health_usagedaily")
            cur.execute(
                """
                INSERT INTO health_usagedaily (account_id, day, event_type, events, value_sum, distinct_users)
                SELECT account_id, (occurred_at AT TIME ZONE %s)::date, event_type, count(*), sum(value),
                       count(DISTINCT NULLIF(user_id, ''))
                FROM health_usageevent GROUP BY 1, 2, 3
                """,
                [settings.TIME_ZONE],
            )
            for statement in restore:
                cur.execute(statement)
        with _Step("VACUUM ANALYZE"):
            for table in ("health_usageevent", "health_usagedaily", "accounts_activity", "renewals_subscription"):
                cur.execute(f"VACUUM ANALYZE {table}")
            cur.execute("ANALYZE")
        cur.execute("DROP TABLE hb_profile")


# ------------------------------------------------------------------ measurements


def measure_floor(as_of: dt.date, span: int, repeat: int = 5) -> tuple[float, float, int]:
    """The bare aggregate over the rollup rows of the window scoring reads, executed and
    fetched: median seconds with the server's settings, median seconds with the settings
    scoring gives its own reads (health.scoring.tune_for_aggregates), rows."""
    from django.db import connection, transaction

    from health.scoring import tune_for_aggregates

    sql = (
        "SELECT account_id, event_type, sum(events), max(distinct_users) FROM health_usagedaily"
        " WHERE day >= %s AND day < %s GROUP BY 1, 2"
    )
    params = [as_of - dt.timedelta(days=span), as_of]
    medians, rows = [], 0
    for tuned in (False, True):
        times = []
        with transaction.atomic(), connection.cursor() as cur:
            if tuned:
                tune_for_aggregates()
            cur.execute(sql, params)  # warm the cache
            cur.fetchall()
            for _ in range(repeat):
                start = time.perf_counter()
                cur.execute(sql, params)
                rows = len(cur.fetchall())
                times.append(time.perf_counter() - start)
        medians.append(statistics.median(times))
    return medians[0], medians[1], rows


def measure_scoring(as_of: dt.date) -> tuple[float, int, int, float]:
    """The day's first full run: today's scores are deleted and the accounts' current
    score cleared first (untimed), so that every run of the bench inserts the scores and
    updates every account, as the daily run does. Returns seconds, accounts, statements
    and the seconds spent executing them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Account
    from health.models import HealthScore
    from health.services import health_score_run

    HealthScore.objects.filter(as_of=as_of).delete()
    Account.objects.update(health_score=None)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE health_healthscore")
        cur.execute("VACUUM ANALYZE accounts_account")
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        scored = health_score_run(as_of=as_of)
        seconds = time.perf_counter() - start
    return seconds, scored, len(queries), sum(float(q["time"]) for q in queries.captured_queries)


def _naive_raws(account, as_of: dt.date, card) -> dict:
    """One account's raw measure values the obvious way: its own queries, Python sums."""
    from django.db.models import Q, Sum
    from django.utils import timezone

    from accounts.models import TOUCH_KINDS, Activity
    from health.models import ScorecardMeasure, SurveyResponse, UsageDaily
    from health.scoring import EXEC_ROLES, TREND_CAP
    from playbooks.models import PlanStep, SuccessPlan
    from renewals.models import Invoice, Subscription

    K, P = ScorecardMeasure.Kind, ScorecardMeasure.Per
    tz = timezone.get_default_timezone()

    def midnight(day):
        return dt.datetime.combine(day, dt.time.min, tzinfo=tz)

    seats = (
        Subscription.objects.filter(account=account, start_date__lte=as_of)
        .filter(Q(end_date__isnull=True) | Q(end_date__gt=as_of))
        .aggregate(n=Sum("quantity"))["n"]
        or 0
    )
    span = max(m.window_days * (2 if m.kind == K.USAGE_TREND else 1) for m in card.measures)
    usage = list(UsageDaily.objects.filter(account=account, day__gte=as_of - dt.timedelta(days=span), day__lt=as_of))
    touches_span = max(m.window_days for m in card.measures if m.kind in (K.TOUCHES, K.EXEC_TOUCH, K.COMPLAINTS))
    activities = list(
        Activity.objects.filter(
            account=account,
            occurred_at__gte=midnight(as_of - dt.timedelta(days=touches_span)),
            occurred_at__lt=midnight(as_of),
        ).prefetch_related("stakeholders")
    )
    raws = {}
    for m in card.measures:
        w = m.window_days
        since = as_of - dt.timedelta(days=w)
        current = [r for r in usage if r.day >= since and (not m.event_type or r.event_type == m.event_type)]
        if m.kind == K.USAGE:
            total = sum(r.events for r in current)
            if m.per == P.SEAT:
                raws[m.key] = round(total / seats, 4) if seats else None
            elif m.per == P.ACTIVE_USER:
                users = max((r.distinct_users for r in usage if r.day >= since), default=0)
                raws[m.key] = round(total / users, 4) if users else 0.0
            else:
                raws[m.key] = float(total)
        elif m.kind == K.USAGE_TREND:
            cur = sum(r.events for r in current)
            before = as_of - dt.timedelta(days=2 * w)
            prev = sum(
                r.events
                for r in usage
                if before <= r.day < since and (not m.event_type or r.event_type == m.event_type)
            )
            raws[m.key] = (
                (None if cur == 0 else TREND_CAP) if prev == 0 else round(min(TREND_CAP, (cur - prev) / prev * 100), 2)
            )
        elif m.kind == K.ACTIVE_USERS:
            peak = max((r.distinct_users for r in current), default=0)
            raws[m.key] = round(peak / seats, 4) if seats else None
        elif m.kind == K.BREADTH:
            raws[m.key] = float(len({r.event_type for r in usage if r.day >= since and r.events > 0}))
        elif m.kind in (K.TOUCHES, K.EXEC_TOUCH, K.COMPLAINTS):
            recent = [a for a in activities if a.occurred_at >= midnight(since)]
            if m.kind == K.TOUCHES:
                hits = [a for a in recent if a.kind in TOUCH_KINDS]
            elif m.kind == K.EXEC_TOUCH:
                hits = [
                    a for a in recent
                    if a.kind == Activity.Kind.EXECUTIVE_VISIT
                    or (a.kind in TOUCH_KINDS and any(s.role in EXEC_ROLES for s in a.stakeholders.all()))
                ]  # fmt: skip
            else:
                hits = [a for a in recent if a.kind == Activity.Kind.COMPLAINT]
            raws[m.key] = float(len(hits))
        elif m.kind in (K.NPS, K.CSAT):
            latest = (
                SurveyResponse.objects.filter(
                    account=account, kind=m.kind, responded_on__gte=since, responded_on__lt=as_of
                )
                .order_by("-responded_on", "-pk")
                .first()
            )
            raws[m.key] = float(latest.score) if latest else None
        elif m.kind == K.PLAN_OVERDUE:
            raws[m.key] = float(
                PlanStep.objects.filter(
                    stage__plan__account=account, stage__plan__status=SuccessPlan.Status.ACTIVE, due_date__lt=as_of
                )
                .exclude(status=PlanStep.Status.SKIPPED)
                .filter(Q(completed_on__isnull=True) | Q(completed_on__gte=as_of))
                .count()
            )
        elif m.kind == K.INVOICES_OVERDUE:
            raws[m.key] = float(
                Invoice.objects.filter(account=account, due_date__lt=as_of)
                .filter(Q(paid_on__isnull=True) | Q(paid_on__gte=as_of))
                .count()
            )
        elif m.kind == K.FILE_COMPLETENESS:
            raws[m.key] = float(account.completeness)
    return raws


def measure_naive(as_of: dt.date, sample: int) -> tuple[float, int, int, int]:
    """The per-account loop over every n-th active account: (seconds, accounts, queries,
    accounts whose score and components equal what the engine stored)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Account
    from health.models import HealthScore
    from health.scorecards import active_version
    from health.scoring import Card, active_account_ids, score

    ids = active_account_ids(as_of)
    step = max(1, len(ids) // sample)
    chosen = ids[::step][:sample]
    engine = {
        h.account_id: (h.score, h.components) for h in HealthScore.objects.filter(account_id__in=chosen, as_of=as_of)
    }
    agree = 0
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        card = Card.of(active_version())
        for account in Account.objects.filter(pk__in=chosen):
            value, components = score(card, _naive_raws(account, as_of, card))
            band = card.band(value)
            HealthScore.objects.update_or_create(
                account=account,
                as_of=as_of,
                defaults={"score": value, "band": band, "components": components, "scorecard_id": card.pk},
            )
            Account.objects.filter(pk=account.pk).update(health_score=value, health_band=band)
            agree += engine.get(account.pk) == (value, components)
        seconds = time.perf_counter() - start
    return seconds, len(chosen), len(queries), agree


def measure_ingestion(requests: int, size: int, accounts: int) -> tuple[float, list[float], int]:
    """Post `requests` bodies of `size` new events; then delete them again and recompute
    the rollup rows they touched, so that the next run finds the same database."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from people.models import User

    # bench/ingest.py's timed loop, loaded by path: bench/ is not a package, and on sys.path
    # this file would shadow the health app.
    spec = importlib.util.spec_from_file_location("bench_ingest", ROOT / "bench" / "ingest.py")
    bench_ingest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_ingest)
    post_all = bench_ingest.post_all

    by = User.objects.get(username="bench-telemetry")
    now = timezone.now().replace(microsecond=0)
    run = f"hbrun-{now:%Y%m%d%H%M%S}-"
    elapsed, per_request, accepted, _duplicates = post_all(
        requests * size, size, accounts, now, 90, by,
        account_prefix="HB-", event_types=EVENT_TYPES, id_prefix=run,
        user_id=lambda rng, account: f"u{account}-{rng.randrange(20)}",
    )  # fmt: skip
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE hb_keys AS SELECT DISTINCT account_id, event_type,"
            " (occurred_at AT TIME ZONE %s)::date AS day FROM health_usageevent WHERE event_id LIKE %s",
            [settings.TIME_ZONE, run + "%"],
        )
        cur.execute("DELETE FROM health_usageevent WHERE event_id LIKE %s", [run + "%"])
        cur.execute(
            "DELETE FROM health_usagedaily d USING hb_keys k"
            " WHERE d.account_id = k.account_id AND d.event_type = k.event_type AND d.day = k.day"
        )
        cur.execute(
            """
            INSERT INTO health_usagedaily (account_id, day, event_type, events, value_sum, distinct_users)
            SELECT e.account_id, k.day, e.event_type, count(*), sum(e.value), count(DISTINCT NULLIF(e.user_id, ''))
            FROM hb_keys k JOIN health_usageevent e ON e.account_id = k.account_id AND e.event_type = k.event_type
             AND e.occurred_at >= (k.day::timestamp AT TIME ZONE %s)
             AND e.occurred_at < ((k.day + 1)::timestamp AT TIME ZONE %s)
            GROUP BY 1, 2, 3
            """,
            [settings.TIME_ZONE, settings.TIME_ZONE],
        )
        cur.execute("DROP TABLE hb_keys")
    return elapsed, per_request, accepted


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--requests", type=int, default=5, help="ingestion requests of 10,000 events")
    parser.add_argument("--sample", type=int, default=500, help="accounts in the naive loop")
    parser.add_argument("--regenerate", action="store_true", help="generate the data again")
    args = parser.parse_args()
    url = pg.configure("health", "bench/health.py")
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    import psycopg2
    from django.utils import timezone

    from health.scorecards import active_version
    from health.scoring import USAGE_KINDS, Card, K

    print(f"\n== health at scale: {url.rsplit('/', 1)[-1]}, PostgreSQL")
    try:
        shape = {"accounts": args.accounts, "events": args.events, "days": args.days}
        what = f"{args.accounts:,} accounts and {args.events:,} events over {args.days} days"
        pg.prepare(shape, args.regenerate, generate, what)
    except psycopg2.OperationalError as error:
        print(f"bench/health.py needs PostgreSQL ({url}): {error}".strip())
        return 1
    as_of = timezone.localdate()
    card = Card.of(active_version())
    usage = [m for m in card.measures if m.kind in USAGE_KINDS]
    span = max(m.window_days * (2 if m.kind == K.USAGE_TREND else 1) for m in usage)  # what scoring reads

    floor_default, floor_tuned, floor_rows = measure_floor(as_of, span)
    floor = min(floor_default, floor_tuned)
    scoring, scored, statements, in_sql = measure_scoring(as_of)
    naive, sampled, naive_queries, agree = measure_naive(as_of, args.sample)
    naive_scaled = naive * scored / sampled
    ingest, per_request, accepted = measure_ingestion(args.requests, 10_000, args.accounts)
    rate = accepted / ingest

    ok_ingest, ok_scoring = rate >= TARGET_INGEST, scoring <= TARGET_SCORING
    ok_ratio = scoring / floor <= TARGET_FLOOR_RATIO
    print(
        f"(a) ingestion      {rate:>10,.0f} events/s  ({accepted:,} new events in {args.requests} requests, "
        f"{ingest:.2f} s; median request {statistics.median(per_request):.2f} s)"
    )
    print(
        f"(b) scoring        {scoring:>10.2f} s         ({scored:,} accounts as of {as_of}, {statements} statements "
        f"executing in {in_sql:.2f} s)"
    )
    print(
        f"(c) naive, scaled  {naive_scaled:>10.2f} s         ({sampled} accounts in {naive:.2f} s, "
        f"x{scored / sampled:.0f};"
        f" {naive_queries / sampled:.1f} queries per account; same score and components as the engine: "
        f"{agree}/{sampled})"
    )
    print(
        f"(d) floor          {floor:>10.2f} s         (one aggregate over the {span}-day window, "
        f"{floor_rows:,} account x event type rows: {floor_default:.2f} s with the server's settings, "
        f"{floor_tuned:.2f} s with those scoring uses; the faster counts)"
    )
    print(f"ratios: scoring / floor x{scoring / floor:.1f}; naive scaled / scoring x{naive_scaled / scoring:.0f}")
    print(f"target  ingestion >= {TARGET_INGEST:,} events/s: {_verdict(ok_ingest)} (x{rate / TARGET_INGEST:.2f})")
    print(f"target  full scoring <= {TARGET_SCORING:.0f} s: {_verdict(ok_scoring)}")
    print(f"target  scoring within {TARGET_FLOOR_RATIO:.0f}x of the floor: {_verdict(ok_ratio)}")
    return 0 if agree == sampled else 1


if __name__ == "__main__":
    sys.exit(main())
