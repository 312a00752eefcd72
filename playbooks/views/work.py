from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.selectors import account_get

from .. import selectors, services


@login_required
def my_work(request):
    today = timezone.localdate()
    buckets = selectors.my_work(user=request.user, today=today)
    sections = [
        ("overdue", _("Overdue"), buckets["overdue"]),
        ("today", _("Today"), buckets["today"]),
        ("week", _("This week"), buckets["week"]),
        ("later", _("Later"), buckets["later"]),
    ]
    return render(
        request,
        "playbooks/my_work.html",
        {"sections": sections, "open_count": sum(len(b) for b in buckets.values()), "today": today},
    )


@login_required
@require_POST
def task_complete(request, pk: int):
    task = get_object_or_404(selectors.task_list(user=request.user), pk=pk)
    try:
        services.task_complete(task=task, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    if request.headers.get("HX-Request"):
        return render(request, "playbooks/_task_done.html", {"task": task})
    return redirect(request.POST.get("next") or "playbooks:my_work")


@login_required
def playbook_list(request):
    return render(request, "playbooks/playbook_list.html", {"playbooks": selectors.playbook_list()})


@login_required
def account_panel(request, pk: int):
    account = account_get(user=request.user, pk=pk)
    tasks = selectors.account_tasks(user=request.user, account=account)
    return render(
        request, "playbooks/_account_panel.html", {"account": account, "tasks": tasks, "today": timezone.localdate()}
    )


urlpatterns = [
    path("", playbook_list, name="list"),
    path("my-work/", my_work, name="my_work"),
    path("tasks/<int:pk>/complete/", task_complete, name="task_complete"),
    path("account/<int:pk>/panel/", account_panel, name="account_panel"),
]
