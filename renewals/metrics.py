"""Retention metrics (issue 8, part 6), computed from subscriptions exactly as the API
contract defines them, for the API, the metrics page and its exports alike.

An account is *active* on day d when one of its subscriptions is (start_date <= d and
(end_date is null or end_date > d)); its MRR on d is the sum of those subscriptions' MRR.
The accounts active on `start` form the start set, those active on `end` the end set:

- accounts_churned: in the start set, not in the end set; churn_rate = churned / start,
  retention_rate = 1 - churn_rate;
- start_mrr: the start set's MRR on `start`; retained_mrr: the end-date MRR of start-set
  accounts still active on `end`; net_mrr_retention = retained / start;
- churned_mrr: the start MRR of churned accounts; downsell_mrr: start minus end MRR of
  retained accounts whose MRR fell; expansion_mrr: end minus start MRR of retained
  accounts whose MRR rose; mrr_churn_rate = (churned + downsell) / start_mrr;
  gross_revenue_retention = (start_mrr - churned - downsell) / start_mrr (never above 1);
- accounts_new: in the end set, not in the start set (not part of any rate).

Rates are Decimals with four places, None when the denominator is 0; money is Decimal.

Every figure comes from one SQL statement whatever the data size: an inner query gives a
row per account with its MRR on each date the figures need, by conditional aggregation
(`Sum(Case(When(active, then=mrr)))`, NULL when the account is not active that day), and
an outer query sums those rows per period (and group), so only a handful of rows leave the
database (`_period_sums`; the inner query is the ORM's, the outer one plain SQL that
PostgreSQL and SQLite both run). Rates are computed in Python from those sums.

Breakdowns by CSM, team and tier use each account's *current* CSM, team and tier (groups
with nobody in either set are left out); the month breakdown splits [start, end) at each
first of a month (a range that starts and ends on the 1st gives whole calendar months,
each compared from its first day to the next month's first day). The `segment` filter is
the account's size band, from its employee count (accounts.filters.SIZE_BAND_RANGES);
accounts without an employee count are in no segment. The `team` filter is the account's
team (by id).

Why revenue was lost (`loss_reasons`): churn records with churned_on in [start, end) (their
mrr_lost) and renewals closed as downsized with due_date in [start, end) (term_mrr minus
renewed_mrr), each amount split evenly across the record's reasons (to the cent, so the
rows add up to the total), "No reason given" when it has none. Two SQL statements.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import Case, Count, DecimalField, Exists, F, Min, OuterRef, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.filters import SIZE_BAND_RANGES
from accounts.models import Account
from people.models import User

from .models import ChurnRecord, Renewal, RenewalReason, Subscription

MONEY = DecimalField(max_digits=14, decimal_places=2)
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.0001")
ONE = Decimal("1.0000")
GROUP_BY = ("csm", "team", "tier", "month")
MAX_MONTHS = 60  # the month breakdown and the cohort table: five years at most
SEGMENTS = Account.SizeBand


def rate(numerator, denominator) -> Decimal | None:
    """numerator / denominator to four places, or None when the denominator is 0."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def money(value) -> Decimal:
    """A sum from the database as Decimal cents: SQLite gives floats, NULL means none."""
    if value is None:
        return ZERO
    return (value if isinstance(value, Decimal) else Decimal(str(value))).quantize(CENT, rounding=ROUND_HALF_UP)


def active_on(day: dt.date, prefix: str = "") -> Q:
    """The subscriptions active on `day` (the contract's rule)."""
    return Q(**{f"{prefix}start_date__lte": day}) & (
        Q(**{f"{prefix}end_date__isnull": True}) | Q(**{f"{prefix}end_date__gt": day})
    )


def account_scope(
    accounts: QuerySet[Account] | None = None,
    *,
    csm: str = "",
    tier: str = "",
    segment: str = "",
    team: int | str | None = None,
) -> QuerySet[Account] | None:
    """The accounts in scope: `accounts` (None for all) narrowed by CSM username, team id,
    tier and segment (size band); None when nothing narrows it."""
    if not (csm or tier or segment or team):
        return accounts
    qs = Account.objects.all() if accounts is None else accounts
    if csm:
        qs = qs.filter(csm__username=csm)
    if team:
        qs = qs.filter(team_id=team)
    if tier:
        qs = qs.filter(tier=tier)
    if segment:
        low, high = SIZE_BAND_RANGES[segment]
        qs = qs.filter(employee_count__gte=low)
        if high is not None:
            qs = qs.filter(employee_count__lt=high)
    return qs


def _subscriptions(accounts: QuerySet[Account] | None) -> QuerySet[Subscription]:
    qs = Subscription.objects.order_by()
    if accounts is None or not accounts.query.has_filters():
        return qs  # everything: no subquery needed
    return qs.filter(account__in=accounts.values("pk"))


def _mrr_on(dates: list[dt.date]) -> dict:
    """m{i}: the account's MRR on dates[i], NULL when none of its subscriptions is active
    that day (one conditional sum tells both, so an account of MRR 0 still counts)."""
    return {f"m{i}": Sum(Case(When(active_on(day), then=F("mrr")), output_field=MONEY)) for i, day in enumerate(dates)}


# What the outer query sums for a period from date a to date b over the accounts' rows
# (m{a}, m{b}: MRR on each day, NULL when not active).
PERIOD_SUMS = {
    "accounts_start": "COUNT({a})",
    "start_mrr": "SUM({a})",
    "accounts_churned": "COUNT(CASE WHEN {b} IS NULL THEN {a} END)",
    "churned_mrr": "SUM(CASE WHEN {b} IS NULL THEN {a} END)",
    "retained_mrr": "SUM(CASE WHEN {a} IS NOT NULL THEN {b} END)",
    "downsell_mrr": "SUM(CASE WHEN {b} < {a} THEN {a} - {b} END)",
    "expansion_mrr": "SUM(CASE WHEN {b} > {a} THEN {b} - {a} END)",
    "accounts_new": "COUNT(CASE WHEN {a} IS NULL THEN {b} END)",
    "new_mrr": "SUM(CASE WHEN {a} IS NULL THEN {b} END)",
    "accounts_end": "COUNT({b})",
    "end_mrr": "SUM({b})",
}


def _period_sums(per_account: QuerySet, pairs: list[tuple[int, int]], keys: tuple[str, ...] = ()) -> list[tuple]:
    """Sum the per-account rows of `per_account` (a values queryset with m0, m1, ...) for
    each period (a, b) in `pairs`, grouped by the `keys` columns: one statement, a row per
    group: (*key values, Tally per pair)."""
    inner, params = per_account.query.sql_with_params()
    sums = [sql.format(a=f"m{a}", b=f"m{b}") for a, b in pairs for sql in PERIOD_SUMS.values()]
    sql = f"SELECT {', '.join([*keys, *sums])} FROM ({inner}) per_account"
    if keys:
        sql += f" GROUP BY {', '.join(keys)}"
    with connections[per_account.db].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    width = len(PERIOD_SUMS)
    result = []
    for row in rows:
        values = row[len(keys) :]
        tallies = [Tally.of(values[p * width : (p + 1) * width]) for p in range(len(pairs))]
        result.append((*row[: len(keys)], tallies))
    return result


@dataclass
class Tally:
    """The sums over accounts for one period: everything the figures derive from."""

    accounts_start: int = 0
    start_mrr: Decimal = ZERO
    accounts_churned: int = 0
    churned_mrr: Decimal = ZERO
    retained_mrr: Decimal = ZERO
    downsell_mrr: Decimal = ZERO
    expansion_mrr: Decimal = ZERO
    accounts_new: int = 0
    new_mrr: Decimal = ZERO
    accounts_end: int = 0
    end_mrr: Decimal = ZERO

    @classmethod
    def of(cls, values) -> "Tally":
        """From the outer query's sums, in PERIOD_SUMS order."""
        data = dict(zip(PERIOD_SUMS, values, strict=True))
        return cls(**{k: money(v) if k.endswith("_mrr") else int(v or 0) for k, v in data.items()})

    def figures(self) -> dict:
        """The contract's fields (and a few more), rates rounded to four places."""
        churn_rate = rate(self.accounts_churned, self.accounts_start)
        mrr_churn_rate = rate(self.churned_mrr + self.downsell_mrr, self.start_mrr)
        return {
            "accounts_start": self.accounts_start,
            "accounts_churned": self.accounts_churned,
            "churn_rate": churn_rate,
            "retention_rate": None if churn_rate is None else ONE - churn_rate,
            "start_mrr": self.start_mrr,
            "retained_mrr": self.retained_mrr,
            "net_mrr_retention": rate(self.retained_mrr, self.start_mrr),
            "churned_mrr": self.churned_mrr,
            "downsell_mrr": self.downsell_mrr,
            "mrr_churn_rate": mrr_churn_rate,
            "gross_revenue_retention": None if mrr_churn_rate is None else ONE - mrr_churn_rate,
            "expansion_mrr": self.expansion_mrr,
            "accounts_new": self.accounts_new,
            "accounts_retained": self.accounts_start - self.accounts_churned,
            "accounts_end": self.accounts_end,
            "new_mrr": self.new_mrr,
            "end_mrr": self.end_mrr,
        }


FIGURES = tuple(Tally().figures())
RATE_FIELDS = (
    "churn_rate", "retention_rate", "net_mrr_retention", "mrr_churn_rate", "gross_revenue_retention",
)  # fmt: skip


def month_count(start: dt.date, end: dt.date) -> int:
    """How many periods the month breakdown of [start, end) has (end after start)."""
    firsts_up_to_end = (end.year - start.year) * 12 + end.month - start.month
    return firsts_up_to_end + (0 if end.day == 1 else 1)


def month_bounds(start: dt.date, end: dt.date) -> list[dt.date]:
    """start, every first of a month strictly between start and end, and end."""
    firsts = [start.replace(day=1) + relativedelta(months=i) for i in range(1, month_count(start, end))]
    return [start, *firsts, end]


def check_range(start: dt.date, end: dt.date, group_by: str | None = None) -> None:
    errors = {}
    if end <= start:
        errors["end"] = _("The end date must be after the start date.")
    elif group_by == "month" and month_count(start, end) > MAX_MONTHS:
        errors["end"] = _("A breakdown by month covers at most %(n)d months.") % {"n": MAX_MONTHS}
    if group_by not in (None, "", *GROUP_BY):
        errors["group_by"] = _("Choose one of: %(choices)s.") % {"choices": ", ".join(GROUP_BY)}
    if errors:
        raise ValidationError(errors)


# The columns each breakdown groups by, named k0, k1... in the per-account rows.
_GROUP_KEYS = {
    "csm": ("account__csm__username", "account__csm__first_name", "account__csm__last_name"),
    "team": ("account__team__name",),
    "tier": ("account__tier",),
}


def _group(group_by: str, values: tuple) -> tuple[str | None, str]:
    """The group's key (a stable code: username, team name, tier; None for nobody) and label."""
    if group_by == "csm":
        username, first, last = values
        if username is None:
            return None, _("No CSM")
        return username, User(first_name=first or "", last_name=last or "").get_full_name() or username
    if group_by == "team":
        return (values[0], values[0]) if values[0] is not None else (None, _("No team"))
    tier = values[0]
    return tier, Account.Tier(tier).label if tier in Account.Tier.values else tier


def _group_order(group_by: str, key, label: str):
    if group_by == "tier":
        return (key not in Account.Tier.values, Account.Tier.values.index(key) if key in Account.Tier.values else 0)
    return (key is None, label.casefold())


def retention(
    *,
    start: dt.date,
    end: dt.date,
    accounts: QuerySet[Account] | None = None,
    group_by: str | None = None,
    csm: str = "",
    tier: str = "",
    segment: str = "",
    team: int | str | None = None,
) -> dict:
    """The retention figures between `start` and `end` for `accounts` (None: every
    account), narrowed by `csm` (username), `tier` and `segment` (size band); with
    `group_by` in GROUP_BY, also a `groups` list with the same figures per group. One SQL
    statement whatever the data size."""
    check_range(start, end, group_by)
    group_by = group_by or None
    dates = month_bounds(start, end) if group_by == "month" else [start, end]
    last = len(dates) - 1
    keys = {f"k{i}": F(path) for i, path in enumerate(_GROUP_KEYS.get(group_by, ()))}
    per_account = (
        _subscriptions(account_scope(accounts, csm=csm, tier=tier, segment=segment, team=team))
        # Only subscriptions active on some day of [start, end] can count.
        .filter(start_date__lte=end)
        .filter(Q(end_date__isnull=True) | Q(end_date__gt=start))
        .values("account_id", **keys)
        .annotate(**_mrr_on(dates))
    )
    pairs = [(0, last)] + ([(i, i + 1) for i in range(last)] if group_by == "month" else [])
    rows = _period_sums(per_account, pairs, tuple(keys))
    result = {"start": start, "end": end, "group_by": group_by, "groups": []}
    if not keys:
        tallies = rows[0][0] if rows else [Tally() for _pair in pairs]
        result.update(tallies[0].figures())
        for i, tally in enumerate(tallies[1:]):
            key = dates[i].strftime("%Y-%m")
            period = {"start": dates[i], "end": dates[i + 1]}
            result["groups"].append({"key": key, "label": key, **period, **tally.figures()})
        return result
    total = Tally()
    for *values, (tally,) in rows:
        if not (tally.accounts_start or tally.accounts_end):
            continue  # active only between the two days: in neither set, so in no figure
        key, label = _group(group_by, tuple(values))
        result["groups"].append({"key": key, "label": label, "start": start, "end": end, **tally.figures()})
        for name in PERIOD_SUMS:
            setattr(total, name, getattr(total, name) + getattr(tally, name))
    result["groups"].sort(key=lambda g: _group_order(group_by, g["key"], g["label"]))
    result.update(total.figures())
    return result


# ------------------------------------------------------------------ cohorts


def cohorts(
    *,
    months: int = 12,
    accounts: QuerySet[Account] | None = None,
    as_of: dt.date | None = None,
    csm: str = "",
    tier: str = "",
    segment: str = "",
    team: int | str | None = None,
) -> dict:
    """Accounts grouped by the month their first subscription started (their cohort), for
    the `months` whole calendar months before `as_of`'s month (default today). For each
    cohort: its size and starting MRR (each account's MRR on the day it started), then for
    each later first of a month up to `as_of`'s month, the share of the cohort active that
    day (logo retention) and the cohort's MRR that day over its starting MRR (revenue
    retention; above 1 when expansion outweighs losses). Two SQL statements whatever the
    data size."""
    if not 1 <= months <= MAX_MONTHS:
        raise ValidationError({"months": _("Choose between 1 and %(n)d months.") % {"n": MAX_MONTHS}})
    as_of = as_of or timezone.localdate()
    this_month = as_of.replace(day=1)
    if this_month.year - dt.MINYEAR < 6:
        raise ValidationError({"as_of": _("Enter a later date.")})
    first = this_month - relativedelta(months=months)
    bounds = [first + relativedelta(months=j) for j in range(1, months + 1)]  # the last is this_month
    subs = _subscriptions(account_scope(accounts, csm=csm, tier=tier, segment=segment, team=team))

    # Each cohort account's first start and MRR on each first of a month, summed per first
    # start day. Accounts with a subscription before the first cohort month are in none.
    earlier = Subscription.objects.filter(account_id=OuterRef("account_id"), start_date__lt=first)
    per_account = (
        subs.filter(start_date__lt=this_month)
        .exclude(Exists(earlier))
        .values("account_id")
        .annotate(first_start=Min("start_date"), **_mrr_on(bounds))
    )
    inner, params = per_account.query.sql_with_params()
    sums = ", ".join(f"COUNT(m{j}), SUM(m{j})" for j in range(months))
    sql = f"SELECT first_start, {sums} FROM ({inner}) per_account GROUP BY first_start"
    with connections[per_account.db].cursor() as cursor:
        cursor.execute(sql, params)
        by_day = cursor.fetchall()
    # Each cohort's size and starting MRR: the subscriptions that began on the account's
    # first day (no earlier subscription of the same account).
    before = Subscription.objects.filter(account_id=OuterRef("account_id"), start_date__lt=OuterRef("start_date"))
    starts = {
        (r["month"].year, r["month"].month): r
        for r in subs.filter(start_date__gte=first, start_date__lt=this_month)
        .exclude(Exists(before))
        .annotate(month=TruncMonth("start_date"))
        .values("month")
        .annotate(accounts=Count("account_id", distinct=True), start_mrr=Sum("mrr"))
    }
    sums_by_month: dict[tuple[int, int], list] = {}
    for first_start, *values in by_day:
        day = first_start if isinstance(first_start, dt.date) else dt.date.fromisoformat(str(first_start)[:10])
        active, mrr = sums_by_month.setdefault((day.year, day.month), [[0] * months, [ZERO] * months])
        for j in range(months):
            active[j] += values[2 * j] or 0
            mrr[j] += money(values[2 * j + 1])
    result = []
    for i in range(months):
        month = first + relativedelta(months=i)
        start_row = starts.get((month.year, month.month), {})
        size = start_row.get("accounts", 0)
        start_mrr = money(start_row.get("start_mrr"))
        active, mrr = sums_by_month.get((month.year, month.month), [[0] * months, [ZERO] * months])
        cells = [
            {
                "offset": j - i + 1,
                "date": bounds[j],
                "accounts_active": active[j],
                "logo_retention": rate(active[j], size),
                "mrr": mrr[j],
                "revenue_retention": rate(mrr[j], start_mrr),
            }
            for j in range(i, months)
        ]
        result.append({"month": month, "accounts": size, "start_mrr": start_mrr, "cells": cells})
    return {"months": months, "as_of": as_of, "cohorts": result}


# ------------------------------------------------------------------ loss reasons


def _split(amount: Decimal, parts: int) -> list[Decimal]:
    """`amount` in `parts` even shares to the cent, the first ones a cent larger when it
    does not divide, so the shares add up to `amount`."""
    cents = int((amount / CENT).to_integral_value(rounding=ROUND_HALF_UP))
    share, extra = divmod(cents, parts)
    return [(share + (1 if i < extra else 0)) * CENT for i in range(parts)]


def _in_scope(qs: QuerySet, accounts: QuerySet[Account] | None) -> QuerySet:
    if accounts is None or not accounts.query.has_filters():
        return qs
    return qs.filter(account__in=accounts.values("pk"))


REASON_FIELDS = ("reasons__id", "reasons__kind", "reasons__name", "reasons__name_zh")


def loss_reasons(*, start: dt.date, end: dt.date, accounts: QuerySet[Account] | None = None) -> list[dict]:
    """Why revenue was lost in [start, end) for `accounts` (None: every account): per
    churn/downsize reason, the accounts and the MRR lost (see the module's docstring).
    Rows {reason_id, reason, kind, accounts, mrr_lost}, most MRR lost first; reason_id and
    kind are None for "No reason given". Two SQL statements whatever the data size."""
    churned = _in_scope(ChurnRecord.objects.order_by(), accounts).filter(churned_on__gte=start, churned_on__lt=end)
    downsized = _in_scope(Renewal.objects.order_by(), accounts).filter(
        stage=Renewal.Stage.DOWNSIZED, due_date__gte=start, due_date__lt=end
    )
    # One row per (record, reason), a record without reasons once with NULLs (LEFT JOIN).
    records: dict[tuple[str, int], dict] = {}
    sources = (
        ("churn", churned.values_list("pk", "account_id", "mrr_lost", Value(None, output_field=MONEY), *REASON_FIELDS)),
        ("downsize", downsized.values_list("pk", "account_id", "term_mrr", "renewed_mrr", *REASON_FIELDS)),
    )
    for source, rows in sources:
        for pk, account_id, amount, renewed, reason_id, kind, name, name_zh in rows:
            record = records.setdefault(
                (source, pk), {"account_id": account_id, "lost": money(amount) - money(renewed), "reasons": []}
            )
            if reason_id is not None:
                record["reasons"].append((reason_id, kind, name, name_zh))
    rows_by_reason: dict = {}
    for record in records.values():
        lost = max(record["lost"], ZERO)
        reasons = sorted(set(record["reasons"])) or [(None, None, None, None)]
        for (reason_id, kind, name, name_zh), share in zip(reasons, _split(lost, len(reasons)), strict=True):
            if reason_id is None:
                label = _("No reason given")
            else:
                label = RenewalReason(kind=kind, name=name, name_zh=name_zh or "").label
            row = rows_by_reason.setdefault(
                reason_id, {"reason_id": reason_id, "reason": label, "kind": kind, "accounts": set(), "mrr_lost": ZERO}
            )
            row["accounts"].add(record["account_id"])
            row["mrr_lost"] += share
    result = [{**row, "accounts": len(row["accounts"])} for row in rows_by_reason.values()]
    result.sort(key=lambda r: (-r["mrr_lost"], -r["accounts"], r["reason_id"] is None, r["reason"].casefold()))
    return result
