"""Collections (回款): invoices, payments, ageing and collections per CSM (issue 8, part 3).

Selectors read invoices scoped by cs_platform.access; services write them with the same
rules for the API, the bulk endpoint and the pages. An invoice is *open* until it is paid
in full (`paid_on` set); its *balance* is amount minus paid. It is *overdue* on day d when
it fell due before d and was not paid in full before d, the rule the health score and the
payment_overdue alert use. Ageing buckets count the days an open invoice is past due on
the day it is looked at.

The plain-Python field checks at the top serve the bulk endpoints (invoices here,
subscriptions in renewals.api_commerce): a serializer per item costs more than the write."""

import datetime as dt
import logging
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Account
from cs_platform.access import can_record_payment, can_write_invoices, restrict
from people.models import User

from .models import Invoice

log = logging.getLogger(__name__)

MONEY = DecimalField(max_digits=14, decimal_places=2)
MAX_MONEY = Decimal("999999999999.99")  # max_digits=14, decimal_places=2
MAX_BULK = 10_000
ZERO = Decimal("0.00")

# ------------------------------------------------------------------ plain-Python checks


class BulkInvalid(ValidationError):
    """A bulk request rejected whole: `errors` is `[{"index": i, field: [messages]}]`, or
    `[{"non_field_errors": [...]}]` when the body itself is wrong."""

    def __init__(self, errors: list[dict]):
        self.errors = errors
        super().__init__(_("Nothing was stored: some items are invalid."), code="invalid")


def bulk_rows(rows, *, max_items: int = MAX_BULK) -> list:
    """The list of items of a bulk request, or BulkInvalid naming what is wrong with the body."""
    if not isinstance(rows, list):
        raise BulkInvalid([{"non_field_errors": [_("Expected a JSON list of objects.")]}])
    if len(rows) > max_items:
        raise BulkInvalid(
            [
                {
                    "non_field_errors": [
                        _("At most %(max)s items per request; this one has %(count)s.")
                        % {"max": f"{max_items:,}", "count": f"{len(rows):,}"}
                    ]
                }
            ]
        )
    return rows


class Missing:
    """A field left out of an item (not the same as null)."""


MISSING = Missing()
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def check_text(value, *, max_length: int, required: bool = True) -> tuple[str | None, str | None]:
    """(text, None) or (None, message)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or value is MISSING:
        return (None, _("This field is required.")) if required else ("", None)
    if not isinstance(value, str):
        return None, _("Expected a string.")
    value = value.strip()
    if not value:
        return (None, _("This field may not be blank.")) if required else ("", None)
    if len(value) > max_length:
        return None, _("At most %(max)s characters.") % {"max": max_length}
    if "\x00" in value:
        return None, _("Contains characters that are not valid text.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None, _("Contains characters that are not valid text.")
    return value, None


def check_date(value, *, required: bool = True) -> tuple[dt.date | None, str | None]:
    if value is None or value is MISSING or value == "":
        return None, (_("This field is required.") if required else None)
    if not isinstance(value, str) or not _DATE.match(value):
        return None, _("Enter a date as YYYY-MM-DD.")
    try:
        return dt.date.fromisoformat(value), None
    except ValueError:
        return None, _("Enter a valid date as YYYY-MM-DD.")


def check_money(value, *, required: bool = True, maximum: Decimal = MAX_MONEY) -> tuple[Decimal | None, str | None]:
    """A non-negative amount with at most two decimal places, from a string or a number."""
    if value is None or value is MISSING or value == "":
        return None, (_("This field is required.") if required else None)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None, _("A number is required.")
    if isinstance(value, float) and not math.isfinite(value):
        return None, _("A number is required.")
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, float) else Decimal(repr(value))
    except (InvalidOperation, ValueError):
        return None, _("A number is required.")
    if not number.is_finite():
        return None, _("A number is required.")
    if number < 0:
        return None, _("Ensure this value is greater than or equal to 0.")
    if number > maximum:
        return None, _("Ensure this value is less than or equal to %(max)s.") % {"max": maximum}
    if number != number.quantize(Decimal("0.01")):
        return None, _("Ensure that there are no more than 2 decimal places.")
    return number.quantize(Decimal("0.01")), None


def check_int(value, *, minimum: int, maximum: int, default: int | None = None) -> tuple[int | None, str | None]:
    if value is None or value is MISSING:
        if default is None:
            return None, _("This field is required.")
        return default, None
    if isinstance(value, bool):
        return None, _("A whole number is required.")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,12}\s*", value):
        value = int(value)
    if not isinstance(value, int):
        return None, _("A whole number is required.")
    if value < minimum:
        return None, _("Ensure this value is greater than or equal to %(min)s.") % {"min": minimum}
    if value > maximum:
        return None, _("Ensure this value is less than or equal to %(max)s.") % {"max": maximum}
    return value, None


def resolve_accounts(rows: list, *, accounts: QuerySet[Account]) -> tuple[dict[str, int], set[int]]:
    """The accounts the items name, in two queries at most: ({external_id: pk} for the
    external IDs among `accounts`, {pk} for the ids among them). An account outside
    `accounts` reads as one that does not exist."""
    external_ids, ids = set(), set()
    for row in rows:
        if not isinstance(row, dict):
            continue
        ext = row.get("account_external_id")
        if isinstance(ext, str) and ext.strip():
            external_ids.add(ext.strip())
        pk = row.get("account")
        if isinstance(pk, int) and not isinstance(pk, bool) and 0 < pk < 2**63:
            ids.add(pk)
    by_external = (
        dict(accounts.filter(external_id__in=external_ids).values_list("external_id", "pk").order_by())
        if external_ids
        else {}
    )
    known_ids = set(accounts.filter(pk__in=ids).values_list("pk", flat=True).order_by()) if ids else set()
    return by_external, known_ids


def check_account(row: dict, by_external: dict[str, int], known_ids: set[int]) -> tuple[int | None, dict]:
    """The account id an item names by `account` (id) or `account_external_id`, or errors."""
    ext, pk = row.get("account_external_id", MISSING), row.get("account", MISSING)
    has_ext = ext not in (None, MISSING, "")
    has_pk = pk not in (None, MISSING, "")
    if not has_ext and not has_pk:
        return None, {"account_external_id": [_("Name the account by id or external ID.")]}
    found = None
    if has_ext:
        text, error = check_text(ext, max_length=100)
        if error:
            return None, {"account_external_id": [error]}
        found = by_external.get(text)
        if found is None:
            return None, {"account_external_id": [_("Unknown account.")]}
    if has_pk:
        if isinstance(pk, bool) or not isinstance(pk, int) or pk not in known_ids:
            return None, {"account": [_("Unknown account.")]}
        if found is not None and found != pk:
            return None, {"account_external_id": [_("Names a different account than `account`.")]}
        found = pk
    return found, {}


# ------------------------------------------------------------------ ageing buckets


@dataclass(frozen=True)
class Bucket:
    key: str
    label: str
    low: int | None  # days past due, inclusive; None: not yet due
    high: int | None  # inclusive; None: no upper end


BUCKETS = [
    Bucket("not_due", gettext_lazy("Not yet due"), None, None),
    Bucket("1_30", gettext_lazy("1–30 days overdue"), 1, 30),
    Bucket("31_60", gettext_lazy("31–60 days overdue"), 31, 60),
    Bucket("61_90", gettext_lazy("61–90 days overdue"), 61, 90),
    Bucket("90_plus", gettext_lazy("Over 90 days overdue"), 91, None),
]
BUCKET_KEYS = [b.key for b in BUCKETS]
OVERDUE = "overdue"  # every bucket but not_due, for filters


def bucket_q(key: str, today: dt.date) -> Q:
    """The open invoices in a bucket on `today`, as date ranges on due_date (no date
    arithmetic in SQL, so the same on every database)."""
    if key == OVERDUE:
        return Q(due_date__lt=today)
    bucket = next(b for b in BUCKETS if b.key == key)
    if bucket.low is None:
        return Q(due_date__gte=today)
    q = Q(due_date__lte=today - dt.timedelta(days=bucket.low))
    if bucket.high is not None:
        q &= Q(due_date__gte=today - dt.timedelta(days=bucket.high))
    return q


def bucket_for(due_date: dt.date, today: dt.date) -> str:
    days = (today - due_date).days
    for bucket in BUCKETS[1:]:
        if days >= bucket.low and (bucket.high is None or days <= bucket.high):
            return bucket.key
    return BUCKETS[0].key


BALANCE = ExpressionWrapper(F("amount") - F("paid_amount"), output_field=MONEY)
OPEN = Q(paid_on__isnull=True)


# ------------------------------------------------------------------ selectors


def invoice_list(*, user) -> QuerySet[Invoice]:
    """The invoices of the accounts `user` may see, with each one's `balance`."""
    return (
        restrict(Invoice.objects.all(), user)
        .select_related("account", "account__csm")
        .annotate(balance=Coalesce(BALANCE, Value(ZERO), output_field=MONEY))
    )


def invoice_open_list(*, user) -> QuerySet[Invoice]:
    """Invoices not yet paid in full, oldest due first."""
    return invoice_list(user=user).filter(OPEN).order_by("due_date", "pk")


def collections_buckets(invoices: QuerySet[Invoice], *, today: dt.date) -> list[dict]:
    """Count and balance of the open `invoices` in each ageing bucket on `today`, and the
    total, in one query."""
    aggregates = {}
    for bucket in BUCKETS:
        q = OPEN & bucket_q(bucket.key, today)
        aggregates[f"n_{bucket.key}"] = Count("id", filter=q)
        aggregates[f"a_{bucket.key}"] = Coalesce(Sum(BALANCE, filter=q), Value(ZERO), output_field=MONEY)
    row = invoices.order_by().aggregate(**aggregates)
    buckets = [
        {"key": b.key, "label": b.label, "count": row[f"n_{b.key}"], "amount": row[f"a_{b.key}"]} for b in BUCKETS
    ]
    return buckets


def collections_by_csm(invoices: QuerySet[Invoice], *, start: dt.date, end: dt.date, today: dt.date) -> dict:
    """Collections per CSM (the account's CSM) for invoices issued from `start` to `end`
    inclusive, in one query: invoiced (their amounts), collected (paid on them so far),
    outstanding (what is still to be paid) and overdue (the part of it past due on
    `today`). Returns {"rows": [...], "total": {...}}; a row's `csm` is None for accounts
    without a CSM."""
    issued = Q(issued_on__gte=start, issued_on__lte=end)
    rows = (
        invoices.filter(issued)
        .order_by()
        .values("account__csm", "account__csm__username", "account__csm__first_name", "account__csm__last_name")
        .annotate(
            invoices=Count("id"),
            invoiced=Coalesce(Sum("amount"), Value(ZERO), output_field=MONEY),
            collected=Coalesce(Sum("paid_amount"), Value(ZERO), output_field=MONEY),
            outstanding=Coalesce(Sum(BALANCE, filter=OPEN), Value(ZERO), output_field=MONEY),
            overdue=Coalesce(Sum(BALANCE, filter=OPEN & Q(due_date__lt=today)), Value(ZERO), output_field=MONEY),
        )
    )
    result, total = [], {"invoices": 0, "invoiced": ZERO, "collected": ZERO, "outstanding": ZERO, "overdue": ZERO}
    for row in rows:
        csm = None
        if row["account__csm"] is not None:
            csm = User(
                pk=row["account__csm"],
                username=row["account__csm__username"],
                first_name=row["account__csm__first_name"],
                last_name=row["account__csm__last_name"],
            )
        item = {k: row[k] for k in total}
        item["csm"] = csm
        item["rate"] = _rate(item["collected"], item["invoiced"])
        result.append(item)
        for key in total:
            total[key] += row[key]
    result.sort(key=lambda r: (r["csm"] is None, -r["invoiced"], str(r["csm"] or "")))
    total["rate"] = _rate(total["collected"], total["invoiced"])
    return {"rows": result, "total": total}


def _rate(part: Decimal, whole: Decimal) -> int | None:
    return None if not whole else int((part * 100 / whole).to_integral_value())


def account_invoice_summary(*, user, account: Account, today: dt.date) -> dict:
    """Open balance and overdue balance of one account, one query."""
    row = (
        invoice_list(user=user)
        .filter(account=account)
        .order_by()
        .aggregate(
            open_count=Count("id", filter=OPEN),
            outstanding=Coalesce(Sum(BALANCE, filter=OPEN), Value(ZERO), output_field=MONEY),
            overdue_count=Count("id", filter=OPEN & Q(due_date__lt=today)),
            overdue=Coalesce(Sum(BALANCE, filter=OPEN & Q(due_date__lt=today)), Value(ZERO), output_field=MONEY),
        )
    )
    return row


# ------------------------------------------------------------------ services

INVOICE_FIELDS = ("number", "external_id", "amount", "issued_on", "due_date", "paid_amount", "paid_on")


def invoice_problems(values: dict) -> dict[str, list[str]]:
    """The rules between an invoice's fields, the same for the API, the bulk endpoint and
    the pages. `values` has every field of INVOICE_FIELDS (paid_amount may be None: then
    it follows paid_on). Returns field errors; fills paid_amount in place."""
    errors: dict[str, list[str]] = {}
    amount, paid, paid_on = values["amount"], values.get("paid_amount"), values.get("paid_on")
    issued, due = values["issued_on"], values["due_date"]
    if issued and due and due < issued:
        errors["due_date"] = [_("The due date cannot be before the issue date.")]
    if paid is None:
        paid = amount if paid_on else ZERO
        values["paid_amount"] = paid
    if amount is not None and paid is not None:
        if paid > amount:
            errors["paid_amount"] = [_("The amount paid cannot exceed the invoice amount.")]
        elif paid_on and paid != amount:
            errors["paid_on"] = [
                _("paid_on is the day the invoice was paid in full: the amount paid must equal the invoice amount.")
            ]
        elif not paid_on and amount > 0 and paid == amount:
            errors["paid_on"] = [_("The invoice is paid in full: give the day it was (paid_on).")]
    return errors


def _check_writer(by) -> None:
    if by is not None and not can_write_invoices(by):
        raise PermissionDenied(_("Only integration users and administrators may write invoices."))


@transaction.atomic
def invoice_save(
    *, by, account: Account, data: dict, invoice: Invoice | None = None, replace: bool = True
) -> tuple[Invoice, bool]:
    """Create an invoice, or change `invoice` (all fields with `replace`, else those in
    `data`). A new invoice whose `external_id` is already stored updates that one instead
    (a billing system sending it again). paid_amount left out follows paid_on: the amount
    when paid in full, else 0 (or, for a partial change, what was paid before). Returns
    (invoice, created); raises ValidationError with field errors."""
    _check_writer(by)
    data = {k: v for k, v in data.items() if k in INVOICE_FIELDS}
    if "external_id" in data:
        data["external_id"] = (data["external_id"] or "").strip() or None
    if invoice is None and data.get("external_id"):
        invoice = Invoice.objects.select_for_update().filter(external_id=data["external_id"]).first()
        replace = True
    if invoice is not None and invoice.account_id != account.pk:
        raise ValidationError({"external_id": [_("This invoice belongs to another account.")]})
    created = invoice is None
    values = dict.fromkeys(INVOICE_FIELDS)
    if invoice is not None and not replace:
        values.update({f: getattr(invoice, f) for f in INVOICE_FIELDS})
        if data.get("paid_on") and "paid_amount" not in data:
            values["paid_amount"] = None  # paid in full: follows the amount
    values.update(data)
    missing = [f for f in ("number", "amount", "issued_on", "due_date") if values.get(f) in (None, "")]
    if missing:
        raise ValidationError({f: [_("This field is required.")] for f in missing})
    errors = invoice_problems(values)
    if errors:
        raise ValidationError(errors)
    if values["external_id"] and (
        Invoice.objects.filter(external_id=values["external_id"]).exclude(pk=getattr(invoice, "pk", None)).exists()
    ):
        raise ValidationError({"external_id": [_("Another invoice has this billing system ID.")]})
    invoice = invoice or Invoice(account=account)
    for key, value in values.items():
        setattr(invoice, key, value)
    invoice.full_clean(validate_unique=False)
    invoice.save()
    return invoice, created


@transaction.atomic
def invoice_delete(*, invoice: Invoice, by) -> None:
    _check_writer(by)
    invoice.delete()


@transaction.atomic
def invoice_payment_record(
    *, invoice: Invoice, by, amount: Decimal, paid_on: dt.date, today: dt.date | None = None
) -> Invoice:
    """Record a payment received: adds `amount` to what was paid; the payment that
    completes the invoice sets `paid_on` (paid in full on that day)."""
    if by is not None and not can_record_payment(by, invoice.account):
        raise PermissionDenied
    today = today or timezone.localdate()
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    errors: dict[str, list[str]] = {}
    if invoice.paid_on is not None:
        raise ValidationError(_("Invoice %(number)s is already paid in full.") % {"number": invoice.number})
    balance = invoice.amount - invoice.paid_amount
    if amount is None or amount <= 0:
        errors["amount"] = [_("Enter the amount received (more than 0).")]
    elif amount > balance:
        errors["amount"] = [
            _("More than the balance of %(balance)s.") % {"balance": f"{balance:,.2f}"},
        ]
    if paid_on is None:
        errors["paid_on"] = [_("This field is required.")]
    elif paid_on > today:
        errors["paid_on"] = [_("A payment cannot be received in the future.")]
    elif paid_on < invoice.issued_on:
        errors["paid_on"] = [_("A payment cannot be received before the invoice was issued.")]
    if errors:
        raise ValidationError(errors)
    invoice.paid_amount += amount
    if invoice.paid_amount == invoice.amount:
        invoice.paid_on = paid_on
    invoice.full_clean(validate_unique=False)
    invoice.save(update_fields=["paid_amount", "paid_on"])
    log.info("payment of %s on invoice %s recorded by %s", amount, invoice.pk, getattr(by, "username", "-"))
    return invoice


_INVOICE_CHECKS = (
    ("number", lambda v: check_text(v, max_length=50)),
    ("external_id", lambda v: check_text(v, max_length=100)),
    ("amount", check_money),
    ("issued_on", check_date),
    ("due_date", check_date),
    ("paid_amount", lambda v: check_money(v, required=False)),
    ("paid_on", lambda v: check_date(v, required=False)),
)


def invoices_bulk_upsert(rows, *, by) -> dict:
    """Store a list of invoices from a billing system, all or none, keyed by external_id:
    one seen before is updated, a new one created. Raises BulkInvalid naming every bad
    item by index. A fixed number of statements per request (plus one per 1,000 rows on
    SQLite)."""
    _check_writer(by)
    rows = bulk_rows(rows)
    by_external, known_ids = resolve_accounts(rows, accounts=Account.objects.all())
    errors: list[dict] = []
    items: list[tuple[int, int, dict]] = []
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            errors.append({"index": index, "non_field_errors": [_("Expected an object.")]})
            continue
        problems: dict[str, list[str]] = {}
        account_id, account_errors = check_account(row, by_external, known_ids)
        problems.update(account_errors)
        values: dict = {}
        for field, check in _INVOICE_CHECKS:
            values[field], error = check(row.get(field, MISSING))
            if error:
                problems[field] = [error]
        if not problems:
            problems.update(invoice_problems(values))
        ext = values.get("external_id")
        if ext and "external_id" not in problems:
            if ext in seen:
                problems["external_id"] = [_("Repeats item %(index)s.") % {"index": seen[ext]}]
            else:
                seen[ext] = index
        if problems:
            errors.append({"index": index, **problems})
        else:
            items.append((index, account_id, values))
    if errors:
        raise BulkInvalid(errors)
    with transaction.atomic():
        existing = _existing_invoices(list(seen))
        moved = [
            {"index": index, "external_id": [_("This invoice belongs to another account.")]}
            for index, account_id, values in items
            if existing.get(values["external_id"], account_id) != account_id
        ]
        if moved:
            raise BulkInvalid(moved)
        Invoice.objects.bulk_create(
            [Invoice(account_id=account_id, **values) for _i, account_id, values in items],
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["external_id"],
            update_fields=["number", "amount", "issued_on", "due_date", "paid_amount", "paid_on"],
        )
    result = {"created": len(items) - len(existing), "updated": len(existing)}
    log.info("invoices bulk by %s: %s", getattr(by, "username", "-"), result)
    return result


def _existing_invoices(external_ids: list[str]) -> dict[str, int]:
    """{external_id: account_id} of the invoices already stored, in chunks the database takes."""
    found: dict[str, int] = {}
    for i in range(0, len(external_ids), 5000):
        part = external_ids[i : i + 5000]
        found.update(Invoice.objects.filter(external_id__in=part).values_list("external_id", "account_id").order_by())
    return found
