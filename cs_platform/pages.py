"""Helpers every page uses the same way: pagination, CSV export of a filtered list, htmx
requests, service errors shown on forms, and PDFs."""

import csv
from collections.abc import Iterable, Sequence

from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.template.loader import render_to_string

PAGE_SIZE = 25


def paginate(request, queryset, *, per_page: int = PAGE_SIZE):
    """The requested page; a bad or out-of-range page number gives the nearest page."""
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


class _Echo:
    def write(self, value):
        return value


def _cell(value):
    """A CSV cell; text that a spreadsheet would run as a formula (=, +, -, @ first) is
    quoted with a leading apostrophe, so an exported name cannot become a formula."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_response(*, filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> StreamingHttpResponse:
    """Stream rows as CSV (UTF-8 with a BOM so Excel reads Chinese names correctly)."""
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff" + writer.writerow([str(h) for h in header])
        for row in rows:
            yield writer.writerow([_cell(v) for v in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def querystring_without(request, *keys: str) -> str:
    params = request.GET.copy()
    for key in keys:
        params.pop(key, None)
    return params.urlencode()


def is_htmx(request) -> bool:
    """Whether the request came from htmx (it answers with a fragment, not a page)."""
    return bool(request.headers.get("HX-Request"))


def add_service_errors(form, error) -> None:
    """Show a service's ValidationError in `form`: on the field it names when the form has
    that field, otherwise as a form-wide error."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


def pdf_response(request, template: str, context: dict, *, filename: str) -> HttpResponse:
    """Render `template` to a PDF with WeasyPrint (its fonts include Chinese), served inline."""
    from weasyprint import HTML  # imported on use: it is slow to load and only the PDFs need it

    html = render_to_string(template, context, request=request)
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}.pdf"'
    return response
