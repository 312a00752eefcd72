"""Writes for shared know-how (what colleagues learned at a path step) and the
best-practice library (最佳实践).

Both are shared across teams on purpose: what one CSM learned at a step helps every plan
that reaches it. Everyone who works in the browser reads them; CSMs, managers and
administrators write them. A know-how entry may name the account where the difficulty
was met, and a case the customer it comes from, but only an account the writer may see."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Account
from cs_platform.access import visible_accounts
from people.models import User

from ..models import BestPractice, KnowHow, PathStep

MAX_KNOW_HOW_TEXT = 2000  # a difficulty and its solution fit on a card; longer is a report
MAX_CASE_TEXT = 5000
CASE_TEXT_FIELDS = (
    "story",
    "outcome",
    "policy_support",
    "resources",
    "organisational_capability",
    "business_volume",
)
CASE_REQUIRED = ("story", "outcome")


# ------------------------------------------------------------------ who may write


def can_share_knowledge(user) -> bool:
    """CSMs, managers and administrators record know-how and cases; sales read them, and
    integration users have the API only."""
    return bool(
        user.is_authenticated
        and user.is_active
        and not user.is_api_only
        and (user.is_superuser or user.role in (User.Role.CSM, User.Role.MANAGER, User.Role.ADMIN))
    )


def can_edit_best_practice(user, practice: BestPractice) -> bool:
    """The author edits their case; managers and administrators edit any."""
    if not can_share_knowledge(user):
        return False
    return user.is_superuser or user.role in (User.Role.MANAGER, User.Role.ADMIN) or practice.author_id == user.pk


def _writer(user) -> None:
    if not can_share_knowledge(user):
        raise PermissionDenied(_("Only CSMs, managers and administrators can share know-how and best practices."))


# ------------------------------------------------------------------ helpers


def _text(value) -> str:
    return str(value or "").strip()


def _check_text(errors: dict, field: str, value: str, *, required: bool, limit: int, empty_message: str) -> None:
    if required and not value:
        errors[field] = [empty_message]
    elif len(value) > limit:
        errors[field] = [
            _("Keep it under %(limit)d characters (it has %(count)d).") % {"limit": limit, "count": len(value)}
        ]


def _visible_account(value, by, errors: dict, field: str = "account") -> Account | None:
    """The account named by `value` (an Account or a primary key) if `by` may see it."""
    if value in (None, ""):
        return None
    pk = value.pk if isinstance(value, Account) else value
    try:
        return visible_accounts(by).get(pk=pk)
    except (Account.DoesNotExist, ValueError, TypeError):
        errors[field] = [_("Choose one of your accounts, or leave it empty.")]
        return None


def _step(value, errors: dict) -> PathStep | None:
    if isinstance(value, PathStep):
        return value
    try:
        return PathStep.objects.get(pk=value) if value not in (None, "") else None
    except (PathStep.DoesNotExist, ValueError, TypeError):
        pass
    errors["step"] = [_("This path step does not exist; choose a step of a success path.")]
    return None


# ------------------------------------------------------------------ know-how


@transaction.atomic
def know_how_add(*, step, by, difficulty: str, solution: str, account=None) -> KnowHow:
    """Record a difficulty met at `step` (a PathStep or its id) and how it was solved."""
    _writer(by)
    errors: dict = {}
    step_obj = _step(step, errors)
    if step_obj is None and "step" not in errors:
        errors["step"] = [_("Choose the path step where this happened.")]
    difficulty, solution = _text(difficulty), _text(solution)
    _check_text(
        errors, "difficulty", difficulty, required=True, limit=MAX_KNOW_HOW_TEXT,
        empty_message=_("Describe the difficulty you met."),
    )  # fmt: skip
    _check_text(
        errors, "solution", solution, required=True, limit=MAX_KNOW_HOW_TEXT,
        empty_message=_("Say how it was solved, so the next colleague can do the same."),
    )  # fmt: skip
    account_obj = _visible_account(account, by, errors)
    if errors:
        raise ValidationError(errors)
    entry = KnowHow(step=step_obj, account=account_obj, difficulty=difficulty, solution=solution, author=by)
    entry.full_clean()
    entry.save()
    return entry


@transaction.atomic
def know_how_mark_helpful(*, entry: KnowHow, by, helpful: bool | None = None) -> bool:
    """Mark `entry` helpful for `by` (or take the mark back) and return whether it is now
    marked. `helpful=None` toggles; True or False set the mark, so a retried or doubled
    request changes nothing twice. Nobody marks their own entry."""
    _writer(by)
    if entry.author_id == by.pk:
        raise ValidationError(_("You cannot mark your own know-how as helpful; colleagues do that."))
    marks = KnowHow.helpful.through.objects.filter(knowhow_id=entry.pk, user_id=by.pk)
    marked = marks.exists()
    wanted = (not marked) if helpful is None else bool(helpful)
    if wanted and not marked:
        # ignore_conflicts: two clicks that race both end with one mark.
        KnowHow.helpful.through.objects.bulk_create(
            [KnowHow.helpful.through(knowhow_id=entry.pk, user_id=by.pk)], ignore_conflicts=True
        )
    elif not wanted and marked:
        marks.delete()
    return wanted


# ------------------------------------------------------------------ best practices


def _clean_case(*, by, data: dict, instance: BestPractice) -> BestPractice:
    errors: dict = {}
    title = _text(data.get("title"))
    if not title:
        errors["title"] = [_("Give the case a title.")]
    elif len(title) > 200:
        errors["title"] = [_("Keep the title under %(limit)d characters.") % {"limit": 200}]
    industry = _text(data.get("industry"))
    if industry not in Account.Industry.values:
        errors["industry"] = [_("Choose the customer's industry.")]
    size_band = _text(data.get("size_band"))
    if size_band not in Account.SizeBand.values:
        errors["size_band"] = [_("Choose the customer's size.")]
    texts = {}
    empty = {"story": _("Describe what was done."), "outcome": _("Describe the outcome, with numbers if you can.")}
    for field in CASE_TEXT_FIELDS:
        texts[field] = _text(data.get(field))
        _check_text(
            errors, field, texts[field], required=field in CASE_REQUIRED, limit=MAX_CASE_TEXT,
            empty_message=empty.get(field, ""),
        )  # fmt: skip
    account = data.get("account")
    if isinstance(account, Account) and instance.account_id == account.pk:
        account_obj = account  # keeping a link made by someone else is fine
    else:
        account_obj = _visible_account(account, by, errors)
    if errors:
        raise ValidationError(errors)
    instance.title, instance.industry, instance.size_band, instance.account = title, industry, size_band, account_obj
    for field, value in texts.items():
        setattr(instance, field, value)
    instance.full_clean()
    instance.save()
    return instance


@transaction.atomic
def best_practice_create(*, by, data: dict) -> BestPractice:
    """A new case; `data` holds title, industry, size_band, story, outcome, the four
    conditions and optionally the account it comes from."""
    _writer(by)
    return _clean_case(by=by, data=data, instance=BestPractice(author=by))


@transaction.atomic
def best_practice_update(*, practice: BestPractice, by, data: dict) -> BestPractice:
    if not can_edit_best_practice(by, practice):
        raise PermissionDenied(_("Only the author, a manager or an administrator can edit this case."))
    return _clean_case(by=by, data=data, instance=practice)
