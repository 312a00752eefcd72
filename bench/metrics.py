"""`make bench`, part 4: the retention metrics endpoint at scale (issue 8), on PostgreSQL.

100,000 subscriptions over 20,000 accounts across the last 3 years: each account starts
within those years, a quarter of them churn after 200 to 900 days, and each has five
contract lines spread over its life (yearly terms and open-ended add-ons, so that MRR
grows and shrinks). The accounts and their 40 CSMs in 4 teams are bulk-created, the
subscriptions generated in one INSERT ... SELECT over generate_series. The database is
`<BENCH_DATABASE_URL>_metrics` (default postgres://postgres@127.0.0.1:5432/cs_bench_metrics);
it is created and migrated when missing and kept: a marker table records what was
generated, so later runs reuse it (`--regenerate` starts over).

Then, through the Django test client as an administrator (every account in scope), the
median server time of several requests of `GET /api/v1/metrics/retention/` for the last
12 whole months, plain and with `group_by=month` (the two targets: under 1 s), beside the
baseline GET /healthz measured in the same run, and for information the other
breakdowns, the cohort table and the metrics page.

    .venv/bin/python bench/metrics.py
    .venv/bin/python bench/metrics.py --regenerate --accounts 5000 --subscriptions 25000
"""

import argparse
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pg  # noqa: E402  (bench/, the script's folder, is on sys.path)
from run import measure  # noqa: E402

TARGET_SECONDS = 1.0
LINES_PER_ACCOUNT = 5


def generate(*, accounts: int, subscriptions: int) -> None:
    from django.db import connection, transaction

    from accounts.models import Account
    from people.models import Team, User
    from renewals.models import Product, Subscription

    lines = max(1, round(subscriptions / accounts))
    teams = [Team.objects.create(name=f"Bench team {t}") for t in range(4)]
    csms = [
        User.objects.create(username=f"bench-csm-{i:02d}", role=User.Role.CSM, team=teams[i % 4], first_name=f"CSM {i}")
        for i in range(40)
    ]
    User.objects.create_superuser(username="bench-admin", password=None, role=User.Role.ADMIN)
    tiers, stages = Account.Tier.values, [Account.Stage.ADOPTION, Account.Stage.MATURE, Account.Stage.RENEWAL]
    Account.objects.bulk_create(
        [
            Account(
                external_id=f"BM-{i:06d}",
                name=f"Bench metrics account {i:06d}",
                csm=csms[i % 40],
                team=csms[i % 40].team,
                tier=tiers[(i * 7) % 3],
                lifecycle_stage=stages[i % 3],
                employee_count=(20, 300, 3000, 30000)[(i * 13) % 4] + i % 17,
            )
            for i in range(accounts)
        ],
        batch_size=2000,
    )
    product = Product.objects.create(code="bench-metrics", name="Bench metrics suite", product_line="suite")
    # Every other column of the table with its model default, so a new field does not break this.
    explicit = {"id", "account_id", "product_id", "start_date", "end_date", "mrr"}
    others = [f for f in Subscription._meta.concrete_fields if f.column not in explicit]
    columns = ", ".join(f.column for f in others)
    placeholders = ", ".join("%s" for _f in others)
    defaults = [f.get_default() for f in others]
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL synchronous_commit = off")
        cur.execute("SELECT setseed(0.8)")
        # An account's life: its first start in the last 3 years, and for a quarter of them
        # a churn day 200 to 900 days later (if that is before today).
        cur.execute(
            """
            CREATE TEMP TABLE bm_life ON COMMIT DROP AS
            SELECT id AS account_id, first_start,
                   CASE WHEN random() < 0.25 THEN first_start + (200 + floor(random() * 700))::int END AS churn_on,
                   (100 + floor(power(random(), 2) * 9900))::numeric AS base
            FROM (SELECT id, current_date - (30 + floor(random() * 1065))::int AS first_start
                  FROM accounts_account) a
            """
        )
        cur.execute("UPDATE bm_life SET churn_on = NULL WHERE churn_on >= current_date")
        cur.execute(
            f"""
            INSERT INTO renewals_subscription (account_id, product_id, start_date, end_date, mrr, {columns})
            SELECT account_id, %s, s.start_date,
                   CASE WHEN churn_on IS NOT NULL THEN least(s.start_date + s.days, churn_on)
                        WHEN s.open_ended THEN NULL
                        ELSE s.start_date + s.days END,
                   round(base * s.factor::numeric, 2), {placeholders}
            FROM bm_life, generate_series(1, %s) g,
                 LATERAL (SELECT first_start + floor((coalesce(churn_on, current_date) - first_start)
                                                     * (g - 1)::numeric / %s)::int AS start_date,
                                 (300 + floor(random() * 430))::int AS days,
                                 g > 1 AND random() < 0.3 AS open_ended,
                                 CASE WHEN g = 1 THEN 1 ELSE 0.1 + random() * 0.6 END AS factor) s
            """,
            [product.pk, *defaults, lines, lines],
        )
    with connection.cursor() as cur:
        for table in ("renewals_subscription", "accounts_account"):
            cur.execute(f"VACUUM ANALYZE {table}")


# ------------------------------------------------------------------ measurements


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--subscriptions", type=int, default=20_000 * LINES_PER_ACCOUNT)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    url = pg.configure("metrics", "bench/metrics.py")
    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise: no collectstatic here
    import django

    django.setup()
    from dateutil.relativedelta import relativedelta
    from django.test import Client
    from django.utils import timezone

    from people.models import User
    from renewals.models import Subscription

    print(f"\n== retention metrics on {url.rsplit('/', 1)[-1]}")
    shape = {"accounts": args.accounts, "subscriptions": args.subscriptions}
    pg.prepare(shape, args.regenerate, generate, f"{args.accounts:,} accounts and {args.subscriptions:,} subscriptions")
    subs = Subscription.objects.count()
    this_month = timezone.localdate().replace(day=1)
    start, end = this_month - relativedelta(months=12), this_month
    rng = f"start={start}&end={end}"
    client = Client()
    client.force_login(User.objects.get(username="bench-admin"))
    api = "/api/v1/metrics/retention/"
    rows = [
        ("baseline: /healthz", "/healthz", False),
        ("retention, 12 months", f"{api}?{rng}", True),
        ("retention, group_by=month", f"{api}?{rng}&group_by=month", True),
        ("retention, group_by=csm", f"{api}?{rng}&group_by=csm", False),
        ("retention, group_by=tier", f"{api}?{rng}&group_by=tier", False),
        ("retention, tier filter", f"{api}?{rng}&tier=key&segment=large", False),
        ("cohorts, 12 months", "/api/v1/metrics/cohorts/?months=12", False),
        ("cohorts, 36 months", "/api/v1/metrics/cohorts/?months=36", False),
        ("metrics page", f"/renewals/metrics/?{rng}&group_by=month", False),
    ]
    print(f"{subs:,} subscriptions; range {start} .. {end}; as an administrator, median of {args.repeat} requests")
    print(f"{'request':<30}{'median ms':>11}{'worst ms':>10}{'x baseline':>12}{'queries':>9}  target")
    baseline, failed = None, False
    for label, path, target in rows:
        median, worst, queries, status = measure(client, path, args.repeat)
        baseline = baseline or median
        verdict = ""
        if target:
            ok = status == 200 and median / 1000 < TARGET_SECONDS
            failed |= not ok
            verdict = f"< {TARGET_SECONDS:.0f} s: {'PASS' if ok else 'MISS'}"
        flag = "" if status == 200 else f"  HTTP {status}"
        failed |= status != 200
        print(f"{label:<30}{median:>11.1f}{worst:>10.1f}{median / baseline:>12.1f}{queries:>9}  {verdict}{flag}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
