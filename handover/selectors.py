from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404

from cs_platform.access import restrict
from people.models import User

from .models import Handover


def handover_list(*, user) -> QuerySet[Handover]:
    """Sales see the handovers of accounts they sold; CS sees its team's."""
    return restrict(Handover.objects.all(), user).select_related("account", "sales_owner", "csm")


def handover_get(*, user, pk: int) -> Handover:
    return get_object_or_404(handover_list(user=user), pk=pk)


def handover_counts(*, user) -> dict[str, int]:
    """Handovers per status, in one query."""
    rows = handover_list(user=user).order_by().values("status").annotate(n=Count("id"))
    counts = dict.fromkeys(Handover.Status.values, 0)
    counts.update({r["status"]: r["n"] for r in rows})
    return counts


def default_queue(*, user) -> str:
    """The queue a user most likely came for: sales their drafts, CS what awaits review."""
    return Handover.Status.DRAFT if user.role == User.Role.SALES else Handover.Status.SUBMITTED
