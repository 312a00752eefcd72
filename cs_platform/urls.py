from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from .api import register_all, router
from .health_check import healthz

register_all()

admin.site.site_header = admin.site.site_title = "Customer Success"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="playbooks:my_work"), name="home"),
    path("", include("people.urls")),
    path("accounts/", include("accounts.urls")),
    path("renewals/", include("renewals.urls")),
    path("playbooks/", include("playbooks.urls")),
    path("health/", include("health.urls")),
    path("handovers/", include("handover.urls")),
    path("dashboards/", include("dashboards.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include(router.urls)),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
