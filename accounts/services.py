"""Every write to accounts goes through here: accounts, their stage history, the customer
file and its completeness, stakeholders and the timeline. Audit history (who, when,
before/after) is kept by django-simple-history on Account, CustomerFile and Stakeholder;
the request's user is recorded by its middleware."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Account, AccountStageChange, Activity, CustomerFile, Stakeholder
from .selectors import active_mrr

# ------------------------------------------------------------------ accounts


@transaction.atomic
def account_create(*, data: dict, by=None) -> Account:
    data = dict(data)
    if data.get("csm") is not None and not data.get("team"):
        data["team"] = data["csm"].team  # an account follows its CSM's team unless told otherwise
    account = Account(**data)
    account.full_clean()
    account.save()
    CustomerFile.objects.create(account=account)
    AccountStageChange.objects.create(account=account, from_stage="", to_stage=account.lifecycle_stage, changed_by=by)
    account_completeness_refresh(account_ids=[account.pk])
    account.refresh_from_db(fields=["completeness"])
    return account


@transaction.atomic
def account_update(*, account: Account, data: dict, by=None) -> Account:
    previous_stage = Account.objects.filter(pk=account.pk).values_list("lifecycle_stage", flat=True).first()
    for field, value in data.items():
        setattr(account, field, value)
    if "csm" in data and data["csm"] is not None and "team" not in data:
        account.team = data["csm"].team
    account.full_clean()
    account.save()
    if previous_stage is not None and previous_stage != account.lifecycle_stage:
        AccountStageChange.objects.create(
            account=account, from_stage=previous_stage, to_stage=account.lifecycle_stage, changed_by=by
        )
    return account


def account_stage_set(*, account: Account, stage: str, by=None) -> Account:
    """Move an account to a lifecycle stage (recorded in its stage history); a no-op when
    it is already there, so retries are harmless."""
    if account.lifecycle_stage == stage:
        return account
    return account_update(account=account, data={"lifecycle_stage": stage}, by=by)


def account_tier_for(arr: Decimal | int | float | None) -> str:
    thresholds = settings.ACCOUNT_TIER_THRESHOLDS
    arr = Decimal(arr or 0)
    if arr >= thresholds["strategic"]:
        return Account.Tier.STRATEGIC
    if arr >= thresholds["key"]:
        return Account.Tier.KEY
    return Account.Tier.STANDARD


def account_tiers_refresh(*, account_ids: Iterable[int] | None = None, as_of: dt.date | None = None) -> int:
    """Set each account's tier from its ARR on `as_of` (default today): one read and at most
    three UPDATEs whatever the number of accounts. Returns how many accounts changed tier."""
    as_of = as_of or timezone.localdate()
    qs = Account.objects.all() if account_ids is None else Account.objects.filter(pk__in=list(account_ids))
    rows = qs.annotate(mrr=active_mrr(as_of=as_of)).values_list("pk", "tier", "mrr")
    moves: dict[str, list[int]] = {}
    for pk, tier, mrr in rows:
        new = account_tier_for(mrr * 12)
        if new != tier:
            moves.setdefault(new, []).append(pk)
    for tier, pks in moves.items():
        Account.objects.filter(pk__in=pks).update(tier=tier)
    return sum(len(pks) for pks in moves.values())


# ------------------------------------------------------------------ the customer file


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    points: int


# What a complete customer file holds. Points add up to 100; the four processes share
# one section's worth, the key people are part of the file too.
FILE_SECTIONS = [
    Section("overview", gettext_lazy("Company overview"), 10),
    Section("organisation", gettext_lazy("Organisation structure"), 10),
    Section("products_bought", gettext_lazy("Products bought"), 10),
    Section("why_bought", gettext_lazy("Why they bought"), 10),
    Section("sales_promises", gettext_lazy("What sales promised"), 10),
    Section("internal_politics", gettext_lazy("Internal politics"), 10),
    Section("process_bidding", gettext_lazy("Bidding process"), 3),
    Section("process_approval", gettext_lazy("Approval process"), 3),
    Section("process_payment", gettext_lazy("Payment process"), 2),
    Section("process_audit", gettext_lazy("Audit process"), 2),
    Section("goals", gettext_lazy("Goals"), 10),
    Section("decision_maker", gettext_lazy("A decision maker (level 1)"), 10),
    Section("day_to_day", gettext_lazy("A day-to-day contact (level 2)"), 10),
]
TEXT_SECTIONS = [s.key for s in FILE_SECTIONS if hasattr(CustomerFile, s.key)]
if sum(s.points for s in FILE_SECTIONS) != 100:
    raise ImportError("FILE_SECTIONS must add up to 100 points")


@dataclass(frozen=True)
class Completeness:
    score: int
    missing: list[Section]
    present: list[Section]


def file_completeness(*, file: CustomerFile | None, has_decision_maker: bool, has_day_to_day: bool) -> Completeness:
    """The completeness of one file, with the sections still missing, in file order."""
    filled = {key: bool(file and getattr(file, key).strip()) for key in TEXT_SECTIONS}
    filled["decision_maker"] = has_decision_maker
    filled["day_to_day"] = has_day_to_day
    present = [s for s in FILE_SECTIONS if filled[s.key]]
    missing = [s for s in FILE_SECTIONS if not filled[s.key]]
    return Completeness(score=sum(s.points for s in present), missing=missing, present=present)


def _active_contact(role: str):
    return Exists(Stakeholder.objects.filter(account=OuterRef("account_id"), role=role, is_active=True))


def account_completeness_refresh(*, account_ids: Iterable[int] | None = None) -> int:
    """Recompute the stored completeness of many accounts: one read and one UPDATE."""
    ids = None if account_ids is None else list(account_ids)
    files = CustomerFile.objects.all() if ids is None else CustomerFile.objects.filter(account_id__in=ids)
    files = files.annotate(
        has_dm=_active_contact(Stakeholder.Role.DECISION_MAKER), has_dtd=_active_contact(Stakeholder.Role.DAY_TO_DAY)
    )
    scores = {
        f.account_id: file_completeness(file=f, has_decision_maker=f.has_dm, has_day_to_day=f.has_dtd).score
        for f in files
    }
    accounts = Account.objects.all() if ids is None else Account.objects.filter(pk__in=ids)
    if not scores:
        return accounts.update(completeness=0)
    return accounts.update(
        completeness=Case(
            *[When(pk=pk, then=Value(score)) for pk, score in scores.items()],
            default=Value(0),
            output_field=IntegerField(),
        )
    )


@transaction.atomic
def customer_file_update(*, account: Account, data: dict) -> CustomerFile:
    file, _created = CustomerFile.objects.get_or_create(account=account)
    unknown = set(data) - set(TEXT_SECTIONS)
    if unknown:
        raise ValidationError({key: _("Not a section of the customer file.") for key in sorted(unknown)})
    for key, value in data.items():
        setattr(file, key, (value or "").strip())
    file.full_clean()
    file.save()
    account_completeness_refresh(account_ids=[account.pk])
    return file


# ------------------------------------------------------------------ stakeholders

STAKEHOLDER_FIELDS = {
    "name", "title", "email", "phone", "role", "relationship", "influence", "goals", "demands", "personality",
}  # fmt: skip


@transaction.atomic
def stakeholder_create(*, account: Account, data: dict) -> Stakeholder:
    stakeholder = Stakeholder(account=account, **{k: v for k, v in data.items() if k in STAKEHOLDER_FIELDS})
    stakeholder.full_clean()
    stakeholder.save()
    account_completeness_refresh(account_ids=[account.pk])
    return stakeholder


@transaction.atomic
def stakeholder_update(*, stakeholder: Stakeholder, data: dict, by=None) -> Stakeholder:
    """Change a stakeholder. Setting `is_active` False (with an optional `left_on`) is the
    same as stakeholder_mark_left; setting it True again brings them back."""
    left = data.get("is_active") is False and stakeholder.is_active
    for key, value in data.items():
        if key in STAKEHOLDER_FIELDS:
            setattr(stakeholder, key, value)
    if left:
        return stakeholder_mark_left(stakeholder=stakeholder, left_on=data.get("left_on"), by=by)
    if data.get("is_active") is True:
        stakeholder.is_active, stakeholder.left_on = True, None
    elif not stakeholder.is_active and data.get("left_on"):
        # Correcting the date someone left.
        if data["left_on"] > timezone.localdate():
            raise ValidationError({"left_on": _("The date someone left cannot be in the future.")})
        stakeholder.left_on = data["left_on"]
    stakeholder.full_clean()
    stakeholder.save()
    account_completeness_refresh(account_ids=[stakeholder.account_id])
    return stakeholder


@transaction.atomic
def stakeholder_mark_left(*, stakeholder: Stakeholder, left_on: dt.date | None = None, by=None) -> Stakeholder:
    """Record that a stakeholder left the company. A decision maker (level 1) leaving is a
    major event on the timeline (health turns it into a stakeholder_left alert)."""
    if not stakeholder.is_active:
        return stakeholder  # already recorded: a second click changes nothing
    today = timezone.localdate()
    left_on = left_on or today
    if left_on > today:
        raise ValidationError({"left_on": _("The date someone left cannot be in the future.")})
    stakeholder.is_active, stakeholder.left_on = False, left_on
    stakeholder.full_clean()
    stakeholder.save()
    if stakeholder.level == 1:
        Activity.objects.create(
            account_id=stakeholder.account_id,
            kind=Activity.Kind.MAJOR_EVENT,
            occurred_at=timezone.now(),
            summary=_("Decision maker %(name)s (%(title)s) left the company on %(date)s.")
            % {"name": stakeholder.name, "title": stakeholder.title or "-", "date": left_on.isoformat()},
            next_step=_("Find out who replaces them and meet the new decision maker."),
            created_by=by,
        )
    account_completeness_refresh(account_ids=[stakeholder.account_id])
    return stakeholder


# ------------------------------------------------------------------ timeline


@transaction.atomic
def activity_log(
    *,
    account: Account,
    kind: str,
    occurred_at: dt.datetime,
    summary: str,
    next_step: str = "",
    stakeholders: Iterable[Stakeholder] = (),
    participants: Iterable = (),
    by=None,
) -> Activity:
    """Put one touch or major event on the account's timeline."""
    stakeholders, participants = list(stakeholders), list(participants)
    errors = {}
    if occurred_at and occurred_at > timezone.now() + dt.timedelta(days=1):
        errors["occurred_at"] = _("An activity is logged once it has happened; pick a date that is not in the future.")
    if any(s.account_id != account.pk for s in stakeholders):
        errors["stakeholders"] = _("Participants must be stakeholders of this account.")
    activity = Activity(
        account=account, kind=kind, occurred_at=occurred_at, summary=(summary or "").strip(), next_step=next_step,
        created_by=by,
    )  # fmt: skip
    try:
        activity.full_clean()
    except ValidationError as error:
        errors = {**error.message_dict, **errors}
    if errors:
        raise ValidationError(errors)
    activity.save()
    activity.stakeholders.set(stakeholders)
    # Our side defaults to the author, unless the author is a system posting through the API.
    activity.participants.set(participants or ([by] if by and not by.is_api_only else []))
    return activity


def account_health_set(*, scores: dict[int, tuple[int, str]]) -> int:
    """Record the latest health score and band of many accounts in one UPDATE.
    Called by the health app, which owns the scores (architecture: higher calls lower)."""
    if not scores:
        return 0
    if connection.vendor == "postgresql":
        # The UPDATE joined to the new values as three arrays: a CASE with a branch per
        # account costs the ORM and the planner time that grows with every account (about
        # 0.2 s for a scoring batch of 2,000); this stays a few milliseconds.
        ids, values, bands = zip(*((pk, score, band) for pk, (score, band) in scores.items()), strict=True)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {connection.ops.quote_name(Account._meta.db_table)} AS a"
                " SET health_score = v.score, health_band = v.band"
                " FROM unnest(%s::bigint[], %s::smallint[], %s::varchar[]) AS v (id, score, band) WHERE a.id = v.id",
                [list(ids), list(values), [str(b) for b in bands]],
            )
            return cursor.rowcount
    return Account.objects.filter(pk__in=scores).update(
        health_score=Case(
            *[When(pk=pk, then=Value(score)) for pk, (score, _band) in scores.items()], output_field=IntegerField()
        ),
        health_band=Case(*[When(pk=pk, then=Value(band)) for pk, (_score, band) in scores.items()]),
    )


def account_activated_set(*, account_ids: Iterable[int], on: dt.date) -> int:
    """Record that accounts reached the scorecard's activation threshold on day `on`
    (keeping the earliest such day, whatever order the days are scored in). One UPDATE."""
    ids = list(account_ids)
    if not ids:
        return 0
    return (
        Account.objects.filter(pk__in=ids)
        .filter(Q(activated_on__isnull=True) | Q(activated_on__gt=on))
        .update(activated_on=on)
    )
