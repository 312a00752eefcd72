"""Subscriptions, products, leads and invoices API (issue 8).

- `/api/v1/subscriptions/` per the contract: create, read, update, list (filters account,
  account_external_id, product, active_on), and `POST /api/v1/subscriptions/bulk/` with
  up to 10,000 items, all stored or none. Integrations and administrators write any
  account's; managers and CSMs the accounts they may change; others only read (403).
- `/api/v1/products/`: the catalogue; integrations and administrators add and edit.
- `/api/v1/leads/`: list, create, and PATCH of the status through renewals.leads.
- `/api/v1/invoices/`: CRUD for billing systems (integrations and administrators write,
  everyone reads the invoices of the accounts they see) and `POST /api/v1/invoices/bulk/`,
  all or none and idempotent by external_id.

Bulk bodies are parsed and checked in plain Python (renewals.collections has the field
checks): a serializer per item would cost more than the write. The subscription writes
live here with their rules, because the subscription services of renewals.services are
the renewal sync's; they keep the key the accounts import uses (account, product,
start_date), so a bulk post sent twice changes nothing the second time."""

import json
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from accounts.api.serializers import AccountOwnedSerializer
from accounts.models import Account
from accounts.services import account_tiers_refresh
from cs_platform.access import (
    can_manage_products,
    can_write_invoices,
    can_write_subscriptions,
    restrict,
    subscription_accounts,
)
from cs_platform.api import router
from people.models import User

from . import collections, leads
from .collections import (
    MISSING,
    BulkInvalid,
    bulk_rows,
    check_account,
    check_date,
    check_int,
    check_money,
    check_text,
    resolve_accounts,
)
from .forms_commerce import InvoiceFilter, LeadFilter, ProductFilter, SubscriptionFilter
from .models import Invoice, Lead, Product, Subscription

MAX_BODY_BYTES = 16 * 1024 * 1024  # 10,000 items with every text at its longest stay below
MAX_QUANTITY = 2_147_483_647
MAX_BILL_PERIOD = 120
UNKNOWN_PRODUCT = gettext_lazy("Unknown product.")
END_AFTER_START = gettext_lazy("The end date must be after the start date.")


def read_json_body(request):
    """The JSON body of a bulk request, read from the stream: request.body stops at
    DATA_UPLOAD_MAX_MEMORY_SIZE, which 10,000 items can pass. Raises BulkInvalid."""
    content_type = (request.content_type or "").split(";")[0].strip().lower()
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        raise BulkInvalid([{"non_field_errors": [_("Send the items as application/json.")]}])
    stream = request.stream
    body = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
    if len(body) > MAX_BODY_BYTES:
        raise BulkInvalid(
            [{"non_field_errors": [_("The request body is larger than %(max)s MB.") % {"max": MAX_BODY_BYTES >> 20}]}]
        )
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise BulkInvalid([{"non_field_errors": [_("The body is not valid JSON.")]}]) from None


class WritePermission(permissions.BasePermission):
    """Reads for every signed-in user (scoped by the queryset); writes for those
    `can_write(user)` lets in, 403 for the rest."""

    can_write = staticmethod(lambda user: False)

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return self.can_write(request.user)


class CanWriteSubscriptions(WritePermission):
    message = gettext_lazy("Only integrations, administrators, managers and CSMs may write subscriptions.")
    can_write = staticmethod(can_write_subscriptions)


class CanManageProducts(WritePermission):
    message = gettext_lazy("Only integration users and administrators may change products.")
    can_write = staticmethod(can_manage_products)


class CanWriteInvoices(WritePermission):
    message = gettext_lazy("Only integration users and administrators may write invoices.")
    can_write = staticmethod(can_write_invoices)


class BulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text=gettext_lazy("Items stored as new."))
    updated = serializers.IntegerField(help_text=gettext_lazy("Items that matched one stored before."))


def _bulk_error_serializer(name: str, fields: tuple[str, ...]) -> type[serializers.Serializer]:
    attrs = {
        "index": serializers.IntegerField(
            required=False, help_text=gettext_lazy("The position of the bad item in the list (absent for body errors).")
        ),
        "non_field_errors": serializers.ListField(child=serializers.CharField(), required=False),
    }
    attrs.update({f: serializers.ListField(child=serializers.CharField(), required=False) for f in fields})
    item = type(f"{name}BulkErrorSerializer", (serializers.Serializer,), attrs)
    return type(f"{name}BulkErrorsSerializer", (serializers.Serializer,), {"errors": item(many=True)})


def _bulk_response(run) -> Response:
    try:
        result = run()
    except BulkInvalid as error:
        return Response({"errors": error.errors}, status=status.HTTP_400_BAD_REQUEST)
    return Response(result, status=status.HTTP_200_OK)


# ------------------------------------------------------------------ subscriptions

SUBSCRIPTION_FIELDS = ("product", "start_date", "end_date", "mrr", "quantity", "bill_period_months", "discount")


def _subscription_clash(*, account_id: int, product_id: int, start_date, exclude_pk=None) -> Subscription | None:
    return (
        Subscription.objects.filter(account_id=account_id, product_id=product_id, start_date=start_date)
        .exclude(pk=exclude_pk)
        .order_by("pk")
        .first()
    )


@transaction.atomic
def subscription_save(*, by, account: Account, data: dict, subscription: Subscription | None = None) -> Subscription:
    """Create a subscription or change one. One subscription per account, product and
    start date (the key the import uses): a second one is refused with the id of the first."""
    if not subscription_accounts(by).filter(pk=account.pk).exists():
        raise PermissionDenied
    subscription = subscription or Subscription(account=account)
    for key, value in data.items():
        if key in SUBSCRIPTION_FIELDS:
            setattr(subscription, key, value)
    if subscription.end_date is not None and subscription.end_date <= subscription.start_date:
        raise ValidationError({"end_date": [str(END_AFTER_START)]})
    clash = _subscription_clash(
        account_id=account.pk,
        product_id=subscription.product_id,
        start_date=subscription.start_date,
        exclude_pk=subscription.pk,
    )
    if clash is not None:
        raise ValidationError(
            {
                "start_date": [
                    _("The account already has a subscription of this product starting on this day (id %(id)s).")
                    % {"id": clash.pk}
                ]
            }
        )
    subscription.full_clean()
    subscription.save()
    account_tiers_refresh(account_ids=[account.pk])
    return subscription


def _check_subscription(row: dict, products: dict[str, int]) -> tuple[dict, dict]:
    values, problems = {}, {}
    code, error = check_text(row.get("product", MISSING), max_length=50)
    if error:
        problems["product"] = [error]
    elif code not in products:
        problems["product"] = [str(UNKNOWN_PRODUCT)]
    else:
        values["product_id"] = products[code]
    for field, (value, error) in (
        ("start_date", check_date(row.get("start_date", MISSING))),
        ("end_date", check_date(row.get("end_date", MISSING), required=False)),
        ("mrr", check_money(row.get("mrr", MISSING))),
        ("quantity", check_int(row.get("quantity"), minimum=0, maximum=MAX_QUANTITY, default=1)),
        (
            "bill_period_months",
            check_int(row.get("bill_period_months"), minimum=1, maximum=MAX_BILL_PERIOD, default=12),
        ),
        ("discount", check_money(row.get("discount", MISSING), required=False, maximum=Decimal(100))),
    ):
        if error:
            problems[field] = [error]
        values[field] = value
    if values.get("discount") is None:
        values["discount"] = collections.ZERO
    start, end = values.get("start_date"), values.get("end_date")
    if start and end and end <= start and "end_date" not in problems:
        problems["end_date"] = [str(END_AFTER_START)]
    return values, problems


def subscriptions_bulk_upsert(rows, *, by) -> dict:
    """Store a list of subscriptions, all or none. An item with the account, product and
    start date of a stored subscription updates it (so a list sent twice changes nothing);
    the others are created. Raises BulkInvalid naming every bad item by index. A fixed
    number of statements per request, whatever its size (one per batch of rows)."""
    if not can_write_subscriptions(by):
        raise PermissionDenied
    rows = bulk_rows(rows)
    by_external, known_ids = resolve_accounts(rows, accounts=subscription_accounts(by))
    codes = {r["product"].strip() for r in rows if isinstance(r, dict) and isinstance(r.get("product"), str)}
    products = dict(Product.objects.filter(code__in=codes).values_list("code", "pk").order_by()) if codes else {}
    errors, items, seen = [], [], {}
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            errors.append({"index": index, "non_field_errors": [_("Expected an object.")]})
            continue
        account_id, problems = check_account(row, by_external, known_ids)
        values, more = _check_subscription(row, products)
        problems.update(more)
        if not problems:
            key = (account_id, values["product_id"], values["start_date"])
            if key in seen:
                problems["start_date"] = [
                    _("Repeats item %(index)s: the same account, product and start date.") % {"index": seen[key]}
                ]
            else:
                seen[key] = index
        if problems:
            errors.append({"index": index, **problems})
        else:
            items.append((account_id, values))
    if errors:
        raise BulkInvalid(errors)
    fields = ["end_date", "mrr", "quantity", "bill_period_months", "discount"]
    account_ids = sorted({account_id for account_id, _v in items})
    with transaction.atomic():
        stored: dict[tuple, Subscription] = {}
        for i in range(0, len(account_ids), 5000):
            chunk = Subscription.objects.filter(account_id__in=account_ids[i : i + 5000]).order_by("pk")
            for s in chunk.only("pk", "account_id", "product_id", "start_date", *fields):
                stored.setdefault((s.account_id, s.product_id, s.start_date), s)
        new, changed, matched = [], [], 0
        for account_id, values in items:
            current = stored.get((account_id, values["product_id"], values["start_date"]))
            if current is None:
                new.append(Subscription(account_id=account_id, **values))
                continue
            matched += 1
            if any(getattr(current, f) != values[f] for f in fields):
                for f in fields:
                    setattr(current, f, values[f])
                changed.append(current)
        Subscription.objects.bulk_create(new, batch_size=1000)
        Subscription.objects.bulk_update(changed, fields, batch_size=500)
        account_tiers_refresh(account_ids=account_ids)
    return {"created": len(new), "updated": matched}


class SubscriptionSerializer(AccountOwnedSerializer):
    """A contract line. Active on day d when start_date <= d and (end_date is null or
    end_date > d)."""

    product = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Product.objects.all(),
        error_messages={"does_not_exist": UNKNOWN_PRODUCT, "invalid": UNKNOWN_PRODUCT},
        help_text=gettext_lazy("The product's code (see /api/v1/products/)."),
    )
    end_date = serializers.DateField(
        required=False, allow_null=True, help_text=gettext_lazy("Null while open-ended; must be after start_date.")
    )
    mrr = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, help_text=gettext_lazy("Monthly recurring revenue.")
    )
    quantity = serializers.IntegerField(
        min_value=0, max_value=MAX_QUANTITY, required=False, help_text=gettext_lazy("Seats or units; 1 by default.")
    )
    bill_period_months = serializers.IntegerField(
        min_value=1, max_value=MAX_BILL_PERIOD, required=False, help_text=gettext_lazy("12 by default.")
    )
    discount = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
        required=False,
        help_text=gettext_lazy("Percent, 0-100."),
    )

    class Meta:
        model = Subscription
        fields = ["id", "account", "account_external_id", *SUBSCRIPTION_FIELDS]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        start = attrs.get("start_date", getattr(self.instance, "start_date", None))
        end = attrs["end_date"] if "end_date" in attrs else getattr(self.instance, "end_date", None)
        if start and end and end <= start:
            raise serializers.ValidationError({"end_date": [END_AFTER_START]})
        return attrs


class SubscriptionBulkItemSerializer(serializers.Serializer):
    """One item of a bulk post (documentation: the body is checked in plain Python)."""

    account_external_id = serializers.CharField(
        required=False, help_text=gettext_lazy("The account's external ID (or give `account`).")
    )
    account = serializers.IntegerField(required=False, help_text=gettext_lazy("The account's id."))
    product = serializers.CharField(help_text=gettext_lazy("The product's code."))
    start_date = serializers.DateField()
    end_date = serializers.DateField(required=False, allow_null=True)
    mrr = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    quantity = serializers.IntegerField(required=False, min_value=0)
    bill_period_months = serializers.IntegerField(required=False, min_value=1, max_value=MAX_BILL_PERIOD)
    discount = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False)


SubscriptionBulkErrorsSerializer = _bulk_error_serializer(
    "Subscription", ("account", "account_external_id", *SUBSCRIPTION_FIELDS)
)


@extend_schema_view(
    list=extend_schema(summary="List subscriptions"),
    create=extend_schema(summary="Create a subscription"),
    retrieve=extend_schema(summary="Read a subscription"),
    update=extend_schema(summary="Replace a subscription"),
    partial_update=extend_schema(summary="Change a subscription"),
)
class SubscriptionViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """Subscriptions (contract lines) of the accounts the caller may see; revenue and
    churn are computed from them. Name the account by `account` (id) or
    `account_external_id` and the product by its code."""

    serializer_class = SubscriptionSerializer
    filterset_class = SubscriptionFilter
    permission_classes = [permissions.IsAuthenticated, CanWriteSubscriptions]
    ordering_fields = ["start_date", "end_date", "mrr"]
    ordering = ["account_id", "start_date", "pk"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Subscription.objects.none()
        return restrict(Subscription.objects.select_related("account", "product"), self.request.user).order_by(
            "account_id", "start_date", "pk"
        )

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        account = data.pop("account")
        serializer.instance = subscription_save(by=self.request.user, account=account, data=data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("account", None)
        instance = serializer.instance
        serializer.instance = subscription_save(
            by=self.request.user, account=instance.account, data=data, subscription=instance
        )

    @extend_schema(
        operation_id="subscriptions_bulk",
        summary="Post subscriptions in bulk",
        description=(
            "A JSON list of up to 10,000 subscriptions. All are stored or, if any is invalid, none: "
            "400 lists every bad item by its index with field errors. An item with the account, product "
            "and start date of a stored subscription updates it, so sending the same list twice changes "
            "nothing; the rest are created. Answers the counts."
        ),
        request=SubscriptionBulkItemSerializer(many=True),
        responses={200: BulkResultSerializer, 400: SubscriptionBulkErrorsSerializer},
        examples=[
            OpenApiExample(
                "A subscription",
                request_only=True,
                value={
                    "account_external_id": "CRM-10001",
                    "product": "crm-pro",
                    "start_date": "2025-01-01",
                    "end_date": "2026-01-01",
                    "mrr": "12000.00",
                    "quantity": 50,
                    "bill_period_months": 12,
                    "discount": "5",
                },
            ),
            OpenApiExample("Stored", response_only=True, status_codes=["200"], value={"created": 2, "updated": 0}),
            OpenApiExample(
                "Rejected",
                response_only=True,
                status_codes=["400"],
                value={"errors": [{"index": 1, "product": ["Unknown product."]}]},
            ),
        ],
    )
    @action(detail=False, methods=["post"], url_path="bulk", parser_classes=[JSONParser], filter_backends=[])
    def bulk(self, request):
        return _bulk_response(lambda: subscriptions_bulk_upsert(read_json_body(request), by=request.user))


# ------------------------------------------------------------------ products


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "code", "name", "product_line"]


@extend_schema_view(
    list=extend_schema(summary="List products"),
    create=extend_schema(summary="Add a product"),
    retrieve=extend_schema(summary="Read a product"),
    update=extend_schema(summary="Replace a product"),
    partial_update=extend_schema(summary="Change a product"),
)
class ProductViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """The product catalogue. `product_line` decides whether a product is new to an
    account (a renewal that adds a new product line is sales-owned)."""

    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    permission_classes = [permissions.IsAuthenticated, CanManageProducts]
    ordering_fields = ["code", "name", "product_line"]
    queryset = Product.objects.order_by("product_line", "name", "pk")


# ------------------------------------------------------------------ leads


def _enum(choices) -> dict:
    """An enum documented inline, so it does not share a component name with other
    choice sets called kind or status."""
    return {
        "type": "string",
        "enum": [value for value, _label in choices],
        "description": "\n".join(f"* `{value}` - {label}" for value, label in choices),
    }


@extend_schema_field(_enum(Lead.Kind.choices))
class LeadKindField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=Lead.Kind.choices, **kwargs)


@extend_schema_field(_enum(Lead.Status.choices))
class LeadStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=Lead.Status.choices, **kwargs)


class LeadSerializer(AccountOwnedSerializer):
    """An expansion lead. Created open; PATCH `status` to move it."""

    product = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Product.objects.all(),
        required=False,
        allow_null=True,
        error_messages={"does_not_exist": UNKNOWN_PRODUCT, "invalid": UNKNOWN_PRODUCT},
        help_text=gettext_lazy("The product's code, if known."),
    )
    found_by = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.all(),
        required=False,
        help_text=gettext_lazy(
            "Username of the CSM who found it (credited when it is won); the caller by default. "
            "Only integrations and administrators name someone else."
        ),
    )
    sales_owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    kind = LeadKindField()
    status = LeadStatusField(read_only=True)
    estimated_mrr = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)

    class Meta:
        model = Lead
        fields = [
            "id", "account", "account_external_id", "kind", "product", "title", "description", "estimated_mrr",
            "status", "found_by", "sales_owner", "handed_on", "closed_on", "won_mrr", "lost_reason", "created_at",
        ]  # fmt: skip
        read_only_fields = ["status", "handed_on", "closed_on", "won_mrr", "lost_reason", "created_at"]


# Named like LeadSerializer: only a PATCH body uses it (PatchedLeadRequest), and the
# shared name lets its kind and status enums be the lead's (LeadKindEnum, LeadStatusEnum).
@extend_schema_serializer(component_name="Lead")
class LeadPatchSerializer(serializers.Serializer):
    """What a PATCH may send: what the lead is about, and/or a move to another status with
    the fields that move takes (with_sales: sales_owner, handed_on; won: won_mrr,
    closed_on; lost: lost_reason, closed_on). Dates default to today."""

    kind = LeadKindField(required=False)
    product = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Product.objects.all(),
        required=False,
        allow_null=True,
        error_messages={"does_not_exist": UNKNOWN_PRODUCT, "invalid": UNKNOWN_PRODUCT},
    )
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    estimated_mrr = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    status = LeadStatusField(required=False)
    sales_owner = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(role=User.Role.SALES, is_active=True),
        required=False,
        error_messages={"does_not_exist": gettext_lazy("Choose an active sales person.")},
        help_text=gettext_lazy("With status with_sales: who takes it; the account's sales owner by default."),
    )
    handed_on = serializers.DateField(required=False)
    won_mrr = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    closed_on = serializers.DateField(required=False)
    lost_reason = serializers.CharField(required=False, max_length=2000)

    def validate(self, attrs):
        fixed = sorted(set(self.initial_data) - set(self.fields))
        if fixed:
            raise serializers.ValidationError({key: [_("This field cannot be changed.")] for key in fixed})
        loose = sorted(k for k in attrs if k in leads.TRANSITION_FIELDS and "status" not in attrs)
        if loose:
            raise serializers.ValidationError({k: [_("Send it together with the new status.")] for k in loose})
        return attrs


@extend_schema_view(
    list=extend_schema(summary="List leads"),
    create=extend_schema(summary="Log a lead"),
    retrieve=extend_schema(summary="Read a lead"),
)
class LeadViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """Upsell and cross-sell leads (增购/交叉销售) of the accounts the caller may see, and for
    sales those handed to them. Open -> with_sales -> won or lost; an open lead may be
    dropped as lost. The CSM in `found_by` is credited for a won lead (lead bonus)."""

    serializer_class = LeadSerializer
    filterset_class = LeadFilter
    ordering_fields = ["created_at", "handed_on", "closed_on", "estimated_mrr", "won_mrr"]
    ordering = ["-created_at", "-pk"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Lead.objects.none()
        return leads.lead_list(user=self.request.user).order_by("-created_at", "-pk")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        lead = leads.lead_create(
            account=data.pop("account"),
            by=self.request.user,
            kind=data["kind"],
            title=data["title"],
            description=data.get("description", ""),
            product=data.get("product"),
            estimated_mrr=data.get("estimated_mrr"),
            found_by=data.get("found_by"),
        )
        serializer.instance = self.get_queryset().get(pk=lead.pk)

    @extend_schema(
        summary="Change a lead or move its status",
        request=LeadPatchSerializer,
        responses=LeadSerializer,
        examples=[
            OpenApiExample("Hand to sales", request_only=True, value={"status": "with_sales", "sales_owner": "sales"}),
            OpenApiExample("Won", request_only=True, value={"status": "won", "won_mrr": "4500.00"}),
            OpenApiExample("Lost", request_only=True, value={"status": "lost", "lost_reason": "No budget this year"}),
        ],
    )
    def partial_update(self, request, *args, **kwargs):
        lead = self.get_object()
        patch = LeadPatchSerializer(data=request.data, context=self.get_serializer_context())
        patch.is_valid(raise_exception=True)
        data = dict(patch.validated_data)
        edits = {k: data[k] for k in leads.EDITABLE if k in data}
        with transaction.atomic():
            if edits:
                lead = leads.lead_update(lead=lead, by=request.user, data=edits)
            if "status" in data:
                leads.lead_transition(lead=lead, by=request.user, status=data["status"], data=data)
        return Response(self.get_serializer(self.get_queryset().get(pk=lead.pk)).data)


# ------------------------------------------------------------------ invoices


class InvoiceSerializer(AccountOwnedSerializer):
    """An invoice (回款). `paid_on` is the day it was paid in full; `paid_amount` left out
    follows it (the amount when paid in full, else 0)."""

    external_id = serializers.CharField(
        max_length=100,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text=gettext_lazy("The billing system's key: posting an invoice with a known one updates it."),
    )
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    paid_amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    paid_on = serializers.DateField(required=False, allow_null=True)
    outstanding = serializers.SerializerMethodField(help_text=gettext_lazy("What is still to be paid."))
    days_overdue = serializers.SerializerMethodField(
        help_text=gettext_lazy("Days past the due date today while not paid in full; null otherwise.")
    )

    class Meta:
        model = Invoice
        fields = [
            "id", "account", "account_external_id", "number", "external_id", "amount", "issued_on", "due_date",
            "paid_amount", "paid_on", "outstanding", "days_overdue",
        ]  # fmt: skip

    def get_outstanding(self, obj: Invoice) -> str:
        value = collections.ZERO if obj.paid_on else obj.amount - obj.paid_amount
        return f"{value:.2f}"

    def get_days_overdue(self, obj: Invoice) -> int | None:
        days = (timezone.localdate() - obj.due_date).days
        return days if obj.paid_on is None and days > 0 else None


class InvoiceBulkItemSerializer(serializers.Serializer):
    """One item of a bulk post (documentation: the body is checked in plain Python)."""

    account_external_id = serializers.CharField(
        required=False, help_text=gettext_lazy("The account's external ID (or give `account`).")
    )
    account = serializers.IntegerField(required=False)
    external_id = serializers.CharField(max_length=100, help_text=gettext_lazy("Required: the key of the upsert."))
    number = serializers.CharField(max_length=50)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    issued_on = serializers.DateField()
    due_date = serializers.DateField()
    paid_amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    paid_on = serializers.DateField(required=False, allow_null=True)


InvoiceBulkErrorsSerializer = _bulk_error_serializer(
    "Invoice", ("account", "account_external_id", *collections.INVOICE_FIELDS)
)


@extend_schema_view(
    list=extend_schema(summary="List invoices"),
    create=extend_schema(
        summary="Create (or update by external_id) an invoice",
        responses={201: InvoiceSerializer, 200: InvoiceSerializer},
    ),
    retrieve=extend_schema(summary="Read an invoice"),
    update=extend_schema(summary="Replace an invoice"),
    partial_update=extend_schema(summary="Change an invoice"),
    destroy=extend_schema(summary="Delete an invoice"),
)
class InvoiceViewSet(viewsets.ModelViewSet):
    """Invoices of the accounts the caller may see; billing systems (integration users)
    and administrators write them. Overdue invoices lower the health score and raise the
    payment_overdue alert."""

    serializer_class = InvoiceSerializer
    filterset_class = InvoiceFilter
    permission_classes = [permissions.IsAuthenticated, CanWriteInvoices]
    ordering_fields = ["due_date", "issued_on", "amount"]
    ordering = ["-due_date", "-pk"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Invoice.objects.none()
        return restrict(Invoice.objects.select_related("account"), self.request.user).order_by("-due_date", "-pk")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        invoice, created = collections.invoice_save(by=request.user, account=data.pop("account"), data=data)
        body = self.get_serializer(self.get_queryset().get(pk=invoice.pk)).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("account", None)
        instance = serializer.instance
        invoice, _created = collections.invoice_save(
            by=self.request.user, account=instance.account, data=data, invoice=instance, replace=not serializer.partial
        )
        serializer.instance = self.get_queryset().get(pk=invoice.pk)

    def perform_destroy(self, instance):
        collections.invoice_delete(invoice=instance, by=self.request.user)

    @extend_schema(
        operation_id="invoices_bulk",
        summary="Post invoices in bulk",
        description=(
            "A JSON list of up to 10,000 invoices, each with its `external_id`. All are stored or, if any "
            "is invalid, none: 400 lists every bad item by its index with field errors. An external_id "
            "stored before updates that invoice, so a retried request changes nothing; the rest are created."
        ),
        request=InvoiceBulkItemSerializer(many=True),
        responses={200: BulkResultSerializer, 400: InvoiceBulkErrorsSerializer},
        examples=[
            OpenApiExample(
                "An invoice",
                request_only=True,
                value={
                    "account_external_id": "CRM-10001",
                    "external_id": "BILL-2025-0042",
                    "number": "INV-2025-0042",
                    "amount": "36000.00",
                    "issued_on": "2025-03-01",
                    "due_date": "2025-03-31",
                    "paid_amount": "10000.00",
                    "paid_on": None,
                },
            ),
            OpenApiExample("Stored", response_only=True, status_codes=["200"], value={"created": 1, "updated": 1}),
        ],
    )
    @action(detail=False, methods=["post"], url_path="bulk", parser_classes=[JSONParser], filter_backends=[])
    def bulk(self, request):
        return _bulk_response(lambda: collections.invoices_bulk_upsert(read_json_body(request), by=request.user))


router.register("subscriptions", SubscriptionViewSet, basename="subscription")
router.register("products", ProductViewSet, basename="product")
router.register("leads", LeadViewSet, basename="lead")
router.register("invoices", InvoiceViewSet, basename="invoice")
