from django.contrib import admin

from .models import ChurnRecord, Invoice, Lead, Product, Renewal, RenewalReason, Subscription


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "product_line"]
    list_filter = ["product_line"]
    search_fields = ["name", "code"]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["account", "product", "start_date", "end_date", "mrr", "quantity", "bill_period_months"]
    list_filter = ["product", "bill_period_months"]
    list_select_related = ["account", "product"]
    search_fields = ["account__name", "account__external_id"]
    date_hierarchy = "start_date"
    autocomplete_fields = ["account"]


@admin.register(Renewal)
class RenewalAdmin(admin.ModelAdmin):
    list_display = ["account", "due_date", "owner", "stage", "forecast_mrr", "risk"]
    list_filter = ["stage", "risk"]
    list_select_related = ["account", "owner"]
    search_fields = ["account__name"]
    date_hierarchy = "due_date"
    autocomplete_fields = ["account", "owner"]


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["number", "account", "amount", "issued_on", "due_date", "paid_amount", "paid_on"]
    list_filter = ["paid_on"]
    list_select_related = ["account"]
    search_fields = ["number", "external_id", "account__name"]
    date_hierarchy = "due_date"
    autocomplete_fields = ["account"]


@admin.register(RenewalReason)
class RenewalReasonAdmin(admin.ModelAdmin):
    """Managers extend the taxonomy here: why customers renew and why they leave."""

    list_display = ["name", "name_zh", "kind", "is_active", "position"]
    list_filter = ["kind", "is_active"]
    list_editable = ["is_active", "position"]
    search_fields = ["name", "name_zh"]


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["title", "account", "kind", "status", "estimated_mrr", "found_by", "sales_owner", "closed_on"]
    list_filter = ["kind", "status"]
    list_select_related = ["account", "found_by", "sales_owner"]
    search_fields = ["title", "account__name"]
    autocomplete_fields = ["account", "found_by", "sales_owner"]


@admin.register(ChurnRecord)
class ChurnRecordAdmin(admin.ModelAdmin):
    list_display = ["account", "churned_on", "mrr_lost", "recorded_by"]
    list_select_related = ["account", "recorded_by"]
    search_fields = ["account__name", "story"]
    date_hierarchy = "churned_on"
    autocomplete_fields = ["account"]
    filter_horizontal = ["reasons"]
