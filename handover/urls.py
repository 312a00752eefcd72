from .views import handovers, kickoffs

app_name = "handover"
urlpatterns = handovers.urlpatterns + kickoffs.urlpatterns
