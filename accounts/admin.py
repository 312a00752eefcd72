from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Account, AccountStageChange, Activity, CustomerFile, Stakeholder


class StakeholderInline(admin.TabularInline):
    model = Stakeholder
    extra = 0
    fields = ["name", "title", "role", "influence", "relationship", "is_active", "left_on"]


class CustomerFileInline(admin.StackedInline):
    model = CustomerFile
    extra = 0


@admin.register(Account)
class AccountAdmin(SimpleHistoryAdmin):
    list_display = [
        "name", "external_id", "industry", "csm", "team", "lifecycle_stage", "tier", "health_band", "completeness",
    ]  # fmt: skip
    list_filter = ["lifecycle_stage", "tier", "health_band", "service_model", "industry", "team"]
    list_select_related = ["csm", "team"]
    search_fields = ["name", "external_id"]
    autocomplete_fields = ["csm", "sales_owner"]
    inlines = [CustomerFileInline, StakeholderInline]
    readonly_fields = ["health_score", "health_band", "completeness"]


@admin.register(CustomerFile)
class CustomerFileAdmin(SimpleHistoryAdmin):
    list_display = ["account", "updated_at"]
    list_select_related = ["account"]
    search_fields = ["account__name", "account__external_id"]
    autocomplete_fields = ["account"]


@admin.register(AccountStageChange)
class AccountStageChangeAdmin(admin.ModelAdmin):
    list_display = ["changed_at", "account", "from_stage", "to_stage", "changed_by"]
    list_filter = ["to_stage"]
    list_select_related = ["account", "changed_by"]
    search_fields = ["account__name"]
    date_hierarchy = "changed_at"


@admin.register(Stakeholder)
class StakeholderAdmin(SimpleHistoryAdmin):
    list_display = ["name", "title", "account", "role", "influence", "relationship", "is_active"]
    list_filter = ["role", "influence", "relationship", "is_active"]
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
