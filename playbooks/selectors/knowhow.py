"""Reads for shared know-how and the best-practice library (最佳实践).

Know-how is ranked by how many colleagues found it helpful, then by recency, with the
count and the reader's own mark annotated, so a list of any length is one query. An
entry names the account where it happened only to readers who may see that account.

Best practices for an account follow domain [003]: a big group's practice hurts a small
customer's trust, so a case is suggested only if its customer was at most one size band
larger than the account, and cases of the same industry and the closest size come first."""

from django.db.models import BooleanField, Case, Count, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Abs
from django.utils.translation import gettext as _

from accounts.models import Account
from cs_platform.access import visible_accounts

from ..models import BestPractice, KnowHow, PathStep

SIZE_ORDER = [Account.SizeBand.SMALL, Account.SizeBand.MEDIUM, Account.SizeBand.LARGE, Account.SizeBand.ENTERPRISE]
MAX_QUERY_WORDS = 8


def _size_rank(band: str) -> int:
    return SIZE_ORDER.index(band) if band in SIZE_ORDER else 0


def account_size_band(account: Account) -> str:
    """The account's size band; an account without an employee count counts as small, so
    it is never shown a case from a much larger customer."""
    return Account.size_band_for(account.employee_count) or Account.SizeBand.SMALL


# ------------------------------------------------------------------ know-how


def _ranked(queryset: QuerySet, *, user=None) -> QuerySet:
    """Know-how annotated with `helpful_count`, `marked` (by `user`) and `account_visible`,
    best first."""
    marked = Value(False, output_field=BooleanField())
    account_visible = Value(False, output_field=BooleanField())
    if user is not None and user.is_authenticated:
        marked = Exists(KnowHow.helpful.through.objects.filter(knowhow_id=OuterRef("pk"), user_id=user.pk))
        account_visible = Exists(visible_accounts(user).filter(pk=OuterRef("account_id")))
    return (
        queryset.select_related("step__stage__path", "author", "account")
        .annotate(helpful_count=Count("helpful", distinct=True), marked=marked, account_visible=account_visible)
        .order_by("-helpful_count", "-created_at", "-pk")
    )


def know_how_for_step(*, step_id: int, limit: int | None = 5, user=None) -> list[KnowHow]:
    """The best know-how recorded at one path step (at most `limit` entries)."""
    qs = _ranked(KnowHow.objects.filter(step_id=step_id), user=user)
    return list(qs[:limit] if limit else qs)


def know_how_count_for_step(*, step_id: int) -> int:
    return KnowHow.objects.filter(step_id=step_id).count()


def know_how_search(*, query: str = "", step_id: int | None = None, user=None) -> QuerySet[KnowHow]:
    """Know-how whose difficulty, solution or step title contains every word of `query`
    (case-insensitive; Chinese text without spaces is matched as one phrase), ranked like
    know_how_for_step."""
    qs = KnowHow.objects.all()
    if step_id:
        qs = qs.filter(step_id=step_id)
    for word in (query or "").split()[:MAX_QUERY_WORDS]:
        qs = qs.filter(Q(difficulty__icontains=word) | Q(solution__icontains=word) | Q(step__title__icontains=word))
    return _ranked(qs, user=user)


def know_how_get(*, pk: int) -> KnowHow:
    return KnowHow.objects.get(pk=pk)


def know_how_entry(*, pk: int, user=None) -> KnowHow:
    """One entry annotated like the lists (to re-render its card after a vote)."""
    return _ranked(KnowHow.objects.filter(pk=pk), user=user).get()


def path_step_choices() -> QuerySet[PathStep]:
    """Steps to file know-how under: those of active paths, in path order."""
    return (
        PathStep.objects.filter(is_retired=False, stage__is_retired=False, stage__path__is_active=True)
        .select_related("stage__path")
        .order_by("stage__path__name", "stage__order", "order", "pk")
    )


def path_step_get(*, pk: int) -> PathStep:
    return PathStep.objects.select_related("stage__path").get(pk=pk)


# ------------------------------------------------------------------ best practices


def _with_visibility(queryset: QuerySet, user) -> QuerySet:
    """Cases annotated with `account_visible`: whether `user` may see the customer named."""
    if user is None or not user.is_authenticated:
        return queryset.annotate(account_visible=Value(False, output_field=BooleanField()))
    return queryset.annotate(account_visible=Exists(visible_accounts(user).filter(pk=OuterRef("account_id"))))


def best_practice_list(
    *, user=None, industry: str = "", size_band: str = "", query: str = ""
) -> QuerySet[BestPractice]:
    qs = _with_visibility(BestPractice.objects.select_related("author", "account"), user)
    if industry:
        qs = qs.filter(industry=industry)
    if size_band:
        qs = qs.filter(size_band=size_band)
    for word in (query or "").split()[:MAX_QUERY_WORDS]:
        qs = qs.filter(Q(title__icontains=word) | Q(story__icontains=word) | Q(outcome__icontains=word))
    return qs.order_by("-created_at", "-pk")


def best_practice_get(*, pk: int, user=None) -> BestPractice:
    return _with_visibility(BestPractice.objects.select_related("author", "account"), user).get(pk=pk)


def _reason(*, same_industry: bool, distance: int) -> str:
    """Why a case was suggested; `distance` is the case's size band minus the account's."""
    if same_industry:
        if distance == 0:
            return _("Same industry, same size")
        if distance > 0:
            return _("Same industry, a customer one size larger")
        return _("Same industry, a smaller customer")
    if distance == 0:
        return _("Same size, another industry")
    if distance > 0:
        return _("Another industry, a customer one size larger")
    return _("Another industry, a smaller customer")


def best_practices_for_account(*, account: Account, limit: int = 3) -> list[BestPractice]:
    """Up to `limit` cases for `account`, each with a `reason`: same industry first, then
    the closest size (a smaller customer before a larger one at the same distance), then
    the newest. Never a case from a customer more than one size band larger, and never the
    account's own case."""
    rank = _size_rank(account_size_band(account))
    allowed = SIZE_ORDER[: rank + 2]
    case_rank = Case(
        *[When(size_band=band, then=Value(i)) for i, band in enumerate(SIZE_ORDER)],
        default=Value(0),
        output_field=IntegerField(),
    )
    qs = (
        BestPractice.objects.filter(size_band__in=allowed)
        .exclude(account_id=account.pk)
        .annotate(
            same_industry=Case(
                When(industry=account.industry, then=Value(1)), default=Value(0), output_field=IntegerField()
            ),
            size_rank=case_rank,
        )
        .annotate(size_distance=Abs(case_rank - Value(rank)))
        .order_by("-same_industry", "size_distance", "size_rank", "-created_at", "-pk")
    )
    cases = list(qs[:limit])
    for case in cases:
        case.reason = _reason(same_industry=bool(case.same_industry), distance=case.size_rank - rank)
    return cases
