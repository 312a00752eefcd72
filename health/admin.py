from django.contrib import admin

from .models import Alert, HealthScore, UsageDaily, UsageEvent


@admin.register(UsageEvent)
class UsageEventAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "account", "event_type", "user_id", "value", "event_id"]
    list_filter = ["event_type"]
    list_select_related = ["account"]
    search_fields = ["event_id", "account__external_id"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False  # the table is large


@admin.register(UsageDaily)
class UsageDailyAdmin(admin.ModelAdmin):
    list_display = ["day", "account", "event_type", "events", "distinct_users", "value_sum"]
    list_filter = ["event_type"]
    list_select_related = ["account"]
    search_fields = ["account__name"]
    date_hierarchy = "day"


@admin.register(HealthScore)
class HealthScoreAdmin(admin.ModelAdmin):
    list_display = ["account", "as_of", "score", "band", "computed_at"]
    list_filter = ["band"]
    list_select_related = ["account"]
    search_fields = ["account__name"]
    date_hierarchy = "as_of"


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["account", "type", "severity", "status", "created_at"]
    list_filter = ["type", "severity", "status"]
    list_select_related = ["account"]
    search_fields = ["account__name", "reason"]
    date_hierarchy = "created_at"
