from django.contrib import admin

from .models import Invoice, Product, Renewal, Subscription


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
