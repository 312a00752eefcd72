"""Helpers every page uses the same way: pagination and CSV export of a filtered list."""

import csv
from collections.abc import Iterable, Sequence

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse

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
