"""Every read of accounts starts from cs_platform.access."""

import datetime as dt
from decimal import Decimal

from django.db.models import (
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)  # fmt: skip
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.text import capfirst

from cs_platform.access import restrict, visible_accounts

from .models import Account, Activity, CustomerFile, Stakeholder

MONEY = DecimalField(max_digits=14, decimal_places=2)


def active_mrr(*, as_of: dt.date, prefix: str = "") -> Coalesce:
    """MRR of the subscriptions active on `as_of` (start <= d < end), as an aggregate
    over the reverse relation, so accounts need not import the renewals app."""
    sub = f"{prefix}subscriptions__"
    active = Q(**{f"{sub}start_date__lte": as_of}) & (
        Q(**{f"{sub}end_date__isnull": True}) | Q(**{f"{sub}end_date__gt": as_of})
    )
    return Coalesce(Sum(f"{sub}mrr", filter=active), Value(0), output_field=MONEY)


def account_list(*, user, as_of: dt.date | None = None) -> QuerySet[Account]:
    """The accounts `user` may see, with `mrr` and `arr` from active subscriptions."""
    as_of = as_of or timezone.localdate()
    return (
        visible_accounts(user)
        .select_related("csm", "team", "sales_owner")
        .annotate(mrr=active_mrr(as_of=as_of))
        .annotate(arr=ExpressionWrapper(F("mrr") * 12, output_field=MONEY))
        .order_by("name", "pk")
    )


def account_get(*, user, pk: int) -> Account:
    return get_object_or_404(account_list(user=user), pk=pk)


def stakeholder_list(*, user, account: Account | None = None) -> QuerySet[Stakeholder]:
    """The stakeholders of one account (those still there first), or with `account=None`
    those of every account `user` may see, grouped by account."""
    if account is not None:
        return restrict(Stakeholder.objects.filter(account=account), user).order_by("-is_active", "role", "name")
    return (
        restrict(Stakeholder.objects.all(), user)
        .select_related("account")
        .order_by("account__name", "account_id", "-is_active", "role", "name", "pk")
    )


def activity_list(*, user, account: Account, limit: int = 20) -> QuerySet[Activity]:
    return restrict(Activity.objects.filter(account=account), user).select_related("created_by")[:limit]


def next_renewal_due():
    """The due date of the account's earliest open renewal (overdue ones included), as a
    subquery over the reverse relation `renewals`, so accounts need not import renewals
    and the sums over subscriptions are not multiplied by a join."""
    renewal = Account._meta.get_field("renewals").related_model
    return Subquery(
        renewal.objects.filter(account=OuterRef("pk"), stage__in=renewal.OPEN_STAGES)
        .order_by("due_date")
        .values("due_date")[:1]
    )


def account_list_for_page(*, user, as_of: dt.date | None = None) -> QuerySet[Account]:
    """account_list with the `next_renewal` date, for the list page and its exports."""
    return account_list(user=user, as_of=as_of).annotate(next_renewal=next_renewal_due())


def activity_feed(*, user) -> QuerySet[Activity]:
    """Every timeline entry `user` may see, newest first, with its account, author,
    stakeholder ids and participants loaded (a fixed number of queries for any page)."""
    return (
        restrict(Activity.objects.all(), user)
        .select_related("account", "created_by")
        .prefetch_related(
            Prefetch("stakeholders", queryset=Stakeholder.objects.only("pk")),
            "participants",
        )
        .order_by("-occurred_at", "-pk")
    )


def customer_file_get(*, user, account: Account) -> CustomerFile:
    """The customer file of a visible account (an unsaved empty one if it has none yet),
    with `has_decision_maker` and `has_day_to_day` (an active level-1/level-2 contact)
    set for accounts.services.file_completeness."""
    active = Stakeholder.objects.filter(account=OuterRef("pk"), is_active=True)
    flags = (
        visible_accounts(user)
        .filter(pk=account.pk)
        .values_list(
            Exists(active.filter(role=Stakeholder.Role.DECISION_MAKER)),
            Exists(active.filter(role=Stakeholder.Role.DAY_TO_DAY)),
        )
        .first()
    )
    if flags is None:
        raise Http404
    file = CustomerFile.objects.filter(account=account).first() or CustomerFile(account=account)
    file.has_decision_maker, file.has_day_to_day = flags
    return file


# ------------------------------------------------------------------ audit history

HISTORY_ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}
# (object kind, model, field of the historical row that names the account)
_HISTORY_SOURCES = (
    ("account", Account, "id"),
    ("customer_file", CustomerFile, "account_id"),
    ("stakeholder", Stakeholder, "account_id"),
)


def _history_fields(model) -> list:
    """The fields of `model` whose changes the trail shows: tracked, editable, and not the
    key or the owning account."""
    tracked = {f.name for f in model.history.model.tracked_fields}
    return [
        f
        for f in model._meta.concrete_fields
        if f.name in tracked and f.editable and not f.primary_key and f.name != "account"
    ]


def _history_value(record, field):
    """A JSON-safe value: usernames for people, names for other related rows."""
    if field.is_relation:
        raw = getattr(record, field.attname)
        if raw is None:
            return None
        related = getattr(record, field.name, None)
        if related is None:
            return raw  # the related row is gone; its id is all we know
        return getattr(related, "username", None) or str(related)
    value = getattr(record, field.attname)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _history_display(record, field) -> str:
    """The value as a person reads it: choice labels, full names."""
    if field.is_relation:
        related = getattr(record, field.name, None) if getattr(record, field.attname) is not None else None
        return "" if related is None else str(related)
    value = getattr(record, field.attname)
    if value is None:
        return ""
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    return str(value)


def _history_change(field, old_record, new_record) -> dict:
    return {
        "field": field.name,
        "field_label": str(capfirst(field.verbose_name)),
        "old": None if old_record is None else _history_value(old_record, field),
        "new": _history_value(new_record, field),
        "old_display": "" if old_record is None else _history_display(old_record, field),
        "new_display": _history_display(new_record, field),
    }


def account_history(*, user, account: Account, limit: int | None = None) -> list[dict]:
    """The audit trail of an account, its customer file and its stakeholders, newest
    first: who (`by`, a username or None) did what (`action`) to which object, with the
    changed fields (`changes`: field, field_label, old, new and their display forms).
    One query per history table whatever the length; empty for an account `user` may
    not see. Saves that changed nothing are left out."""
    visible = visible_accounts(user).filter(pk=account.pk).values("pk")
    entries: list[tuple[dt.datetime, int, dict]] = []
    for kind, model, account_field in _HISTORY_SOURCES:
        fields = _history_fields(model)
        by_name = {f.name: f for f in fields}
        records = (
            model.history.filter(**{f"{account_field}__in": visible})
            .select_related("history_user", *[f.name for f in fields if f.is_relation])
            .order_by("history_date", "history_id")
        )
        previous = {}
        for record in records:
            prev = previous.get(record.id)
            previous[record.id] = record
            action = HISTORY_ACTIONS.get(record.history_type, "changed")
            if action == "created":
                changes = [
                    _history_change(f, None, record) for f in fields if _history_value(record, f) not in (None, "")
                ]
            elif action == "changed" and prev is not None:
                delta = record.diff_against(prev, included_fields=list(by_name))
                changed = set(delta.changed_fields)
                changes = [_history_change(f, prev, record) for f in fields if f.name in changed]
                if not changes:
                    continue
            else:
                changes = []
            label = str(capfirst(CustomerFile._meta.verbose_name)) if kind == "customer_file" else record.name
            author = record.history_user
            entry = {
                "at": record.history_date,
                "by": author.username if author is not None else None,
                "object": kind,
                "object_id": record.id,
                "object_label": label,
                "action": action,
                "changes": changes,
            }
            entries.append((record.history_date, len(entries), entry))
    entries.sort(key=lambda item: (item[0], item[1]), reverse=True)
    result = [entry for _at, _seq, entry in entries]
    return result if limit is None else result[:limit]
