"""CSV upload of usage events (issue 7, part 1): the page for people without an
integration, e.g. a manager loading a product export. Managers load events of their
team's accounts, administrators of any (cs_platform.access.can_import; others get 404).

The rows go through the same service as the bulk API (health.ingest), all or nothing:
any bad row and nothing is stored, the page lists the first errors by spreadsheet row."""

import csv
import io

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.imports import decode_text
from cs_platform.access import can_import

from .ingest import FIELDS, MAX_EVENTS, UsageEventsInvalid, usage_events_ingest

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
REQUIRED = ("account_external_id", "event_type", "occurred_at", "event_id")
SHOWN_ERRORS = 50
EXAMPLE = ("CRM-10001", "login", "2025-03-01T09:30:00+08:00", "u-17", "1", "evt-000001")


class UsageUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy("UTF-8 or GB18030, up to 5 MB and 10,000 rows."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not (upload.name or "").lower().endswith(".csv"):
            raise ValidationError(_("Upload a .csv file. In Excel, use Save As and pick CSV UTF-8."), code="extension")
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(_("The file is larger than 5 MB; split it into smaller files."), code="size")
        self.cleaned_data["rows"], self.cleaned_data["lines"] = read_usage_csv(upload.read(MAX_UPLOAD_BYTES + 1))
        return upload


def read_usage_csv(content: bytes) -> tuple[list[dict], list[int]]:
    """The events of a CSV file as dicts for health.ingest, and each one's line number in
    the file (the header is line 1). Raises ValidationError for a file-level problem."""
    if not content.strip():
        raise ValidationError(_("The file is empty."), code="empty")
    text = decode_text(content)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise ValidationError(_("The file is empty."), code="empty")
        columns = [h.strip().lstrip("\ufeff").lower().replace(" ", "_") for h in header]
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            raise ValidationError(
                _("Missing required columns: %(columns)s. The columns are: %(all)s.")
                % {"columns": ", ".join(missing), "all": ", ".join(FIELDS)},
                code="columns",
            )
        positions = {name: columns.index(name) for name in FIELDS if name in columns}
        rows, lines = [], []
        line = reader.line_num
        for record in reader:
            first_line, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) >= MAX_EVENTS:
                raise ValidationError(
                    _("The file has more than %(max)s rows; split it into smaller files.") % {"max": f"{MAX_EVENTS:,}"},
                    code="rows",
                )
            row = {}
            for name, position in positions.items():
                cell = record[position].strip() if position < len(record) else ""
                if cell:
                    row[name] = _number(cell) if name == "value" else cell
            rows.append(row)
            lines.append(first_line)
    except csv.Error as error:
        raise ValidationError(_("The file is not valid CSV (%(error)s).") % {"error": error}, code="csv") from error
    if not rows:
        raise ValidationError(_("The file has a header row but no data rows."), code="empty")
    return rows, lines


def _number(cell: str):
    """A number for the value column; the text itself when it is none, for the service to
    reject with its own message."""
    try:
        return float(cell)
    except ValueError:
        return cell


@login_required
def usage_upload(request):
    if not can_import(request.user):
        raise Http404
    form = UsageUploadForm(request.POST or None, request.FILES or None)
    context = {"form": form, "columns_example": list(zip(FIELDS, EXAMPLE, strict=True)), "required": REQUIRED}
    status = 200
    if request.method == "POST":
        if form.is_valid():
            lines = form.cleaned_data["lines"]
            try:
                result = usage_events_ingest(form.cleaned_data["rows"], by=request.user)
            except UsageEventsInvalid as error:
                order = {name: i for i, name in enumerate(("non_field_errors", *FIELDS))}
                errors = [
                    {
                        "line": lines[e["index"]] if "index" in e else None,
                        "messages": [
                            ("" if field == "non_field_errors" else field, m)
                            for field, ms in sorted(e.items(), key=lambda item: order.get(item[0], 0))
                            if field != "index"
                            for m in ms
                        ],
                    }
                    for e in error.errors
                ]
                context.update(errors=errors[:SHOWN_ERRORS], error_count=len(errors))
                messages.error(request, _("Nothing was stored: some rows have errors."))
                status = 400
            else:
                context["result"] = result
                messages.success(
                    request,
                    _("Stored %(accepted)s events; %(duplicates)s were already there.")
                    % {"accepted": f"{result.accepted:,}", "duplicates": f"{result.duplicates:,}"},
                )
                context["form"] = UsageUploadForm()
        else:
            status = 400
    return render(request, "health/usage_upload.html", context, status=status)
