from django.urls import path

from . import views

app_name = "playbooks"
urlpatterns = [
    path("", views.playbook_list, name="list"),
    path("my-work/", views.my_work, name="my_work"),
    path("tasks/<int:pk>/complete/", views.task_complete, name="task_complete"),
    path("account/<int:pk>/panel/", views.account_panel, name="account_panel"),
]
