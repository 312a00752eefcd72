from django.contrib import admin

from .models import Account, Activity, Stakeholder


class StakeholderInline(admin.TabularInline):
    model = Stakeholder
    extra = 0
    fields = ["name", "title", "role", "relationship", "is_active", "left_on"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "external_id", "industry", "csm", "team", "lifecycle_stage", "tier", "health_band"]
    list_filter = ["lifecycle_stage", "tier", "health_band", "industry", "team"]
    list_select_related = ["csm", "team"]
    search_fields = ["name", "external_id"]
    autocomplete_fields = ["csm", "sales_owner"]
    inlines = [StakeholderInline]


@admin.register(Stakeholder)
class StakeholderAdmin(admin.ModelAdmin):
    list_display = ["name", "title", "account", "role", "relationship", "is_active"]
    list_filter = ["role", "relationship", "is_active"]
    list_select_related = ["account"]
    search_fields = ["name", "account__name"]
    autocomplete_fields = ["account"]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "kind", "account", "created_by"]
    list_filter = ["kind"]
    list_select_related = ["account", "created_by"]
    search_fields = ["summary", "account__name"]
    date_hierarchy = "occurred_at"
    autocomplete_fields = ["account"]
