from django.contrib import admin

from .models import (
    Alert,
    EventType,
    HealthOverride,
    HealthScore,
    ScorecardMeasure,
    ScorecardVersion,
    SurveyResponse,
    UsageDaily,
    UsageEvent,
)


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


@admin.register(EventType)
class EventTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "label", "first_seen_at"]
    list_editable = ["label"]
    search_fields = ["name", "label"]


@admin.register(SurveyResponse)
class SurveyResponseAdmin(admin.ModelAdmin):
    list_display = ["responded_on", "account", "kind", "score", "stakeholder"]
    list_filter = ["kind"]
    list_select_related = ["account", "stakeholder"]
    search_fields = ["account__name", "comment", "external_id"]
    raw_id_fields = ["account", "stakeholder", "created_by"]
    date_hierarchy = "responded_on"


@admin.register(HealthOverride)
class HealthOverrideAdmin(admin.ModelAdmin):
    list_display = ["account", "score", "expires_on", "created_by", "created_at", "ended_at"]
    list_select_related = ["account", "created_by"]
    search_fields = ["account__name", "reason"]
    raw_id_fields = ["account", "created_by"]
    date_hierarchy = "created_at"


class ScorecardMeasureInline(admin.TabularInline):
    model = ScorecardMeasure
    extra = 0
    fields = ["position", "key", "label", "kind", "event_type", "per", "window_days", "thresholds", "weight",
              "coefficient", "center", "scale"]  # fmt: skip


@admin.register(ScorecardVersion)
class ScorecardVersionAdmin(admin.ModelAdmin):
    """Managers edit scorecards in the app (/health/scorecards/), where saving makes a new
    version; the admin is for looking and for repairs."""

    list_display = ["number", "name", "kind", "is_active", "created_by", "created_at", "activated_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "note"]
    inlines = [ScorecardMeasureInline]


@admin.register(ScorecardMeasure)
class ScorecardMeasureAdmin(admin.ModelAdmin):
    list_display = ["version", "position", "key", "kind", "event_type", "window_days", "weight", "coefficient"]
    list_filter = ["kind"]
    list_select_related = ["version"]
    search_fields = ["key", "label"]
