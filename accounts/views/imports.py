"""Import of accounts, stakeholders and subscriptions from CSV or Excel (issue 4, item 6).

Upload (POST /accounts/import/) -> preview (GET /accounts/import/preview/, a dry run)
-> apply (POST /accounts/import/apply/, all or nothing). Between preview and apply the
file is kept under the importer's own directory (accounts.imports.upload_save) and its
token in their session; apply needs both, so nobody can apply another's upload.
Only managers and admins may import (access.can_import); others get 404."""

import io

import openpyxl
from celery.result import AsyncResult
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cs_platform.access import can_import
from cs_platform.pages import csv_response, is_htmx

from ..imports import (
    ImportForm,
    import_apply,
    import_kind,
    import_kinds,
    import_preview,
    read_dataset,
    upload_delete,
    upload_load,
    upload_save,
)
from ..tasks import import_apply_task

SESSION_KEY = "account_import"
PREVIEW_ROWS = 500  # a page, not a data dump: every error row first, then the rest up to this
# Files with more rows than this are applied by a Celery worker (a web request would time
# out: each new account goes through the same services as the pages), the page polling it.
INLINE_ROWS = 300


def _importer(request):
    if not can_import(request.user):
        raise Http404
    return request.user


@login_required
def import_start(request):
    user = _importer(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        previous = request.session.get(SESSION_KEY)
        if previous:
            upload_delete(user=user, token=previous.get("token", ""), extension=previous.get("extension", ""))
        extension = form.cleaned_data["extension"]
        token = upload_save(user=user, content=form.cleaned_data["content"], extension=extension)
        request.session[SESSION_KEY] = {
            "token": token,
            "extension": extension,
            "kind": form.cleaned_data["kind"],
            "name": form.cleaned_data["file"].name[:200],
        }
        return redirect("accounts:import_preview")
    return render(request, "accounts/import_form.html", {"form": form, "kinds": import_kinds()})


def _stored(request, user):
    """The kept upload of this user and session as (meta, dataset), or None."""
    meta = request.session.get(SESSION_KEY)
    if not meta or import_kind(meta.get("kind", "")) is None:
        return None
    content = upload_load(user=user, token=meta.get("token", ""), extension=meta.get("extension", ""))
    if content is None:
        return None
    try:
        return meta, read_dataset(content, meta["extension"])
    except ValidationError:
        return None


def _render_preview(request, meta, report, *, status=200):
    rows = report.error_rows[:PREVIEW_ROWS]
    if len(rows) < PREVIEW_ROWS:
        rows += [r for r in report.rows if r.action != "error"][: PREVIEW_ROWS - len(rows)]
        rows.sort(key=lambda r: r.number)
    return render(
        request,
        "accounts/import_preview.html",
        {
            "meta": meta,
            "report": report,
            "counts": report.counts,
            "rows": rows,
            "total": len(report.rows),
            "token": meta["token"],
        },
        status=status,
    )


def _expired(request):
    messages.warning(request, _("This upload is no longer available. Upload the file again."))
    return redirect("accounts:import")


@login_required
@require_GET
def import_preview_page(request):
    user = _importer(request)
    stored = _stored(request, user)
    if stored is None:
        return _expired(request)
    meta, dataset = stored
    try:
        report = import_preview(user=user, kind=meta["kind"], dataset=dataset)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("accounts:import")
    return _render_preview(request, meta, report)


@login_required
@require_POST
def import_apply_page(request):
    user = _importer(request)
    stored = _stored(request, user)
    if stored is None or request.POST.get("token") != stored[0]["token"]:
        return _expired(request)
    meta, dataset = stored
    if len(dataset) > getattr(settings, "ACCOUNT_IMPORT_INLINE_ROWS", INLINE_ROWS):
        task = import_apply_task.delay(user.pk, meta["kind"], meta["token"], meta["extension"])
        request.session[SESSION_KEY] = {**meta, "task_id": task.id, "rows": len(dataset)}
        return redirect("accounts:import_status")
    try:
        report = import_apply(user=user, kind=meta["kind"], dataset=dataset)
    except ValidationError as error:
        report = getattr(error, "report", None)
        if report is None:
            messages.error(request, " ".join(error.messages))
            return redirect("accounts:import")
        messages.error(request, _("Nothing was imported: some rows have errors."))
        return _render_preview(request, meta, report, status=400)
    upload_delete(user=user, token=meta["token"], extension=meta["extension"])
    del request.session[SESSION_KEY]
    return _imported(request, report.counts)


def _imported(request, counts):
    messages.success(
        request,
        _("Imported: %(new)s new, %(update)s updated, %(skip)s unchanged.")
        % {"new": counts["new"], "update": counts["update"], "skip": counts["skip"]},
    )
    return redirect("accounts:list")


@login_required
@require_GET
def import_status(request):
    """Where a large import is followed: the page (and its HTMX poll) shows progress until the
    worker is done, then the result. Only the importer's own session knows the task."""
    _importer(request)
    meta = request.session.get(SESSION_KEY) or {}
    if not meta.get("task_id"):
        return _expired(request)
    result = AsyncResult(meta["task_id"])
    if result.state in ("SUCCESS", "FAILURE"):
        outcome = result.result if result.state == "SUCCESS" and isinstance(result.result, dict) else None
        del request.session[SESSION_KEY]
        if outcome and outcome.get("ok"):
            response = _imported(request, outcome["counts"])
        else:
            errors = (outcome or {}).get("errors") or [_("The import failed.")]
            if errors == ["gone"]:
                errors = [_("This upload is no longer available. Upload the file again.")]
            messages.error(request, _("Nothing was imported: some rows have errors."))
            for line in errors[:20]:
                messages.error(request, line)
            response = redirect("accounts:import")
        if is_htmx(request):
            # HTMX follows a redirect inside the polled fragment; send the whole page there.
            return HttpResponse(status=204, headers={"HX-Redirect": response["Location"]})
        return response
    template = "accounts/_import_running.html" if is_htmx(request) else "accounts/import_status.html"
    return render(request, template, {"meta": meta})


@login_required
@require_GET
def import_template(request, kind: str, extension: str):
    _importer(request)
    found = import_kind(kind)
    if found is None or extension not in ("csv", "xlsx"):
        raise Http404
    example = [found.example.get(column, "") for column in found.columns]
    if extension == "csv":
        return csv_response(filename=f"import-{found.key}.csv", header=found.columns, rows=[example])
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = found.key
    sheet.append(list(found.columns))
    sheet.append(example)
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{found.key}.xlsx"'
    return response


urlpatterns = [
    path("import/", import_start, name="import"),
    path("import/preview/", import_preview_page, name="import_preview"),
    path("import/apply/", import_apply_page, name="import_apply"),
    path("import/status/", import_status, name="import_status"),
    path("import/template/<slug:kind>.<str:extension>", import_template, name="import_template"),
]
