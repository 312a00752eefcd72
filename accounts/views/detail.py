"""The account 360 page and the fragments it loads and posts to.

The page renders its own cards inline; each card is also a fragment with its own URL that
HTMX reloads or posts to. Successful writes answer with the updated card (plus the
completeness meter out of band where it changes) and fire `timeline-changed` or
`history-changed` so the other cards reload themselves."""

import json

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from cs_platform.access import can_change
from cs_platform.pages import add_service_errors, is_htmx

from .. import selectors, services
from ..forms import ActivityForm, CustomerFileForm, StageForm, StakeholderForm, StakeholderLeftForm
from ..models import Account, Activity, CustomerFile, Stakeholder

User = get_user_model()

TIMELINE_LIMIT = 20
TIMELINE_ALL_LIMIT = 500  # "show all" still stops somewhere: a page, not a data dump
HISTORY_LIMIT = 50

# ------------------------------------------------------------------ helpers


def _account(request, pk: int) -> Account:
    """The account as the 360 header shows it (scoped by access, with ARR and the next
    open renewal date, the same one the list shows); 404 when the user may not see it."""
    qs = selectors.account_list_for_page(user=request.user)
    # The customer file comes in the same query (a LEFT JOIN; None when there is none).
    return get_object_or_404(qs.select_related("file"), pk=pk)


def _writable_account(request, pk: int) -> Account:
    account = _account(request, pk)
    if not can_change(request.user, account):
        raise PermissionDenied
    return account


def _file(account: Account) -> CustomerFile | None:
    try:
        return account.file
    except CustomerFile.DoesNotExist:
        return None


def _completeness(file: CustomerFile | None, stakeholders: list[Stakeholder]):
    return services.file_completeness(
        file=file,
        has_decision_maker=any(s.is_active and s.level == 1 for s in stakeholders),
        has_day_to_day=any(s.is_active and s.level == 2 for s in stakeholders),
    )


def _stakeholders(request, account: Account) -> list[Stakeholder]:
    people = list(selectors.stakeholder_list(user=request.user, account=account))
    steps = Stakeholder.Relationship.choices
    for s in people:
        reached = [value for value, _label in steps].index(s.relationship) if s.relationship in dict(steps) else 0
        s.rel_steps = [(label, i <= reached, i == reached) for i, (_value, label) in enumerate(steps)]
    return people


def _groups(people: list[Stakeholder]) -> dict:
    return {
        "level1": [s for s in people if s.level == 1],
        "level2": [s for s in people if s.level == 2],
        "others": [s for s in people if s.level is None],
    }


def _file_context(account, file, people, *, form=None, editing=False) -> dict:
    texts = [(s.key, s.label, getattr(file, s.key, "") if file else "") for s in services.FILE_SECTIONS]
    return {
        "account": account,
        "completeness": _completeness(file, people),
        "sections": [(key, label, text) for key, label, text in texts if key in services.TEXT_SECTIONS],
        "file_form": form,
        "editing": editing,
    }


def _activity_users(request, account: Account):
    """Who can be named as our participant: the current user, the account's CSM and sales
    owner and the people of its team."""
    q = Q(pk=request.user.pk)
    if account.team_id:
        q |= Q(team_id=account.team_id)
    for user_id in (account.csm_id, account.sales_owner_id):
        if user_id:
            q |= Q(pk=user_id)
    return User.objects.filter(q, is_active=True).order_by("first_name", "last_name", "username")


def _activity_form(request, account: Account, data=None) -> ActivityForm:
    now = timezone.localtime().replace(second=0, microsecond=0)
    return ActivityForm(
        data,
        stakeholders=Stakeholder.objects.filter(account=account, is_active=True).order_by("role", "name"),
        users=_activity_users(request, account),
        initial={"occurred_at": now, "participants": [request.user.pk], "kind": Activity.Kind.CALL},
        prefix="activity",
    )


def _timeline_context(request, account: Account, *, form=None, show_all=False, writable=None) -> dict:
    limit = TIMELINE_ALL_LIMIT if show_all else TIMELINE_LIMIT
    activities = list(
        Activity.objects.filter(pk__in=selectors.activity_list(user=request.user, account=account, limit=limit + 1))
        .select_related("created_by")
        .prefetch_related(
            Prefetch("stakeholders", queryset=Stakeholder.objects.order_by("name")),
            Prefetch("participants", queryset=User.objects.order_by("username")),
        )
        .order_by("-occurred_at", "-pk")
        .all()
    )
    writable = can_change(request.user, account) if writable is None else writable
    return {
        "account": account,
        "activities": activities[:limit],
        "has_more": len(activities) > limit,
        "show_all": show_all,
        "can_change": writable,
        # The log form is fetched when opened (fresh stakeholders, a lighter page) unless
        # it comes back with errors.
        "activity_form": form if writable else None,
    }


def _edit_url(account: Account) -> str | None:
    # The edit page is built in another part of the app; the link appears once it exists.
    try:
        return reverse("accounts:edit", args=[account.pk])
    except NoReverseMatch:
        return None


def _header_context(request, account: Account, *, stage_form=None, writable=None) -> dict:
    writable = can_change(request.user, account) if writable is None else writable
    return {
        "account": account,
        "can_change": writable,
        "edit_url": _edit_url(account) if writable else None,
        "stage_form": stage_form or StageForm(initial={"lifecycle_stage": account.lifecycle_stage}),
    }


def _triggered(response: HttpResponse, *events: str) -> HttpResponse:
    response["HX-Trigger"] = json.dumps(dict.fromkeys(events, True))
    return response


# ------------------------------------------------------------------ the page


@login_required
def account_detail(request, pk: int):
    account = _account(request, pk)
    writable = can_change(request.user, account)
    people = _stakeholders(request, account)
    file = _file(account)
    context = {
        **_timeline_context(request, account, writable=writable),
        **_file_context(account, file, people),
        **_header_context(request, account, writable=writable),
        "stakeholders": _groups(people),
        "has_stakeholders": bool(people),
        "stakeholder_form": StakeholderForm(prefix="new") if writable else None,
        "can_change": writable,
    }
    return render(request, "accounts/account_detail.html", context)


# ------------------------------------------------------------------ header and stage


@login_required
@require_POST
def account_stage(request, pk: int):
    account = _writable_account(request, pk)
    form = StageForm(request.POST)
    if form.is_valid():
        try:
            services.account_update(
                account=account, data={"lifecycle_stage": form.cleaned_data["lifecycle_stage"]}, by=request.user
            )
        except ValidationError as error:
            add_service_errors(form, error)
    if form.is_valid() and not form.errors:
        if not is_htmx(request):
            return redirect("accounts:detail", pk=pk)
        account = _account(request, pk)
        response = render(request, "accounts/_header.html", _header_context(request, account, writable=True))
        return _triggered(response, "history-changed")
    account.refresh_from_db(fields=["lifecycle_stage"])
    return render(request, "accounts/_header.html", _header_context(request, account, stage_form=form, writable=True))


# ------------------------------------------------------------------ customer file


@login_required
def account_file(request, pk: int):
    """GET: the file card (with `?edit=1`, as a form). POST: save all sections."""
    account = _writable_account(request, pk) if request.method == "POST" else _account(request, pk)
    people = _stakeholders(request, account)
    file = _file(account)
    writable = can_change(request.user, account)
    if request.method == "POST":
        form = CustomerFileForm(request.POST, instance=file or CustomerFile(account=account))
        if form.is_valid():
            try:
                file = services.customer_file_update(
                    account=account, data={key: form.cleaned_data[key] for key in services.TEXT_SECTIONS}
                )
            except ValidationError as error:
                add_service_errors(form, error)
        if not form.errors:
            if not is_htmx(request):
                return redirect("accounts:detail", pk=pk)
            context = {**_file_context(account, file, people), "can_change": writable}
            return _triggered(render(request, "accounts/_file_card.html", context), "history-changed")
        context = {**_file_context(account, file, people, form=form, editing=True), "can_change": writable}
        return render(request, "accounts/_file_card.html", context)
    editing = request.GET.get("edit") == "1" and writable
    form = CustomerFileForm(instance=file or CustomerFile(account=account)) if editing else None
    context = {**_file_context(account, file, people, form=form, editing=editing), "can_change": writable}
    return render(request, "accounts/_file_card.html", context)


# ------------------------------------------------------------------ stakeholders


def _stakeholders_card(request, account: Account, *, changed=False, events=("history-changed",)) -> HttpResponse:
    people = _stakeholders(request, account)
    writable = can_change(request.user, account)
    context = {
        "account": account,
        "stakeholders": _groups(people),
        "has_stakeholders": bool(people),
        "stakeholder_form": StakeholderForm(prefix="new") if writable else None,
        "can_change": writable,
        "completeness": _completeness(_file(account), people),
        "oob_completeness": changed,
    }
    response = render(request, "accounts/_stakeholders.html", context)
    if changed:
        # The card replaces itself whatever element posted (a form in a list item, say).
        response["HX-Retarget"] = "#stakeholders-card"
        response["HX-Reswap"] = "outerHTML"
        _triggered(response, *events)
    return response


def _stakeholder(request, account: Account, stakeholder_pk: int) -> Stakeholder:
    return get_object_or_404(selectors.stakeholder_list(user=request.user, account=account), pk=stakeholder_pk)


@login_required
@require_GET
def stakeholders_card(request, pk: int):
    return _stakeholders_card(request, _account(request, pk))


@login_required
@require_POST
def stakeholder_add(request, pk: int):
    account = _writable_account(request, pk)
    form = StakeholderForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            services.stakeholder_create(account=account, data=form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
    if form.is_valid() and not form.errors:
        if not is_htmx(request):
            return redirect("accounts:detail", pk=pk)
        return _stakeholders_card(request, account, changed=True)
    return render(request, "accounts/_stakeholder_form.html", {"account": account, "form": form, "stakeholder": None})


@login_required
def stakeholder_edit(request, pk: int, stakeholder_pk: int):
    account = _writable_account(request, pk)
    stakeholder = _stakeholder(request, account, stakeholder_pk)
    prefix = f"s{stakeholder.pk}"
    if request.method == "POST":
        form = StakeholderForm(request.POST, instance=stakeholder, prefix=prefix)
        if form.is_valid():
            try:
                # form.is_valid() has set the new values on the instance; the service
                # sets them again from the cleaned data and saves.
                services.stakeholder_update(stakeholder=stakeholder, data=form.cleaned_data, by=request.user)
            except ValidationError as error:
                add_service_errors(form, error)
        if form.is_valid() and not form.errors:
            if not is_htmx(request):
                return redirect("accounts:detail", pk=pk)
            return _stakeholders_card(request, account, changed=True)
    else:
        form = StakeholderForm(instance=stakeholder, prefix=prefix)
    context = {"account": account, "form": form, "stakeholder": stakeholder}
    return render(request, "accounts/_stakeholder_form.html", context)


@login_required
@require_POST
def stakeholder_left(request, pk: int, stakeholder_pk: int):
    account = _writable_account(request, pk)
    stakeholder = _stakeholder(request, account, stakeholder_pk)
    form = StakeholderLeftForm(request.POST, prefix=f"left{stakeholder.pk}")
    if form.is_valid():
        try:
            services.stakeholder_mark_left(
                stakeholder=stakeholder, left_on=form.cleaned_data["left_on"], by=request.user
            )
        except ValidationError as error:
            add_service_errors(form, error)
    if form.is_valid() and not form.errors:
        if not is_htmx(request):
            return redirect("accounts:detail", pk=pk)
        # A decision maker leaving puts a major event on the timeline.
        return _stakeholders_card(request, account, changed=True, events=("timeline-changed", "history-changed"))
    context = {"account": account, "left_form": form, "s": stakeholder, "open": True}
    return render(request, "accounts/_stakeholder_left_form.html", context)


# ------------------------------------------------------------------ timeline


@login_required
@require_GET
def timeline(request, pk: int):
    account = _account(request, pk)
    context = _timeline_context(request, account, show_all=request.GET.get("all") == "1")
    return render(request, "accounts/_timeline.html", context)


@login_required
def activity_log(request, pk: int):
    """GET: the empty log form. POST: log the activity; answer with the timeline card."""
    account = _writable_account(request, pk)
    if request.method != "POST":
        return render(
            request, "accounts/_activity_form.html", {"account": account, "form": _activity_form(request, account)}
        )
    form = _activity_form(request, account, data=request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.activity_log(
                account=account,
                kind=data["kind"],
                occurred_at=data["occurred_at"],
                summary=data["summary"],
                next_step=data["next_step"],
                stakeholders=data["stakeholders"],
                participants=data["participants"],
                by=request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
    if form.is_valid() and not form.errors:
        if not is_htmx(request):
            return redirect("accounts:detail", pk=pk)
        context = {**_timeline_context(request, account, writable=True), "logged": True}
        return render(request, "accounts/_timeline.html", context)
    context = {**_timeline_context(request, account, form=form, writable=True), "log_open": True}
    return render(request, "accounts/_timeline.html", context)


# ------------------------------------------------------------------ history


@login_required
@require_GET
def history(request, pk: int):
    """Who changed what and when (account, customer file, stakeholders), and the stage moves."""
    account = _account(request, pk)
    account_history = getattr(selectors, "account_history", None)
    rows = account_history(user=request.user, account=account, limit=HISTORY_LIMIT) if account_history else None
    stage_changes = account.stage_changes.select_related("changed_by").all()[:HISTORY_LIMIT]
    return render(
        request,
        "accounts/_history.html",
        {"account": account, "rows": rows, "stage_changes": stage_changes},
    )


urlpatterns = [
    path("<int:pk>/", account_detail, name="detail"),
    path("<int:pk>/stage/", account_stage, name="stage"),
    path("<int:pk>/file/", account_file, name="file"),
    path("<int:pk>/stakeholders/", stakeholders_card, name="stakeholders"),
    path("<int:pk>/stakeholders/add/", stakeholder_add, name="stakeholder_add"),
    path("<int:pk>/stakeholders/<int:stakeholder_pk>/edit/", stakeholder_edit, name="stakeholder_edit"),
    path("<int:pk>/stakeholders/<int:stakeholder_pk>/left/", stakeholder_left, name="stakeholder_left"),
    path("<int:pk>/timeline/", timeline, name="timeline"),
    path("<int:pk>/timeline/log/", activity_log, name="activity_log"),
    path("<int:pk>/history/", history, name="history"),
]
