"""Import of accounts, stakeholders and subscriptions from CSV or Excel (issue 4, item 6)."""

urlpatterns = []
