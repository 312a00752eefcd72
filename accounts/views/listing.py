"""The account list (search, filters, sorting, pagination), its CSV and Excel exports of the
filtered list, and the pages that create and edit an account."""

import copy
import io
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from cs_platform.access import can_change, can_create_account, can_see
from cs_platform.pages import add_service_errors, csv_response, paginate, querystring_without

from .. import selectors, services
from ..filters import AccountPageFilter
from ..forms import AccountForm
from ..models import Account

CENT = Decimal("0.01")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# ------------------------------------------------------------------ the list and its exports


@login_required
def account_list(request):
    filterset = AccountPageFilter(request.GET or None, queryset=selectors.account_list_for_page(user=request.user))
    # A bad value of one filter is left out (the others still apply), never an error page.
    accounts = filterset.qs
    export = request.GET.get("export")
    if export == "csv":
        return _export_csv(accounts)
    if export == "xlsx":
        return _export_xlsx(accounts)
    return render(
        request,
        "accounts/account_list.html",
        {
            "filter": filterset,
            "page": paginate(request, accounts),
            "querystring": querystring_without(request, "page"),
            "export_query": querystring_without(request, "page", "export"),
            "today": timezone.localdate(),
            "can_create": can_create_account(request.user),
        },
    )


def _columns():
    """The export columns: header, how to read the value from an account, Excel format.
    Choice labels are translated once here, not per row (get_FOO_display is slow on
    tens of thousands of rows)."""
    money, date = "#,##0.00", "yyyy-mm-dd"  # whole numbers need no format

    def label(choices):
        labels = {value: str(text) for value, text in choices}
        return lambda value: labels.get(value, value)

    industry, stage, tier = label(Account.Industry.choices), label(Account.Stage.choices), label(Account.Tier.choices)
    service, band, size = (
        label(Account.ServiceModel.choices),
        label(Account.HealthBand.choices),
        label(Account.SizeBand.choices),
    )
    return [
        (_("External ID"), lambda a: a.external_id, None),
        (_("Name"), lambda a: a.name, None),
        (_("Industry"), lambda a: industry(a.industry), None),
        (_("Employees"), lambda a: a.employee_count, None),
        (_("Size"), lambda a: size(Account.size_band_for(a.employee_count)), None),
        (_("CSM"), lambda a: a.csm.username if a.csm else "", None),
        (_("Team"), lambda a: a.team.name if a.team else "", None),
        (_("Stage"), lambda a: stage(a.lifecycle_stage), None),
        (_("Tier"), lambda a: tier(a.tier), None),
        (_("Service model"), lambda a: service(a.service_model), None),
        (_("MRR"), lambda a: _cents(a.mrr), money),
        (_("ARR"), lambda a: _cents(a.arr), money),
        (_("Health score"), lambda a: a.health_score, None),
        (_("Health band"), lambda a: band(a.health_band), None),
        (_("File completeness (%)"), lambda a: a.completeness, None),
        (_("Next renewal"), lambda a: a.next_renewal, date),
    ]


def _cents(value: Decimal | None) -> Decimal | None:
    # SQLite sums decimals with extra digits (4835.56000000000); exports show cents.
    return None if value is None else Decimal(value).quantize(CENT)


def _rows(accounts, columns):
    # iterator(): tens of thousands of rows without holding them all; csm and team come
    # with the rows (select_related in the selector), so no query per row.
    for account in accounts.iterator(chunk_size=2000):
        yield [read(account) for _header, read, _fmt in columns]


def _export_csv(accounts):
    columns = _columns()
    return csv_response(
        filename="accounts.csv", header=[header for header, _read, _fmt in columns], rows=_rows(accounts, columns)
    )


def _export_xlsx(accounts):
    """An Excel workbook built in memory with openpyxl's write-only mode (rows are written
    out as they come, so memory stays small): numbers as numbers, dates as dates."""
    columns = _columns()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Accounts")[:31])
    sheet.freeze_panes = "A2"
    for index, (_header, _read, fmt) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = 14 if fmt else 22
    bold = Font(bold=True)
    header_row = []
    for header, _read, _fmt in columns:
        cell = WriteOnlyCell(sheet, value=str(header))
        cell.font = bold
        header_row.append(cell)
    sheet.append(header_row)

    def cell_for(value, fmt):
        # Plain values share openpyxl's one reusable cell; only text that would read as
        # a formula and numbers or dates with a format need a cell of their own.
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
            if not value.startswith("="):
                return value or None
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # text, never a formula
            return cell
        if value is None or fmt is None:
            return value
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = fmt
        return cell

    for row in _rows(accounts, columns):
        sheet.append([cell_for(value, fmt) for value, (_header, _read, fmt) in zip(row, columns, strict=True)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = 'attachment; filename="accounts.xlsx"'
    return response


# ------------------------------------------------------------------ create and edit

FIELDSETS = [
    (gettext_lazy("Identity"), ["name", "external_id", "industry", "employee_count", "region"]),
    (gettext_lazy("Owners"), ["csm", "sales_owner", "team"]),
    (gettext_lazy("Segmentation"), ["lifecycle_stage", "service_model", "product_view", "usage_driver"]),
]


# Shown under fields whose form gives no help text of its own.
HELP_TEXTS = {
    "employee_count": gettext_lazy("Sets the size band: small below 100, medium below 1,000, large below 10,000."),
    "csm": gettext_lazy("The customer success manager who owns the account."),
    "lifecycle_stage": gettext_lazy("Changing it is recorded in the account's stage history."),
    "service_model": gettext_lazy("What we deliver besides the software."),
    "product_view": gettext_lazy("How the customer sees the product, which sets what they expect from us."),
    "usage_driver": gettext_lazy("Who or what drives the use of the product at the customer."),
}


def _fieldsets(form) -> list[tuple[str, list]]:
    """The form's fields in groups; a field no group names is shown at the end, not lost."""
    for name, field in form.fields.items():
        field.help_text = field.help_text or HELP_TEXTS.get(name, "")
        if field.help_text:
            field.widget.attrs.setdefault("aria-describedby", f"{form[name].auto_id}_help")
    named = {name for _legend, names in FIELDSETS for name in names}
    groups = [(legend, [form[name] for name in names if name in form.fields]) for legend, names in FIELDSETS]
    rest = [form[name] for name in form.fields if name not in named]
    if rest:
        groups.append((gettext_lazy("Other"), rest))
    return [(legend, fields) for legend, fields in groups if fields]


def _render_form(request, form, *, account=None, status=200):
    """`account` is the one being edited, as stored (the form may have changed its copy)."""
    cancel = reverse("accounts:detail", args=[account.pk]) if account else reverse("accounts:list")
    return render(
        request,
        "accounts/account_form.html",
        {"form": form, "fieldsets": _fieldsets(form), "account": account, "cancel_url": cancel},
        status=status,
    )


def _after_save(request, account: Account):
    """To the account page; to the list when the user cannot see what they just saved
    (e.g. a manager who gave the account to another team)."""
    if can_see(request.user, account):
        return redirect("accounts:detail", account.pk)
    messages.info(request, _("The account is in another team's list, so you no longer see it."))
    return redirect("accounts:list")


@login_required
def account_create(request):
    if not can_create_account(request.user):
        raise Http404
    if request.method != "POST":
        return _render_form(request, AccountForm(user=request.user))
    form = AccountForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            account = services.account_create(data=form.cleaned_data, by=request.user)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Account “%(name)s” created.") % {"name": account.name})
            return _after_save(request, account)
    return _render_form(request, form, status=400)


@login_required
def account_edit(request, pk: int):
    account = selectors.account_get(user=request.user, pk=pk)
    if not can_change(request.user, account):
        raise PermissionDenied
    if request.method != "POST":
        return _render_form(request, AccountForm(instance=account, user=request.user), account=account)
    stored = copy.copy(account)  # the form writes its input onto `account`; the title shows what is stored
    form = AccountForm(request.POST, instance=account, user=request.user)
    if form.is_valid():
        try:
            account = services.account_update(account=account, data=form.cleaned_data, by=request.user)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Account “%(name)s” saved.") % {"name": account.name})
            return _after_save(request, account)
    return _render_form(request, form, account=stored, status=400)


urlpatterns = [
    path("", account_list, name="list"),
    path("new/", account_create, name="create"),
    path("<int:pk>/edit/", account_edit, name="edit"),
]
