from .views import knowhow, paths, plans, work

app_name = "playbooks"
urlpatterns = work.urlpatterns + paths.urlpatterns + plans.urlpatterns + knowhow.urlpatterns
