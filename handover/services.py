"""The handover flow (交接: 信任转移) and the kickoff meeting.

draft -> submitted -> returned -> submitted -> accepted. Every transition is recorded
with who and when. Sales fill the package; submitting checks every required item.
Accepting assigns the CSM, moves the account to kickoff, copies stakeholders, promises,
needs and the deal into the customer file and subscriptions, schedules the kickoff and
starts the first-project success path, all in one transaction and once only (a double
click, a retried request: one plan, one kickoff). Holding the kickoff completes the
matching steps of the plan.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Account, Activity, CustomerFile, Stakeholder
from accounts.services import account_create, account_stage_set, account_update, activity_log, customer_file_update
from cs_platform.access import can_change
from people.models import Team, User
from people.services import notify
from playbooks.models import PlanStep, SuccessPath
from playbooks.services.plans import plan_start, plan_step_set_status
from renewals.models import Subscription

from .models import Handover, HandoverProduct, HandoverStakeholder, HandoverTransition, Kickoff, KickoffParticipant

S = Handover.Status
FIRST_PROJECT_KEY = "kickoff"  # the built-in path is the one with a step of this key

# ------------------------------------------------------------------ the package


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    required: bool


ITEMS = [
    Item("team", gettext_lazy("Receiving team"), True),
    Item("contact", gettext_lazy("Main contact with phone or email"), True),
    Item("address", gettext_lazy("Address"), False),
    Item("products", gettext_lazy("Products, quantities and prices"), True),
    Item("contract", gettext_lazy("Contract dates"), True),
    Item("payment_terms", gettext_lazy("Payment terms"), True),
    Item("needs", gettext_lazy("Needs, expectations and special requests"), True),
    Item("why_bought", gettext_lazy("Why they bought"), False),
    Item("purchase_history", gettext_lazy("Purchase and interaction history"), False),
    Item("implementation_plan", gettext_lazy("Implementation plan and timeline"), True),
    Item("support_needs", gettext_lazy("Support needs after the sale"), False),
    Item("stakeholders", gettext_lazy("Key people, with a decision maker"), True),
    Item("anticipated_problems", gettext_lazy("Anticipated problems and suggested responses"), True),
    Item("sales_feedback", gettext_lazy("Feedback from the sales process"), False),
    Item("promises", gettext_lazy("What sales promised"), True),
]
ITEM_BY_KEY = {item.key: item for item in ITEMS}
TEXT_FIELDS = [
    "contact_name", "contact_phone", "contact_email", "address", "contract_start", "contract_end", "payment_terms",
    "deal_summary", "why_bought", "needs", "purchase_history", "implementation_plan", "support_needs",
    "anticipated_problems", "sales_feedback", "promises", "kickoff_on",
]  # fmt: skip


def _filled(handover: Handover, key: str, *, products: list, stakeholders: list) -> bool:
    if key == "team":
        return handover.account.team_id is not None or handover.csm_id is not None
    if key == "contact":
        return bool(handover.contact_name.strip() and (handover.contact_phone.strip() or handover.contact_email))
    if key == "products":
        return bool(products)
    if key == "contract":
        return handover.contract_start is not None and handover.contract_end is not None
    if key == "stakeholders":
        return any(s.role == Stakeholder.Role.DECISION_MAKER for s in stakeholders)
    return bool(str(getattr(handover, key) or "").strip())


@dataclass
class Completeness:
    percent: int
    missing: list[Item]  # every item not filled, required first
    missing_required: list[Item]

    @property
    def ready(self) -> bool:
        return not self.missing_required


def handover_completeness(handover: Handover) -> Completeness:
    """How much of the package is filled (every item counts, the required ones twice) and
    what is missing. Reads `products` and `stakeholders` through the prefetch cache when
    the caller prefetched them."""
    products = list(handover.products.all())
    stakeholders = list(handover.stakeholders.all())
    missing = [i for i in ITEMS if not _filled(handover, i.key, products=products, stakeholders=stakeholders)]
    weight = sum(2 if i.required else 1 for i in ITEMS)
    lost = sum(2 if i.required else 1 for i in missing)
    missing.sort(key=lambda i: not i.required)
    return Completeness(
        percent=round(100 * (weight - lost) / weight),
        missing=missing,
        missing_required=[i for i in missing if i.required],
    )


def _record(handover: Handover, *, to: str, by: User | None, note: str = "") -> None:
    HandoverTransition.objects.create(handover=handover, from_status=handover.status, to_status=to, by=by, note=note)
    handover.status = to


def _check_editable(handover: Handover, by: User) -> None:
    if handover.status not in (S.DRAFT, S.RETURNED):
        raise ValidationError(_("Only a draft or a returned handover can be changed."))
    if not (by.pk == handover.sales_owner_id or by.sees_everything):
        raise ValidationError(_("Only the sales owner can change this handover."))


def _clean_dates(handover: Handover) -> None:
    if handover.contract_start and handover.contract_end and handover.contract_end <= handover.contract_start:
        raise ValidationError({"contract_end": _("The contract must end after it starts.")})


def _set_team(handover: Handover, *, team: Team | None, csm: User | None, by: User) -> None:
    """Route the handover: the receiving team (or the named CSM's team) becomes the account's
    team, so that team's CSMs and manager see it waiting for review."""
    if csm is not None:
        if csm.role not in (User.Role.CSM, User.Role.MANAGER) or not csm.is_active:
            raise ValidationError({"csm": _("Choose a customer success manager.")})
        team = team or csm.team
        if team is not None and csm.team_id != team.pk:
            raise ValidationError({"csm": _("This CSM is not in the receiving team.")})
        handover.csm = csm
    if team is not None and handover.account.team_id != team.pk:
        account_update(account=handover.account, data={"team": team}, by=by)


@transaction.atomic
def handover_create(
    *,
    account: Account,
    sales_owner: User,
    data: dict | None = None,
    products: list[dict] | None = None,
    stakeholders: list[dict] | None = None,
    team: Team | None = None,
    csm: User | None = None,
    by: User | None = None,
) -> Handover:
    """A new draft for `account`, owned by `sales_owner`."""
    data = {k: v for k, v in (data or {}).items() if k in TEXT_FIELDS + ["external_id"]}
    handover = Handover(account=account, sales_owner=sales_owner, **data)
    _clean_dates(handover)
    handover.full_clean(exclude=["csm"])
    handover.save()
    _set_team(handover, team=team, csm=csm, by=by or sales_owner)
    handover.save()
    handover_lines_set(handover=handover, products=products or [], stakeholders=stakeholders or [])
    HandoverTransition.objects.create(handover=handover, from_status="", to_status=S.DRAFT, by=by or sales_owner)
    return handover


@transaction.atomic
def handover_update(
    *,
    handover: Handover,
    by: User,
    data: dict,
    products: list[dict] | None = None,
    stakeholders: list[dict] | None = None,
    team: Team | None = None,
    csm: User | None = None,
) -> Handover:
    """Change a draft or returned handover (sales owner only). `products` and
    `stakeholders`, when given, replace the lines."""
    handover = Handover.objects.select_for_update().select_related("account").get(pk=handover.pk)
    _check_editable(handover, by)
    for key, value in data.items():
        if key in TEXT_FIELDS:
            setattr(handover, key, value if value is not None or key.endswith(("_on", "_start", "_end")) else "")
    _clean_dates(handover)
    handover.full_clean(exclude=["csm"])
    _set_team(handover, team=team, csm=csm, by=by)
    handover.save()
    if products is not None or stakeholders is not None:
        handover_lines_set(handover=handover, products=products, stakeholders=stakeholders)
    return handover


def handover_lines_set(
    *, handover: Handover, products: list[dict] | None = None, stakeholders: list[dict] | None = None
) -> None:
    """Replace the deal lines and/or key people; every line is checked before any is saved."""
    errors = {}
    product_rows, people_rows = [], []
    for i, line in enumerate(products or []):
        row = HandoverProduct(handover=handover, **line)
        try:
            row.full_clean(exclude=["handover"])
        except ValidationError as error:
            errors[f"products[{i}]"] = [f"{k}: {' '.join(v)}" for k, v in error.message_dict.items()]
        product_rows.append(row)
    for i, person in enumerate(stakeholders or []):
        row = HandoverStakeholder(handover=handover, **person)
        try:
            row.full_clean(exclude=["handover"])
        except ValidationError as error:
            errors[f"stakeholders[{i}]"] = [f"{k}: {' '.join(v)}" for k, v in error.message_dict.items()]
        people_rows.append(row)
    if errors:
        raise ValidationError(errors)
    if products is not None:
        handover.products.all().delete()
        HandoverProduct.objects.bulk_create(product_rows)
    if stakeholders is not None:
        handover.stakeholders.all().delete()
        HandoverStakeholder.objects.bulk_create(people_rows)


@transaction.atomic
def handover_from_deal(*, data: dict, by: User) -> tuple[Handover, bool]:
    """A CRM posts a won deal: the account (by its external ID) is created if new, and the
    deal becomes a draft handover, or updates the draft it already made (by the deal's
    external ID) while it is still a draft. Returns (handover, created)."""
    deal_id = data["external_id"]
    account_data = data["account"]
    existing = Handover.objects.select_for_update().filter(external_id=deal_id).first()
    if existing is not None:
        if existing.status not in (S.DRAFT, S.RETURNED):
            raise ValidationError(
                {"external_id": _("This deal was already submitted; it can no longer be changed from the CRM.")}
            )
        handover = handover_update(
            handover=existing,
            by=existing.sales_owner if by.is_api_only else by,
            data=data.get("fields", {}),
            products=data.get("products"),
            stakeholders=data.get("stakeholders"),
            team=data.get("team"),
        )
        return handover, False
    account = Account.objects.filter(external_id=account_data["external_id"]).first()
    if account is None:
        account = account_create(
            data={
                "name": account_data["name"],
                "external_id": account_data["external_id"],
                "industry": account_data.get("industry", ""),
                "region": account_data.get("region", ""),
                "employee_count": account_data.get("employee_count"),
                "sales_owner": data["sales_owner"],
                "lifecycle_stage": Account.Stage.HANDOVER,
            },
            by=by,
        )
    handover = handover_create(
        account=account,
        sales_owner=data["sales_owner"],
        data={**data.get("fields", {}), "external_id": deal_id},
        products=data.get("products"),
        stakeholders=data.get("stakeholders"),
        team=data.get("team"),
        by=by,
    )
    return handover, True


def _url(handover: Handover) -> str:
    return reverse("handover:detail", args=[handover.pk])


def _team_managers(team_id: int | None) -> list[User]:
    if team_id is None:
        return []
    return list(User.objects.filter(team_id=team_id, role=User.Role.MANAGER, is_active=True))


@transaction.atomic
def handover_submit(*, handover: Handover, by: User, csm: User | None = None) -> Handover:
    """Submit for review; every required item must be there. The named CSM (or else the
    team's managers) is told."""
    handover = Handover.objects.select_for_update().select_related("account").get(pk=handover.pk)
    if handover.status not in (S.DRAFT, S.RETURNED):
        raise ValidationError({"status": _("Only a draft or a returned handover can be submitted.")})
    if not (by.pk == handover.sales_owner_id or by.sees_everything):
        raise ValidationError(_("Only the sales owner can submit this handover."))
    if csm is not None:
        _set_team(handover, team=None, csm=csm, by=by)
    completeness = handover_completeness(handover)
    if completeness.missing_required:
        raise ValidationError(
            {"missing": [_("Missing: %(item)s") % {"item": item.label} for item in completeness.missing_required]}
        )
    _record(handover, to=S.SUBMITTED, by=by)
    handover.submitted_at = timezone.now()
    handover.overdue_flagged_at = None
    handover.save()
    account = handover.account
    if handover.csm is not None:
        notify(
            users=[handover.csm],
            message=_("Handover of %(account)s assigned to you by %(sales)s: please review it.")
            % {"account": account.name, "sales": by},
            url=_url(handover),
        )
    else:
        notify(
            users=_team_managers(account.team_id),
            message=_("Handover of %(account)s submitted by %(sales)s is waiting for review.")
            % {"account": account.name, "sales": by},
            url=_url(handover),
        )
    return handover


@transaction.atomic
def handover_assign(*, handover: Handover, csm: User, by: User) -> Handover:
    """A manager names the receiving CSM of a submitted handover; the CSM is told."""
    handover = Handover.objects.select_for_update().select_related("account").get(pk=handover.pk)
    if handover.status != S.SUBMITTED:
        raise ValidationError({"status": _("Only a submitted handover can be assigned.")})
    if not (by.sees_everything or (by.role == User.Role.MANAGER and can_change(by, handover.account))):
        raise ValidationError(_("Only a manager of the receiving team can assign the handover."))
    _set_team(handover, team=None, csm=csm, by=by)
    handover.save()
    notify(
        users=[csm],
        message=_("Handover of %(account)s assigned to you by %(manager)s: please review it.")
        % {"account": handover.account.name, "manager": by},
        url=_url(handover),
    )
    return handover


def _check_reviewer(handover: Handover, by: User) -> None:
    if handover.status != S.SUBMITTED:
        raise ValidationError({"status": _("Only a submitted handover can be reviewed.")})
    if by.role == User.Role.SALES or by.is_api_only or not can_change(by, handover.account):
        raise ValidationError(_("Only a CSM or manager of the account's team can review this handover."))


@transaction.atomic
def handover_return(*, handover: Handover, by: User, reason: str, missing: list[str] | None = None) -> Handover:
    """Send it back to sales with the reason and the items that are missing."""
    handover = Handover.objects.select_for_update().select_related("account").get(pk=handover.pk)
    _check_reviewer(handover, by)
    missing = list(dict.fromkeys(missing or []))
    unknown = [key for key in missing if key not in ITEM_BY_KEY]
    if unknown:
        raise ValidationError({"missing": _("Unknown item: %(items)s") % {"items": ", ".join(unknown)}})
    if not reason.strip():
        raise ValidationError({"reason": _("Say what is missing so sales can complete it.")})
    labels = [str(ITEM_BY_KEY[key].label) for key in missing]
    note = reason.strip() + (("\n" + _("Missing: %(items)s") % {"items": "; ".join(labels)}) if labels else "")
    _record(handover, to=S.RETURNED, by=by, note=note)
    handover.return_reason = reason.strip()
    handover.returned_items = missing
    handover.decided_at = timezone.now()
    handover.save()
    notify(
        users=[handover.sales_owner],
        message=_("Handover of %(account)s returned by %(csm)s: %(reason)s")
        % {"account": handover.account.name, "csm": by, "reason": reason.strip()[:150]},
        url=_url(handover),
    )
    return handover


def business_days_after(day: dt.date, n: int) -> dt.date:
    """The n-th working day (Monday to Friday) after `day`."""
    while n > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def business_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after `start` up to and including `end`."""
    days, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days += 1
    return days


def first_project_path() -> SuccessPath | None:
    return (
        SuccessPath.objects.filter(is_active=True, stages__steps__key=FIRST_PROJECT_KEY)
        .order_by("-is_builtin", "pk")
        .first()
    )


def _copy_into_file(handover: Handover, products: list[HandoverProduct]) -> None:
    """Fill the customer file's sections from the package; a section the CSM already wrote
    keeps its text and gets the package's text appended once."""
    file, _created = CustomerFile.objects.get_or_create(account=handover.account)
    lines = "\n".join(
        f"{line.product.name} × {line.quantity}"
        + (f" ({line.discount.normalize():f}% {_('discount')})" if line.discount else "")
        for line in products
    )
    if handover.contract_start and handover.contract_end:
        lines += "\n" + _("Contract %(start)s to %(end)s") % {
            "start": handover.contract_start.isoformat(),
            "end": handover.contract_end.isoformat(),
        }
    sources = {
        "products_bought": lines.strip(),
        "why_bought": handover.why_bought,
        "sales_promises": handover.promises,
        "goals": handover.needs,
        "process_payment": handover.payment_terms,
    }
    data = {}
    for section, text in sources.items():
        text = (text or "").strip()
        current = getattr(file, section)
        if text and text not in current:
            data[section] = f"{current}\n\n{text}".strip() if current else text
    if handover.address and handover.address not in file.overview:
        address = _("Address: %(address)s") % {"address": handover.address}
        data["overview"] = f"{file.overview}\n{address}".strip()
    if data:
        customer_file_update(account=handover.account, data=data)


def _copy_stakeholders(handover: Handover, people: list[HandoverStakeholder]) -> None:
    account = handover.account
    known = {name.strip().lower() for name in account.stakeholders.values_list("name", flat=True)}
    contact = handover.contact_name.strip()
    rows = [
        Stakeholder(
            account=account, name=p.name, title=p.title, role=p.role, influence=p.influence, email=p.email,
            phone=p.phone, personality=p.notes,
        )
        for p in people
        if p.name.strip().lower() not in known
    ]  # fmt: skip
    if contact and contact.lower() not in known | {p.name.strip().lower() for p in people}:
        rows.append(
            Stakeholder(
                account=account, name=contact, email=handover.contact_email, phone=handover.contact_phone,
                role=Stakeholder.Role.DAY_TO_DAY,
            )
        )  # fmt: skip
    for row in rows:
        row.full_clean(exclude=["account"])
    Stakeholder.objects.bulk_create(rows)


def _copy_subscriptions(handover: Handover, products: list[HandoverProduct]) -> None:
    """One subscription per deal line, unless the account already has that product starting
    that day (an import or the billing system got there first)."""
    if not handover.contract_start:
        return
    existing = set(
        Subscription.objects.filter(account=handover.account, start_date=handover.contract_start).values_list(
            "product_id", flat=True
        )
    )
    Subscription.objects.bulk_create(
        [
            Subscription(
                account=handover.account,
                product=line.product,
                start_date=handover.contract_start,
                end_date=handover.contract_end,
                quantity=line.quantity,
                discount=line.discount,
                mrr=(line.yearly_amount / 12).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
            )
            for line in products
            if line.product_id not in existing
        ]
    )


@transaction.atomic
def handover_accept(*, handover: Handover, by: User) -> Handover:
    """Accept: the reviewer becomes the CSM unless one was named; the account moves to
    kickoff; stakeholders, promises, needs and the deal are copied into the customer file
    and subscriptions; the kickoff is scheduled and the first-project path started. A
    second accept (double click, retry) changes nothing."""
    handover = Handover.objects.select_for_update().select_related("account").get(pk=handover.pk)
    if handover.status == S.ACCEPTED:
        return handover
    _check_reviewer(handover, by)
    _record(handover, to=S.ACCEPTED, by=by)
    if handover.csm is None or by.role == User.Role.CSM:
        handover.csm = by if by.role in (User.Role.CSM, User.Role.MANAGER) else handover.csm or by
    handover.decided_at = timezone.now()
    handover.save()
    csm = handover.csm
    account = handover.account
    account_update(account=account, data={"csm": csm, "team": csm.team or account.team}, by=by)
    account_stage_set(account=account, stage=Account.Stage.KICKOFF, by=by)
    account.refresh_from_db()

    products = list(handover.products.select_related("product"))
    people = list(handover.stakeholders.all())
    _copy_into_file(handover, products)
    _copy_stakeholders(handover, people)
    _copy_subscriptions(handover, products)

    today = timezone.localdate()
    kickoff_on = handover.kickoff_on if handover.kickoff_on and handover.kickoff_on >= today else None
    Kickoff.objects.get_or_create(
        handover=handover,
        defaults={
            "account": account,
            "scheduled_on": kickoff_on or business_days_after(today, settings.KICKOFF_AFTER_DAYS),
            "background": handover.implementation_plan,
            "expected_outcomes": handover.needs,
            "created_by": by,
        },
    )
    path = first_project_path()
    if path is not None:
        plan, _created = plan_start(account=account, path=path, start=today, by=by)
        _complete_steps(plan_id=plan.pk, keys=["read_handover"], by=by)

    notify(
        users=[handover.sales_owner],
        message=_("Handover of %(account)s accepted by %(csm)s.") % {"account": account.name, "csm": csm},
        url=_url(handover),
    )
    if csm.pk != by.pk:
        notify(
            users=[csm],
            message=_("%(account)s is now yours: the handover was accepted by %(manager)s.")
            % {"account": account.name, "manager": by},
            url=_url(handover),
        )
    return handover


def handovers_flag_overdue(*, today: dt.date | None = None) -> int:
    """Flag each submitted handover not reviewed within HANDOVER_REVIEW_DAYS business days,
    once, to its team's managers. Safe to run again: flagged ones are not told twice."""
    today = today or timezone.localdate()
    limit = settings.HANDOVER_REVIEW_DAYS
    flagged = 0
    candidates = Handover.objects.filter(status=S.SUBMITTED, overdue_flagged_at__isnull=True).select_related(
        "account", "csm"
    )
    for handover in candidates:
        submitted = timezone.localtime(handover.submitted_at).date()
        if business_days_between(submitted, today) <= limit:
            continue
        with transaction.atomic():
            updated = Handover.objects.filter(pk=handover.pk, overdue_flagged_at__isnull=True).update(
                overdue_flagged_at=timezone.now()
            )
            if not updated:
                continue  # another run got there first
            notify(
                users=_team_managers(handover.account.team_id) or ([handover.csm] if handover.csm else []),
                message=_("Handover of %(account)s has waited more than %(days)d business days for review.")
                % {"account": handover.account.name, "days": limit},
                url=_url(handover),
            )
            flagged += 1
    return flagged


def handover_is_overdue(handover: Handover, *, today: dt.date | None = None) -> bool:
    if handover.status != S.SUBMITTED or handover.submitted_at is None:
        return False
    today = today or timezone.localdate()
    submitted = timezone.localtime(handover.submitted_at).date()
    return business_days_between(submitted, today) > settings.HANDOVER_REVIEW_DAYS


def overdue_cutoff(*, today: dt.date | None = None) -> dt.datetime:
    """Handovers submitted before this moment are overdue today."""
    today = today or timezone.localdate()
    day, counted = today, 0
    while counted < settings.HANDOVER_REVIEW_DAYS:
        if day.weekday() < 5:
            counted += 1
        day -= dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


# ------------------------------------------------------------------ kickoff

KICKOFF_FIELDS = [
    "scheduled_on", "background", "expected_outcomes", "minutes", "follow_up_plan", "group_chat_created",
    "group_chat_name",
]  # fmt: skip


def _check_kickoff(kickoff: Kickoff, by: User) -> None:
    if by.role == User.Role.SALES or not can_change(by, kickoff.account):
        raise ValidationError(_("Only the account's CSM and team can change its kickoff."))


@transaction.atomic
def kickoff_schedule(*, account: Account, by: User, data: dict) -> Kickoff:
    """A kickoff for an account that came without a handover (or a second one)."""
    kickoff = Kickoff(account=account, created_by=by, **{k: v for k, v in data.items() if k in KICKOFF_FIELDS})
    _check_kickoff(kickoff, by)
    kickoff.full_clean(exclude=["handover"])
    kickoff.save()
    return kickoff


@transaction.atomic
def kickoff_update(*, kickoff: Kickoff, by: User, data: dict, participants: list[dict] | None = None) -> Kickoff:
    kickoff = Kickoff.objects.select_for_update().select_related("account").get(pk=kickoff.pk)
    _check_kickoff(kickoff, by)
    for key, value in data.items():
        if key in KICKOFF_FIELDS:
            setattr(kickoff, key, value)
    kickoff.full_clean(exclude=["handover"])
    kickoff.save()
    if participants is not None:
        kickoff_participants_set(kickoff=kickoff, participants=participants)
    if kickoff.status == Kickoff.Status.HELD:
        _complete_for_kickoff(kickoff, by=by)
    return kickoff


def kickoff_participants_set(*, kickoff: Kickoff, participants: list[dict]) -> None:
    """Replace the participants. A customer-side participant may name a stakeholder of the
    account (their name is taken from it); ours may name a user."""
    rows, errors = [], {}
    for i, p in enumerate(participants):
        row = KickoffParticipant(kickoff=kickoff, **p)
        if row.stakeholder_id and row.stakeholder.account_id != kickoff.account_id:
            errors[f"participants[{i}]"] = [_("Participants must be stakeholders of this account.")]
            continue
        if not row.name and row.stakeholder_id:
            row.name = row.stakeholder.name
        if not row.name and row.user_id:
            row.name = str(row.user)
        try:
            row.full_clean(exclude=["kickoff"])
        except ValidationError as error:
            errors[f"participants[{i}]"] = [f"{k}: {' '.join(v)}" for k, v in error.message_dict.items()]
        rows.append(row)
    if errors:
        raise ValidationError(errors)
    kickoff.participants.all().delete()
    KickoffParticipant.objects.bulk_create(rows)


@transaction.atomic
def kickoff_hold(*, kickoff: Kickoff, by: User, held_on: dt.date | None = None) -> Kickoff:
    """Record the kickoff as held: it goes on the timeline, and the plan's kickoff steps
    (meeting; group chat when created; minutes when written) are completed. Holding it
    again changes nothing."""
    kickoff = Kickoff.objects.select_for_update().select_related("account").get(pk=kickoff.pk)
    _check_kickoff(kickoff, by)
    if kickoff.status == Kickoff.Status.HELD:
        return kickoff
    held_on = held_on or timezone.localdate()
    if held_on > timezone.localdate():
        raise ValidationError({"held_on": _("A kickoff is recorded once it has happened.")})
    if not kickoff.expected_outcomes.strip():
        raise ValidationError({"expected_outcomes": _("Write down the outcomes the customer expects.")})
    kickoff.status = Kickoff.Status.HELD
    kickoff.held_on = held_on
    kickoff.save()
    participants = list(kickoff.participants.select_related("stakeholder", "user"))
    activity_log(
        account=kickoff.account,
        kind=Activity.Kind.MEETING,
        occurred_at=timezone.make_aware(dt.datetime.combine(held_on, dt.time(10, 0))),
        summary=_("Kickoff meeting (项目启动会): %(outcomes)s") % {"outcomes": kickoff.expected_outcomes[:400]},
        next_step=kickoff.follow_up_plan[:300],
        stakeholders=[p.stakeholder for p in participants if p.stakeholder_id],
        participants=[p.user for p in participants if p.user_id],
        by=by,
    )
    if kickoff.account.lifecycle_stage in (Account.Stage.HANDOVER, Account.Stage.KICKOFF):
        account_stage_set(account=kickoff.account, stage=Account.Stage.ONBOARDING, by=by)
    _complete_for_kickoff(kickoff, by=by)
    return kickoff


KICKOFF_STEP_KEYS = ("kickoff", "group_chat", "kickoff_minutes")


def kickoff_step_keys(kickoff: Kickoff) -> list[str]:
    """The keys of the plan steps this kickoff completes once held: the meeting; the group
    chat when created; the minutes when written."""
    keys = ["kickoff"]
    if kickoff.group_chat_created:
        keys.append("group_chat")
    if kickoff.minutes.strip():
        keys.append("kickoff_minutes")
    return keys


def _complete_for_kickoff(kickoff: Kickoff, *, by: User) -> None:
    if kickoff.status != Kickoff.Status.HELD:
        return
    keys = kickoff_step_keys(kickoff)
    plans = kickoff.account.success_plans.filter(status="active").values_list("pk", flat=True)
    for plan_id in plans:
        _complete_steps(plan_id=plan_id, keys=keys, by=by)


def _complete_steps(*, plan_id: int, keys: list[str], by: User) -> int:
    steps = PlanStep.objects.filter(stage__plan_id=plan_id, key__in=keys).filter(
        ~Q(status__in=[PlanStep.Status.DONE, PlanStep.Status.SKIPPED])
    )
    done = 0
    for step in steps:
        plan_step_set_status(step=step, status=PlanStep.Status.DONE, by=by)
        done += 1
    return done
