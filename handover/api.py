"""Handover API (issue 6, part 5): a CRM posts a won deal as a handover draft, reads its
status, completes it and submits it; submitting never skips a required item.

Reads come from handover.selectors (scoped by cs_platform.access: sales see the handovers
of the accounts they sold, CSMs and managers their team's, integration users everything;
the rest answers 404). Writes go through handover.services. Accepting and returning stay
in the browser, with the CSMs."""

import django_filters
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.models import Account
from accounts.services import account_update
from cs_platform.access import can_fill_handover, can_start_handover
from cs_platform.api import router
from people.models import Team, User
from renewals.models import Product

from . import selectors, services
from .models import Handover, HandoverProduct, HandoverStakeholder, HandoverTransition

# ------------------------------------------------------------------ fields


@extend_schema_field(
    {
        "oneOf": [{"type": "integer"}, {"type": "string"}],
        "description": "The receiving team, by name or id.",
    }
)
class TeamField(serializers.Field):
    """A team named by its name or its id."""

    default_error_messages = {"unknown": _("Unknown team.")}

    def to_internal_value(self, data):
        team = None
        if isinstance(data, str) and data.strip():
            team = Team.objects.filter(name=data.strip()).first()
        if team is None and not isinstance(data, bool) and str(data).strip().isdigit():
            pk = int(str(data).strip())
            if 0 < pk < 2**63:
                team = Team.objects.filter(pk=pk).first()
        if team is None:
            self.fail("unknown")
        return team

    def to_representation(self, value):
        return value.pk


# ------------------------------------------------------------------ input


class HandoverAccountSerializer(serializers.Serializer):
    """The customer, by its external ID; created with these details when new."""

    external_id = serializers.CharField(max_length=100, help_text=_("The account's external ID."))
    name = serializers.CharField(max_length=200, required=False)
    industry = serializers.ChoiceField(choices=Account.Industry.choices, required=False)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    employee_count = serializers.IntegerField(min_value=0, max_value=2147483647, required=False, allow_null=True)


class HandoverProductSerializer(serializers.ModelSerializer):
    product = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Product.objects.all(),
        error_messages={"does_not_exist": _("Unknown product."), "invalid": _("Unknown product.")},
        help_text=_("The product code."),
    )
    product_name = serializers.CharField(source="product.name", read_only=True)
    yearly_amount = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)

    class Meta:
        model = HandoverProduct
        fields = ["product", "product_name", "quantity", "unit_price", "discount", "yearly_amount"]


class HandoverStakeholderSerializer(serializers.ModelSerializer):
    class Meta:
        model = HandoverStakeholder
        fields = ["name", "title", "role", "influence", "email", "phone", "notes"]


class HandoverPackageSerializer(serializers.ModelSerializer):
    """The package's own fields, the receiving team and its lines. Products and
    stakeholders, when given, replace the lines."""

    team = TeamField(required=False, allow_null=True)
    products = HandoverProductSerializer(many=True, required=False)
    stakeholders = HandoverStakeholderSerializer(many=True, required=False)

    class Meta:
        model = Handover
        fields = [*services.TEXT_FIELDS, "team", "products", "stakeholders"]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        instance = self.instance
        start = attrs.get("contract_start", instance.contract_start if instance else None)
        end = attrs.get("contract_end", instance.contract_end if instance else None)
        if start and end and end <= start:
            raise ValidationError({"contract_end": _("The contract must end after it starts.")})
        return attrs


class HandoverDealSerializer(HandoverPackageSerializer):
    """A won deal from the CRM."""

    external_id = serializers.CharField(
        max_length=100, help_text=_("The won deal's ID in the CRM; posting the same deal again updates this draft.")
    )
    account = HandoverAccountSerializer()
    sales_owner = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(role=User.Role.SALES, is_active=True),
        required=False,
        help_text=_("Username of the sales owner; the caller when a sales user posts."),
    )

    class Meta(HandoverPackageSerializer.Meta):
        fields = ["external_id", "account", "sales_owner", *HandoverPackageSerializer.Meta.fields]


class HandoverSubmitSerializer(serializers.Serializer):
    csm = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(role__in=[User.Role.CSM, User.Role.MANAGER], is_active=True),
        required=False,
        help_text=_("Username of the receiving CSM, when sales knows who it is."),
    )


class MissingItemsSerializer(serializers.Serializer):
    missing = serializers.ListField(child=serializers.CharField(), help_text=_("The required items still missing."))


# ------------------------------------------------------------------ output


class CompletenessItemSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    required = serializers.BooleanField()


class CompletenessSerializer(serializers.Serializer):
    percent = serializers.IntegerField(help_text=_("0-100; required items count twice."))
    ready = serializers.BooleanField(help_text=_("Every required item is filled, so it can be submitted."))
    missing = CompletenessItemSerializer(many=True, help_text=_("Items not filled, required ones first."))


class HandoverTransitionSerializer(serializers.ModelSerializer):
    # `from` is a Python keyword, so the fields are named in get_fields.
    class Meta:
        model = HandoverTransition
        fields = ["at", "note"]
        read_only_fields = fields

    def get_fields(self):
        fields = super().get_fields()
        return {
            "from": serializers.CharField(
                source="from_status", read_only=True, help_text=_("Empty for the first one.")
            ),
            "to": serializers.CharField(source="to_status", read_only=True),
            "by": serializers.SlugRelatedField(
                slug_field="username", read_only=True, allow_null=True, help_text=_("Username of who moved it.")
            ),
            **fields,
        }


class HandoverSerializer(serializers.ModelSerializer):
    account_external_id = serializers.CharField(source="account.external_id", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    team = serializers.IntegerField(source="account.team_id", read_only=True, allow_null=True)
    team_name = serializers.CharField(source="account.team.name", read_only=True, allow_null=True, default=None)
    sales_owner = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text=_("Username of the sales owner.")
    )
    csm = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text=_("Username of the receiving CSM.")
    )
    completeness = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField(
        help_text=_("Submitted and not reviewed within the allowed business days.")
    )
    products = HandoverProductSerializer(many=True, read_only=True)
    stakeholders = HandoverStakeholderSerializer(many=True, read_only=True)
    transitions = HandoverTransitionSerializer(many=True, read_only=True)
    returned_items = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text=_("Keys of the items missing when it was returned.")
    )

    class Meta:
        model = Handover
        fields = [
            "id", "external_id", "status", "overdue", "completeness", "account", "account_external_id",
            "account_name", "team", "team_name", "sales_owner", "csm", *services.TEXT_FIELDS, "products",
            "stakeholders", "transitions", "return_reason", "returned_items", "created_at", "submitted_at",
            "decided_at", "overdue_flagged_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(CompletenessSerializer)
    def get_completeness(self, handover: Handover) -> dict:
        done = services.handover_completeness(handover)
        return {
            "percent": done.percent,
            "ready": done.ready,
            "missing": [{"key": i.key, "label": str(i.label), "required": i.required} for i in done.missing],
        }

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_overdue(self, handover: Handover) -> bool:
        return services.handover_is_overdue(handover, today=self.context.get("today"))


# ------------------------------------------------------------------ filters


class HandoverFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Handover.Status.choices, label=_("Status"))
    external_id = django_filters.CharFilter(label=_("CRM deal ID"))
    account = django_filters.NumberFilter(field_name="account_id", min_value=1, max_value=2**63 - 1, label=_("Account"))
    account_external_id = django_filters.CharFilter(field_name="account__external_id", label=_("External ID"))
    sales_owner = django_filters.CharFilter(field_name="sales_owner__username", label=_("Sales owner"))
    csm = django_filters.CharFilter(field_name="csm__username", label=_("CSM (username)"))
    overdue = django_filters.BooleanFilter(method="filter_overdue", label=_("Overdue"))

    class Meta:
        model = Handover
        fields = ["status", "external_id", "account", "account_external_id", "sales_owner", "csm", "overdue"]

    def filter_overdue(self, queryset, name, value):
        overdue = {"status": Handover.Status.SUBMITTED, "submitted_at__lt": services.overdue_cutoff()}
        return queryset.filter(**overdue) if value else queryset.exclude(**overdue)


# ------------------------------------------------------------------ viewset


class HandoverViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Sales-to-CS handovers (交接). A CRM (integration user) or a sales user POSTs a won
    deal: 201 with the new draft, or 200 when the same `external_id` updates its draft
    (idempotent; refused once submitted). PATCH completes a draft or returned handover;
    `POST {id}/submit/` submits it, or answers 400 `{"missing": [...]}` and changes nothing.
    `completeness` shows what is still missing; `status` and `transitions` show where it is."""

    serializer_class = HandoverSerializer
    filterset_class = HandoverFilter
    ordering_fields = ["created_at", "submitted_at"]
    ordering = ["-created_at", "-pk"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return (
            selectors.handover_list(user=self.request.user)
            .select_related("account__team")
            .prefetch_related(
                Prefetch("products", queryset=HandoverProduct.objects.select_related("product")),
                "stakeholders",
                Prefetch("transitions", queryset=HandoverTransition.objects.select_related("by")),
            )
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    def _answer(self, handover: Handover, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=handover.pk)
        return Response(HandoverSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    def _acting_as(self, handover: Handover) -> User:
        """The sales owner fills their handover; an integration acts for the sales owner."""
        user = self.request.user
        if not can_fill_handover(user, handover):
            raise PermissionDenied
        return handover.sales_owner if user.is_api_only else user

    @extend_schema(
        summary="Post a won deal as a handover draft",
        request=HandoverDealSerializer,
        responses={200: HandoverSerializer, 201: HandoverSerializer},
    )
    def create(self, request, *args, **kwargs):
        user = request.user
        if not (can_start_handover(user) or user.is_api_only):  # sales, administrators, the CRM
            raise PermissionDenied
        serializer = HandoverDealSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        for attempt in range(2):
            try:
                handover, created = _post_deal(serializer.validated_data, by=user)
                break
            except IntegrityError as error:
                # The same deal or account was created by a concurrent request: the second
                # try finds it and updates it.
                if attempt:
                    message = _("This deal was just posted by another request; retry.")
                    raise ValidationError({"external_id": [message]}) from error
        return self._answer(handover, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        summary="Complete a draft or returned handover",
        request=HandoverPackageSerializer,
        responses=HandoverSerializer,
    )
    def partial_update(self, request, *args, **kwargs):
        handover = self.get_object()
        by = self._acting_as(handover)
        serializer = HandoverPackageSerializer(handover, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.handover_update(
            handover=handover,
            by=by,
            data={k: data[k] for k in services.TEXT_FIELDS if k in data},
            products=_lines(data.get("products")),
            stakeholders=_lines(data.get("stakeholders")),
            team=data.get("team"),
        )
        return self._answer(handover)

    @extend_schema(
        summary="Submit for review",
        description="Every required item must be filled; otherwise 400 lists what is missing and nothing changes.",
        request=HandoverSubmitSerializer,
        responses={200: HandoverSerializer, 400: MissingItemsSerializer},
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def submit(self, request, pk=None):
        handover = self.get_object()
        by = self._acting_as(handover)
        serializer = HandoverSubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.handover_submit(handover=handover, by=by, csm=serializer.validated_data.get("csm"))
        return self._answer(handover)


def _lines(lines: list | None) -> list[dict] | None:
    return None if lines is None else [dict(line) for line in lines]


@transaction.atomic
def _post_deal(data: dict, *, by: User) -> tuple[Handover, bool]:
    """Check who may post this deal for whom, then hand it to services.handover_from_deal."""
    sales_owner = data.get("sales_owner")
    if not by.sees_everything:  # a sales user posts their own deals
        if sales_owner is not None and sales_owner != by:
            raise ValidationError({"sales_owner": [_("You can post only your own deals.")]})
        sales_owner = by
    elif sales_owner is None:
        raise ValidationError({"sales_owner": [_("Name the deal's sales owner.")]})

    ref = data["account"]
    existing = Handover.objects.filter(external_id=data["external_id"]).select_related("account").first()
    if existing is not None:
        if existing.account.external_id != ref["external_id"]:
            raise ValidationError({"account": {"external_id": [_("This deal belongs to another account.")]}})
        if existing.sales_owner_id != sales_owner.pk:
            raise ValidationError({"sales_owner": [_("This deal belongs to another sales owner.")]})
    else:
        account = Account.objects.filter(external_id=ref["external_id"]).first()
        if account is None:
            if not ref.get("name", "").strip():
                raise ValidationError({"account": {"name": [_("Name the new customer.")]}})
        elif account.sales_owner_id != sales_owner.pk:
            if account.sales_owner_id is not None or not by.sees_everything:
                raise ValidationError({"account": {"external_id": [_("This account is sold by someone else.")]}})
            # An existing customer with no sales owner yet: the deal's owner takes it, so
            # they see the handover they are to complete.
            account_update(account=account, data={"sales_owner": sales_owner}, by=by)

    deal = {
        "external_id": data["external_id"],
        "account": {
            "external_id": ref["external_id"],
            "name": ref.get("name", ""),
            "industry": ref.get("industry") or Account.Industry.OTHER,
            "region": ref.get("region", ""),
            "employee_count": ref.get("employee_count"),
        },
        "sales_owner": sales_owner,
        "team": data.get("team"),
        "fields": {k: data[k] for k in services.TEXT_FIELDS if k in data},
    }
    for key in ("products", "stakeholders"):
        if key in data:
            deal[key] = _lines(data[key])
    return services.handover_from_deal(data=deal, by=by)


router.register("handovers", HandoverViewSet, basename="handover")
