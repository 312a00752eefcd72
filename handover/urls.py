from django.urls import path

from . import views

app_name = "handover"
urlpatterns = [
    path("", views.handover_list, name="list"),
    path("<int:pk>/", views.handover_detail, name="detail"),
    path("<int:pk>/<str:action>/", views.handover_action, name="action"),
]
