"""Pages for expansion leads and collections (issue 8): the leads list with its CSV
export, a lead's page (where the sales person it was handed to lands), the lead bonus
report, the collections page, and the account page's leads and invoices panels. Each page
runs a fixed number of queries whatever the number of rows."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.selectors import account_get
from cs_platform.access import can_log_lead, can_record_payment, lead_rights
from cs_platform.pages import add_service_errors, csv_response, is_htmx, paginate, querystring_without

from . import collections, leads
from .forms_commerce import (
    CollectionsFilter,
    DateRangeForm,
    LeadForm,
    LeadHandForm,
    LeadLostForm,
    LeadPageFilter,
    LeadReportForm,
    LeadWonForm,
    PaymentForm,
)
from .models import Lead

PANEL_LEADS = 20  # leads shown on the account page; the list page has the rest
PANEL_PAID_INVOICES = 8  # invoices paid in full shown on the account page, besides every open one


def _money(value) -> str:
    return f"{value:.2f}" if value is not None else ""


def _year_to_date(today: dt.date) -> tuple[dt.date, dt.date]:
    return today.replace(month=1, day=1), today


def _ranges(today: dt.date) -> list[dict]:
    """Quick choices for a date range: this month, this quarter, this year, last year."""
    quarter = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return [
        {"label": _("This month"), "start": today.replace(day=1), "end": today},
        {"label": _("This quarter"), "start": quarter, "end": today},
        {"label": _("This year"), "start": today.replace(month=1, day=1), "end": today},
        {
            "label": _("Last year"),
            "start": dt.date(today.year - 1, 1, 1),
            "end": dt.date(today.year - 1, 12, 31),
        },
    ]


def _back(request, default: str) -> str:
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return back
    return default


# ------------------------------------------------------------------ leads


def _lead_rows(user, rows: list[Lead]) -> list[Lead]:
    """Each lead with what `user` may do with it, without a query per row: a CS user's
    list holds only leads of accounts they see (and so may change)."""
    for lead in rows:
        lead.rights = lead_rights(user, lead, account_visible=True)
    return rows


@login_required
def lead_list(request):
    """Leads the user may see, newest first, filtered; CSV export of the same list."""
    visible = leads.lead_list(user=request.user)
    filterset = LeadPageFilter(request.GET, queryset=visible, request=request)
    rows = filterset.qs.order_by("-created_at", "-pk") if filterset.is_valid() else visible.none()
    if request.GET.get("export") == "csv":
        header = [
            _("Account"), _("External ID"), _("Kind"), _("Title"), _("Product"), _("Estimated MRR"), _("Status"),
            _("Found by"), _("Found on"), _("Sales owner"), _("Handed on"), _("Closed on"), _("MRR won"),
            _("Why lost"),
        ]  # fmt: skip
        data = (
            [
                lead.account.name,
                lead.account.external_id,
                lead.get_kind_display(),
                lead.title,
                lead.product.code if lead.product else "",
                _money(lead.estimated_mrr),
                lead.get_status_display(),
                lead.found_by.username if lead.found_by else "",
                timezone.localtime(lead.created_at).date(),
                lead.sales_owner.username if lead.sales_owner else "",
                lead.handed_on,
                lead.closed_on,
                _money(lead.won_mrr),
                lead.lost_reason,
            ]  # fmt: skip
            for lead in rows.iterator(chunk_size=1000)
        )
        return csv_response(filename="leads.csv", header=header, rows=data)
    page = paginate(request, rows)
    page.object_list = _lead_rows(request.user, list(page.object_list))
    return render(
        request,
        "renewals/leads.html",
        {
            "filter": filterset,
            "page": page,
            "querystring": querystring_without(request, "page"),
            "export_query": querystring_without(request, "page", "export"),
            "sales_people": list(leads.sales_people()),
            "today": timezone.localdate(),
        },
    )


@login_required
def lead_detail(request, pk: int):
    lead = leads.lead_get(user=request.user, pk=pk)
    lead.rights = lead_rights(request.user, lead)
    return render(
        request,
        "renewals/leads_detail.html",
        {"lead": lead, "sales_people": list(leads.sales_people()), "today": timezone.localdate()},
    )


def _lead_panel(request, account, *, form=None, errors=None, done: str = ""):
    user = request.user
    rows = list(leads.lead_list(user=user).filter(account=account).order_by("-created_at", "-pk")[: PANEL_LEADS + 1])
    may_log = can_log_lead(user, account)
    if may_log and form is None:
        form = LeadForm(prefix="lead")
    for lead in rows:
        lead.error = (errors or {}).get(lead.pk, "")
    return render(
        request,
        "renewals/_leads_panel.html",
        {
            "account": account,
            "leads": _lead_rows(user, rows[:PANEL_LEADS]),
            "more": len(rows) > PANEL_LEADS,
            "form": form if may_log else None,
            "done": done,
            "sales_people": list(leads.sales_people()),
            "today": timezone.localdate(),
        },
    )


@login_required
def account_leads(request, pk: int):
    """The account page's leads panel (HTMX fragment)."""
    return _lead_panel(request, account_get(user=request.user, pk=pk))


@login_required
@require_POST
def lead_add(request, pk: int):
    account = account_get(user=request.user, pk=pk)
    if not can_log_lead(request.user, account):
        raise PermissionDenied
    form = LeadForm(request.POST, prefix="lead")
    if form.is_valid():
        try:
            leads.lead_create(account=account, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            done = _("Lead logged.")
            if is_htmx(request):
                return _lead_panel(request, account, done=done)
            messages.success(request, done)
            return redirect("accounts:detail", account.pk)
    if is_htmx(request):
        return _lead_panel(request, account, form=form)
    messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
    return redirect("accounts:detail", account.pk)


ACTIONS = {
    "hand": (LeadHandForm, _("Lead handed to sales.")),
    "won": (LeadWonForm, _("Lead marked won.")),
    "lost": (LeadLostForm, _("Lead marked lost.")),
}


@login_required
@require_POST
def lead_action(request, pk: int, action: str):
    """Hand to sales, mark won or mark lost, from the panel, the list or the lead's page:
    the panel again for HTMX from the panel, else back where the user came from."""
    if action not in ACTIONS:
        raise Http404
    lead = leads.lead_get(user=request.user, pk=pk)
    form_class, done = ACTIONS[action]
    form = form_class(request.POST)
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        try:
            if action == "hand":
                leads.lead_hand_to_sales(
                    lead=lead, by=request.user, sales_owner=data["sales_owner"], on=data["handed_on"]
                )
            elif action == "won":
                leads.lead_mark_won(lead=lead, by=request.user, won_mrr=data["won_mrr"], on=data["closed_on"])
            else:
                leads.lead_mark_lost(lead=lead, by=request.user, reason=data["lost_reason"], on=data["closed_on"])
        except ValidationError as exc:
            error = " ".join(exc.messages)
    else:
        error = " ".join(e for errs in form.errors.values() for e in errs)
    if is_htmx(request) and request.POST.get("panel"):
        account = account_get(user=request.user, pk=lead.account_id)
        return _lead_panel(request, account, errors={lead.pk: error} if error else None, done="" if error else done)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    return redirect(_back(request, reverse("renewals:lead_detail", args=[lead.pk])))


@login_required
def lead_report(request):
    """The lead bonus report: per CSM who found leads, found, handed, won, lost and MRR
    won over a date range; CSV export of the same rows."""
    today = timezone.localdate()
    start, end = _year_to_date(today)
    form = LeadReportForm(request.GET, default_start=start, default_end=end)
    start, end = form.range()
    team = form.cleaned_data.get("team") if form.is_valid() else None
    report = leads.lead_report(user=request.user, start=start, end=end, team=team)
    if request.GET.get("export") == "csv":
        header = [_("CSM"), _("Username"), _("Team"), _("Found"), _("Handed to sales"), _("Won"), _("Lost"),
                  _("MRR won"), _("From"), _("To")]  # fmt: skip
        rows = (
            [
                str(r["csm"]),
                r["csm"].username,
                r["team"],
                r["found"],
                r["handed"],
                r["won"],
                r["lost"],
                _money(r["won_mrr"]),
                start,
                end,
            ]  # fmt: skip
            for r in report["rows"]
        )
        return csv_response(filename=f"lead-report-{start}-{end}.csv", header=header, rows=rows)
    return render(
        request,
        "renewals/leads_report.html",
        {
            "form": form,
            "report": report,
            "start": start,
            "end": end,
            "ranges": _ranges(today),
            "export_query": querystring_without(request, "export"),
            "team_query": f"&team={team.pk}" if team else "",
        },
    )


# ------------------------------------------------------------------ collections


@login_required
def collections_page(request):
    """Open invoices (not paid in full) with their ageing, filtered by CSM, team, account
    and bucket; totals per bucket; collections per CSM over a date range; CSV exports."""
    today = timezone.localdate()
    start, end = _year_to_date(today)
    dates = DateRangeForm(request.GET, default_start=start, default_end=end)
    start, end = dates.range()
    scoped = collections.invoice_list(user=request.user)
    filterset = CollectionsFilter(request.GET, queryset=scoped, request=request, today=today)
    valid = filterset.is_valid()
    filtered = filterset.qs if valid else scoped.none()
    # The buckets and the CSM table follow every filter but the bucket itself.
    unbucketed = scoped
    if valid:
        for name, value in filterset.form.cleaned_data.items():
            if name != "bucket":
                unbucketed = filterset.filters[name].filter(unbucketed, value)
    else:
        unbucketed = scoped.none()
    export = request.GET.get("export")
    if export == "csm_csv":
        per_csm = collections.collections_by_csm(unbucketed, start=start, end=end, today=today)
        header = [_("CSM"), _("Invoices"), _("Invoiced"), _("Collected"), _("Outstanding"), _("Overdue"),
                  _("Collected (%)"), _("From"), _("To")]  # fmt: skip
        rows = (
            [str(r["csm"] or _("No CSM")), r["invoices"], _money(r["invoiced"]), _money(r["collected"]),
             _money(r["outstanding"]), _money(r["overdue"]), r["rate"] if r["rate"] is not None else "", start, end]
            for r in per_csm["rows"]
        )  # fmt: skip
        return csv_response(filename=f"collections-by-csm-{start}-{end}.csv", header=header, rows=rows)
    invoices = filtered.filter(collections.OPEN).order_by("due_date", "pk")
    if export == "csv":
        header = [_("Account"), _("External ID"), _("CSM"), _("Invoice"), _("Billing system ID"), _("Issued on"),
                  _("Due date"), _("Amount"), _("Paid"), _("Outstanding"), _("Days overdue"), _("Overdue")]  # fmt: skip
        labels = {b.key: str(b.label) for b in collections.BUCKETS}
        rows = (
            [i.account.name, i.account.external_id, i.account.csm.username if i.account.csm else "", i.number,
             i.external_id or "", i.issued_on, i.due_date, _money(i.amount), _money(i.paid_amount),
             _money(i.balance), max(0, (today - i.due_date).days), labels[collections.bucket_for(i.due_date, today)]]
            for i in invoices.iterator(chunk_size=1000)
        )  # fmt: skip
        return csv_response(filename=f"open-invoices-{today}.csv", header=header, rows=rows)
    page = paginate(request, invoices)
    page.object_list = list(page.object_list)
    for invoice in page.object_list:
        invoice.days_overdue = (today - invoice.due_date).days
        invoice.bucket = collections.bucket_for(invoice.due_date, today)
    buckets = collections.collections_buckets(unbucketed, today=today)
    chosen = filterset.form.cleaned_data.get("bucket") if valid else ""
    params = request.GET.copy()
    params.pop("page", None)
    for bucket in buckets:
        link = params.copy()
        if bucket["key"] == chosen:
            link.pop("bucket", None)
        else:
            link["bucket"] = bucket["key"]
        bucket["query"], bucket["chosen"] = link.urlencode(), bucket["key"] == chosen
    return render(
        request,
        "renewals/collections.html",
        {
            "filter": filterset,
            "dates": dates,
            "start": start,
            "end": end,
            "ranges": _ranges(today),
            "buckets": buckets,
            "open_total": sum((b["amount"] for b in buckets), collections.ZERO),
            "open_count": sum(b["count"] for b in buckets),
            "per_csm": collections.collections_by_csm(unbucketed, start=start, end=end, today=today),
            "page": page,
            "today": today,
            "querystring": querystring_without(request, "page"),
            "export_query": querystring_without(request, "page", "export"),
            "range_query": querystring_without(request, "page", "export", "start", "end"),
        },
    )


def _invoice_panel(request, account, *, errors=None, done: str = "", open_form_for=None):
    user = request.user
    today = timezone.localdate()
    scoped = collections.invoice_list(user=user).filter(account=account)
    open_invoices = list(scoped.filter(collections.OPEN).order_by("due_date", "pk"))
    paid = list(scoped.exclude(collections.OPEN).order_by("-due_date", "-pk")[:PANEL_PAID_INVOICES])
    for invoice in open_invoices:
        invoice.days_overdue = (today - invoice.due_date).days
        invoice.bucket = collections.bucket_for(invoice.due_date, today)
        invoice.error = (errors or {}).get(invoice.pk, "")
        invoice.form_open = invoice.pk == open_form_for and bool(invoice.error)
    return render(
        request,
        "renewals/_invoices_panel.html",
        {
            "account": account,
            "open_invoices": open_invoices,
            "paid_invoices": paid,
            "outstanding": sum((i.balance for i in open_invoices), collections.ZERO),
            "overdue": sum((i.balance for i in open_invoices if i.days_overdue > 0), collections.ZERO),
            "overdue_count": sum(1 for i in open_invoices if i.days_overdue > 0),
            "may_record": can_record_payment(user, account),
            "done": done,
            "today": today,
        },
    )


@login_required
def account_invoices(request, pk: int):
    """The account page's invoices panel (HTMX fragment)."""
    return _invoice_panel(request, account_get(user=request.user, pk=pk))


@login_required
@require_POST
def invoice_payment(request, pk: int):
    """Record a payment received on an invoice; the panel again for HTMX."""
    invoice = get_object_or_404(collections.invoice_list(user=request.user), pk=pk)
    account = invoice.account
    if not can_record_payment(request.user, account):
        raise PermissionDenied
    form = PaymentForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            collections.invoice_payment_record(invoice=invoice, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            error = " ".join(exc.messages)
    else:
        error = " ".join(e for errs in form.errors.values() for e in errs)
    done = "" if error else _("Payment recorded on %(number)s.") % {"number": invoice.number}
    if is_htmx(request):
        account = account_get(user=request.user, pk=account.pk)
        return _invoice_panel(
            request, account, errors={invoice.pk: error} if error else None, done=done, open_form_for=invoice.pk
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    return redirect(_back(request, reverse("accounts:detail", args=[account.pk])))
