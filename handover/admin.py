from django.contrib import admin

from .models import Handover, HandoverProduct, HandoverStakeholder, HandoverTransition, Kickoff, KickoffParticipant


class TransitionInline(admin.TabularInline):
    model = HandoverTransition
    extra = 0
    readonly_fields = ["from_status", "to_status", "by", "at", "note"]
    can_delete = False


class ProductInline(admin.TabularInline):
    model = HandoverProduct
    extra = 0
    autocomplete_fields = ["product"]


class StakeholderInline(admin.TabularInline):
    model = HandoverStakeholder
    extra = 0


@admin.register(Handover)
class HandoverAdmin(admin.ModelAdmin):
    list_display = ["account", "sales_owner", "csm", "status", "submitted_at", "decided_at"]
    list_filter = ["status"]
    list_select_related = ["account", "sales_owner", "csm"]
    search_fields = ["account__name"]
    autocomplete_fields = ["account", "sales_owner", "csm"]
    inlines = [ProductInline, StakeholderInline, TransitionInline]


@admin.register(HandoverTransition)
class HandoverTransitionAdmin(admin.ModelAdmin):
    list_display = ["handover", "from_status", "to_status", "by", "at"]
    list_filter = ["to_status"]
    list_select_related = ["handover__account", "by"]
    search_fields = ["handover__account__name", "note"]
    date_hierarchy = "at"


@admin.register(HandoverProduct)
class HandoverProductAdmin(admin.ModelAdmin):
    list_display = ["handover", "product", "quantity", "unit_price", "discount"]
    list_select_related = ["handover__account", "product"]
    search_fields = ["handover__account__name", "product__name"]


@admin.register(HandoverStakeholder)
class HandoverStakeholderAdmin(admin.ModelAdmin):
    list_display = ["name", "title", "role", "influence", "handover"]
    list_filter = ["role"]
    list_select_related = ["handover__account"]
    search_fields = ["name", "handover__account__name"]


class ParticipantInline(admin.TabularInline):
    model = KickoffParticipant
    extra = 0
    raw_id_fields = ["stakeholder", "user"]


@admin.register(Kickoff)
class KickoffAdmin(admin.ModelAdmin):
    list_display = ["account", "scheduled_on", "status", "held_on", "group_chat_created"]
    list_filter = ["status", "group_chat_created"]
    list_select_related = ["account"]
    search_fields = ["account__name", "minutes"]
    raw_id_fields = ["account", "handover", "created_by"]
    date_hierarchy = "scheduled_on"
    inlines = [ParticipantInline]


@admin.register(KickoffParticipant)
class KickoffParticipantAdmin(admin.ModelAdmin):
    list_display = ["name", "side", "role", "kickoff"]
    list_filter = ["side"]
    list_select_related = ["kickoff__account"]
    search_fields = ["name", "kickoff__account__name"]
    raw_id_fields = ["kickoff", "stakeholder", "user"]
