import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from cs_platform.access import restrict, visible_accounts
from people.models import User

from .. import services
from ..models import Account, Activity, CustomerFile, Stakeholder

UNKNOWN_ACCOUNT = _("Unknown account.")


class AccountSerializer(serializers.ModelSerializer):
    csm = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(role__in=[User.Role.CSM, User.Role.MANAGER]),
        allow_null=True,
        required=False,
    )
    sales_owner = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(role=User.Role.SALES), allow_null=True, required=False
    )
    mrr = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    arr = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    size_band = serializers.SerializerMethodField(
        help_text=_("From the number of employees: small < 100 <= medium < 1,000 <= large < 10,000 <= enterprise.")
    )

    class Meta:
        model = Account
        fields = [
            "id",
            "external_id",
            "name",
            "industry",
            "employee_count",
            "size_band",
            "region",
            "csm",
            "sales_owner",
            "team",
            "lifecycle_stage",
            "tier",
            "service_model",
            "product_view",
            "usage_driver",
            "completeness",
            "mrr",
            "arr",
            "health_score",
            "health_band",
            "created_at",
            "updated_at",
        ]
        # The tier follows the contract value (accounts.services.account_tiers_refresh).
        read_only_fields = ["tier", "completeness", "health_score", "health_band", "created_at", "updated_at"]

    @extend_schema_field(serializers.ChoiceField(choices=[("", "-"), *Account.SizeBand.choices], allow_blank=True))
    def get_size_band(self, obj: Account) -> str:
        return Account.size_band_for(obj.employee_count)


# ------------------------------------------------------------------ references to accounts


class _VisibleAccountMixin:
    """Only accounts the caller may see can be named; any other answers "unknown account",
    the same as one that does not exist, so existence is not revealed."""

    def get_queryset(self):
        request = self.context.get("request")
        return visible_accounts(request.user) if request is not None else Account.objects.none()


class VisibleAccountField(_VisibleAccountMixin, serializers.PrimaryKeyRelatedField):
    default_error_messages = {"does_not_exist": UNKNOWN_ACCOUNT, "incorrect_type": UNKNOWN_ACCOUNT}


class VisibleAccountExternalIdField(_VisibleAccountMixin, serializers.SlugRelatedField):
    default_error_messages = {"does_not_exist": UNKNOWN_ACCOUNT, "invalid": UNKNOWN_ACCOUNT}

    def __init__(self, **kwargs):
        super().__init__(slug_field="external_id", **kwargs)


class AccountOwnedSerializer(serializers.ModelSerializer):
    """A row of an account, named on write by `account` (id) or `account_external_id`."""

    account = VisibleAccountField(queryset=Account.objects.all(), required=False)
    account_external_id = VisibleAccountExternalIdField(
        source="account", queryset=Account.objects.all(), required=False, help_text=_("The account's external ID.")
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        given = {key for key in ("account", "account_external_id") if key in self.initial_data}
        if self.instance is None and "account" not in attrs:
            raise serializers.ValidationError({"account": _("Name the account by id or external ID.")})
        if len(given) == 2:
            # Both were given: they must name the same account (the field read last wins).
            by_id = self.fields["account"].to_internal_value(self.initial_data["account"])
            if by_id != attrs["account"]:
                raise serializers.ValidationError(
                    {"account_external_id": _("Names a different account than `account`.")}
                )
        if self.instance is not None and "account" in attrs and attrs["account"] != self.instance.account:
            raise serializers.ValidationError({"account": _("Cannot move to another account.")})
        return attrs


# ------------------------------------------------------------------ stakeholders


class OptionalBooleanField(serializers.BooleanField):
    """Left out of a form post means "not given", not False: an HTML form without the
    box must not mark a stakeholder as gone."""

    default_empty_html = empty


class StakeholderSerializer(AccountOwnedSerializer):
    is_active = OptionalBooleanField(
        required=False, help_text=_("Set to false (with `left_on`) when the person leaves the company.")
    )
    level = serializers.IntegerField(
        read_only=True, allow_null=True, help_text=_("1 for a decision maker, 2 for a day-to-day contact.")
    )

    class Meta:
        model = Stakeholder
        fields = [
            "id",
            "account",
            "account_external_id",
            "name",
            "title",
            "email",
            "phone",
            "role",
            "level",
            "influence",
            "relationship",
            "goals",
            "demands",
            "personality",
            "is_active",
            "left_on",
        ]
        extra_kwargs = {
            "left_on": {"help_text": _("The day the person left; only with `is_active` false.")},
        }

    def validate(self, attrs):
        attrs = super().validate(attrs)
        left_on = attrs.get("left_on")
        if left_on is not None:
            is_active = attrs.get("is_active", self.instance.is_active if self.instance else True)
            if is_active:
                raise serializers.ValidationError({"left_on": _("Only someone who has left has a leaving date.")})
            if left_on > timezone.localdate():
                raise serializers.ValidationError({"left_on": _("The date someone left cannot be in the future.")})
        return attrs


# ------------------------------------------------------------------ timeline


class VisibleStakeholderField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        request = self.context.get("request")
        return restrict(Stakeholder.objects.all(), request.user) if request is not None else Stakeholder.objects.none()


class ActivitySerializer(AccountOwnedSerializer):
    # The contract: a timestamp without a zone is UTC.
    occurred_at = serializers.DateTimeField(default_timezone=dt.UTC)
    stakeholders = VisibleStakeholderField(
        many=True,
        queryset=Stakeholder.objects.all(),
        required=False,
        help_text=_("Ids of the customer's people who took part (stakeholders of the same account)."),
    )
    participants = serializers.SlugRelatedField(
        many=True,
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        required=False,
        help_text=_("Usernames of our people who took part; the author when none are given."),
    )
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Activity
        fields = [
            "id",
            "account",
            "account_external_id",
            "kind",
            "occurred_at",
            "summary",
            "next_step",
            "stakeholders",
            "participants",
            "created_by",
        ]


# ------------------------------------------------------------------ customer file


class FileSectionSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()


class CustomerFileSerializer(serializers.ModelSerializer):
    """The text sections of the customer file, with how complete it is."""

    completeness = serializers.SerializerMethodField(help_text=_("0-100, how complete the customer file is."))
    missing = serializers.SerializerMethodField(help_text=_("The sections still missing, in file order."))

    class Meta:
        model = CustomerFile
        fields = [*services.TEXT_SECTIONS, "completeness", "missing", "updated_at"]
        read_only_fields = ["updated_at"]

    def _completeness(self, obj: CustomerFile) -> services.Completeness:
        return services.file_completeness(
            file=obj, has_decision_maker=obj.has_decision_maker, has_day_to_day=obj.has_day_to_day
        )

    def get_completeness(self, obj: CustomerFile) -> int:
        return self._completeness(obj).score

    @extend_schema_field(FileSectionSerializer(many=True))
    def get_missing(self, obj: CustomerFile) -> list[dict]:
        return [{"key": s.key, "label": str(s.label)} for s in self._completeness(obj).missing]


# ------------------------------------------------------------------ audit history


class HistoryChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    field_label = serializers.CharField()
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)
    old_display = serializers.CharField(allow_blank=True)
    new_display = serializers.CharField(allow_blank=True)


class HistoryEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    by = serializers.CharField(allow_null=True, help_text=_("Username of who made the change."))
    object = serializers.ChoiceField(
        choices=[("account", "account"), ("customer_file", "customer_file"), ("stakeholder", "stakeholder")]
    )
    object_id = serializers.IntegerField()
    object_label = serializers.CharField()
    action = serializers.ChoiceField(choices=[("created", "created"), ("changed", "changed"), ("deleted", "deleted")])
    changes = HistoryChangeSerializer(many=True)
