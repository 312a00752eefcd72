"""Subscriptions for the import page of accounts (issue 4, item 6).

accounts is below renewals, so accounts cannot name Subscription. Instead this module
registers the "subscriptions" kind into the registry of accounts.imports, which finds it
with `autodiscover_modules("imports")`, the way the admin finds admin.py. The import
goes down (renewals -> accounts), never up.

A row is keyed by account_external_id + product + start_date; the product is named by
its name or code and is never created by an import.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import fields as ie_fields

from accounts.imports import (
    DateWidget,
    DecimalWidget,
    ImportKind,
    ImportResource,
    IntegerWidget,
    LookupWidget,
    column_values,
    in_chunks,
    parse_date,
    register,
)

from .models import Product, Subscription
from .services import renewals_sync

NO_PRODUCT = gettext_lazy("no product called '%(value)s'")


def _field(attribute: str, widget, *, keep_when_empty: bool = False) -> ie_fields.Field:
    return ie_fields.Field(
        attribute=attribute, column_name=attribute, widget=widget, saves_null_values=not keep_when_empty
    )


class SubscriptionResource(ImportResource):
    key_columns = ("account_external_id", "product", "start_date")

    product = _field("product", LookupWidget(NO_PRODUCT))
    start_date = _field("start_date", DateWidget())
    end_date = _field("end_date", DateWidget())
    mrr = _field("mrr", DecimalWidget())
    quantity = _field("quantity", IntegerWidget(), keep_when_empty=True)
    bill_period_months = _field("bill_period_months", IntegerWidget(), keep_when_empty=True)
    discount = _field("discount", DecimalWidget(), keep_when_empty=True)

    class Meta(ImportResource.Meta):
        model = Subscription
        fields = ("product", "start_date", "end_date", "mrr", "quantity", "bill_period_months", "discount")
        import_order = fields

    def prepare(self, dataset):
        names = column_values(dataset, "product")
        products: dict = {}
        by_name: dict[str, list[Product]] = {}
        for chunk in in_chunks(names):
            for product in Product.objects.filter(Q(name__in=chunk) | Q(code__in=chunk)).order_by("code"):
                by_name.setdefault(product.name, []).append(product)
                products[product.code] = product
        for name, found in by_name.items():
            if name in products:
                continue  # a code is unique, so it wins over a name
            products[name] = (
                found[0]
                if len(found) == 1
                else _("more than one product is called '%(value)s'; use its code (%(codes)s).")
                % {"value": name, "codes": ", ".join(p.code for p in found)}
            )
        self.fields["product"].widget.cache = products
        self.existing = {}
        ids = [a.pk for a in self.accounts.values()]
        for chunk in in_chunks(ids):
            for s in Subscription.objects.filter(account_id__in=chunk).order_by("pk"):
                self.existing.setdefault((s.account_id, s.product_id, s.start_date), s)

    def find(self, row):
        account = self.account_for(row)
        errors = {}
        product = start = None
        try:
            product = self.fields["product"].widget.clean(row.get("product"))
        except ValueError as error:
            errors["product"] = [str(error)]
        try:
            start = parse_date(row.get("start_date"))
        except ValueError as error:
            errors["start_date"] = [str(error)]
        if product is None and "product" not in errors:
            errors["product"] = [_("A product is required.")]
        if start is None and "start_date" not in errors:
            errors["start_date"] = [_("A start date is required.")]
        if errors:
            raise ValidationError(errors)
        key = (account.pk, product.pk, start)
        self.claim(key, "start_date")
        subscription = self.existing.get(key)
        if subscription is not None:
            subscription.account, subscription.product = account, product
            return subscription, False
        return Subscription(account=account, product=product, start_date=start), True

    def check(self, instance, errors):
        if "end_date" in errors or "start_date" in errors:
            return
        if instance.end_date is not None and instance.start_date and instance.end_date <= instance.start_date:
            errors["end_date"] = [_("The end date must be after the start date.")]

    @transaction.atomic
    def write(self, instance, is_create):
        # renewals has no subscription service yet; this is the one place an import
        # writes a subscription, validated in full as a service would.
        instance.full_clean()
        instance.save()


def _sync_renewals(*, account_ids: set[int]) -> None:
    renewals_sync(today=timezone.localdate())


register(
    ImportKind(
        key="subscriptions",
        label=gettext_lazy("Subscriptions"),
        resource_class=SubscriptionResource,
        columns=("account_external_id", *SubscriptionResource.Meta.fields),
        required=("account_external_id", "product", "start_date", "mrr"),
        example={
            "account_external_id": "CRM-10001",
            "product": "CRM Pro",
            "start_date": dt.date(2025, 1, 1).isoformat(),
            "end_date": dt.date(2026, 1, 1).isoformat(),
            "mrr": "12000.00",
            "quantity": 50,
            "bill_period_months": 12,
            "discount": "5",
        },  # fmt: skip
        order=30,
        after_apply=_sync_renewals,
    )
)
