"""The API shell: router, pagination and the one place that maps errors to responses."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.routers import DefaultRouter
from rest_framework.views import exception_handler as drf_exception_handler


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000


def exception_handler(exc, context):
    """Services raise Django's ValidationError; callers get a 400 with field errors."""
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {field: [str(m) for e in errs for m in e.messages] for field, errs in exc.error_dict.items()}
            detail = {("non_field_errors" if k == "__all__" else k): v for k, v in detail.items()}
        else:
            detail = {"non_field_errors": [str(m) for m in exc.messages]}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    return drf_exception_handler(exc, context)


router = DefaultRouter()


def register_all() -> None:
    """Each app's api module registers its viewsets here (imported for the side effect)."""
    from accounts.api import views as accounts_views  # noqa: F401
    from handover import api as handover_api  # noqa: F401
    from health.api import alerts, overrides, recompute, scores, surveys  # noqa: F401
    from health.api import calibrate as health_calibrate_api  # noqa: F401
    from health.api import usage as health_usage_api  # noqa: F401
    from playbooks.api import paths, plans, tasks  # noqa: F401
    from renewals import api as renewals_api  # noqa: F401
    from renewals import api_commerce  # noqa: F401
    from renewals import api_metrics as renewals_metrics_api  # noqa: F401
