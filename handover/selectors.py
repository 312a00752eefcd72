"""Every read of handovers starts from cs_platform.access."""

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from cs_platform.access import restrict, visible_accounts
from people.models import User

from .models import Handover, HandoverProduct, HandoverTransition
from .services import overdue_cutoff

S = Handover.Status
OPEN = [S.DRAFT, S.SUBMITTED, S.RETURNED]


def handover_list(*, user) -> QuerySet[Handover]:
    """Sales see the handovers of accounts they sold; CS sees its team's."""
    return restrict(Handover.objects.all(), user).select_related("account", "sales_owner", "csm")


def handover_list_for_page(*, user) -> QuerySet[Handover]:
    """handover_list with the lines the completeness meter reads (two queries per page,
    whatever the number of rows)."""
    return handover_list(user=user).prefetch_related("products", "stakeholders")


def handover_get(*, user, pk: int) -> Handover:
    return get_object_or_404(handover_list(user=user), pk=pk)


def handover_get_for_page(*, user, pk: int, transitions: bool = True) -> Handover:
    """One handover with everything its page shows: team, kickoff, deal lines with their
    product, key people, and (unless told not to) the transitions with who made them."""
    qs = handover_list(user=user).select_related("account__team", "kickoff")
    qs = qs.prefetch_related(
        Prefetch("products", queryset=HandoverProduct.objects.select_related("product")), "stakeholders"
    )
    if transitions:
        qs = qs.prefetch_related(Prefetch("transitions", queryset=HandoverTransition.objects.select_related("by")))
    return get_object_or_404(qs, pk=pk)


# ------------------------------------------------------------------ queues


@dataclass(frozen=True)
class Queue:
    key: str
    label: str
    q: Q
    order: tuple[str, ...]


def handover_queues(*, user) -> list[Queue]:
    """The queues of the handovers page: sales follow their own packages; CS (CSMs,
    managers, administrators) what waits for review."""
    waiting = ("submitted_at", "pk")
    newest = ("-created_at", "-pk")
    decided = ("-decided_at", "-pk")
    if user.role == User.Role.SALES and not user.sees_everything:
        mine = Q(sales_owner=user)
        return [
            Queue("drafts", _("My drafts"), mine & Q(status=S.DRAFT), newest),
            Queue("returned", _("Returned to me"), mine & Q(status=S.RETURNED), decided),
            Queue("submitted", _("Submitted"), Q(status=S.SUBMITTED), waiting),
            Queue("accepted", _("Accepted"), Q(status=S.ACCEPTED), decided),
        ]
    queues = [
        Queue("review", _("Waiting for review"), Q(status=S.SUBMITTED), waiting),
        Queue("overdue", _("Overdue"), Q(status=S.SUBMITTED, submitted_at__lt=overdue_cutoff()), waiting),
        Queue("returned", _("Returned"), Q(status=S.RETURNED), decided),
        Queue("accepted", _("Accepted"), Q(status=S.ACCEPTED), decided),
    ]
    if user.sees_everything:
        queues.insert(3, Queue("drafts", _("Drafts"), Q(status=S.DRAFT), newest))
    return queues


def handover_queue_counts(*, user, queues: list[Queue]) -> dict[str, int]:
    """How many handovers are in each queue, in one query."""
    return handover_list(user=user).aggregate(**{q.key: Count("pk", filter=q.q) for q in queues})


# ------------------------------------------------------------------ navigation


def handover_todo(*, user) -> tuple[QuerySet[Handover], QuerySet[Handover] | None]:
    """The handovers waiting for the user's action (sales: their drafts and returned ones;
    CS: the submitted ones) and, for CS, those of them that are overdue. Unevaluated, so
    the navigation can count them inside the one query it makes."""
    visible = restrict(Handover.objects.order_by(), user).values("pk")
    if user.role == User.Role.SALES and not user.sees_everything:
        return visible.filter(sales_owner=user, status__in=[S.DRAFT, S.RETURNED]), None
    todo = visible.filter(status=S.SUBMITTED)
    return todo, todo.filter(submitted_at__lt=overdue_cutoff())


# ------------------------------------------------------------------ choices for forms


def handover_accounts_for(*, user) -> QuerySet[Account]:
    """The accounts `user` may start a handover for: for sales, those they sold."""
    return visible_accounts(user).order_by("name", "pk")


def handover_open_for(*, account: Account) -> Handover | None:
    """The handover of `account` still in progress (draft, submitted or returned), if any."""
    return account.handovers.filter(status__in=OPEN).order_by("-created_at").first()


def handover_assignable_csms(*, handover: Handover) -> QuerySet[User]:
    """Who a manager may name as the receiving CSM: active CSMs and managers of the
    account's team (of any team when the account has none yet)."""
    people = User.objects.filter(is_active=True, role__in=[User.Role.CSM, User.Role.MANAGER])
    if handover.account.team_id:
        people = people.filter(team_id=handover.account.team_id)
    return people.select_related("team").order_by("first_name", "last_name", "username")
