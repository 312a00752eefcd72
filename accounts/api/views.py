from django.core.exceptions import PermissionDenied
from rest_framework import mixins, viewsets

from cs_platform.access import can_change, can_create_account
from cs_platform.api import router

from .. import selectors, services
from ..filters import AccountFilter
from .serializers import AccountSerializer


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

    def perform_create(self, serializer):
        if not can_create_account(self.request.user):
            raise PermissionDenied
        account = services.account_create(data=serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=account.pk)

    def perform_update(self, serializer):
        if not can_change(self.request.user, serializer.instance):
            raise PermissionDenied
        account = services.account_update(account=serializer.instance, data=serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=account.pk)


router.register("accounts", AccountViewSet, basename="account")
