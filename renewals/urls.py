from django.urls import path

from . import views

app_name = "renewals"
urlpatterns = [
    path("", views.pipeline, name="pipeline"),
    path("account/<int:pk>/panel/", views.account_panel, name="account_panel"),
    path("mine/upcoming/", views.my_upcoming, name="my_upcoming"),
]
