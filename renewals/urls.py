from django.urls import path

from . import views, views_commerce, views_detail
from .views_metrics import metrics_page

app_name = "renewals"
urlpatterns = [
    path("", views.pipeline, name="pipeline"),
    path("board/", views.board, name="board"),
    path("mine/", views.mine, name="mine"),
    path("past/", views.past, name="past"),
    path("<int:pk>/", views_detail.detail, name="detail"),
    path("<int:pk>/edit/", views_detail.edit, name="edit"),
    path("<int:pk>/close/", views_detail.close, name="close"),
    path("<int:pk>/stage/", views_detail.set_stage, name="set_stage"),
    path("account/<int:pk>/panel/", views.account_panel, name="account_panel"),
    path("account/<int:pk>/churn/", views.churn_record, name="churn_record"),
    path("mine/upcoming/", views.my_upcoming, name="my_upcoming"),
    path("leads/", views_commerce.lead_list, name="leads"),
    path("leads/report/", views_commerce.lead_report, name="lead_report"),
    path("leads/<int:pk>/", views_commerce.lead_detail, name="lead_detail"),
    path("leads/<int:pk>/<slug:action>/", views_commerce.lead_action, name="lead_action"),
    path("account/<int:pk>/leads/", views_commerce.account_leads, name="account_leads"),
    path("account/<int:pk>/leads/add/", views_commerce.lead_add, name="lead_add"),
    path("account/<int:pk>/invoices/", views_commerce.account_invoices, name="account_invoices"),
    path("invoices/<int:pk>/payment/", views_commerce.invoice_payment, name="invoice_payment"),
    path("collections/", views_commerce.collections_page, name="collections"),
    path("metrics/", metrics_page, name="metrics"),
]
