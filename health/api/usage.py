"""Usage events API (issue 7, part 1): `POST /api/v1/usage-events/bulk/` takes a JSON list
of up to 10,000 events from telemetry and stores all of them or, if any is invalid, none.

The body is parsed and checked by health.ingest in plain Python (a serializer per event
would be slower than the write itself); the serializers below only document the shapes.
Integration users and administrators may post (they see every account); others get 403."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from cs_platform.api import router

from ..ingest import MAX_BODY_BYTES, UsageEventsInvalid, usage_events_ingest_json


class CanIngestUsage(permissions.BasePermission):
    message = _("Only integration users and administrators may post usage events.")

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.sees_everything)


# ------------------------------------------------------------------ documentation only


class UsageEventInSerializer(serializers.Serializer):
    account_external_id = serializers.CharField(max_length=100, help_text=_("The account's external ID."))
    event_type = serializers.CharField(
        max_length=100, help_text=_("What happened, e.g. login or report_exported; new types are registered.")
    )
    occurred_at = serializers.DateTimeField(
        help_text=_("ISO 8601; a timestamp without zone is UTC. At most a day in the future.")
    )
    user_id = serializers.CharField(
        max_length=100, required=False, allow_blank=True, allow_null=True, help_text=_("Who did it, if known.")
    )
    value = serializers.FloatField(
        required=False, allow_null=True, help_text=_("A finite number, 1 when left out (e.g. minutes, rows).")
    )
    event_id = serializers.CharField(
        max_length=100, help_text=_("Unique per event; an event_id seen before counts as a duplicate.")
    )


class UsageIngestResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text=_("Events stored by this request."))
    duplicates = serializers.IntegerField(
        help_text=_("Events whose event_id was stored before or appeared earlier in the list.")
    )


class UsageIngestErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(
        required=False, help_text=_("The position of the bad event in the list (absent for body errors).")
    )
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)
    account_external_id = serializers.ListField(child=serializers.CharField(), required=False)
    event_type = serializers.ListField(child=serializers.CharField(), required=False)
    occurred_at = serializers.ListField(child=serializers.CharField(), required=False)
    user_id = serializers.ListField(child=serializers.CharField(), required=False)
    value = serializers.ListField(child=serializers.CharField(), required=False)
    event_id = serializers.ListField(child=serializers.CharField(), required=False)


class UsageIngestErrorsSerializer(serializers.Serializer):
    errors = UsageIngestErrorSerializer(many=True)


# ------------------------------------------------------------------ view


def _errors(errors: list[dict], status_code=status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"errors": errors}, status=status_code)


class UsageEventViewSet(viewsets.ViewSet):
    permission_classes = [permissions.IsAuthenticated, CanIngestUsage]
    parser_classes = [JSONParser]  # for the schema: the view reads the body itself
    filter_backends: list = []
    pagination_class = None

    @extend_schema(
        operation_id="usage_events_bulk",
        summary="Post usage events",
        description=(
            "A JSON list of up to 10,000 events. All are stored or, if any is invalid, none: "
            "400 lists every bad event by its index with field errors. An event_id stored "
            "before (or repeated in the list) is counted as a duplicate and not stored again, "
            "so a retried request changes nothing. The daily rollup per account, day and event "
            "type is updated in the same transaction."
        ),
        request=UsageEventInSerializer(many=True),
        responses={201: UsageIngestResultSerializer, 400: UsageIngestErrorsSerializer},
        examples=[
            OpenApiExample(
                "An event",  # a list of them: the schema shows the example inside the list
                request_only=True,
                value={
                    "account_external_id": "CRM-10001",
                    "event_type": "report_exported",
                    "occurred_at": "2025-03-01T17:45:00+08:00",
                    "user_id": "u-17",
                    "value": 3,
                    "event_id": "evt-000002",
                },
            ),
            OpenApiExample(
                "Accepted", response_only=True, status_codes=["201"], value={"accepted": 2, "duplicates": 0}
            ),
            OpenApiExample(
                "Rejected",
                response_only=True,
                status_codes=["400"],
                value={"errors": [{"index": 1, "occurred_at": ["This time is more than a day in the future."]}]},
            ),
        ],
    )
    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk(self, request):
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        if content_type and content_type != "application/json" and not content_type.endswith("+json"):
            return _errors(
                [{"non_field_errors": [str(_("Send the events as application/json."))]}],
                status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            )
        # Read the stream ourselves: request.data would parse with DRF's parser, and
        # request.body stops at DATA_UPLOAD_MAX_MEMORY_SIZE, which 10,000 events can pass.
        stream = request.stream
        body = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        try:
            result = usage_events_ingest_json(body, by=request.user)
        except UsageEventsInvalid as error:
            return _errors(error.errors)
        return Response({"accepted": result.accepted, "duplicates": result.duplicates}, status=status.HTTP_201_CREATED)


router.register("usage-events", UsageEventViewSet, basename="usage-event")
