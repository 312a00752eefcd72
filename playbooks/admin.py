from django.contrib import admin

from .models import Playbook, PlaybookRun, PlaybookStep, Task


class PlaybookStepInline(admin.TabularInline):
    model = PlaybookStep
    extra = 0


@admin.register(Playbook)
class PlaybookAdmin(admin.ModelAdmin):
    list_display = ["name", "trigger", "trigger_value", "is_active"]
    list_filter = ["trigger", "is_active"]
    search_fields = ["name"]
    inlines = [PlaybookStepInline]


@admin.register(PlaybookRun)
class PlaybookRunAdmin(admin.ModelAdmin):
    list_display = ["playbook", "account", "occurrence", "launched_by", "launched_at"]
    list_filter = ["playbook"]
    list_select_related = ["playbook", "account", "launched_by"]
    search_fields = ["account__name", "occurrence"]


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "account", "owner", "type", "priority", "due_date", "status", "source"]
    list_filter = ["status", "type", "priority", "source"]
    list_select_related = ["account", "owner"]
    search_fields = ["title", "account__name"]
    date_hierarchy = "due_date"
    autocomplete_fields = ["account", "owner"]


@admin.register(PlaybookStep)
class PlaybookStepAdmin(admin.ModelAdmin):
    list_display = ["title", "playbook", "order", "task_type", "priority", "offset_days"]
    list_filter = ["playbook", "task_type"]
    list_select_related = ["playbook"]
    search_fields = ["title"]
