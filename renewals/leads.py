"""Expansion leads (增购/交叉销售, issue 8 part 2): CSMs log upsell and cross-sell leads,
hand them to sales and follow them to won or lost; the CSM who found a won lead is
credited (lead bonus, 线索奖).

A lead moves one way: open (found) -> with_sales -> won or lost; an open lead may also be
dropped as lost before it reaches sales. Who may do what is cs_platform.access.lead_rights;
these services check it again and raise ValidationError with field errors for a move the
status does not allow, so the pages and the API answer alike."""

import datetime as dt
import logging
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from cs_platform.access import can_log_lead, lead_rights, restrict_leads
from people.models import User
from people.services import notify

from .models import Lead, Product

log = logging.getLogger(__name__)

S = Lead.Status
CLOSED = (S.WON, S.LOST)
MONEY = DecimalField(max_digits=14, decimal_places=2)
EDITABLE = ("kind", "product", "title", "description", "estimated_mrr")


# ------------------------------------------------------------------ selectors


def lead_list(*, user) -> QuerySet[Lead]:
    """The leads `user` may see, with what the lists show."""
    return restrict_leads(Lead.objects.all(), user).select_related(
        "account", "product", "found_by", "sales_owner", "account__sales_owner"
    )


def lead_get(*, user, pk) -> Lead:
    return get_object_or_404(lead_list(user=user), pk=pk)


def lead_url(lead: Lead) -> str:
    return reverse("renewals:lead_detail", args=[lead.pk])


def sales_people() -> QuerySet[User]:
    """Who a lead can be handed to."""
    return User.objects.filter(role=User.Role.SALES, is_active=True).order_by("first_name", "last_name", "pk")


def local_day_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, the day after end 00:00) in the platform's time zone."""
    tz = timezone.get_default_timezone()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
    )


def lead_report(*, user, start: dt.date, end: dt.date, team=None) -> dict:
    """The lead bonus report: per CSM who found leads, from `start` to `end` inclusive,
    how many they found (logged), how many were handed to sales, won and lost, and the
    MRR won. Credit goes to `found_by` of the won leads whoever closed them. One query.
    Returns {"rows": [...], "total": {...}}; `team` narrows to the finders of one team."""
    since, until = local_day_bounds(start, end)
    in_range = {
        "found": Q(created_at__gte=since, created_at__lt=until),
        "handed": Q(handed_on__gte=start, handed_on__lte=end),
        "won": Q(status=S.WON, closed_on__gte=start, closed_on__lte=end),
        "lost": Q(status=S.LOST, closed_on__gte=start, closed_on__lte=end),
    }
    leads = restrict_leads(Lead.objects.filter(found_by__isnull=False), user)
    if team is not None:
        leads = leads.filter(found_by__team=team)
    rows = (
        leads.filter(in_range["found"] | in_range["handed"] | in_range["won"] | in_range["lost"])
        .order_by()
        .values("found_by", "found_by__username", "found_by__first_name", "found_by__last_name", "found_by__team__name")
        .annotate(
            found=Count("id", filter=in_range["found"]),
            handed=Count("id", filter=in_range["handed"]),
            won=Count("id", filter=in_range["won"]),
            lost=Count("id", filter=in_range["lost"]),
            won_mrr=Coalesce(Sum("won_mrr", filter=in_range["won"]), Value(Decimal("0.00")), output_field=MONEY),
        )
    )
    keys = ("found", "handed", "won", "lost", "won_mrr")
    total = dict.fromkeys(keys, 0)
    result = []
    for row in rows:
        person = User(
            pk=row["found_by"],
            username=row["found_by__username"],
            first_name=row["found_by__first_name"],
            last_name=row["found_by__last_name"],
        )
        item = {k: row[k] for k in keys}
        item.update(csm=person, team=row["found_by__team__name"] or "")
        item["win_rate"] = (
            round(100 * item["won"] / (item["won"] + item["lost"])) if item["won"] + item["lost"] else None
        )
        result.append(item)
        for k in keys:
            total[k] += row[k]
    total["win_rate"] = (
        round(100 * total["won"] / (total["won"] + total["lost"])) if total["won"] + total["lost"] else None
    )
    result.sort(key=lambda r: (-r["won_mrr"], -r["won"], -r["found"], str(r["csm"])))
    return {"rows": result, "total": total}


def _win_rate(row: dict) -> int | None:
    """Won out of closed, in percent."""
    closed = row["won"] + row["lost"]
    return round(100 * row["won"] / closed) if closed else None


# ------------------------------------------------------------------ services


def _clean_estimate(value) -> Decimal:
    if value in (None, ""):
        return Decimal("0.00")
    return value


def _check_product(product) -> Product | None:
    if product is not None and not isinstance(product, Product):
        raise ValidationError({"product": [_("Unknown product.")]})
    return product


@transaction.atomic
def lead_create(
    *,
    account: Account,
    by: User,
    kind: str,
    title: str,
    description: str = "",
    product: Product | None = None,
    estimated_mrr: Decimal | None = None,
    found_by: User | None = None,
) -> Lead:
    """Log a lead found on `account`. It is credited to `found_by`, by default whoever logs
    it; only integrations and administrators log one for someone else (a CRM posting a
    lead a CSM found), and the finder must work in CS."""
    if not can_log_lead(by, account):
        raise PermissionDenied
    if found_by is None:
        if by.is_api_only:
            raise ValidationError({"found_by": [_("Name the CSM who found the lead.")]})
        found_by = by
    elif found_by.pk != by.pk:
        if not by.sees_everything:
            raise ValidationError({"found_by": [_("You can log only leads you found yourself.")]})
        if not found_by.is_active or found_by.role not in (User.Role.CSM, User.Role.MANAGER):
            raise ValidationError({"found_by": [_("Choose a CSM or manager.")]})
    lead = Lead(
        account=account,
        kind=kind,
        title=(title or "").strip(),
        description=(description or "").strip(),
        product=_check_product(product),
        estimated_mrr=_clean_estimate(estimated_mrr),
        found_by=found_by,
        status=S.OPEN,
    )
    lead.full_clean()
    lead.save()
    log.info("lead %s logged on account %s by %s", lead.pk, account.pk, by.username)
    return lead


@transaction.atomic
def lead_update(*, lead: Lead, by: User, data: dict) -> Lead:
    """Change what the lead is about (kind, product, title, description, estimate)."""
    if not lead_rights(by, lead).edit:
        raise PermissionDenied
    unknown = sorted(set(data) - set(EDITABLE))
    if unknown:
        raise ValidationError({key: [_("This field cannot be changed here.")] for key in unknown})
    for key, value in data.items():
        if key == "product":
            value = _check_product(value)
        elif key == "estimated_mrr":
            value = _clean_estimate(value)
        elif isinstance(value, str):
            value = value.strip()
        setattr(lead, key, value)
    lead.full_clean()
    lead.save()
    return lead


def _day(on: dt.date | None, today: dt.date, field: str, *, not_before: dt.date | None = None) -> dt.date:
    on = on or today
    if on > today:
        raise ValidationError({field: [_("This date cannot be in the future.")]})
    if not_before is not None and on < not_before:
        raise ValidationError({field: [_("A lead cannot close before it was handed to sales.")]})
    return on


def _closed_error(lead: Lead) -> ValidationError:
    return ValidationError(
        {"status": [_("This lead is already closed (%(status)s).") % {"status": lead.get_status_display()}]}
    )


@transaction.atomic
def lead_hand_to_sales(
    *, lead: Lead, by: User, sales_owner: User | None = None, on: dt.date | None = None, today: dt.date | None = None
) -> Lead:
    """Hand an open lead to sales: to the account's sales owner unless another sales person
    is chosen. Notifies that person in the app and by email."""
    if not lead_rights(by, lead).hand:
        raise PermissionDenied
    lead = (
        Lead.objects.select_for_update(of=("self",)).select_related("account", "account__sales_owner").get(pk=lead.pk)
    )
    if lead.status in CLOSED:
        raise _closed_error(lead)
    if lead.status != S.OPEN:
        raise ValidationError({"status": [_("This lead is already with sales.")]})
    owner = sales_owner or lead.account.sales_owner
    if owner is None:
        raise ValidationError({"sales_owner": [_("The account has no sales owner: choose a sales person.")]})
    if owner.role != User.Role.SALES or not owner.is_active:
        raise ValidationError({"sales_owner": [_("Choose an active sales person.")]})
    today = today or timezone.localdate()
    lead.handed_on = _day(on, today, "handed_on")
    lead.sales_owner = owner
    lead.status = S.WITH_SALES
    lead.full_clean()
    lead.save()
    notify(
        users=[owner],
        message=_("%(csm)s handed you a lead on %(account)s: %(title)s")
        % {"csm": by, "account": lead.account.name, "title": lead.title},
        url=lead_url(lead),
        subject=_("New lead: %(title)s") % {"title": lead.title[:100]},
    )
    log.info("lead %s handed to %s by %s", lead.pk, owner.username, by.username)
    return lead


def _notify_finder(lead: Lead, by: User, message: str) -> None:
    if lead.found_by_id and lead.found_by_id != by.pk:
        notify(users=[lead.found_by], message=message, url=lead_url(lead), email=False)


@transaction.atomic
def lead_mark_won(
    *, lead: Lead, by: User, won_mrr: Decimal | None, on: dt.date | None = None, today: dt.date | None = None
) -> Lead:
    """Sales won the lead: the MRR it brings is credited to the CSM who found it."""
    if not lead_rights(by, lead).close:
        raise PermissionDenied
    lead = Lead.objects.select_for_update(of=("self",)).select_related("account", "found_by").get(pk=lead.pk)
    if lead.status in CLOSED:
        raise _closed_error(lead)
    if lead.status != S.WITH_SALES:
        raise ValidationError({"status": [_("Hand the lead to sales before marking it won.")]})
    if won_mrr in (None, ""):
        raise ValidationError({"won_mrr": [_("Enter the MRR won.")]})
    if won_mrr < 0:
        raise ValidationError({"won_mrr": [_("Ensure this value is greater than or equal to 0.")]})
    today = today or timezone.localdate()
    lead.closed_on = _day(on, today, "closed_on", not_before=lead.handed_on)
    lead.won_mrr = won_mrr
    lead.status = S.WON
    lead.full_clean()
    lead.save()
    _notify_finder(
        lead,
        by,
        _("Your lead on %(account)s was won: %(title)s") % {"account": lead.account.name, "title": lead.title},
    )
    log.info("lead %s won (%s MRR) by %s", lead.pk, won_mrr, by.username)
    return lead


@transaction.atomic
def lead_mark_lost(
    *, lead: Lead, by: User, reason: str, on: dt.date | None = None, today: dt.date | None = None
) -> Lead:
    """The lead came to nothing, with the reason; an open lead may be dropped before it
    reaches sales."""
    rights = lead_rights(by, lead)
    if not (rights.hand if lead.status == S.OPEN else rights.close):
        raise PermissionDenied
    lead = Lead.objects.select_for_update(of=("self",)).select_related("account", "found_by").get(pk=lead.pk)
    if lead.status in CLOSED:
        raise _closed_error(lead)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"lost_reason": [_("Say why the lead was lost.")]})
    today = today or timezone.localdate()
    lead.closed_on = _day(on, today, "closed_on", not_before=lead.handed_on)
    lead.lost_reason = reason
    lead.status = S.LOST
    lead.full_clean()
    lead.save()
    _notify_finder(
        lead,
        by,
        _("Your lead on %(account)s was lost: %(title)s") % {"account": lead.account.name, "title": lead.title},
    )
    return lead


TRANSITION_FIELDS = ("sales_owner", "handed_on", "won_mrr", "closed_on", "lost_reason")


def lead_transition(*, lead: Lead, by: User, status: str, data: dict, today: dt.date | None = None) -> Lead:
    """Move a lead to `status` with the fields that move needs (the API's PATCH).
    Asking for the status it already has with the same figures changes nothing, so a
    retried request is harmless."""
    if status == lead.status and all(
        getattr(lead, key) == value for key, value in data.items() if key in TRANSITION_FIELDS
    ):
        return lead
    allowed = {
        S.WITH_SALES: ("sales_owner", "handed_on"),
        S.WON: ("won_mrr", "closed_on"),
        S.LOST: ("lost_reason", "closed_on"),
    }
    if status == S.OPEN:
        raise ValidationError({"status": [_("A lead cannot go back to open.")]})
    if status not in allowed:
        raise ValidationError({"status": [_("Unknown status.")]})
    extra = sorted(k for k in data if k in TRANSITION_FIELDS and k not in allowed[status])
    if extra:
        raise ValidationError(
            {k: [_("Not used when the status becomes %(status)s.") % {"status": status}] for k in extra}
        )
    if status == S.WITH_SALES:
        return lead_hand_to_sales(
            lead=lead, by=by, sales_owner=data.get("sales_owner"), on=data.get("handed_on"), today=today
        )
    if status == S.WON:
        return lead_mark_won(lead=lead, by=by, won_mrr=data.get("won_mrr"), on=data.get("closed_on"), today=today)
    return lead_mark_lost(lead=lead, by=by, reason=data.get("lost_reason", ""), on=data.get("closed_on"), today=today)
