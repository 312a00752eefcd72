"""Handover pages: the queues, a new handover, the package form, the package page and the
review actions (submit, accept, return, assign).

Who may do what is answered by cs_platform.access; the services check it again. What a
user may not see answers 404; what they see but may not do answers 403."""

import copy
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.models import Account
from accounts.services import account_create, account_update
from cs_platform.access import can_start_handover, handover_rights
from cs_platform.pages import PAGE_SIZE, add_service_errors
from people.models import User
from playbooks.models import SuccessPlan

from .. import selectors, services
from ..forms import (
    AssignForm,
    HandoverForm,
    HandoverStartForm,
    KeyPersonFormSet,
    ProductLineFormSet,
    ReturnForm,
    products_for_lines,
)
from ..models import Handover

S = Handover.Status
EDITABLE = (S.DRAFT, S.RETURNED)

# ------------------------------------------------------------------ helpers


def _browser_user(request) -> None:
    """Integration users have the API, not the pages."""
    if request.user.is_api_only:
        raise Http404


def _days_waiting(handover: Handover, today) -> int | None:
    """Business days the handover has waited for its next step: review when submitted,
    sales when returned or still a draft."""
    since = {S.SUBMITTED: handover.submitted_at, S.RETURNED: handover.decided_at, S.DRAFT: handover.created_at}.get(
        handover.status
    )
    if since is None:
        return None
    return services.business_days_between(timezone.localtime(since).date(), today)


def _kickoff_url(handover: Handover) -> str | None:
    """The kickoff page, once the kickoff pages exist and the handover has a kickoff."""
    kickoff = getattr(handover, "kickoff", None)  # reverse one-to-one: None when there is none
    if kickoff is None:
        return None
    try:
        return reverse("handover:kickoff_detail", args=[kickoff.pk])
    except NoReverseMatch:
        return None


# ------------------------------------------------------------------ the queues


@login_required
def handover_list(request):
    _browser_user(request)
    queues = selectors.handover_queues(user=request.user)
    counts = selectors.handover_queue_counts(user=request.user, queues=queues)
    queue = next((q for q in queues if q.key == request.GET.get("queue")), queues[0])
    handovers = selectors.handover_list_for_page(user=request.user).filter(queue.q).order_by(*queue.order)
    paginator = Paginator(handovers, PAGE_SIZE)
    paginator.count = counts[queue.key]  # known from the counts query: no second COUNT(*)
    page = paginator.get_page(request.GET.get("page"))
    today = timezone.localdate()
    for handover in page.object_list:
        handover.completeness = services.handover_completeness(handover)
        handover.overdue = services.handover_is_overdue(handover, today=today)
        handover.days_waiting = _days_waiting(handover, today)
    return render(
        request,
        "handover/handover_list.html",
        {
            "queues": [(q.key, q.label, counts[q.key]) for q in queues],
            "queue": queue.key,
            "page": page,
            "querystring": f"queue={queue.key}",
            "can_start": can_start_handover(request.user),
            "today": today,
        },
    )


# ------------------------------------------------------------------ a new handover


def _start_form(request, data=None) -> HandoverStartForm:
    user = request.user
    sales_people = None
    if user.sees_everything:
        sales_people = User.objects.filter(is_active=True, role=User.Role.SALES).order_by(
            "first_name", "last_name", "username"
        )
    return HandoverStartForm(data, accounts=selectors.handover_accounts_for(user=user), sales_people=sales_people)


def _sales_owner(request, form: HandoverStartForm, account: Account | None) -> User | None:
    """Sales fill their own handovers; an administrator names the salesperson (by default
    the one who sold the account), who must be the account's seller so they can see it."""
    if not request.user.sees_everything:
        return request.user
    chosen = form.cleaned_data.get("sales_owner") or (account.sales_owner if account else None)
    if chosen is None:
        form.add_error("sales_owner", _("Choose who fills the package."))
    elif account is not None and account.sales_owner_id not in (None, chosen.pk):
        form.add_error(
            "sales_owner",
            _("%(account)s was sold by %(sales)s; the handover is theirs to fill.")
            % {"account": account.name, "sales": account.sales_owner},
        )
        return None
    return chosen


@login_required
def handover_create(request):
    if not can_start_handover(request.user):
        raise Http404
    if request.method != "POST":
        return render(request, "handover/handover_new.html", {"form": _start_form(request)})
    form = _start_form(request, request.POST)
    existing = None
    if form.is_valid():
        account = form.cleaned_data["account"]
        sales_owner = _sales_owner(request, form, account)
        existing = selectors.handover_open_for(account=account) if account is not None else None
        if existing is not None:
            form.add_error("account", _("This account already has a handover in progress."))
        if sales_owner is not None and not form.errors:
            try:
                with transaction.atomic():
                    if account is None:
                        account = account_create(
                            data={
                                "name": form.cleaned_data["name"],
                                "external_id": form.cleaned_data["external_id"],
                                "sales_owner": sales_owner,
                                "lifecycle_stage": Account.Stage.HANDOVER,
                            },
                            by=request.user,
                        )
                    elif account.sales_owner_id is None:
                        account_update(account=account, data={"sales_owner": sales_owner}, by=request.user)
                    handover = services.handover_create(account=account, sales_owner=sales_owner, by=request.user)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(
                    request, _("Handover of %(account)s started. Fill in the package.") % {"account": account.name}
                )
                return redirect("handover:edit", pk=handover.pk)
    return render(request, "handover/handover_new.html", {"form": form, "existing": existing}, status=400)


# ------------------------------------------------------------------ the package form

# Package fields that must be filled before submission (see services.ITEMS); phone or
# email completes the contact, so neither is marked alone.
NEEDED_FIELDS = {
    "team": ["team"],
    "contact": ["contact_name"],
    "contract": ["contract_start", "contract_end"],
}


def _needed_fields() -> set[str]:
    needed = set()
    for item in services.ITEMS:
        if item.required:
            needed.update(NEEDED_FIELDS.get(item.key, [item.key]))
    return needed


@dataclass
class Section:
    key: str
    title: str
    fields: list
    items: list  # (item, missing now, named when returned)
    formset: object = None
    missing: bool = field(default=False)
    returned: bool = field(default=False)


SECTIONS = [
    ("basics", gettext_lazy("Customer basics"), ["contact_name", "contact_phone", "contact_email", "address"],
     ["contact", "address"]),
    ("deal", gettext_lazy("The deal"), ["contract_start", "contract_end", "payment_terms", "deal_summary"],
     ["products", "contract", "payment_terms"]),
    ("needs", gettext_lazy("Needs and expectations"), ["needs", "why_bought"], ["needs", "why_bought"]),
    ("history", gettext_lazy("Purchase and interaction history"), ["purchase_history"], ["purchase_history"]),
    ("plan", gettext_lazy("Implementation plan"), ["implementation_plan"], ["implementation_plan"]),
    ("support", gettext_lazy("Support after the sale"), ["support_needs"], ["support_needs"]),
    ("people", gettext_lazy("Key people"), [], ["stakeholders"]),
    ("problems", gettext_lazy("Anticipated problems"), ["anticipated_problems"], ["anticipated_problems"]),
    ("feedback", gettext_lazy("Feedback from the sales process"), ["sales_feedback"], ["sales_feedback"]),
    ("promises", gettext_lazy("What sales promised"), ["promises"], ["promises"]),
    ("receiving", gettext_lazy("Receiving team and kickoff"), ["team", "csm", "kickoff_on"], ["team"]),
]  # fmt: skip


def _sections(form, completeness, handover: Handover, formsets: dict) -> list[Section]:
    missing = {item.key for item in completeness.missing}
    returned = set(handover.returned_items or []) if handover.status == S.RETURNED else set()
    sections = []
    for key, title, names, item_keys in SECTIONS:
        items = [(services.ITEM_BY_KEY[k], k in missing, k in returned) for k in item_keys]
        sections.append(
            Section(
                key=key,
                title=title,
                fields=[form[name] for name in names],
                items=items,
                formset=formsets.get(key),
                missing=any(m and item.required for item, m, _r in items),
                returned=any(r for _i, _m, r in items),
            )
        )
    return sections


def _fillable(request, pk: int, *, transitions: bool = True) -> Handover:
    handover = selectors.handover_get_for_page(user=request.user, pk=pk, transitions=transitions)
    if not handover_rights(request.user, handover).fill:
        raise PermissionDenied
    return handover


def _initial_lines(handover: Handover) -> tuple[list[dict], list[dict]]:
    products = [
        {name: getattr(line, name) for name in ("product", "quantity", "unit_price", "discount")}
        for line in handover.products.all()
    ]
    people = [
        {name: getattr(p, name) for name in ("name", "title", "role", "influence", "email", "phone", "notes")}
        for p in handover.stakeholders.all()
    ]
    return products, people


def _render_edit(request, handover: Handover, form, products, people, *, status: int = 200):
    completeness = services.handover_completeness(handover)
    return render(
        request,
        "handover/handover_form.html",
        {
            "handover": handover,
            "form": form,
            "products": products,
            "people": people,
            "sections": _sections(form, completeness, handover, {"deal": products, "people": people}),
            "needed": _needed_fields(),
            "completeness": completeness,
            "returned_items": _returned_items(handover),
        },
        status=status,
    )


def _returned_items(handover: Handover) -> list:
    if handover.status != S.RETURNED:
        return []
    return [services.ITEM_BY_KEY[key] for key in handover.returned_items or [] if key in services.ITEM_BY_KEY]


def _place_line_errors(error: ValidationError, *, form, products, people) -> None:
    """The services name a bad line `products[i]` or `stakeholders[i]` (i counts the lines
    sent); show it on that line of the form."""
    rows = {"products": products.rows(), "stakeholders": people.rows()}
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for name, field_messages in error.message_dict.items():
        kind, _sep, index = name.partition("[")
        if kind in rows and index.rstrip("]").isdigit() and int(index.rstrip("]")) < len(rows[kind]):
            rows[kind][int(index.rstrip("]"))].add_error(None, field_messages)
        else:
            form.add_error(name if name in form.fields else None, field_messages)


def _line_kwargs() -> dict:
    return {"products": products_for_lines()}


@login_required
def handover_edit(request, pk: int):
    _browser_user(request)
    handover = _fillable(request, pk, transitions=False)
    if handover.status not in EDITABLE:
        messages.info(request, _("This handover was submitted; it can no longer be changed."))
        return redirect("handover:detail", pk=handover.pk)
    initial = {"team": handover.account.team_id, "csm": handover.csm_id}
    if request.method != "POST":
        product_lines, people_lines = _initial_lines(handover)
        form = HandoverForm(instance=copy.copy(handover), initial=initial)
        products = ProductLineFormSet(initial=product_lines, prefix="products", form_kwargs=_line_kwargs())
        people = KeyPersonFormSet(initial=people_lines, prefix="people")
        return _render_edit(request, handover, form, products, people)

    # The form writes its input onto the instance it is given: give it a copy, so the
    # page shows what is stored when the input is refused.
    form = HandoverForm(request.POST, instance=copy.copy(handover), initial=initial)
    products = ProductLineFormSet(request.POST, prefix="products", form_kwargs=_line_kwargs())
    people = KeyPersonFormSet(request.POST, prefix="people")
    if all([form.is_valid(), products.is_valid(), people.is_valid()]):
        try:
            services.handover_update(
                handover=handover,
                by=request.user,
                data=form.service_data(),
                products=[row.line() for row in products.rows()],
                stakeholders=[row.person() for row in people.rows()],
                team=form.cleaned_data["team"],
                csm=form.cleaned_data["csm"],
            )
        except ValidationError as error:
            _place_line_errors(error, form=form, products=products, people=people)
        else:
            return _after_save(request, handover)
    return _render_edit(request, handover, form, products, people, status=400)


def _after_save(request, handover: Handover):
    if "submit" not in request.POST:
        messages.success(request, _("Handover saved."))
        return redirect("handover:detail", pk=handover.pk)
    try:
        services.handover_submit(handover=handover, by=request.user)
    except ValidationError as error:
        messages.warning(
            request,
            _("Saved, but not submitted yet. %(missing)s") % {"missing": " ".join(_missing_messages(error))},
        )
        return redirect("handover:edit", pk=handover.pk)
    messages.success(request, _("Handover saved and submitted for review."))
    return redirect("handover:detail", pk=handover.pk)


def _missing_messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [m for messages_ in error.message_dict.values() for m in messages_]
    return error.messages


# ------------------------------------------------------------------ the package page


def _plan(handover: Handover) -> SuccessPlan | None:
    if handover.status != S.ACCEPTED:
        return None
    return SuccessPlan.objects.filter(account_id=handover.account_id).order_by("-pk").first()


def _detail_context(request, handover: Handover, **overrides) -> dict:
    user = request.user
    today = timezone.localdate()
    lines = list(handover.products.all())
    rights = handover_rights(user, handover)
    fill = rights.fill and handover.status in EDITABLE
    review = rights.review and handover.status == S.SUBMITTED
    assign = rights.assign and handover.status == S.SUBMITTED
    plan = _plan(handover)
    transitions = list(handover.transitions.all())
    context = {
        "handover": handover,
        "account": handover.account,
        "lines": lines,
        "total": sum((line.yearly_amount for line in lines), 0),
        "people": list(handover.stakeholders.all()),
        "transitions": transitions,
        "completeness": services.handover_completeness(handover),
        "returned_items": _returned_items(handover),
        "returned_keys": set(handover.returned_items or []) if handover.status == S.RETURNED else set(),
        "returned_by": next((t for t in reversed(transitions) if t.to_status == S.RETURNED), None),
        "overdue": services.handover_is_overdue(handover, today=today),
        "days_waiting": _days_waiting(handover, today),
        "can_fill": fill,
        "can_review": review,
        "can_assign": assign,
        "return_form": ReturnForm(prefix="return") if review else None,
        "assign_form": AssignForm(
            prefix="assign",
            csms=selectors.handover_assignable_csms(handover=handover),
            initial={"csm": handover.csm_id},
        )
        if assign
        else None,
        "submit_missing": [],
        "kickoff_url": _kickoff_url(handover) if handover.status == S.ACCEPTED else None,
        "plan_url": reverse("playbooks:plan_detail", args=[plan.pk]) if plan else None,
    }
    context.update(overrides)
    return context


@login_required
def handover_detail(request, pk: int):
    _browser_user(request)
    handover = selectors.handover_get_for_page(user=request.user, pk=pk)
    return render(request, "handover/handover_detail.html", _detail_context(request, handover))


def _refused(request, handover: Handover, **overrides):
    """The package page again, with what was refused and why."""
    handover = selectors.handover_get_for_page(user=request.user, pk=handover.pk)
    return render(request, "handover/handover_detail.html", _detail_context(request, handover, **overrides), status=400)


@login_required
@require_POST
def handover_submit(request, pk: int):
    _browser_user(request)
    handover = _fillable(request, pk)
    try:
        services.handover_submit(handover=handover, by=request.user)
    except ValidationError as error:
        return _refused(request, handover, submit_missing=_missing_messages(error))
    messages.success(request, _("Handover submitted for review."))
    return redirect("handover:detail", pk=handover.pk)


def _reviewable(request, pk: int) -> Handover:
    _browser_user(request)
    handover = selectors.handover_get(user=request.user, pk=pk)
    if not handover_rights(request.user, handover).review:
        raise PermissionDenied
    return handover


@login_required
@require_POST
def handover_accept(request, pk: int):
    handover = _reviewable(request, pk)
    if handover.status == S.ACCEPTED:  # a second click: nothing more to do
        return redirect("handover:detail", pk=handover.pk)
    try:
        services.handover_accept(handover=handover, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(_missing_messages(error)))
    else:
        messages.success(request, _("Handover accepted. The account is now in kickoff."))
    return redirect("handover:detail", pk=handover.pk)


@login_required
@require_POST
def handover_return(request, pk: int):
    handover = _reviewable(request, pk)
    form = ReturnForm(request.POST, prefix="return")
    if form.is_valid():
        try:
            services.handover_return(
                handover=handover,
                by=request.user,
                reason=form.cleaned_data["reason"],
                missing=form.cleaned_data["missing"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Handover returned to sales."))
            return redirect("handover:detail", pk=handover.pk)
    return _refused(request, handover, return_form=form)


@login_required
@require_POST
def handover_assign(request, pk: int):
    _browser_user(request)
    handover = selectors.handover_get(user=request.user, pk=pk)
    if not handover_rights(request.user, handover).assign:
        raise PermissionDenied
    form = AssignForm(request.POST, prefix="assign", csms=selectors.handover_assignable_csms(handover=handover))
    if form.is_valid():
        try:
            services.handover_assign(handover=handover, csm=form.cleaned_data["csm"], by=request.user)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, _("%(csm)s is now the receiving CSM and was told.") % {"csm": form.cleaned_data["csm"]}
            )
            return redirect("handover:detail", pk=handover.pk)
    return _refused(request, handover, assign_form=form)


urlpatterns = [
    path("", handover_list, name="list"),
    path("new/", handover_create, name="create"),
    path("<int:pk>/", handover_detail, name="detail"),
    path("<int:pk>/edit/", handover_edit, name="edit"),
    path("<int:pk>/submit/", handover_submit, name="submit"),
    path("<int:pk>/accept/", handover_accept, name="accept"),
    path("<int:pk>/return/", handover_return, name="return"),
    path("<int:pk>/assign/", handover_assign, name="assign"),
]
