from .views import work

app_name = "playbooks"
urlpatterns = work.urlpatterns
