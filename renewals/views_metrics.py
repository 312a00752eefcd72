"""The retention metrics page: a date range and filters, the headline figures with their
definitions, why revenue was lost (by churn and downsize reason), a breakdown by CSM,
team, tier or month, the cohort table, and CSV exports of both tables. The figures come
from renewals.metrics over the accounts the user may see, exactly as the API computes
them."""

from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from cs_platform.access import visible_accounts
from cs_platform.pages import csv_response
from people.models import Team, User

from . import metrics
from .forms_metrics import COHORT_MONTHS, MetricsPageForm, presets

DEFAULT_PRESET = "last_12_months"
DEFAULT_GROUP_BY = "month"
PERCENT = Decimal("0.1")

# Cohort cells are shaded by retention, from red (under 50%) to deep green (above 100%).
HEAT_LEVELS = [
    (Decimal("0.5"), 0),
    (Decimal("0.7"), 1),
    (Decimal("0.8"), 2),
    (Decimal("0.9"), 3),
    (Decimal("0.95"), 4),
    (Decimal("1"), 5),
]


def percent(value: Decimal | None) -> Decimal | None:
    """A rate (0.0573) as a percentage with one decimal (5.7), None staying None."""
    return None if value is None else (value * 100).quantize(PERCENT)


def heat(value: Decimal | None) -> int | None:
    """The shade of a cohort cell: 0 (under 50%) to 5 (95% to 100%), 6 exactly 100%, 7 above."""
    if value is None:
        return None
    for limit, level in HEAT_LEVELS:
        if value < limit:
            return level
    return 6 if value == 1 else 7


def headline(figures: dict) -> list[dict]:
    """The headline cards: a figure, what it is made of, and what it means in plain words."""
    f = figures
    return [
        {
            "key": "logo_churn",
            "label": _("Logo churn"),
            "value": percent(f["churn_rate"]),
            "detail": _("%(churned)s of %(start)s customers left")
            % {"churned": f["accounts_churned"], "start": f["accounts_start"]},
            "definition": _(
                "Customers with an active subscription on the first day and none on the last day, as a share of "
                "the customers active on the first day. A customer who leaves and comes back within the range "
                "is not counted as lost."
            ),
        },
        {
            "key": "logo_retention",
            "label": _("Logo retention"),
            "value": percent(f["retention_rate"]),
            "detail": _("%(kept)s customers kept, %(new)s new")
            % {"kept": f["accounts_retained"], "new": f["accounts_new"]},
            "definition": _(
                "The share of the first day's customers still active on the last day: 100% minus logo churn. "
                "New customers (active on the last day only) are counted separately and change no rate."
            ),
        },
        {
            "key": "nrr",
            "label": _("Net MRR retention (NRR)"),
            "value": percent(f["net_mrr_retention"]),
            "detail": _("%(retained)s of %(start)s MRR")
            % {"retained": _money(f["retained_mrr"]), "start": _money(f["start_mrr"])},
            "definition": _(
                "What the first day's customers pay per month on the last day, upgrades and downgrades included, "
                "as a share of what they paid on the first day. New customers are left out. Above 100% means "
                "growth from existing customers outweighed what was lost."
            ),
        },
        {
            "key": "grr",
            "label": _("Gross revenue retention (GRR)"),
            "value": percent(f["gross_revenue_retention"]),
            "detail": _("losses and downgrades only"),
            "definition": _(
                "The share of the first day's MRR kept when only losses count: MRR minus churned and downsell "
                "MRR, over the first day's MRR. Upgrades do not count, so it is never above 100%."
            ),
        },
        {
            "key": "mrr_churn",
            "label": _("MRR churn (with downsell)"),
            "value": percent(f["mrr_churn_rate"]),
            "detail": _("%(churned)s churned + %(downsell)s downsell")
            % {"churned": _money(f["churned_mrr"]), "downsell": _money(f["downsell_mrr"])},
            "definition": _(
                "Monthly revenue lost, as a share of the first day's MRR: the whole MRR of customers who left "
                "(churned MRR) plus the drop of customers who stayed but pay less (downsell MRR)."
            ),
        },
        {
            "key": "expansion",
            "label": _("Expansion MRR"),
            "value": None,
            "money": f["expansion_mrr"],
            "detail": _("%(rate)s%% of the first day's MRR")
            % {"rate": _number(percent(metrics.rate(f["expansion_mrr"], f["start_mrr"])))},
            "definition": _(
                "Extra monthly revenue from customers active on both days who pay more on the last day than on "
                "the first (more seats, a higher edition, another product)."
            ),
        },
    ]


def loss_rows(reasons: list[dict]) -> dict:
    """The "why revenue was lost" table: each reason with its share of the MRR lost."""
    total = sum((r["mrr_lost"] for r in reasons), metrics.ZERO)
    rows = [{**r, "share": percent(metrics.rate(r["mrr_lost"], total))} for r in reasons]
    return {"rows": rows, "total": total}


def _money(value: Decimal) -> str:
    return f"{value:,.0f}"


def _number(value: Decimal | None) -> str:
    return "—" if value is None else str(value)


def _cohort_rows(table: dict) -> list[dict]:
    rows = []
    for cohort in table["cohorts"]:
        cells = [
            {
                **cell,
                "logo_pct": percent(cell["logo_retention"]),
                "revenue_pct": percent(cell["revenue_retention"]),
                "logo_heat": heat(cell["logo_retention"]),
                "revenue_heat": heat(cell["revenue_retention"]),
            }
            for cell in cohort["cells"]
        ]
        rows.append({**cohort, "cells": cells, "blank": range(table["months"] - len(cells))})
    return rows


def _query(request, **changes) -> str:
    params = request.GET.copy()
    params.pop("export", None)
    for key, value in changes.items():
        params[key] = value
    return params.urlencode()


def breakdown_columns(*, page: bool = False) -> list[tuple[str, str, str]]:
    """The breakdown table's figure columns: field, title, kind (count, rate or money).
    The page leaves out logo retention (100% minus logo churn) and new MRR to fit a screen;
    the CSV has them all."""
    columns = [
        ("accounts_start", _("Accounts at start"), "count"),
        ("accounts_churned", _("Churned accounts"), "count"),
        ("churn_rate", _("Logo churn"), "rate"),
        ("retention_rate", _("Logo retention"), "rate"),
        ("start_mrr", _("Start MRR"), "money"),
        ("retained_mrr", _("Retained MRR"), "money"),
        ("net_mrr_retention", _("NRR"), "rate"),
        ("churned_mrr", _("Churned MRR"), "money"),
        ("downsell_mrr", _("Downsell MRR"), "money"),
        ("mrr_churn_rate", _("MRR churn"), "rate"),
        ("gross_revenue_retention", _("GRR"), "rate"),
        ("expansion_mrr", _("Expansion MRR"), "money"),
        ("accounts_new", _("New accounts"), "count"),
        ("new_mrr", _("New MRR"), "money"),
    ]
    return [c for c in columns if c[0] not in ("retention_rate", "new_mrr")] if page else columns


def _table_row(row: dict, columns) -> dict:
    cells = [{"kind": kind, "value": percent(row[key]) if kind == "rate" else row[key]} for key, _t, kind in columns]
    return {**row, "cells": cells}


def _breakdown_csv(figures: dict):
    columns = breakdown_columns()
    header = [_("Group"), _("Key"), _("From"), _("To"), *(title for _k, title, _kind in columns)]
    whole = {**figures, "key": "", "label": _("Whole range")}
    rows = (
        [g["label"], g["key"] or "", g["start"], g["end"], *(g[key] for key, _t, _kind in columns)]
        for g in [*figures["groups"], whole]
    )
    name = f"retention-{figures['group_by']}-{figures['start']}-{figures['end']}.csv"
    return csv_response(filename=name, header=header, rows=rows)


def _cohorts_csv(table: dict):
    months = table["months"]
    header = [_("Cohort"), _("Accounts"), _("Starting MRR")]
    for k in range(1, months + 1):
        header += [
            _("Month %(n)s logo retention") % {"n": k},
            _("Month %(n)s revenue retention") % {"n": k},
        ]
    rows = []
    for cohort in table["cohorts"]:
        row = [cohort["month"].strftime("%Y-%m"), cohort["accounts"], cohort["start_mrr"]]
        for cell in cohort["cells"]:
            row += [cell["logo_retention"], cell["revenue_retention"]]
        rows.append(row)
    return csv_response(filename=f"retention-cohorts-{table['as_of']}.csv", header=header, rows=rows)


@login_required
def metrics_page(request):
    today = timezone.localdate()
    ranges = presets(today)
    default = next(p for p in ranges if p["key"] == DEFAULT_PRESET)
    data = request.GET.copy()
    if not data.get("start") and not data.get("end"):
        data["start"], data["end"] = default["start"].isoformat(), default["end"].isoformat()
    if not data.get("group_by"):
        data["group_by"] = DEFAULT_GROUP_BY
    if not data.get("months"):
        data["months"] = str(COHORT_MONTHS)
    form = MetricsPageForm(data)
    scope = visible_accounts(request.user)
    csms = list(User.objects.filter(pk__in=scope.values("csm_id")).order_by("first_name", "last_name", "username"))
    form.set_csm_choices([(u.username, str(u)) for u in csms])
    teams = Team.objects.filter(pk__in=scope.values("team_id")).values_list("pk", "name")
    if request.user.is_authenticated and request.user.sees_everything:
        teams = Team.objects.values_list("pk", "name")
    form.set_team_choices(list(teams))
    context = {"form": form, "figures": None, "cohorts": None}
    if form.is_valid():
        figures = metrics.retention(accounts=scope, **form.query())
        figures["loss_reasons"] = metrics.loss_reasons(
            start=figures["start"], end=figures["end"], accounts=metrics.account_scope(scope, **form.scope())
        )
        table = metrics.cohorts(accounts=scope, as_of=today, **form.cohort_query())
        export = request.GET.get("export")
        if export == "breakdown" and figures["group_by"]:
            return _breakdown_csv(figures)
        if export == "cohorts":
            return _cohorts_csv(table)
        columns = breakdown_columns(page=True)
        context.update(
            figures=figures,
            headline=headline(figures),
            losses=loss_rows(figures["loss_reasons"]),
            columns=columns,
            total=_table_row({**figures, "label": _("Whole range")}, columns),
            groups=[_table_row(g, columns) for g in figures["groups"]],
            cohorts=table,
            cohort_rows=_cohort_rows(table),
            offsets=range(1, table["months"] + 1),
        )
    current = (data.get("start"), data.get("end"))
    context.update(
        presets=[
            {
                **p,
                "query": _query(request, start=p["start"].isoformat(), end=p["end"].isoformat()),
                "current": current == (p["start"].isoformat(), p["end"].isoformat()),
            }
            for p in ranges
        ],  # fmt: skip
        group_tabs=[
            {"key": key, "label": label, "query": _query(request, group_by=key), "current": data["group_by"] == key}
            for key, label in form.fields["group_by"].choices
            if key
        ],
        export_breakdown=_query(request, export="breakdown"),
        export_cohorts=_query(request, export="cohorts"),
    )
    return render(request, "renewals/metrics.html", context)
