"""Writes for renewals and churn: the periodic sync that keeps one renewal per account and
term in step with subscription end dates, the renewal's own flow (stage, forecast, owner,
close with an outcome) and the churn flow."""

import datetime as dt
import logging
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from dateutil.relativedelta import relativedelta
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, DecimalField, Exists, F, Min, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from accounts.services import account_stage_set
from cs_platform.access import can_change_renewal, can_own_renewal, can_reassign_renewal, can_record_churn
from people.services import notify

from .models import ChurnRecord, Renewal, RenewalReason, Subscription

log = logging.getLogger(__name__)

RENEWAL_HORIZON_DAYS = 365
# A first-year renewal: the account's first subscription started less than this many
# months before the due date, and no earlier renewal of it was kept (domain: sales renews).
FIRST_YEAR_MONTHS = 13
# A product line whose first subscription starts within this many days after the due
# date is bought with the renewal: the next term adds a line new to the account.
NEW_LINE_DAYS = 30
# Open alerts of these types make a renewal high risk (health app's Alert.Type values;
# read through the Account reverse relation, so renewals never imports health).
HIGH_RISK_ALERTS = ("renewal_risk", "payment_overdue", "stakeholder_left")

S = Renewal.Stage
OPEN_STAGES = tuple(Renewal.OPEN_STAGES)
CLOSED_STAGES = (S.RENEWED, S.DOWNSIZED, S.CHURNED)
KEPT_STAGES = (S.RENEWED, S.DOWNSIZED)
STAGE_ORDER = {S.UPCOMING: 0, S.IN_PROGRESS: 1, S.COMMITTED: 2}
MONEY = DecimalField(max_digits=14, decimal_places=2)


def _alert_model():
    return Account._meta.get_field("alerts").related_model


def _term_mrr() -> Coalesce:
    """MRR of the account's subscriptions whose term ends on the renewal's due date."""
    return Coalesce(
        Subquery(
            Subscription.objects.filter(account=OuterRef("account_id"), end_date=OuterRef("due_date"))
            .values("account")
            .annotate(total=Sum("mrr"))
            .values("total")[:1]
        ),
        Value(Decimal(0)),
        output_field=MONEY,
    )


def _owner_rule(term: dict, lines: list[str]) -> str:
    due = term["end_date"]
    kept_before = term["first_kept_due"] is not None and term["first_kept_due"] < due
    first_start = term["first_start"]
    if not kept_before and first_start is not None and first_start > due - relativedelta(months=FIRST_YEAR_MONTHS):
        return Renewal.OwnerRule.FIRST_YEAR
    if lines:
        return Renewal.OwnerRule.NEW_PRODUCT_LINE
    return Renewal.OwnerRule.CSM


def _new_renewal(term: dict, lines: list[str]) -> Renewal:
    rule = _owner_rule(term, lines)
    csm_id, sales_id = term["csm_id"], term["sales_id"]
    # Sales renews the first year and new product lines, the CSM beside them; without a
    # sales owner on the account the CSM keeps it, and the rule still says why it was sales'.
    owner_id = sales_id if rule != Renewal.OwnerRule.CSM and sales_id else csm_id
    co_owner_id = csm_id if owner_id == sales_id and sales_id and csm_id != sales_id else None
    return Renewal(
        account_id=term["account_id"],
        due_date=term["end_date"],
        owner_id=owner_id,
        co_owner_id=co_owner_id,
        owner_rule=rule,
        new_product_lines=", ".join(lines)[:200],
        term_mrr=term["mrr"],
        forecast_mrr=term["mrr"],
    )


@transaction.atomic
def renewals_sync(*, today: dt.date, horizon_days: int = RENEWAL_HORIZON_DAYS) -> dict:
    """Keep one renewal per account and term in step with subscription end dates.

    Set-based and idempotent, a fixed number of statements whatever the number of
    accounts: one read of the terms ending within the horizon (with what the owner rule
    needs), one read of product lines new to their accounts, one insert that ignores terms
    already known (owner, co-owner and rule are set only then, so a hand-made reassignment
    stays), one delete of untouched renewals whose term no longer exists, one update of
    open renewals' term MRR and forecast (a forecast set by hand is kept) and one of their
    risk. Running it twice changes nothing the second time."""
    horizon = today + dt.timedelta(days=horizon_days)
    first_start = Subscription.objects.filter(account=OuterRef("account_id")).order_by("start_date")
    first_kept = Renewal.objects.filter(account=OuterRef("account_id"), stage__in=KEPT_STAGES).order_by("due_date")
    terms = list(
        Subscription.objects.filter(end_date__gte=today, end_date__lte=horizon)
        .exclude(account__lifecycle_stage=Account.Stage.CHURNED)
        .annotate(
            csm_id=F("account__csm_id"),
            sales_id=F("account__sales_owner_id"),
            first_start=Subquery(first_start.values("start_date")[:1]),
            first_kept_due=Subquery(first_kept.values("due_date")[:1]),
        )
        .values("account_id", "end_date", "csm_id", "sales_id", "first_start", "first_kept_due")
        .annotate(mrr=Sum("mrr"))
        .order_by()
    )
    # A product line is new to an account when its first subscription of that line starts
    # inside a term's window; read once for every account.
    new_lines: dict[int, list[tuple[dt.date, str]]] = {}
    for account_id, line, first in (
        Subscription.objects.values("account_id", "product__product_line")
        .annotate(first=Min("start_date"))
        .filter(first__gte=today, first__lte=horizon + dt.timedelta(days=NEW_LINE_DAYS))
        .values_list("account_id", "product__product_line", "first")
        .order_by()
    ):
        new_lines.setdefault(account_id, []).append((first, line))
    new = []
    for term in terms:
        due = term["end_date"]
        window = due + dt.timedelta(days=NEW_LINE_DAYS)
        lines = sorted({line for first, line in new_lines.get(term["account_id"], ()) if due <= first <= window})
        new.append(_new_renewal(term, lines))

    before = Renewal.objects.count()
    Renewal.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
    created = Renewal.objects.count() - before

    # A term that moved (its subscriptions now end on another day) leaves a renewal nobody
    # worked on behind: remove it; one anybody touched stays for a person to close.
    ends = Subscription.objects.filter(account=OuterRef("account_id"), end_date=OuterRef("due_date"))
    stale, _detail = (
        Renewal.objects.filter(stage=S.UPCOMING, forecast_manual=False, due_date__gte=today, due_date__lte=horizon)
        .exclude(Exists(ends))
        .delete()
    )
    term_mrr = _term_mrr()
    refreshed = Renewal.objects.filter(stage__in=OPEN_STAGES, due_date__gte=today, due_date__lte=horizon).update(
        term_mrr=term_mrr, forecast_mrr=Case(When(forecast_manual=True, then=F("forecast_mrr")), default=term_mrr)
    )
    risks = renewals_risk_refresh()
    log.info(
        "renewals_sync %s: %d terms, %d created, %d stale removed, %d open renewals refreshed, %d risks set",
        today, len(new), created, stale, refreshed, risks,
    )  # fmt: skip
    return {"terms": len(new), "created": created, "refreshed": refreshed}


def renewal_risk_expression() -> Case:
    """Risk from health and open (not resolved) alerts: high when the account's band is red
    or it has an open renewal_risk, payment_overdue or stakeholder_left alert; medium when
    yellow or any other open alert is open; low otherwise."""
    alerts = _alert_model().objects.filter(account=OuterRef("account_id")).exclude(status="resolved")
    band = Account.objects.filter(pk=OuterRef("account_id"))
    return Case(
        When(
            Exists(band.filter(health_band=Account.HealthBand.RED)) | Exists(alerts.filter(type__in=HIGH_RISK_ALERTS)),
            then=Value(Renewal.Risk.HIGH),
        ),
        When(
            Exists(band.filter(health_band=Account.HealthBand.YELLOW)) | Exists(alerts), then=Value(Renewal.Risk.MEDIUM)
        ),
        default=Value(Renewal.Risk.LOW),
    )


def renewals_risk_refresh(*, account_ids: Iterable[int] | None = None) -> int:
    """Set the risk of open renewals (of `account_ids`, or all) from health and alerts, in
    one UPDATE. The health app calls it after scoring or raising alerts; the sync too."""
    qs = Renewal.objects.filter(stage__in=OPEN_STAGES)
    if account_ids is not None:
        qs = qs.filter(account_id__in=list(account_ids))
    return qs.update(risk=renewal_risk_expression())


# ------------------------------------------------------------------ one renewal


def _check_may_change(renewal: Renewal, by) -> None:
    if by is not None and not can_change_renewal(by, renewal):
        raise PermissionDenied


def _locked(renewal: Renewal) -> Renewal:
    """The renewal's current row, locked until the transaction ends, so two people closing
    it at once cannot both succeed."""
    fresh = Renewal.objects.select_for_update().get(pk=renewal.pk)
    for field in ("stage", "owner_id", "co_owner_id", "probability", "forecast_mrr", "forecast_manual", "closed_on"):
        setattr(renewal, field, getattr(fresh, field))
    return renewal


def _closed_message(renewal: Renewal) -> str:
    return _("This renewal is closed (%(outcome)s on %(day)s); it no longer changes.") % {
        "outcome": renewal.get_stage_display().lower(),
        "day": (renewal.closed_on or renewal.due_date).isoformat(),
    }


def _stage_error(renewal: Renewal, stage: str) -> str | None:
    if stage in CLOSED_STAGES:
        return _("Close the renewal with an outcome to mark it renewed, downsized or churned.")
    if stage not in STAGE_ORDER:
        return _("Choose upcoming, in progress or committed.")
    if STAGE_ORDER[stage] < STAGE_ORDER[renewal.stage]:
        return _("A renewal moves forward only: upcoming, in progress, committed.")
    return None


@transaction.atomic
def renewal_set_stage(*, renewal: Renewal, stage: str, by=None) -> Renewal:
    """Move an open renewal forward: upcoming, in progress, committed. The same stage again
    changes nothing; closing goes through renewal_close."""
    _check_may_change(renewal, by)
    _locked(renewal)
    if not renewal.is_open:
        raise ValidationError({"stage": _closed_message(renewal)})
    if stage == renewal.stage:
        return renewal
    error = _stage_error(renewal, stage)
    if error:
        raise ValidationError({"stage": error})
    renewal.stage = stage
    renewal.save(update_fields=["stage"])
    return renewal


def _to_decimal(value, field: str, errors: dict) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors[field] = [_("Enter a number.")]
        return None
    if not number.is_finite() or number < 0:
        errors[field] = [_("Enter an amount of zero or more.")]
        return None
    if number >= Decimal("1e12") or number != number.quantize(Decimal("0.01")):
        errors[field] = [_("Enter an amount below a trillion, with at most two decimals.")]
        return None
    return number


@transaction.atomic
def renewal_update(*, renewal: Renewal, data: dict, by=None) -> Renewal:
    """Change an open renewal's `stage` (forward only), `probability` (0-100),
    `forecast_mrr` (then kept by the sync) and `owner` (by those who may reassign it, to
    someone they may choose). Everything is checked first; nothing changes on an error."""
    _check_may_change(renewal, by)
    _locked(renewal)
    unknown = sorted(set(data) - {"stage", "probability", "forecast_mrr", "owner"})
    if unknown:
        raise ValidationError({key: _("This field cannot be changed.") for key in unknown})
    if not renewal.is_open:
        raise ValidationError(_closed_message(renewal))
    errors: dict[str, list[str]] = {}
    changes: dict = {}
    if "stage" in data and data["stage"] != renewal.stage:
        error = _stage_error(renewal, data["stage"])
        if error:
            errors["stage"] = [error]
        else:
            changes["stage"] = data["stage"]
    if "probability" in data:
        value = data["probability"]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            errors["probability"] = [_("Enter a whole number from 0 to 100.")]
        elif value != renewal.probability:
            changes["probability"] = value
    if "forecast_mrr" in data:
        value = _to_decimal(data["forecast_mrr"], "forecast_mrr", errors)
        if value is None and "forecast_mrr" not in errors:
            errors["forecast_mrr"] = [_("Enter the MRR you expect to renew.")]
        elif value is not None and value != renewal.forecast_mrr:
            changes["forecast_mrr"] = value
            changes["forecast_manual"] = True
    owner_changed = False
    if "owner" in data and data["owner"] is not None and data["owner"].pk != renewal.owner_id:
        owner = data["owner"]
        if by is not None and not can_reassign_renewal(by, renewal):
            errors["owner"] = [_("You may not choose who owns this renewal; a manager of the team may.")]
        elif by is not None and not can_own_renewal(by, renewal, owner):
            message = _("%(user)s cannot own this renewal: choose someone of the team or a seller.")
            errors["owner"] = [message % {"user": owner}]
        else:
            changes["owner"] = owner
            owner_changed = True
    elif "owner" in data and data["owner"] is None:
        errors["owner"] = [_("A renewal always has an owner.")]
    if errors:
        raise ValidationError(errors)
    if not changes:
        return renewal
    for field, value in changes.items():
        setattr(renewal, field, value)
    if owner_changed:
        csm_id = renewal.account.csm_id
        if renewal.co_owner_id == renewal.owner_id:
            renewal.co_owner = None
        if renewal.co_owner_id is None and csm_id and csm_id != renewal.owner_id:
            renewal.co_owner_id = csm_id  # the CSM stays beside whoever renews
    renewal.full_clean(exclude=["account", "owner", "co_owner", "closed_by", "reasons"], validate_constraints=False)
    fields = [("owner_id" if f == "owner" else f) for f in changes]
    if owner_changed:
        fields.append("co_owner_id")
    renewal.save(update_fields=fields)
    if owner_changed:
        notify(
            users=[renewal.owner] if renewal.owner_id != getattr(by, "pk", None) else [],
            message=_("You now own the renewal of %(account)s due on %(day)s.")
            % {"account": renewal.account.name, "day": renewal.due_date.isoformat()},
            url=reverse("renewals:detail", args=[renewal.pk]),
        )
    return renewal


def _check_reasons(reasons: list[RenewalReason], *, kinds: tuple[str, ...], required: bool, errors: dict) -> None:
    if required and not reasons:
        errors["reasons"] = [_("Choose at least one reason.")]
        return
    wrong = [r for r in reasons if r.kind not in kinds]
    if wrong:
        if kinds == (RenewalReason.Kind.RENEW,):
            message = _("These are reasons customers leave, not why they renew: %(names)s.")
        else:
            message = _("These are reasons customers renew, not why they leave: %(names)s.")
        errors["reasons"] = [message % {"names": ", ".join(r.label for r in wrong)}]
        return
    retired = [r for r in reasons if not r.is_active]
    if retired:
        errors["reasons"] = [
            _("These reasons are no longer in use: %(names)s.") % {"names": ", ".join(r.label for r in retired)}
        ]


@transaction.atomic
def renewal_close(
    *,
    renewal: Renewal,
    outcome: str,
    renewed_mrr=None,
    reasons: Iterable[RenewalReason] = (),
    story: str = "",
    by=None,
    closed_on: dt.date | None = None,
) -> Renewal:
    """Close an open renewal with its outcome:
    - renewed: `renewed_mrr` (at least the MRR up for renewal; less is a downsize), and
      optionally why they renew (reasons of kind renew);
    - downsized: `renewed_mrr` above zero and below the MRR up for renewal, and at least
      one reason (why they stay or why they cut);
    - churned: at least one reason why they leave and the story; runs the churn flow
      (subscriptions end on the due date, the account moves to churned, a churn record).
    Everything is checked first; nothing changes on an error."""
    _check_may_change(renewal, by)
    _locked(renewal)
    reasons = list(reasons)
    story = (story or "").strip()
    errors: dict[str, list[str]] = {}
    if not renewal.is_open:
        raise ValidationError({"outcome": _closed_message(renewal)})
    if outcome not in CLOSED_STAGES:
        raise ValidationError({"outcome": _("Choose renewed, downsized or churned.")})
    amount = _to_decimal(renewed_mrr, "renewed_mrr", errors)
    term = renewal.term_mrr or Decimal(0)
    if outcome == S.RENEWED:
        _check_reasons(reasons, kinds=(RenewalReason.Kind.RENEW,), required=False, errors=errors)
        if amount is None and "renewed_mrr" not in errors:
            errors["renewed_mrr"] = [_("Enter the MRR the customer renewed.")]
        elif amount is not None and amount < term:
            errors["renewed_mrr"] = [
                _("Less than the MRR up for renewal (%(term)s): record it as downsized.") % {"term": term}
            ]
    elif outcome == S.DOWNSIZED:
        _check_reasons(reasons, kinds=tuple(RenewalReason.Kind.values), required=True, errors=errors)
        if amount is None and "renewed_mrr" not in errors:
            errors["renewed_mrr"] = [_("Enter the MRR the customer renewed.")]
        elif amount is not None and not 0 < amount < term:
            errors["renewed_mrr"] = [
                _("A downsize renews more than zero and less than the MRR up for renewal (%(term)s).") % {"term": term}
            ]
    else:
        _check_reasons(reasons, kinds=(RenewalReason.Kind.CHURN,), required=True, errors=errors)
        if amount:
            errors["renewed_mrr"] = [_("A churned renewal keeps nothing: leave the renewed MRR empty.")]
        if not story:
            errors["story"] = [_("Tell what happened: the story is kept for churn analysis.")]
    if errors:
        raise ValidationError(errors)

    if outcome == S.CHURNED:
        churn_record(
            account=renewal.account, churned_on=renewal.due_date, reasons=reasons, story=story, by=by, renewal=renewal
        )
        renewal.refresh_from_db()
        return renewal

    renewal.stage = outcome
    renewal.renewed_mrr = amount
    renewal.outcome = story
    renewal.closed_on = closed_on or timezone.localdate()
    renewal.closed_by = by
    renewal.full_clean(exclude=["account", "owner", "co_owner", "closed_by", "reasons"], validate_constraints=False)
    renewal.save(update_fields=["stage", "renewed_mrr", "outcome", "closed_on", "closed_by"])
    renewal.reasons.set(reasons)
    account = renewal.account
    notify(
        users=[u for u in (renewal.owner, renewal.co_owner, account.csm) if u is not None and u != by],
        message=_("Renewal of %(account)s closed: %(outcome)s, %(mrr)s MRR.")
        % {"account": account.name, "outcome": renewal.get_stage_display().lower(), "mrr": amount},
        url=reverse("renewals:detail", args=[renewal.pk]),
    )
    return renewal


# ------------------------------------------------------------------ churn


@transaction.atomic
def churn_record(
    *,
    account: Account,
    churned_on: dt.date,
    reasons: Iterable[RenewalReason],
    story: str,
    by=None,
    renewal: Renewal | None = None,
) -> ChurnRecord:
    """Record that `account` churned on `churned_on` (its last active day is the day before):
    its subscriptions still active then end that day (lines that would start later are
    void and removed), the account moves to churned, every open renewal of it closes as
    churned with these reasons and story, and a churn record keeps the MRR active the day
    before, the reasons (of kind churn) and the story for churn analysis. Atomic; a second
    call for an account already churned is refused."""
    if by is not None and not (can_record_churn(by, account) or (renewal and can_change_renewal(by, renewal))):
        raise PermissionDenied
    account = Account.objects.select_for_update().get(pk=account.pk)
    reasons = list(reasons)
    story = (story or "").strip()
    today = timezone.localdate()
    if account.lifecycle_stage == Account.Stage.CHURNED:
        last = ChurnRecord.objects.filter(account=account).order_by("-churned_on").values_list("churned_on", flat=True)
        day = last.first()
        if day:
            message = _("%(account)s is already recorded as churned on %(day)s; a churn is recorded once.") % {
                "account": account.name,
                "day": day.isoformat(),
            }
        else:
            message = _("%(account)s is already churned; a churn is recorded once.") % {"account": account.name}
        raise ValidationError(message)
    errors: dict[str, list[str]] = {}
    _check_reasons(reasons, kinds=(RenewalReason.Kind.CHURN,), required=True, errors=errors)
    if not story:
        errors["story"] = [_("Tell what happened: the story is kept for churn analysis.")]
    latest = max(today, renewal.due_date) if renewal is not None else today
    if not isinstance(churned_on, dt.date):
        errors["churned_on"] = [_("Enter the day the customer left.")]
    elif churned_on > latest:
        errors["churned_on"] = [_("The churn date cannot be later than %(day)s.") % {"day": latest.isoformat()}]
    if errors:
        raise ValidationError(errors)

    day_before = churned_on - dt.timedelta(days=1)
    subs = Subscription.objects.filter(account=account)
    mrr_lost = (
        subs.filter(start_date__lte=day_before)
        .filter(Q(end_date__isnull=True) | Q(end_date__gt=day_before))
        .aggregate(total=Coalesce(Sum("mrr"), Value(Decimal(0)), output_field=MONEY))["total"]
    )
    mrr_lost = Decimal(mrr_lost).quantize(Decimal("0.01"))  # SQLite sums decimals as floats
    running = Q(end_date__isnull=True) | Q(end_date__gt=churned_on)
    void, _detail = subs.filter(running, start_date__gte=churned_on).delete()
    closed = subs.filter(running, start_date__lt=churned_on).update(end_date=churned_on)
    account_stage_set(account=account, stage=Account.Stage.CHURNED, by=by)

    open_renewals = Renewal.objects.filter(account=account, stage__in=OPEN_STAGES)
    if renewal is None:
        renewal = open_renewals.order_by("due_date").first()
    ids = list(open_renewals.values_list("pk", flat=True))
    open_renewals.update(
        stage=S.CHURNED, renewed_mrr=Decimal(0), outcome=story, closed_on=today, closed_by=by, risk=Renewal.Risk.HIGH
    )
    Through = Renewal.reasons.through
    Through.objects.filter(renewal_id__in=ids).delete()
    Through.objects.bulk_create([Through(renewal_id=pk, renewalreason_id=r.pk) for pk in ids for r in reasons])

    record = ChurnRecord(
        account=account, renewal=renewal, churned_on=churned_on, mrr_lost=mrr_lost, story=story, recorded_by=by
    )
    record.full_clean(exclude=["account", "renewal", "recorded_by", "reasons"])
    record.save()
    record.reasons.set(reasons)
    log.info(
        "churn of account %s on %s: %d subscriptions closed, %d void removed, %d renewals closed, %s MRR lost",
        account.pk, churned_on, closed, void, len(ids), mrr_lost,
    )  # fmt: skip
    notify(
        users=[u for u in (account.csm, account.sales_owner) if u is not None and u != by],
        message=_("%(account)s churned on %(day)s (%(mrr)s MRR lost).")
        % {"account": account.name, "day": churned_on.isoformat(), "mrr": mrr_lost},
        url=reverse("accounts:detail", args=[account.pk]),
    )
    return record
