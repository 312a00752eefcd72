"""Survey answers API: `/api/v1/survey-responses/`. Reads come from health.surveys
(scoped by cs_platform.access); writes go through health.surveys.survey_response_record."""

import django_filters
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from accounts.api.serializers import AccountOwnedSerializer
from accounts.models import Stakeholder
from cs_platform.access import can_change, restrict
from cs_platform.api import router

from .. import surveys
from ..models import SurveyResponse

UNKNOWN_STAKEHOLDER = _("Unknown stakeholder.")


class VisibleStakeholderField(serializers.PrimaryKeyRelatedField):
    """Only stakeholders of accounts the caller may see can be named; any other answers
    "unknown", the same as one that does not exist."""

    default_error_messages = {"does_not_exist": UNKNOWN_STAKEHOLDER, "incorrect_type": UNKNOWN_STAKEHOLDER}

    def get_queryset(self):
        request = self.context.get("request")
        return restrict(Stakeholder.objects.all(), request.user) if request is not None else Stakeholder.objects.none()


class SurveyResponseSerializer(AccountOwnedSerializer):
    stakeholder = VisibleStakeholderField(
        required=False, allow_null=True, help_text=_("Who answered: a stakeholder of the account, still there then.")
    )
    stakeholder_name = serializers.CharField(source="stakeholder.name", read_only=True, allow_null=True)
    score = serializers.IntegerField(min_value=0, max_value=10, help_text=_("NPS: 0 to 10. CSAT: 1 to 5."))
    responded_on = serializers.DateField(
        required=False, help_text=_("The day of the answer, not in the future; today when left out.")
    )
    external_id = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=100,
        help_text=_("The answer's ID in the survey tool; posting it again updates that answer."),
    )
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = SurveyResponse
        fields = [
            "id", "account", "account_external_id", "stakeholder", "stakeholder_name", "kind", "score", "comment",
            "responded_on", "external_id", "created_by", "created_at",
        ]  # fmt: skip
        read_only_fields = ["created_at"]


class SurveyResponseFilter(django_filters.FilterSet):
    account = django_filters.NumberFilter(field_name="account_id", label=_("Account"))
    account_external_id = django_filters.CharFilter(field_name="account__external_id", label=_("External ID"))
    kind = django_filters.ChoiceFilter(choices=SurveyResponse.Kind.choices, label=_("Survey"))
    since = django_filters.DateFilter(field_name="responded_on", lookup_expr="gte", label=_("Answered on or after"))

    class Meta:
        model = SurveyResponse
        fields = ["account", "account_external_id", "kind", "since"]


class SurveyResponseViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """NPS (0-10) and CSAT (1-5) answers from people at the customer, newest first. POST
    records one, naming the account by `account` (id) or `account_external_id`; with an
    `external_id` already recorded it updates that answer instead (200), so a survey tool
    may send the same answer again without harm. Sales read; other teams see nothing."""

    serializer_class = SurveyResponseSerializer
    filterset_class = SurveyResponseFilter
    ordering_fields = ["responded_on", "score"]

    def get_queryset(self):
        return surveys.survey_response_list(user=self.request.user)

    @extend_schema(
        request=SurveyResponseSerializer,
        responses={200: SurveyResponseSerializer, 201: SurveyResponseSerializer},
        summary="Record a survey answer (or update it by its external_id)",
    )
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        account = data.pop("account")
        data.setdefault("responded_on", timezone.localdate())
        if not can_change(request.user, account):
            raise PermissionDenied
        answer, created = surveys.survey_response_record(account=account, by=request.user, **data)
        answer = self.get_queryset().get(pk=answer.pk)
        return Response(
            self.get_serializer(answer).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


router.register("survey-responses", SurveyResponseViewSet, basename="survey-response")
