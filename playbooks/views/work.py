"""My work and the account's task panel: tasks grouped by when they are due and by account,
with quick complete, snooze and reassign per task (HTMX swaps the row) and bulk actions."""

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from accounts.models import Account
from accounts.selectors import account_get
from cs_platform.access import can_change, visible_accounts
from cs_platform.pages import add_service_errors, is_htmx
from people.models import User

from .. import selectors, services
from ..models import Playbook, Task
from ..selectors.tasks import my_work as my_work_buckets
from ..selectors.tasks import task_assignees
from ..services import tasks as task_services


class TaskForm(forms.Form):
    """A task made by hand. With `account` given the account is fixed (the account page)."""

    account = forms.ModelChoiceField(label=gettext_lazy("Account"), queryset=Account.objects.none())
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    type = forms.ChoiceField(label=gettext_lazy("Type"), choices=Task.Type.choices, initial=Task.Type.OTHER)
    priority = forms.ChoiceField(
        label=gettext_lazy("Priority"), choices=Task.Priority.choices, initial=Task.Priority.NORMAL
    )
    due_date = forms.DateField(label=gettext_lazy("Due date"), widget=forms.DateInput(attrs={"type": "date"}))
    owner = forms.ModelChoiceField(
        label=gettext_lazy("Owner"), queryset=User.objects.none(), required=False, empty_label=gettext_lazy("Me")
    )
    notes = forms.CharField(label=gettext_lazy("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user, account: Account | None = None, **kwargs):
        kwargs.setdefault("prefix", "task")  # the account page has other forms with a "title"
        super().__init__(*args, **kwargs)
        self.fixed_account = account
        self.fields["due_date"].initial = timezone.localdate()
        self.fields["due_date"].widget.attrs["min"] = timezone.localdate().isoformat()
        self.fields["owner"].queryset = task_assignees(user=user, account=account)
        if account is not None:
            del self.fields["account"]
        else:
            self.fields["account"].queryset = (
                visible_accounts(user).exclude(lifecycle_stage=Account.Stage.CHURNED).order_by("name")
            )


def _snooze_dates(today: dt.date) -> dict:
    return {"tomorrow": today + dt.timedelta(days=1), "next_monday": today + dt.timedelta(days=7 - today.weekday())}


def _until(request, today: dt.date) -> dt.date:
    """The snooze date from the form: "tomorrow", "monday" or a picked date."""
    choice = request.POST.get("until", "")
    presets = _snooze_dates(today)
    if choice == "tomorrow":
        return presets["tomorrow"]
    if choice == "monday":
        return presets["next_monday"]
    try:
        return dt.date.fromisoformat(request.POST.get("until_date") or choice)
    except ValueError as error:
        raise ValidationError({"until": _("Pick a date to snooze to.")}) from error


def _row_context(request, *, account: Account | None = None) -> dict:
    today = timezone.localdate()
    return {
        "today": today,
        **_snooze_dates(today),
        "assignees": list(task_assignees(user=request.user, account=account)),
    }


def _next(request, default: str = "playbooks:my_work"):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(default)


def _task(request, pk: int) -> Task:
    return get_object_or_404(selectors.task_list(user=request.user), pk=pk)


def _render_my_work(request, *, form: TaskForm | None = None, status: int = 200):
    ctx = _row_context(request)
    buckets = my_work_buckets(user=request.user, today=ctx["today"])
    titles = {"overdue": _("Overdue"), "today": _("Today"), "week": _("This week"), "later": _("Later")}
    sections = [
        {"key": key, "title": titles[key], "groups": groups, "count": sum(len(g.tasks) for g in groups)}
        for key, groups in buckets.items()
    ]
    return render(
        request,
        "playbooks/my_work.html",
        {
            **ctx,
            "sections": sections,
            "open_count": sum(s["count"] for s in sections),
            "form": form or TaskForm(user=request.user),
            "where": "work",
        },
        status=status,
    )


@login_required
def my_work(request):
    return _render_my_work(request)


@login_required
@require_POST
def task_create(request):
    """The "New task" form on My work."""
    form = TaskForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            task_services.task_create(by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Task added."))
            return redirect("playbooks:my_work")
    return _render_my_work(request, form=form, status=400)


@login_required
@require_POST
def task_complete(request, pk: int):
    task = _task(request, pk)
    try:
        services.task_complete(task=task, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    if is_htmx(request):
        return render(request, "playbooks/_task_done.html", {"task": task, "where": request.POST.get("where", "")})
    return _next(request)


@login_required
@require_POST
def task_reopen(request, pk: int):
    task = _task(request, pk)
    ctx = _row_context(request, account=task.account if request.POST.get("where") == "panel" else None)
    try:
        task_services.task_reopen(task=task, by=request.user)
    except ValidationError as exc:
        ctx["error"] = " ".join(exc.messages)
    if is_htmx(request):
        return render(request, "playbooks/_task_row.html", {**ctx, "task": task, "where": request.POST.get("where")})
    return _next(request)


@login_required
@require_POST
def task_snooze(request, pk: int):
    task = _task(request, pk)
    where = request.POST.get("where", "")
    ctx = _row_context(request, account=task.account if where == "panel" else None)
    try:
        task_services.task_snooze(task=task, until=_until(request, ctx["today"]), by=request.user)
    except ValidationError as exc:
        if not is_htmx(request):
            messages.error(request, " ".join(exc.messages))
            return _next(request)
        task.refresh_from_db()
        return render(
            request, "playbooks/_task_row.html", {**ctx, "task": task, "where": where, "error": " ".join(exc.messages)}
        )
    if not is_htmx(request):
        messages.success(request, _("Snoozed to %(day)s.") % {"day": f"{task.due_date:%Y-%m-%d}"})
        return _next(request)
    template = "playbooks/_task_row.html" if where == "panel" else "playbooks/_task_snoozed.html"
    return render(request, template, {**ctx, "task": task, "where": where})


@login_required
@require_POST
def task_reassign(request, pk: int):
    task = _task(request, pk)
    where = request.POST.get("where", "")
    ctx = _row_context(request, account=task.account if where == "panel" else None)
    owner = next((p for p in ctx["assignees"] if str(p.pk) == request.POST.get("owner")), None)
    try:
        if owner is None:
            raise ValidationError({"owner": _("Choose a teammate.")})
        task_services.task_reassign(task=task, owner=owner, by=request.user)
    except ValidationError as exc:
        if not is_htmx(request):
            messages.error(request, " ".join(exc.messages))
            return _next(request)
        task.refresh_from_db()
        return render(
            request, "playbooks/_task_row.html", {**ctx, "task": task, "where": where, "error": " ".join(exc.messages)}
        )
    if not is_htmx(request):
        messages.success(request, _("Reassigned to %(name)s.") % {"name": owner})
        return _next(request)
    template = "playbooks/_task_row.html" if where == "panel" or owner == request.user else "playbooks/_task_moved.html"
    return render(request, template, {**ctx, "task": task, "where": where})


@login_required
@require_POST
def task_bulk(request):
    """Complete, snooze or reassign the selected tasks: all of them or none."""
    ids = request.POST.getlist("task")
    action = request.POST.get("action")
    try:
        if not all(i.isdigit() for i in ids):
            raise ValidationError(_("Select at least one task."))
        if action == "complete":
            count = task_services.tasks_bulk_complete(task_ids=ids, by=request.user)
            messages.success(request, ngettext("%(n)d task done.", "%(n)d tasks done.", count) % {"n": count})
        elif action == "snooze":
            until = _until(request, timezone.localdate())
            count = task_services.tasks_bulk_snooze(task_ids=ids, until=until, by=request.user)
            messages.success(
                request,
                ngettext("%(n)d task snoozed to %(day)s.", "%(n)d tasks snoozed to %(day)s.", count)
                % {"n": count, "day": f"{until:%Y-%m-%d}"},
            )
        elif action == "reassign":
            owner = task_assignees(user=request.user).filter(pk=request.POST.get("owner") or 0).first()
            if owner is None:
                raise ValidationError({"owner": _("Choose a teammate.")})
            count = task_services.tasks_bulk_reassign(task_ids=ids, owner=owner, by=request.user)
            messages.success(
                request,
                ngettext("%(n)d task reassigned to %(name)s.", "%(n)d tasks reassigned to %(name)s.", count)
                % {"n": count, "name": owner},
            )
        else:
            raise ValidationError(_("Choose what to do with the selected tasks."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return _next(request)


@login_required
def playbook_list(request):
    return render(
        request,
        "playbooks/playbook_list.html",
        {"playbooks": selectors.playbook_list(), "cadences": selectors.cadence_list()},
    )


def _render_panel(
    request,
    account: Account,
    *,
    form: TaskForm | None = None,
    added: bool = False,
    launched: str = "",
    launch_error: str = "",
):
    ctx = _row_context(request, account=account)
    may_add = can_change(request.user, account)
    return render(
        request,
        "playbooks/_account_panel.html",
        {
            **ctx,
            "account": account,
            "tasks": selectors.account_tasks(user=request.user, account=account),
            "may_add": may_add,
            "form": form or (TaskForm(user=request.user, account=account) if may_add else None),
            "added": added,
            "where": "panel",
            "playbooks": (
                list(Playbook.objects.filter(is_active=True).annotate(step_count=Count("steps")).order_by("name"))
                if may_add
                else []
            ),
            "launched": launched,
            "launch_error": launch_error,
        },
    )


@login_required
def account_panel(request, pk: int):
    return _render_panel(request, account_get(user=request.user, pk=pk))


@login_required
@require_POST
def account_task_create(request, pk: int):
    """ "Add task" on the account page: answers the panel again (HTMX) or goes back to the account."""
    account = account_get(user=request.user, pk=pk)
    form = TaskForm(request.POST, user=request.user, account=account)
    if form.is_valid():
        try:
            task_services.task_create(account=account, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if not is_htmx(request):
                messages.success(request, _("Task added."))
                return redirect("accounts:detail", account.pk)
            return _render_panel(request, account, added=True)
    if not is_htmx(request):
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return redirect("accounts:detail", account.pk)
    return _render_panel(request, account, form=form)


@login_required
@require_POST
def account_playbook_launch(request, pk: int):
    """ "Run a playbook" on the account page. A manual launch is one occurrence per
    playbook, account and day, so a double click or a second try the same day creates
    nothing twice."""
    account = account_get(user=request.user, pk=pk)
    raw = request.POST.get("playbook", "")
    playbook = Playbook.objects.filter(is_active=True, pk=raw).first() if raw.isdigit() else None
    launched = error = ""
    if playbook is None:
        error = _("Choose a playbook.")
    else:
        occurrence = f"manual:{timezone.localdate():%Y-%m-%d}"
        try:
            _run, created = task_services.playbook_launch(
                playbook=playbook, account=account, occurrence=occurrence, by=request.user
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            if created:
                launched = _("“%(name)s” launched: its tasks are below.") % {"name": playbook.name}
            else:
                error = _("“%(name)s” was already launched on this account today.") % {"name": playbook.name}
    if not is_htmx(request):
        if error:
            messages.error(request, error)
        else:
            messages.success(request, launched)
        return redirect("accounts:detail", account.pk)
    return _render_panel(request, account, launched=launched, launch_error=error)


urlpatterns = [
    path("", playbook_list, name="list"),
    path("my-work/", my_work, name="my_work"),
    path("tasks/new/", task_create, name="task_create"),
    path("tasks/bulk/", task_bulk, name="task_bulk"),
    path("tasks/<int:pk>/complete/", task_complete, name="task_complete"),
    path("tasks/<int:pk>/reopen/", task_reopen, name="task_reopen"),
    path("tasks/<int:pk>/snooze/", task_snooze, name="task_snooze"),
    path("tasks/<int:pk>/reassign/", task_reassign, name="task_reassign"),
    path("account/<int:pk>/panel/", account_panel, name="account_panel"),
    path("account/<int:pk>/tasks/new/", account_task_create, name="account_task_create"),
    path("account/<int:pk>/playbooks/launch/", account_playbook_launch, name="account_playbook_launch"),
]
