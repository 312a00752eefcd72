"""Filters and forms for subscriptions, leads and collections (issue 8). The filters are
shared by the pages and the API; the forms read page input, and the rules live in
renewals.leads and renewals.collections so pages and API give the same field errors."""

import datetime as dt
import re

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from people.models import Team, User

from .collections import BUCKETS, OPEN, OVERDUE, bucket_q
from .leads import local_day_bounds
from .models import Invoice, Lead, Product, Subscription

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class MonthField(forms.CharField):
    """A calendar month as YYYY-MM (what <input type="month"> sends); cleans to its first day."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})
    default_error_messages = {"invalid": _("Enter a month as YYYY-MM.")}

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        match = MONTH.match(value)
        if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return dt.date(int(match.group(1)), int(match.group(2)), 1)


@extend_schema_field(OpenApiTypes.STR)
class MonthFilter(django_filters.Filter):
    field_class = MonthField


def _next_month(first: dt.date) -> dt.date:
    return dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)


def _people(*roles) -> list[tuple[str, str]]:
    users = User.objects.filter(role__in=roles, is_active=True).order_by("first_name", "last_name", "pk")
    return [(str(u.pk), str(u)) for u in users]


# ------------------------------------------------------------------ API filters


class SubscriptionFilter(django_filters.FilterSet):
    account = django_filters.NumberFilter(field_name="account_id", label=_("Account (id)"))
    account_external_id = django_filters.CharFilter(field_name="account__external_id", label=_("Account external ID"))
    product = django_filters.CharFilter(field_name="product__code", label=_("Product code"))
    active_on = django_filters.DateFilter(
        method="filter_active_on",
        label=_("Active on"),
        help_text=_("Only subscriptions active on this day: start_date <= day and (no end_date or end_date > day)."),
    )

    class Meta:
        model = Subscription
        fields = ["account", "account_external_id", "product", "active_on"]

    def filter_active_on(self, queryset, name, value):
        return queryset.filter(Q(end_date__isnull=True) | Q(end_date__gt=value), start_date__lte=value)


class ProductFilter(django_filters.FilterSet):
    code = django_filters.CharFilter(label=_("Code"))
    product_line = django_filters.CharFilter(label=_("Product line"))

    class Meta:
        model = Product
        fields = ["code", "product_line"]


class LeadFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Lead.Status.choices, label=_("Status"))
    kind = django_filters.ChoiceFilter(choices=Lead.Kind.choices, label=_("Kind"))
    account = django_filters.NumberFilter(field_name="account_id", label=_("Account (id)"))
    account_external_id = django_filters.CharFilter(field_name="account__external_id", label=_("Account external ID"))
    found_by = django_filters.CharFilter(field_name="found_by__username", label=_("Found by (username)"))
    sales_owner = django_filters.CharFilter(field_name="sales_owner__username", label=_("Sales owner (username)"))
    month = MonthFilter(method="filter_month", label=_("Found in month"), help_text=_("YYYY-MM"))
    closed_after = django_filters.DateFilter(field_name="closed_on", lookup_expr="gte", label=_("Closed from"))
    closed_before = django_filters.DateFilter(field_name="closed_on", lookup_expr="lte", label=_("Closed until"))

    class Meta:
        model = Lead
        fields = [
            "status", "kind", "account", "account_external_id", "found_by", "sales_owner", "month", "closed_after",
            "closed_before",
        ]  # fmt: skip

    def filter_month(self, queryset, name, value):
        if not value:
            return queryset
        since, until = local_day_bounds(value, _next_month(value) - dt.timedelta(days=1))
        return queryset.filter(created_at__gte=since, created_at__lt=until)


class LeadPageFilter(LeadFilter):
    """The page picks people from lists and searches accounts by name."""

    search = django_filters.CharFilter(method="filter_search", label=_("Account"))
    found_by = django_filters.ChoiceFilter(field_name="found_by", label=_("Found by"), empty_label=_("Anyone"))
    sales_owner = django_filters.ChoiceFilter(field_name="sales_owner", label=_("Sales owner"), empty_label=_("Anyone"))
    account = None
    account_external_id = None
    closed_after = None
    closed_before = None

    class Meta(LeadFilter.Meta):
        fields = ["search", "status", "kind", "found_by", "sales_owner", "month"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        people = _people(User.Role.CSM, User.Role.MANAGER, User.Role.SALES)
        self.filters["found_by"].extra["choices"] = people
        self.filters["sales_owner"].extra["choices"] = people
        self.filters["status"].extra["empty_label"] = _("Any status")
        self.filters["kind"].extra["empty_label"] = _("Any kind")

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(account__name__icontains=value) | Q(account__external_id=value) | Q(title__icontains=value)
        )


INVOICE_STATUSES = [("open", _("Not paid in full")), ("paid", _("Paid in full")), (OVERDUE, _("Overdue"))]


class InvoiceFilter(django_filters.FilterSet):
    account = django_filters.NumberFilter(field_name="account_id", label=_("Account (id)"))
    account_external_id = django_filters.CharFilter(field_name="account__external_id", label=_("Account external ID"))
    external_id = django_filters.CharFilter(label=_("Billing system ID"))
    number = django_filters.CharFilter(label=_("Number"))
    csm = django_filters.CharFilter(field_name="account__csm__username", label=_("CSM of the account (username)"))
    status = django_filters.ChoiceFilter(choices=INVOICE_STATUSES, method="filter_status", label=_("Status"))
    due_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gte", label=_("Due from"))
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lte", label=_("Due until"))
    issued_after = django_filters.DateFilter(field_name="issued_on", lookup_expr="gte", label=_("Issued from"))
    issued_before = django_filters.DateFilter(field_name="issued_on", lookup_expr="lte", label=_("Issued until"))

    class Meta:
        model = Invoice
        fields = [
            "account", "account_external_id", "external_id", "number", "csm", "status", "due_after", "due_before",
            "issued_after", "issued_before",
        ]  # fmt: skip

    def filter_status(self, queryset, name, value):
        if value == "paid":
            return queryset.filter(paid_on__isnull=False)
        if value == OVERDUE:
            return queryset.filter(OPEN & bucket_q(OVERDUE, timezone.localdate()))
        return queryset.filter(OPEN)


BUCKET_CHOICES = [(b.key, b.label) for b in BUCKETS] + [(OVERDUE, _("Any overdue"))]


class CollectionsFilter(django_filters.FilterSet):
    """The collections page: open invoices by the account's CSM and team, an account, and
    an ageing bucket (days past due today)."""

    csm = django_filters.ChoiceFilter(field_name="account__csm", label=_("CSM"), empty_label=_("All"))
    team = django_filters.ModelChoiceFilter(
        field_name="account__team", queryset=Team.objects.all(), label=_("Team"), empty_label=_("All")
    )
    account = django_filters.CharFilter(method="filter_account", label=_("Account"))
    bucket = django_filters.ChoiceFilter(
        choices=BUCKET_CHOICES, method="filter_bucket", label=_("Overdue"), empty_label=_("Any")
    )

    class Meta:
        model = Invoice
        fields = ["csm", "team", "account", "bucket"]

    def __init__(self, *args, today: dt.date, **kwargs):
        self.today = today
        super().__init__(*args, **kwargs)
        self.filters["csm"].extra["choices"] = _people(User.Role.CSM, User.Role.MANAGER)

    def filter_account(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(account__name__icontains=value) | Q(account__external_id=value))

    def filter_bucket(self, queryset, name, value):
        return queryset.filter(bucket_q(value, self.today)) if value else queryset


# ------------------------------------------------------------------ page forms


class DateRangeForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=DateInput(), required=False)
    end = forms.DateField(label=_("To"), widget=DateInput(), required=False)

    def __init__(self, data=None, *, default_start: dt.date, default_end: dt.date, **kwargs):
        # Always bound, with the default range filled in, so the page shows the range it uses.
        data = data.copy() if data is not None else {}
        for key, default in (("start", default_start), ("end", default_end)):
            if not data.get(key):
                data[key] = default.isoformat()
        super().__init__(data, **kwargs)
        self.default_start, self.default_end = default_start, default_end

    def clean(self):
        data = super().clean()
        start = data.get("start") or self.default_start
        end = data.get("end") or self.default_end
        if start > end:
            self.add_error("end", _("The end of the range must not be before its start."))
        data["start"], data["end"] = start, end
        return data

    def range(self) -> tuple[dt.date, dt.date]:
        """The range asked for, or the default one when the input is wrong."""
        if self.is_valid():
            return self.cleaned_data["start"], self.cleaned_data["end"]
        return self.default_start, self.default_end


class LeadReportForm(DateRangeForm):
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(), required=False, empty_label=_("All"))


class LeadForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Lead.Kind.choices)
    title = forms.CharField(label=_("Title"), max_length=200)
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.all(), required=False, empty_label=_("— not decided —")
    )
    estimated_mrr = forms.DecimalField(
        label=_("Estimated MRR"), min_value=0, max_digits=14, decimal_places=2, required=False
    )
    description = forms.CharField(
        label=_("What the customer needs"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class LeadHandForm(forms.Form):
    sales_owner = forms.ModelChoiceField(label=_("Sales person"), queryset=User.objects.none(), required=False)
    handed_on = forms.DateField(label=_("Handed on"), required=False, widget=DateInput())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sales_owner"].queryset = User.objects.filter(role=User.Role.SALES, is_active=True)


class LeadWonForm(forms.Form):
    won_mrr = forms.DecimalField(label=_("MRR won"), min_value=0, max_digits=14, decimal_places=2)
    closed_on = forms.DateField(label=_("Won on"), required=False, widget=DateInput())


class LeadLostForm(forms.Form):
    lost_reason = forms.CharField(label=_("Why lost"), max_length=2000)
    closed_on = forms.DateField(label=_("Lost on"), required=False, widget=DateInput())


class PaymentForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount received"), min_value=0, max_digits=14, decimal_places=2)
    paid_on = forms.DateField(label=_("Received on"), widget=DateInput())
