from django.urls import path

from . import views

app_name = "health"
urlpatterns = [
    path("alerts/", views.alert_list, name="alert_list"),
    path("alerts/mine/", views.my_alerts, name="my_alerts"),
    path("account/<int:pk>/panel/", views.account_panel, name="account_panel"),
]
