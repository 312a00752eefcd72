"""Playbooks API: success path templates, read-only (managers edit them in the browser).
Viewsets register on cs_platform.api.router."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from cs_platform.api import router

from ..models import PathStage, PathStep, SuccessPath
from ..selectors import paths as selectors


class PathStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = PathStep
        fields = [
            "id", "order", "title", "guidance", "owner_role", "due_offset_days", "exit_criteria", "is_retired",
        ]  # fmt: skip
        read_only_fields = fields


class PathStageSerializer(serializers.ModelSerializer):
    steps = PathStepSerializer(many=True, read_only=True)

    class Meta:
        model = PathStage
        fields = ["id", "order", "name", "is_retired", "steps"]
        read_only_fields = fields


class SuccessPathSerializer(serializers.ModelSerializer):
    stages = PathStageSerializer(many=True, read_only=True)

    class Meta:
        model = SuccessPath
        fields = ["id", "name", "scenario", "segment", "version", "is_active", "is_builtin", "updated_at", "stages"]
        read_only_fields = fields


INCLUDE_RETIRED = OpenApiParameter(
    "include_retired",
    OpenApiTypes.BOOL,
    description="Also list retired paths, stages and steps (each says so in `is_active` / `is_retired`).",
)


@extend_schema_view(
    list=extend_schema(
        summary="Success path templates",
        description="Every path in use with its stages and steps in order; `version` rises with each edit.",
        parameters=[INCLUDE_RETIRED],
    ),
    retrieve=extend_schema(summary="One success path template", parameters=[INCLUDE_RETIRED]),
)
class SuccessPathViewSet(viewsets.ReadOnlyModelViewSet):
    """Success path templates (成功路径): stages and steps, `due_offset_days` counted from a plan's start."""

    serializer_class = SuccessPathSerializer
    filter_backends = []

    def _include_retired(self) -> bool:
        return serializers.BooleanField().to_internal_value(self.request.query_params.get("include_retired", False))

    def get_queryset(self):
        # A retired path is found by its id only with ?include_retired=true, as in the list.
        include_retired = self._include_retired() if self.request is not None else False
        return selectors.path_list(include_retired=include_retired)


router.register("success-paths", SuccessPathViewSet, basename="success-path")
