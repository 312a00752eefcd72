"""The user's own pages: notifications (the bell in the top bar)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cs_platform.pages import paginate

from . import selectors, services


def _browser_user(request) -> None:
    """Integration users have the API, not the pages."""
    if request.user.is_api_only:
        raise Http404


@login_required
def notification_list(request):
    _browser_user(request)
    page = paginate(request, selectors.notification_list(user=request.user))
    return render(request, "people/notifications.html", {"page": page})


@login_required
@require_POST
def notification_read_all(request):
    _browser_user(request)
    marked = services.notifications_mark_read(user=request.user)
    if marked:
        messages.success(request, _("All notifications marked as read."))
    return redirect("notifications")


@login_required
@require_POST
def notification_open(request, pk: int):
    """Mark one notification read and go to what it is about."""
    _browser_user(request)
    notification = selectors.notification_get(user=request.user, pk=pk)
    if notification is None:
        raise Http404
    services.notifications_mark_read(user=request.user, ids=[notification.pk])
    url = notification.url
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=False):
        return redirect(url)
    return redirect("notifications")
