from .views import detail, imports, listing

app_name = "accounts"
urlpatterns = listing.urlpatterns + imports.urlpatterns + detail.urlpatterns
