"""Reads for renewals and subscriptions, scoped by cs_platform.access and annotated for
the pages and the API (a fixed number of queries whatever the number of rows)."""

import datetime as dt
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db.models import Case, Count, DecimalField, F, Q, QuerySet, Sum, Value, When, Window
from django.db.models.functions import Coalesce, RowNumber, TruncMonth
from django.shortcuts import get_object_or_404

from accounts.models import Account
from cs_platform.access import restrict
from people.models import User

from .models import ChurnRecord, Renewal, RenewalReason, Subscription

MONEY = DecimalField(max_digits=14, decimal_places=2)
OPEN = Q(stage__in=Renewal.OPEN_STAGES)
CLOSED = ~OPEN
AT_RISK = OPEN & Q(risk=Renewal.Risk.HIGH)
ZERO = Value(Decimal(0))


def _sum(expression, *, where: Q | None = None) -> Coalesce:
    return Coalesce(Sum(expression, filter=where), ZERO, output_field=MONEY)


def expected_mrr() -> Case:
    """What a renewal is expected to keep: for an open one its forecast weighted by the
    probability, for a closed one the MRR actually renewed (nothing when churned)."""
    return Case(
        When(OPEN, then=F("forecast_mrr") * F("probability") * Value(Decimal("0.01"))),
        default=Coalesce(F("renewed_mrr"), ZERO),
        output_field=MONEY,
    )


def renewal_list(*, user) -> QuerySet[Renewal]:
    return restrict(Renewal.objects.all(), user).select_related("account", "owner", "co_owner")


def renewal_get(*, user, pk: int) -> Renewal:
    """One renewal the user may see (404 otherwise), with what its page shows."""
    return get_object_or_404(
        renewal_list(user=user).select_related("account__csm", "account__sales_owner", "closed_by"), pk=pk
    )


def renewal_totals(queryset: QuerySet[Renewal]) -> dict:
    """Count, MRR up for renewal, forecast, expected and at-risk MRR of a filtered list, in
    one query."""
    # Aliases other than the field names: an aggregate may not shadow the field it sums.
    row = queryset.order_by().aggregate(
        t_count=Count("id"),
        t_open_count=Count("id", filter=OPEN),
        t_term_mrr=_sum("term_mrr"),
        t_forecast_mrr=_sum("forecast_mrr", where=OPEN),
        t_expected_mrr=_sum(expected_mrr()),
        t_at_risk_count=Count("id", filter=AT_RISK),
        t_at_risk_mrr=_sum("forecast_mrr", where=AT_RISK),
        t_renewed_mrr=_sum("renewed_mrr", where=CLOSED),
        t_closed_term_mrr=_sum("term_mrr", where=CLOSED),
    )
    totals = {key[2:]: value for key, value in row.items()}
    closed_term = totals["closed_term_mrr"]
    totals["kept_rate"] = (totals["renewed_mrr"] / closed_term * 100) if closed_term else None
    return totals


def renewals_by_month(*, user, start: dt.date, months: int = 12, queryset: QuerySet[Renewal] | None = None) -> list:
    """Count, MRR up for renewal, forecast, expected and at-risk MRR of the renewals due in
    each of `months` calendar months from start's month, in one query; months without
    renewals are listed as zero."""
    first = start.replace(day=1)
    end = first + relativedelta(months=months)
    base = renewal_list(user=user) if queryset is None else queryset
    rows = (
        base.filter(due_date__gte=first, due_date__lt=end)
        .annotate(month=TruncMonth("due_date"))
        .values("month")
        .annotate(
            count=Count("id"),
            closed_count=Count("id", filter=CLOSED),
            term=_sum("term_mrr"),
            forecast=_sum("forecast_mrr"),
            expected=_sum(expected_mrr()),
            at_risk_count=Count("id", filter=AT_RISK),
            at_risk=_sum("forecast_mrr", where=AT_RISK),
        )
        .order_by("month")
    )
    by_month = {(r["month"].year, r["month"].month): r for r in rows}
    result = []
    for i in range(months):
        month = first + relativedelta(months=i)
        row = by_month.get((month.year, month.month), {})
        result.append(
            {
                "month": month,
                "last_day": month + relativedelta(months=1) - dt.timedelta(days=1),
                "count": row.get("count", 0),
                "closed_count": row.get("closed_count", 0),
                "term_mrr": row.get("term", 0),
                "forecast_mrr": row.get("forecast", 0),
                "expected_mrr": row.get("expected", 0),
                "at_risk_count": row.get("at_risk_count", 0),
                "at_risk_mrr": row.get("at_risk", 0),
            }
        )
    return result


def renewal_board(queryset: QuerySet[Renewal], *, per_column: int = 40) -> list[dict]:
    """Open renewals grouped by stage (the board's columns), soonest due first, at most
    `per_column` cards each, with each column's count and MRR: two queries."""
    cards = list(
        queryset.filter(OPEN)
        .annotate(
            position=Window(RowNumber(), partition_by=[F("stage")], order_by=[F("due_date").asc(), F("pk").asc()])
        )
        .filter(position__lte=per_column)
        .order_by("due_date", "pk")
    )
    sums = {
        row["stage"]: row
        for row in queryset.filter(OPEN)
        .order_by()
        .values("stage")
        .annotate(n=Count("id"), forecast=_sum("forecast_mrr"), expected=_sum(expected_mrr()))
    }
    columns = []
    for stage in Renewal.OPEN_STAGES:
        row = sums.get(stage, {})
        columns.append(
            {
                "stage": stage,
                "label": Renewal.Stage(stage).label,
                "cards": [c for c in cards if c.stage == stage],
                "count": row.get("n", 0),
                "forecast_mrr": row.get("forecast", 0),
                "expected_mrr": row.get("expected", 0),
            }
        )
    for column in columns:
        column["more"] = column["count"] - len(column["cards"])
    return columns


def reason_counts(queryset: QuerySet[Renewal]) -> list[dict]:
    """How often each reason was given on the renewals of `queryset`, most frequent first."""
    rows = (
        RenewalReason.objects.filter(renewals__in=queryset.order_by().values("pk"))
        .values("pk", "kind", "name", "name_zh")
        .annotate(n=Count("renewals"))
        .order_by("-n", "kind", "name")
    )
    return [{**r, "label": RenewalReason(name=r["name"], name_zh=r["name_zh"]).label} for r in rows]


def outcome_counts(queryset: QuerySet[Renewal]) -> dict[str, int]:
    rows = queryset.filter(CLOSED).order_by().values("stage").annotate(n=Count("id"))
    return {r["stage"]: r["n"] for r in rows}


def reason_choices(*, kind: str | None = None) -> QuerySet[RenewalReason]:
    qs = RenewalReason.objects.filter(is_active=True)
    return qs.filter(kind=kind) if kind else qs


def renewal_owner_candidates(*, user, keep: int | None = None) -> QuerySet[User]:
    """The people `user` may choose as a renewal's owner (see access.can_own_renewal), and
    the current owner `keep`, so that a form shows who owns it now."""
    people = Q(is_active=True) & ~Q(role=User.Role.INTEGRATION)
    if not user.sees_everything:
        people &= Q(role=User.Role.SALES) | Q(team_id=user.team_id, team_id__isnull=False)
    if keep is not None:
        people |= Q(pk=keep)
    return User.objects.filter(people).order_by("role", "first_name", "username")


def renewal_owner_filter_choices(*, user) -> list[tuple[str, str]]:
    """Who may own the renewals `user` sees, for the owner filter of the pages (one query):
    the people of the user's team and the sellers; everyone for those who see everything
    and for sales, whose accounts span the teams."""
    people = User.objects.filter(is_active=True, role__in=[User.Role.CSM, User.Role.MANAGER, User.Role.SALES])
    if not (user.sees_everything or user.role == User.Role.SALES):
        people = people.filter(Q(role=User.Role.SALES) | Q(pk=user.pk) | Q(team_id=user.team_id, team_id__isnull=False))
    return [(u.username, str(u)) for u in people.order_by("first_name", "username")]


def subscription_list(*, user, account: Account) -> QuerySet[Subscription]:
    return (
        restrict(Subscription.objects.filter(account=account), user).select_related("product").order_by("-start_date")
    )


def renewal_term_subscriptions(*, renewal: Renewal) -> QuerySet[Subscription]:
    """The subscriptions whose term ends on the renewal's due date: what is up for renewal."""
    return Subscription.objects.filter(account_id=renewal.account_id, end_date=renewal.due_date).select_related(
        "product"
    )


def open_alert_types(*, account: Account) -> list[str]:
    """Labels of the account's open (not resolved) alerts, read through the reverse
    relation so renewals need not import health: why a renewal's risk is what it is."""
    alert = Account._meta.get_field("alerts").related_model
    labels = dict(alert.Type.choices)
    types = alert.objects.filter(account=account).exclude(status="resolved").values_list("type", flat=True)
    return [labels.get(t, t) for t in types]


def churn_record_latest(*, user, account: Account) -> ChurnRecord | None:
    return (
        restrict(ChurnRecord.objects.filter(account=account), user)
        .select_related("recorded_by")
        .prefetch_related("reasons")
        .order_by("-churned_on", "-pk")
        .first()
    )
