"""The account list: search, filters, sorting, pagination and exports of the filtered list."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _

from cs_platform.pages import csv_response, paginate, querystring_without

from .. import selectors
from ..filters import AccountPageFilter


@login_required
def account_list(request):
    filterset = AccountPageFilter(request.GET or None, queryset=selectors.account_list(user=request.user))
    accounts = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset.order_by("name")
    if request.GET.get("export") == "csv":
        return _export_csv(accounts)
    return render(
        request,
        "accounts/account_list.html",
        {
            "filter": filterset,
            "page": paginate(request, accounts),
            "querystring": querystring_without(request, "page"),
            "export_query": querystring_without(request, "page", "export"),
        },
    )


def _export_csv(accounts):
    header = [
        _("External ID"), _("Name"), _("Industry"), _("CSM"), _("Team"), _("Stage"), _("Tier"),
        _("MRR"), _("ARR"), _("Health score"), _("Health band"),
    ]  # fmt: skip
    rows = (
        [
            a.external_id,
            a.name,
            a.get_industry_display(),
            a.csm.username if a.csm else "",
            a.team.name if a.team else "",
            a.get_lifecycle_stage_display(),
            a.get_tier_display(),
            a.mrr,
            a.arr,
            a.health_score,
            a.get_health_band_display(),
        ]  # fmt: skip
        for a in accounts.iterator(chunk_size=1000)
    )
    return csv_response(filename="accounts.csv", header=header, rows=rows)


urlpatterns = [
    path("", account_list, name="list"),
]
