from django.urls import path

from . import views, views_usage

app_name = "health"
urlpatterns = [
    path("alerts/", views.alert_list, name="alert_list"),
    path("alerts/mine/", views.my_alerts, name="my_alerts"),
    path("account/<int:pk>/panel/", views.account_panel, name="account_panel"),
    path("usage/upload/", views_usage.usage_upload, name="usage_upload"),
    path("account/<int:pk>/surveys/", views.survey_record, name="survey_record"),
    path("account/<int:pk>/override/", views.override_set, name="override_set"),
    path("account/<int:pk>/override/<int:override_pk>/end/", views.override_end, name="override_end"),
]
