"""The alerts pages: the list with filters and per-row acknowledge and resolve, and the
"Alerts on my accounts" fragment of My work. A fixed number of queries per page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cs_platform.access import can_change
from cs_platform.pages import is_htmx, paginate, querystring_without

from . import selectors, services
from .filters import UNRESOLVED, AlertPageFilter
from .models import Alert


@login_required
def my_alerts(request):
    """Fragment for My work."""
    alerts = selectors.my_open_alerts(user=request.user)[:10]
    return render(request, "health/_my_alerts.html", {"alerts": alerts})


@login_required
def alert_list(request):
    """Alerts the user may see, unresolved ones by default, newest first, with the number
    of each type under the other filters on top."""
    params = request.GET.copy()
    params.setdefault("status", UNRESOLVED)
    visible = selectors.alert_list(user=request.user).select_related("owner")
    filterset = AlertPageFilter(params, queryset=visible, request=request)
    valid = filterset.is_valid()
    alerts = filterset.qs.order_by("-created_at", "-pk") if valid else visible.none()
    page = paginate(request, alerts)
    page.object_list = list(page.object_list)
    # Every row is an alert of an account the user may see, so whether they may act on it
    # is the same for all rows: asked once, not once per row.
    may_act = bool(page.object_list) and can_change(request.user, page.object_list[0].account)
    return render(
        request,
        "health/alert_list.html",
        {
            "filter": filterset,
            "page": page,
            "querystring": querystring_without(request, "page"),
            "type_counts": _type_counts(filterset, params, visible) if valid else [],
            "may_act": may_act,
        },
    )


def _type_counts(filterset, params, visible) -> list[dict]:
    """How many alerts of each type match the other filters (one query: the page's
    filters, already checked, applied without the type), each with the link that narrows
    the list to it or, for the chosen type, widens it again."""
    qs = visible
    for name, value in filterset.form.cleaned_data.items():
        if name != "type":
            qs = filterset.filters[name].filter(qs, value)
    counts = dict(qs.order_by().values_list("type").annotate(n=Count("id")))
    chosen = params.get("type", "")
    others = params.copy()
    others.pop("page", None)
    rows = []
    for value, label in Alert.Type.choices:
        link = others.copy()
        if value == chosen:
            link.pop("type", None)
        else:
            link["type"] = value
        rows.append(
            {
                "type": value,
                "label": label,
                "n": counts.get(value, 0),
                "chosen": value == chosen,
                "query": link.urlencode(),
            }
        )
    return rows


@login_required
@require_POST
def alert_set_status(request, pk: int):
    """Acknowledge or resolve (with an optional note) one alert: the row again for htmx,
    else back to the page the user came from."""
    alert = get_object_or_404(selectors.alert_list(user=request.user).select_related("owner"), pk=pk)
    if not can_change(request.user, alert.account):
        raise PermissionDenied
    status = request.POST.get("status", "")
    resolution = request.POST.get("resolution", "") if status == Alert.Status.RESOLVED else ""
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = reverse("health:alert_list")
    error = ""
    try:
        services.alert_set_status(alert=alert, status=status, by=request.user, resolution=resolution)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if is_htmx(request):
        context = {"alert": alert, "may_act": True, "error": error, "back": back}
        return render(request, "health/_alert_row.html", context)
    if error:
        messages.error(request, error)
    elif status == Alert.Status.RESOLVED:
        messages.success(request, _("Alert resolved."))
    else:
        messages.success(request, _("Alert acknowledged."))
    return redirect(back)
