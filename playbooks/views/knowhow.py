"""Shared know-how per path step and the best-practice library (最佳实践) (issue 5).

- `know_how_for_step`: the fragment a success plan loads for the step an account is on
  (the best five entries, a "Helpful" toggle, a small form to share what was learned).
- `know_how`: every entry, searchable and filtered by step.
- `best_practice_*`: the library of cases with the conditions that made them work.
- `best_practices_for_account`: the account page's suggestions (account visibility: 404).

Everyone who works in the browser reads know-how and cases (they are shared across teams
on purpose); CSMs, managers and administrators write. Invalid input answers with the form
and its messages (200 to HTMX, which swaps only successful answers; 400 otherwise)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Account
from accounts.selectors import account_get
from cs_platform.pages import add_service_errors, is_htmx, paginate, querystring_without

from ..knowhow_forms import BestPracticeFilterForm, BestPracticeForm, KnowHowFilterForm, KnowHowForm
from ..models import BestPractice, KnowHow, PathStep
from ..selectors import knowhow as selectors
from ..services import knowhow as services

STEP_LIMIT = 5
KNOW_HOW_PAGE_SIZE = 20
CASE_PAGE_SIZE = 12

# ------------------------------------------------------------------ helpers


def _reader(request) -> bool:
    """Integration users have the API only; everyone else reads. Returns whether the
    user may write."""
    if request.user.is_api_only:
        raise Http404
    return services.can_share_knowledge(request.user)


def _writer(request) -> None:
    if not _reader(request):
        raise Http404


def _step_or_404(pk: int) -> PathStep:
    try:
        return selectors.path_step_get(pk=pk)
    except PathStep.DoesNotExist:
        raise Http404 from None


def _entry_or_404(pk: int) -> KnowHow:
    try:
        return selectors.know_how_get(pk=pk)
    except KnowHow.DoesNotExist:
        raise Http404 from None


def _case_or_404(pk: int, user) -> BestPractice:
    try:
        return selectors.best_practice_get(pk=pk, user=user)
    except BestPractice.DoesNotExist:
        raise Http404 from None


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


# ------------------------------------------------------------------ know-how at a step


def _step_fragment(request, step: PathStep, *, form=None, status=200, added=None):
    can_write = services.can_share_knowledge(request.user)
    entries = selectors.know_how_for_step(step_id=step.pk, limit=STEP_LIMIT, user=request.user)
    total = len(entries)
    if total == STEP_LIMIT:
        total = selectors.know_how_count_for_step(step_id=step.pk)
    if can_write and form is None:
        form = KnowHowForm(with_step=False, prefix=f"kh{step.pk}")
    context = {
        "step": step,
        "entries": entries,
        "total": total,
        "more": total - len(entries),
        "can_write": can_write,
        "form": form,
        "added": added,
        "open_form": form is not None and form.is_bound,
    }
    return render(request, "playbooks/_knowhow_step.html", context, status=status)


@login_required
@require_GET
def know_how_for_step(request, step_pk: int):
    _reader(request)
    return _step_fragment(request, _step_or_404(step_pk))


@login_required
@require_POST
def know_how_add_for_step(request, step_pk: int):
    _writer(request)
    step = _step_or_404(step_pk)
    form = KnowHowForm(request.POST, with_step=False, prefix=f"kh{step.pk}")
    entry = None
    if form.is_valid():
        try:
            entry = services.know_how_add(step=step, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
    if is_htmx(request):
        return _step_fragment(request, step, form=form if entry is None else None, added=entry)
    if entry is None:
        return _know_how_page(request, add_form=_page_form_from(form, step), status=400)
    messages.success(request, _("Thank you: your know-how is shared with every colleague at this step."))
    return redirect(f"{reverse('playbooks:know_how')}?step={step.pk}")


def _page_form_from(step_form, step: PathStep) -> KnowHowForm:
    """The know-how page's form showing what a step panel rejected (without HTMX)."""
    form = KnowHowForm(
        {"step": step.pk, "difficulty": step_form.data.get(f"kh{step.pk}-difficulty", ""),
         "solution": step_form.data.get(f"kh{step.pk}-solution", "")},
    )  # fmt: skip
    form.is_valid()
    for field, errors in step_form.errors.items():
        for message in errors:
            form.add_error(field if field in form.fields else None, message)
    return form


@login_required
@require_POST
def know_how_helpful(request, pk: int):
    """Mark an entry helpful or take the mark back (`helpful` = 1 or 0; without it, toggle)."""
    _writer(request)
    entry = _entry_or_404(pk)
    wanted = {"1": True, "0": False}.get(request.POST.get("helpful", ""))
    error = ""
    try:
        services.know_how_mark_helpful(entry=entry, by=request.user, helpful=wanted)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if is_htmx(request):
        context = {"entry": selectors.know_how_entry(pk=entry.pk, user=request.user), "can_write": True}
        context["error"] = error
        return render(request, "playbooks/_knowhow_entry.html", context)
    if error:
        messages.error(request, error)
    return redirect(_safe_next(request, f"{reverse('playbooks:know_how')}?step={entry.step_id}"))


# ------------------------------------------------------------------ the know-how page


def _know_how_page(request, *, add_form=None, status=200):
    can_write = services.can_share_knowledge(request.user)
    filters = KnowHowFilterForm(request.GET or None)
    query, step = "", None
    if filters.is_valid():
        query, step = filters.cleaned_data["q"], filters.cleaned_data["step"]
    entries = selectors.know_how_search(query=query, step_id=step.pk if step else None, user=request.user)
    if can_write and add_form is None:
        add_form = KnowHowForm(initial={"step": step.pk} if step else None)
    context = {
        "filter": filters,
        "query": query,
        "selected_step": step,
        "page": paginate(request, entries, per_page=KNOW_HOW_PAGE_SIZE),
        "querystring": querystring_without(request, "page"),
        "can_write": can_write,
        "add_form": add_form,
        "open_form": add_form is not None and add_form.is_bound,
        "next": request.get_full_path(),
    }
    return render(request, "playbooks/knowhow_list.html", context, status=status)


@login_required
@require_GET
def know_how(request):
    _reader(request)
    return _know_how_page(request)


@login_required
@require_POST
def know_how_add(request):
    _writer(request)
    form = KnowHowForm(request.POST)
    if form.is_valid():
        try:
            entry = services.know_how_add(by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Thank you: your know-how is shared with every colleague at this step."))
            return redirect(f"{reverse('playbooks:know_how')}?step={entry.step_id}")
    return _know_how_page(request, add_form=form, status=400)


# ------------------------------------------------------------------ best practices


@login_required
@require_GET
def best_practice_list(request):
    can_write = _reader(request)
    filters = BestPracticeFilterForm(request.GET or None)
    data = filters.cleaned_data if filters.is_valid() else {}
    cases = selectors.best_practice_list(
        user=request.user,
        industry=data.get("industry", ""),
        size_band=data.get("size_band", ""),
        query=data.get("q", ""),
    )
    context = {
        "filter": filters,
        "page": paginate(request, cases, per_page=CASE_PAGE_SIZE),
        "querystring": querystring_without(request, "page"),
        "can_write": can_write,
        "filtered": any(data.values()) if data else False,
    }
    return render(request, "playbooks/best_practice_list.html", context)


@login_required
@require_GET
def best_practice_detail(request, pk: int):
    _reader(request)
    case = _case_or_404(pk, request.user)
    context = {"case": case, "can_edit": services.can_edit_best_practice(request.user, case)}
    return render(request, "playbooks/best_practice_detail.html", context)


def _case_form_page(request, *, form, case=None, status=200):
    context = {"form": form, "case": case}
    return render(request, "playbooks/best_practice_form.html", context, status=status)


@login_required
def best_practice_create(request):
    _writer(request)
    if request.method != "POST":
        initial = {}
        account_pk = request.GET.get("account", "")
        if account_pk.isdigit():
            account = Account.objects.filter(pk=int(account_pk)).first()
            form_accounts = BestPracticeForm(user=request.user).fields["account"].queryset
            if account and form_accounts.filter(pk=account.pk).exists():
                band = Account.size_band_for(account.employee_count)
                initial = {"account": account.pk, "industry": account.industry, "size_band": band}
        return _case_form_page(request, form=BestPracticeForm(user=request.user, initial=initial))
    form = BestPracticeForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            case = services.best_practice_create(by=request.user, data=form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Best practice “%(title)s” added to the library.") % {"title": case.title})
            return redirect("playbooks:best_practice_detail", case.pk)
    return _case_form_page(request, form=form, status=400)


@login_required
def best_practice_edit(request, pk: int):
    _writer(request)
    case = _case_or_404(pk, request.user)
    if not services.can_edit_best_practice(request.user, case):
        raise Http404
    if request.method != "POST":
        initial = {f: getattr(case, f) for f in ("title", "industry", "size_band", *services.CASE_TEXT_FIELDS)}
        initial["account"] = case.account_id
        form = BestPracticeForm(user=request.user, current_account=case.account, initial=initial)
        return _case_form_page(request, form=form, case=case)
    form = BestPracticeForm(request.POST, user=request.user, current_account=case.account)
    if form.is_valid():
        try:
            services.best_practice_update(practice=case, by=request.user, data=form.cleaned_data)
        except (ValidationError, PermissionDenied) as error:
            if isinstance(error, PermissionDenied):
                raise Http404 from None
            add_service_errors(form, error)
        else:
            messages.success(request, _("Best practice saved."))
            return redirect("playbooks:best_practice_detail", case.pk)
    return _case_form_page(request, form=form, case=case, status=400)


@login_required
@require_GET
def best_practices_for_account(request, pk: int):
    can_write = _reader(request)
    account = account_get(user=request.user, pk=pk)
    cases = selectors.best_practices_for_account(account=account, limit=3)
    context = {
        "account": account,
        "cases": cases,
        "band": selectors.account_size_band(account),
        "can_write": can_write,
    }
    return render(request, "playbooks/_best_practices_for_account.html", context)


urlpatterns = [
    path("know-how/", know_how, name="know_how"),
    path("know-how/add/", know_how_add, name="know_how_add"),
    path("know-how/step/<int:step_pk>/", know_how_for_step, name="know_how_for_step"),
    path("know-how/step/<int:step_pk>/add/", know_how_add_for_step, name="know_how_add_for_step"),
    path("know-how/<int:pk>/helpful/", know_how_helpful, name="know_how_helpful"),
    path("best-practices/", best_practice_list, name="best_practice_list"),
    path("best-practices/new/", best_practice_create, name="best_practice_create"),
    path("best-practices/<int:pk>/", best_practice_detail, name="best_practice_detail"),
    path("best-practices/<int:pk>/edit/", best_practice_edit, name="best_practice_edit"),
    path("account/<int:pk>/best-practices/", best_practices_for_account, name="best_practices_for_account"),
]
