from rest_framework import serializers

from people.models import User

from ..models import Account


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

    class Meta:
        model = Account
        fields = [
            "id",
            "external_id",
            "name",
            "industry",
            "employee_count",
            "region",
            "csm",
            "sales_owner",
            "team",
            "lifecycle_stage",
            "tier",
            "mrr",
            "arr",
            "health_score",
            "health_band",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["health_score", "health_band", "created_at", "updated_at"]
