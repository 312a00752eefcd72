from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from cs_platform.access import can_assign, can_change, can_create_account
from cs_platform.api import router

from .. import selectors, services
from ..filters import AccountFilter, ActivityFilter, StakeholderFilter
from ..models import Account
from .serializers import (
    AccountSerializer,
    ActivitySerializer,
    CustomerFileSerializer,
    HistoryEntrySerializer,
    StakeholderSerializer,
)


class AccountViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """Customer accounts. `mrr`/`arr` come from active subscriptions; health is read-only."""

    serializer_class = AccountSerializer
    filterset_class = AccountFilter
    ordering_fields = ["name", "arr", "health_score", "created_at"]
    ordering = ["name"]

    def get_queryset(self):
        return selectors.account_list(user=self.request.user)

    def _check_owners(self, data: dict, instance=None) -> None:
        """Who owns an account is decided by cs_platform.access, as on the pages."""
        changes = {k: data[k] for k in ("csm", "team") if k in data and getattr(instance, k, None) != data[k]}
        if changes and not can_assign(self.request.user, csm=changes.get("csm"), team=changes.get("team")):
            raise ValidationError({k: _("You may not assign accounts to this owner.") for k in changes})

    def perform_create(self, serializer):
        if not can_create_account(self.request.user):
            raise PermissionDenied
        self._check_owners(serializer.validated_data)
        account = services.account_create(data=serializer.validated_data, by=self.request.user)
        serializer.instance = self.get_queryset().get(pk=account.pk)

    def perform_update(self, serializer):
        if not can_change(self.request.user, serializer.instance):
            raise PermissionDenied
        self._check_owners(serializer.validated_data, serializer.instance)
        account = services.account_update(
            account=serializer.instance, data=serializer.validated_data, by=self.request.user
        )
        serializer.instance = self.get_queryset().get(pk=account.pk)

    @extend_schema(
        summary="Create or update an account by its external ID",
        description=(
            "The sync endpoint for other systems: PUT (all fields) or PATCH (some) the account whose "
            "`external_id` is in the path; it is created when no account has it (201), updated otherwise (200). "
            "Running the same sync twice changes nothing the second time."
        ),
        request=AccountSerializer,
        responses={200: AccountSerializer, 201: AccountSerializer},
    )
    @action(
        detail=False,
        methods=["put", "patch"],
        url_path=r"by-external-id/(?P<external_id>[^/]+)",
        filter_backends=[],
        pagination_class=None,
    )
    def upsert(self, request, external_id=None):
        data = dict(request.data.items()) if hasattr(request.data, "items") else {}
        data["external_id"] = external_id
        existing = Account.objects.filter(external_id=external_id).values_list("pk", flat=True).first()
        if existing is not None:
            instance = self.get_queryset().filter(pk=existing).first()
            if instance is None:
                raise Http404
            serializer = self.get_serializer(instance, data=data, partial=request.method == "PATCH")
            serializer.is_valid(raise_exception=True)
            self.perform_update(serializer)
            return Response(serializer.data)
        serializer = self.get_serializer(data=data)
        serializer.is_valid(raise_exception=True)
        try:
            self.perform_create(serializer)
        except IntegrityError as error:  # another request created it a moment ago
            message = _("This account was just created by another request; retry.")
            raise ValidationError({"external_id": message}) from error
        return Response(serializer.data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Audit trail",
        description="Who changed what on the account, its customer file and its stakeholders, newest first.",
        responses=HistoryEntrySerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[], serializer_class=HistoryEntrySerializer)
    def history(self, request, pk=None):
        account = selectors.account_get(user=request.user, pk=pk)
        entries = selectors.account_history(user=request.user, account=account)
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(HistoryEntrySerializer(page, many=True).data)

    @extend_schema(
        methods=["GET"],
        summary="Customer file",
        description="The text sections of the customer file (一客一档) and how complete it is.",
        responses=CustomerFileSerializer,
    )
    @extend_schema(
        methods=["PATCH"],
        summary="Update the customer file",
        request=CustomerFileSerializer,
        responses=CustomerFileSerializer,
    )
    @action(
        detail=True,
        methods=["get", "patch"],
        url_path="file",
        filter_backends=[],
        pagination_class=None,
        serializer_class=CustomerFileSerializer,
    )
    def customer_file(self, request, pk=None):
        account = selectors.account_get(user=request.user, pk=pk)
        if request.method == "PATCH":
            if not can_change(request.user, account):
                raise PermissionDenied
            serializer = CustomerFileSerializer(data=request.data, partial=True, context=self.get_serializer_context())
            serializer.is_valid(raise_exception=True)
            services.customer_file_update(account=account, data=serializer.validated_data)
        file = selectors.customer_file_get(user=request.user, account=account)
        return Response(CustomerFileSerializer(file, context=self.get_serializer_context()).data)


# ------------------------------------------------------------------ stakeholders


class StakeholderViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """The customer's key people (关键人). Nobody is deleted: someone who leaves is
    PATCHed `{"is_active": false, "left_on": "YYYY-MM-DD"}`; a decision maker leaving puts
    a major event on the account's timeline."""

    serializer_class = StakeholderSerializer
    filterset_class = StakeholderFilter
    ordering_fields = ["name", "role"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.stakeholder_list(user=self.request.user)

    @staticmethod
    def _fields(data: dict) -> dict:
        return {k: v for k, v in data.items() if k != "account"}

    @transaction.atomic
    def perform_create(self, serializer):
        data = self._fields(serializer.validated_data)
        account = serializer.validated_data["account"]
        if not can_change(self.request.user, account):
            raise PermissionDenied
        stakeholder = services.stakeholder_create(account=account, data=data)
        if data.get("is_active") is False:  # recorded after they left, e.g. from another system
            stakeholder = services.stakeholder_update(
                stakeholder=stakeholder, data={"is_active": False, "left_on": data.get("left_on")}, by=self.request.user
            )
        serializer.instance = stakeholder

    def perform_update(self, serializer):
        if not can_change(self.request.user, serializer.instance):
            raise PermissionDenied
        serializer.instance = services.stakeholder_update(
            stakeholder=serializer.instance, data=self._fields(serializer.validated_data), by=self.request.user
        )


# ------------------------------------------------------------------ timeline


class ActivityViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """The accounts' timelines: touches and major events, newest first. Entries are
    logged, never edited or deleted."""

    serializer_class = ActivitySerializer
    filterset_class = ActivityFilter
    ordering_fields = ["occurred_at"]

    def get_queryset(self):
        return selectors.activity_feed(user=self.request.user)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        account = data.pop("account")
        if not can_change(self.request.user, account):
            raise PermissionDenied
        activity = services.activity_log(account=account, by=self.request.user, **data)
        serializer.instance = self.get_queryset().get(pk=activity.pk)


router.register("accounts", AccountViewSet, basename="account")
router.register("stakeholders", StakeholderViewSet, basename="stakeholder")
router.register("activities", ActivityViewSet, basename="activity")
