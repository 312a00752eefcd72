from django.contrib import admin

from .models import (
    BestPractice,
    KnowHow,
    PathStage,
    PathStep,
    PlanGoal,
    PlanStage,
    PlanStep,
    Playbook,
    PlaybookRun,
    PlaybookStep,
    StageReport,
    SuccessPath,
    SuccessPlan,
    Task,
    TouchCadence,
)  # fmt: skip


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


class PathStageInline(admin.TabularInline):
    model = PathStage
    extra = 0
    fields = ["order", "name", "is_retired"]


@admin.register(SuccessPath)
class SuccessPathAdmin(admin.ModelAdmin):
    list_display = ["name", "segment", "version", "is_active", "is_builtin", "updated_at"]
    list_filter = ["is_active", "is_builtin"]
    search_fields = ["name", "scenario", "segment"]
    inlines = [PathStageInline]


class PathStepInline(admin.TabularInline):
    model = PathStep
    extra = 0
    fields = ["order", "title", "owner_role", "due_offset_days", "is_retired"]


@admin.register(PathStage)
class PathStageAdmin(admin.ModelAdmin):
    list_display = ["name", "path", "order", "is_retired"]
    list_filter = ["path"]
    list_select_related = ["path"]
    inlines = [PathStepInline]


@admin.register(PathStep)
class PathStepAdmin(admin.ModelAdmin):
    list_display = ["title", "stage", "owner_role", "due_offset_days", "is_retired"]
    list_filter = ["owner_role", "is_retired", "stage__path"]
    list_select_related = ["stage", "stage__path"]
    search_fields = ["title", "guidance"]


class PlanGoalInline(admin.TabularInline):
    model = PlanGoal
    extra = 0


@admin.register(SuccessPlan)
class SuccessPlanAdmin(admin.ModelAdmin):
    list_display = ["account", "name", "path_version", "started_on", "status"]
    list_filter = ["status", "path"]
    list_select_related = ["account", "path"]
    search_fields = ["account__name", "name"]
    autocomplete_fields = ["account"]
    inlines = [PlanGoalInline]


@admin.register(PlanGoal)
class PlanGoalAdmin(admin.ModelAdmin):
    list_display = ["description", "plan", "target", "current", "achieved"]
    list_filter = ["achieved"]
    list_select_related = ["plan", "plan__account"]


class PlanStepInline(admin.TabularInline):
    model = PlanStep
    extra = 0
    fields = ["order", "title", "owner", "due_date", "status", "completed_on"]
    autocomplete_fields = ["owner"]


@admin.register(PlanStage)
class PlanStageAdmin(admin.ModelAdmin):
    list_display = ["name", "plan", "order", "completed_on"]
    list_select_related = ["plan", "plan__account"]
    inlines = [PlanStepInline]


@admin.register(PlanStep)
class PlanStepAdmin(admin.ModelAdmin):
    list_display = ["title", "stage", "owner", "due_date", "status"]
    list_filter = ["status", "owner_role"]
    list_select_related = ["stage", "owner"]
    search_fields = ["title", "stage__plan__account__name"]


@admin.register(StageReport)
class StageReportAdmin(admin.ModelAdmin):
    list_display = ["stage", "period_start", "period_end", "created_by", "sent_on"]
    list_select_related = ["stage", "created_by"]


@admin.register(KnowHow)
class KnowHowAdmin(admin.ModelAdmin):
    list_display = ["difficulty", "step", "author", "created_at"]
    list_select_related = ["step", "author"]
    search_fields = ["difficulty", "solution"]


@admin.register(BestPractice)
class BestPracticeAdmin(admin.ModelAdmin):
    list_display = ["title", "industry", "size_band", "author", "created_at"]
    list_filter = ["industry", "size_band"]
    search_fields = ["title", "story", "outcome"]


@admin.register(TouchCadence)
class TouchCadenceAdmin(admin.ModelAdmin):
    list_display = ["tier", "kind", "period", "title", "lead_days", "is_active"]
    list_filter = ["tier", "period", "is_active"]
