from django.contrib import admin

from .models import Handover, HandoverTransition


class TransitionInline(admin.TabularInline):
    model = HandoverTransition
    extra = 0
    readonly_fields = ["from_status", "to_status", "by", "at", "note"]
    can_delete = False


@admin.register(Handover)
class HandoverAdmin(admin.ModelAdmin):
    list_display = ["account", "sales_owner", "csm", "status", "submitted_at", "decided_at"]
    list_filter = ["status"]
    list_select_related = ["account", "sales_owner", "csm"]
    search_fields = ["account__name"]
    autocomplete_fields = ["account", "sales_owner", "csm"]
    inlines = [TransitionInline]


@admin.register(HandoverTransition)
class HandoverTransitionAdmin(admin.ModelAdmin):
    list_display = ["handover", "from_status", "to_status", "by", "at"]
    list_filter = ["to_status"]
    list_select_related = ["handover__account", "by"]
    search_fields = ["handover__account__name", "note"]
    date_hierarchy = "at"
