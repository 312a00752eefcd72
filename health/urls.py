from django.urls import path

from . import views, views_alerts, views_scorecards, views_usage
from .views_calibration import calibrate_page

app_name = "health"
urlpatterns = [
    path("alerts/", views_alerts.alert_list, name="alert_list"),
    path("alerts/mine/", views_alerts.my_alerts, name="my_alerts"),
    path("alerts/<int:pk>/status/", views_alerts.alert_set_status, name="alert_set_status"),
    path("account/<int:pk>/panel/", views.account_panel, name="account_panel"),
    path("usage/upload/", views_usage.usage_upload, name="usage_upload"),
    path("scorecards/calibrate/", calibrate_page, name="calibrate"),
    path("account/<int:pk>/surveys/", views.survey_record, name="survey_record"),
    path("account/<int:pk>/override/", views.override_set, name="override_set"),
    path("account/<int:pk>/override/<int:override_pk>/end/", views.override_end, name="override_end"),
    path("scorecards/", views_scorecards.scorecard_list, name="scorecard_list"),
    path("scorecards/new/", views_scorecards.scorecard_new, name="scorecard_new"),
    path("scorecards/recompute/", views_scorecards.scorecard_recompute, name="scorecard_recompute"),
    path("scorecards/recompute/<str:task_id>/", views_scorecards.recompute_status_fragment, name="recompute_status"),
    path("scorecards/<int:pk>/", views_scorecards.scorecard_detail, name="scorecard_detail"),
    path("scorecards/<int:pk>/edit/", views_scorecards.scorecard_edit, name="scorecard_edit"),
    path("scorecards/<int:pk>/activate/", views_scorecards.scorecard_activate, name="scorecard_activate"),
]
