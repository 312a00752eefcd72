"""Playbooks API: tasks (issue 5). Viewsets register on cs_platform.api.router."""

import django_filters
from django.core.exceptions import PermissionDenied
from rest_framework import mixins, serializers, viewsets

from accounts.models import Account
from cs_platform.access import can_change, visible_accounts
from cs_platform.api import router
from people.models import User

from ..models import Task
from ..selectors.tasks import task_list
from ..services import tasks as services
from ..services.tasks import OWNER_ROLES


class TaskFilter(django_filters.FilterSet):
    owner = django_filters.CharFilter(field_name="owner__username", help_text="The owner's username.")
    account = django_filters.NumberFilter(field_name="account_id", help_text="An account id.")
    status = django_filters.ChoiceFilter(choices=Task.Status.choices)
    source = django_filters.ChoiceFilter(choices=Task.Source.choices)
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lte", help_text="Due on or before.")
    due_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gte", help_text="Due on or after.")

    class Meta:
        model = Task
        fields = ["owner", "account", "status", "source", "due_before", "due_after"]


class TaskSerializer(serializers.ModelSerializer):
    account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.none())
    account_name = serializers.CharField(source="account.name", read_only=True)
    owner = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True, role__in=OWNER_ROLES),
        required=False,
        help_text="Username of a CSM or manager who may see the account; the caller by default.",
    )

    class Meta:
        model = Task
        fields = [
            "id", "account", "account_name", "title", "type", "priority", "due_date", "owner", "status",
            "source", "notes", "snoozed_from", "completed_at", "created_at",
        ]  # fmt: skip
        read_only_fields = ["source", "snoozed_from", "completed_at", "created_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            # An account the caller may not see reads as one that does not exist.
            self.fields["account"].queryset = visible_accounts(request.user)
        if self.instance is not None:  # a task's account never changes
            self.fields["account"].read_only = True


class TaskViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """Tasks (calls to action) on the accounts the caller may see. POST creates a task by hand
    (source `manual`); PATCH changes status, due date, owner, title, priority, type or notes.
    Tasks of accounts the caller may not see answer 404."""

    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    ordering_fields = ["due_date", "created_at", "priority"]
    ordering = ["due_date", "pk"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return task_list(user=self.request.user)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("status", None)
        task = services.task_create(by=self.request.user, **data)
        serializer.instance = self.get_queryset().get(pk=task.pk)

    def perform_update(self, serializer):
        task = serializer.instance
        if not (task.owner_id == self.request.user.pk or can_change(self.request.user, task)):
            raise PermissionDenied
        task = services.task_update(task=task, by=self.request.user, data=serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=task.pk)


router.register("tasks", TaskViewSet, basename="task")
