"""The account 360 page and the fragments it loads and posts to."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path

from .. import selectors


@login_required
def account_detail(request, pk: int):
    account = selectors.account_get(user=request.user, pk=pk)
    stakeholders = list(selectors.stakeholder_list(user=request.user, account=account))
    by_level = {
        "level1": [s for s in stakeholders if s.level == 1],
        "level2": [s for s in stakeholders if s.level == 2],
        "others": [s for s in stakeholders if s.level is None],
    }
    return render(
        request,
        "accounts/account_detail.html",
        {
            "account": account,
            "stakeholders": by_level,
            "activities": selectors.activity_list(user=request.user, account=account),
        },
    )


urlpatterns = [
    path("<int:pk>/", account_detail, name="detail"),
]
