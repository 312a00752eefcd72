"""The account 360 page: header, customer file, stakeholders, timeline, history, stage."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Account, AccountStageChange, Activity, CustomerFile, Stakeholder
from accounts.services import account_create
from tests.factories import AccountFactory, ActivityFactory, RenewalFactory, StakeholderFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def account(csm, sales):
    return account_create(
        data={"name": "Hangzhou Steel", "external_id": "HZ-1", "csm": csm, "sales_owner": sales}, by=csm
    )


def completeness(account) -> int:
    account.refresh_from_db(fields=["completeness"])
    return account.completeness


def stakeholder_data(**overrides) -> dict:
    data = {
        "new-name": "Chen Jie",
        "new-title": "CIO",
        "new-role": "decision_maker",
        "new-influence": "high",
        "new-relationship": "knows",
        "new-email": "chen@example.com",
        "new-phone": "",
        "new-goals": "",
        "new-demands": "",
        "new-personality": "",
    }
    return {**data, **{f"new-{k}": v for k, v in overrides.items()}}


def activity_data(**overrides) -> dict:
    now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    data = {"kind": "onsite_visit", "occurred_at": now, "summary": "Visited the plant", "next_step": "Send notes"}
    data.update(overrides)
    return {f"activity-{k}": v for k, v in data.items()}


# ------------------------------------------------------------------ header


def test_header_shows_arr_next_open_renewal_and_profile(client, csm, account):
    today = timezone.localdate()
    SubscriptionFactory(account=account, mrr=1000)
    RenewalFactory(account=account, due_date=today + dt.timedelta(days=10), stage="renewed")
    RenewalFactory(account=account, due_date=today + dt.timedelta(days=40))
    RenewalFactory(account=account, due_date=today - dt.timedelta(days=5))
    Account.objects.filter(pk=account.pk).update(
        service_model="consulting", product_view="platform", employee_count=500
    )
    client.force_login(csm)
    body = client.get(f"/accounts/{account.pk}/").content.decode()
    assert "12,000" in body
    # The earliest open renewal, overdue included (as the list shows it), flagged; never a closed one.
    assert (today - dt.timedelta(days=5)).isoformat() in body and "overdue" in body
    assert (today + dt.timedelta(days=10)).isoformat() not in body
    assert "Consulting" in body and "Platform" in body and "Medium" in body


def test_sales_sees_the_page_without_any_write_control(client, sales, account):
    client.force_login(sales)
    body = client.get(f"/accounts/{account.pk}/").content.decode()
    assert "Hangzhou Steel" in body
    for control in ("Change stage", "Add a stakeholder", "Log activity", "/file/?edit=1"):
        assert control not in body


# ------------------------------------------------------------------ customer file


def test_file_edit_form_then_save_updates_card_and_completeness(client, csm, account):
    client.force_login(csm)
    form = client.get(f"/accounts/{account.pk}/file/?edit=1", **HTMX)
    assert 'name="overview"' in form.content.decode()
    response = client.post(
        f"/accounts/{account.pk}/file/",
        {"overview": "Steel maker\nin Hangzhou", "goals": "Cut month-end close to 3 days"},
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="file-card"' in body and "Steel maker<br>in Hangzhou" in body
    assert '<span data-testid="completeness">20</span>' in body
    assert "history-changed" in response["HX-Trigger"]
    assert CustomerFile.objects.get(account=account).goals == "Cut month-end close to 3 days"
    assert completeness(account) == 20


def test_file_with_a_section_too_long_shows_the_error_and_saves_nothing(client, csm, account, monkeypatch):
    from accounts import services

    def refuse(**kwargs):
        from django.core.exceptions import ValidationError

        raise ValidationError({"overview": "Too long."})

    monkeypatch.setattr(services, "customer_file_update", refuse)
    client.force_login(csm)
    response = client.post(f"/accounts/{account.pk}/file/", {"overview": "x"}, **HTMX)
    body = response.content.decode()
    assert "Too long." in body and 'name="overview"' in body
    assert CustomerFile.objects.get(account=account).overview == ""


def test_completeness_rises_as_sections_and_stakeholders_are_added(client, csm, account):
    client.force_login(csm)
    seen = [completeness(account)]
    client.post(f"/accounts/{account.pk}/file/", {"overview": "Steel"}, **HTMX)
    seen.append(completeness(account))
    client.post(f"/accounts/{account.pk}/stakeholders/add/", stakeholder_data(), **HTMX)
    seen.append(completeness(account))
    client.post(f"/accounts/{account.pk}/stakeholders/add/", stakeholder_data(name="Amy Wu", role="day_to_day"), **HTMX)
    seen.append(completeness(account))
    assert seen == [0, 10, 20, 30]


# ------------------------------------------------------------------ stakeholders


def test_add_stakeholder_returns_the_card_and_the_meter_out_of_band(client, csm, account):
    client.force_login(csm)
    response = client.post(f"/accounts/{account.pk}/stakeholders/add/", stakeholder_data(goals="ERP by Q3"), **HTMX)
    body = response.content.decode()
    assert response["HX-Retarget"] == "#stakeholders-card"
    assert 'id="stakeholders-card"' in body and "Chen Jie" in body and "ERP by Q3" in body
    assert 'id="completeness" class="completeness" hx-swap-oob="true"' in body
    assert '<span data-testid="completeness">10</span>' in body
    assert Stakeholder.objects.get(account=account).role == "decision_maker"


def test_add_stakeholder_without_a_name_shows_the_error(client, csm, account):
    client.force_login(csm)
    response = client.post(f"/accounts/{account.pk}/stakeholders/add/", stakeholder_data(name="  "), **HTMX)
    body = response.content.decode()
    assert "Give the person&#x27;s name." in body and "HX-Retarget" not in response
    assert not Stakeholder.objects.exists()


def test_edit_stakeholder(client, csm, account):
    person = StakeholderFactory(account=account, name="Chen Jie", role="end_user")
    client.force_login(csm)
    prefix = f"s{person.pk}"
    form = client.get(f"/accounts/{account.pk}/stakeholders/{person.pk}/edit/", **HTMX)
    assert f'name="{prefix}-name"' in form.content.decode()
    data = {k.replace("new-", f"{prefix}-"): v for k, v in stakeholder_data(relationship="approves").items()}
    response = client.post(f"/accounts/{account.pk}/stakeholders/{person.pk}/edit/", data, **HTMX)
    assert response["HX-Retarget"] == "#stakeholders-card"
    person.refresh_from_db()
    assert (person.role, person.relationship) == ("decision_maker", "approves")
    assert completeness(account) == 10

    bad = {**data, f"{prefix}-email": "not an email"}
    response = client.post(f"/accounts/{account.pk}/stakeholders/{person.pk}/edit/", bad, **HTMX)
    assert "Enter a valid email address." in response.content.decode()
    person.refresh_from_db()
    assert person.email == "chen@example.com"


def test_level_1_leaving_makes_one_major_event_and_refreshes_the_timeline(client, csm, account):
    person = StakeholderFactory(account=account, name="Chen Jie", role="decision_maker")
    client.force_login(csm)
    url = f"/accounts/{account.pk}/stakeholders/{person.pk}/left/"
    left_on = (timezone.localdate() - dt.timedelta(days=2)).isoformat()
    response = client.post(url, {f"left{person.pk}-left_on": left_on}, **HTMX)
    assert "timeline-changed" in response["HX-Trigger"]
    assert "Left the company" in response.content.decode() and left_on in response.content.decode()
    assert '<span data-testid="completeness">0</span>' in response.content.decode()
    client.post(url, {f"left{person.pk}-left_on": left_on}, **HTMX)
    assert Activity.objects.filter(account=account, kind="major_event").count() == 1
    person.refresh_from_db()
    assert not person.is_active and person.left_on.isoformat() == left_on


def test_leaving_in_the_future_is_refused(client, csm, account):
    person = StakeholderFactory(account=account, role="decision_maker")
    client.force_login(csm)
    future = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    response = client.post(
        f"/accounts/{account.pk}/stakeholders/{person.pk}/left/", {f"left{person.pk}-left_on": future}, **HTMX
    )
    assert "cannot be in the future" in response.content.decode()
    person.refresh_from_db()
    assert person.is_active and not Activity.objects.exists()


# ------------------------------------------------------------------ timeline


def test_log_activity_puts_it_on_top_of_the_timeline(client, csm, teammate, account):
    person = StakeholderFactory(account=account, name="Chen Jie")
    ActivityFactory(account=account, summary="Older call", occurred_at=timezone.now() - dt.timedelta(days=3))
    client.force_login(csm)
    form = client.get(f"/accounts/{account.pk}/timeline/log/", **HTMX).content.decode()
    assert "Chen Jie" in form and f'value="{csm.pk}"' in form and "checked" in form
    data = activity_data(stakeholders=[person.pk], participants=[csm.pk, teammate.pk])
    response = client.post(f"/accounts/{account.pk}/timeline/log/", data, **HTMX)
    body = response.content.decode()
    assert 'id="timeline-card"' in body and body.index("Visited the plant") < body.index("Older call")
    activity = Activity.objects.get(summary="Visited the plant")
    assert list(activity.stakeholders.all()) == [person]
    assert set(activity.participants.all()) == {csm, teammate}
    assert activity.created_by == csm


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"summary": "  "}, "Write what happened."),
        ({"occurred_at": "2999-01-01T10:00"}, "not in the future"),
        ({"occurred_at": "yesterday"}, "Enter a valid date/time."),
    ],
)
def test_log_activity_errors_are_shown_and_nothing_is_saved(client, csm, account, overrides, message):
    client.force_login(csm)
    response = client.post(f"/accounts/{account.pk}/timeline/log/", activity_data(**overrides), **HTMX)
    assert message in response.content.decode()
    assert not Activity.objects.exists()


def test_stakeholder_of_another_account_cannot_be_a_participant(client, csm, account):
    stranger = StakeholderFactory(account=AccountFactory(csm=csm))
    client.force_login(csm)
    response = client.post(f"/accounts/{account.pk}/timeline/log/", activity_data(stakeholders=[stranger.pk]), **HTMX)
    assert "Select a valid choice" in response.content.decode()
    assert not Activity.objects.exists()


def test_timeline_shows_the_latest_20_and_all_on_demand(client, csm, account):
    now = timezone.now()
    for i in range(25):
        ActivityFactory(account=account, summary=f"Touch {i:02d}", occurred_at=now - dt.timedelta(hours=i))
    client.force_login(csm)
    body = client.get(f"/accounts/{account.pk}/").content.decode()
    assert "Touch 19" in body and "Touch 20" not in body and "Show all" in body
    body = client.get(f"/accounts/{account.pk}/timeline/?all=1", **HTMX).content.decode()
    assert "Touch 24" in body and "Show all" not in body


# ------------------------------------------------------------------ stage and history


def test_stage_change_is_recorded_and_listed_in_history(client, csm, account):
    client.force_login(csm)
    response = client.post(f"/accounts/{account.pk}/stage/", {"lifecycle_stage": "kickoff"}, **HTMX)
    assert response.status_code == 200 and "history-changed" in response["HX-Trigger"]
    change = AccountStageChange.objects.filter(account=account).first()
    assert (change.from_stage, change.to_stage, change.changed_by) == ("handover", "kickoff", csm)
    body = client.get(f"/accounts/{account.pk}/history/", **HTMX).content.decode()
    assert "Kickoff" in body
    bad = client.post(f"/accounts/{account.pk}/stage/", {"lifecycle_stage": "nowhere"}, **HTMX)
    assert "Select a valid choice" in bad.content.decode()


def test_history_shows_who_changed_what(client, csm, account):
    client.force_login(csm)
    client.post(f"/accounts/{account.pk}/file/", {"overview": "Steel maker"}, **HTMX)
    client.post(f"/accounts/{account.pk}/stakeholders/add/", stakeholder_data(), **HTMX)
    body = client.get(f"/accounts/{account.pk}/history/", **HTMX).content.decode()
    assert "Steel maker" in body and "Chen Jie" in body and csm.username in body


# ------------------------------------------------------------------ access


def _fragment_requests(account, person):
    a, s = account.pk, person.pk
    return [
        ("get", f"/accounts/{a}/", {}),
        ("get", f"/accounts/{a}/file/", {}),
        ("get", f"/accounts/{a}/file/?edit=1", {}),
        ("post", f"/accounts/{a}/file/", {"overview": "x"}),
        ("get", f"/accounts/{a}/stakeholders/", {}),
        ("post", f"/accounts/{a}/stakeholders/add/", stakeholder_data()),
        ("get", f"/accounts/{a}/stakeholders/{s}/edit/", {}),
        ("post", f"/accounts/{a}/stakeholders/{s}/edit/", {}),
        ("post", f"/accounts/{a}/stakeholders/{s}/left/", {}),
        ("get", f"/accounts/{a}/timeline/", {}),
        ("get", f"/accounts/{a}/timeline/log/", {}),
        ("post", f"/accounts/{a}/timeline/log/", activity_data()),
        ("get", f"/accounts/{a}/history/", {}),
        ("post", f"/accounts/{a}/stage/", {"lifecycle_stage": "kickoff"}),
    ]


def test_csm_of_another_team_gets_404_everywhere(client, other_csm, account):
    person = StakeholderFactory(account=account)
    client.force_login(other_csm)
    for method, url, data in _fragment_requests(account, person):
        assert getattr(client, method)(url, data, **HTMX).status_code == 404, (method, url)
    assert Stakeholder.objects.count() == 1 and not Activity.objects.exists()


def test_sales_may_read_but_not_write(client, sales, account):
    person = StakeholderFactory(account=account)
    client.force_login(sales)
    for method, url, data in _fragment_requests(account, person):
        expected = 403 if method == "post" or url.endswith(("/edit/", "/log/")) else 200
        response = getattr(client, method)(url, data, **HTMX)
        assert response.status_code == expected, (method, url)
        if expected == 200:
            assert "hx-post" not in response.content.decode(), url  # read-only: no form to post
    assert Stakeholder.objects.count() == 1 and not Activity.objects.exists()
    assert CustomerFile.objects.get(account=account).overview == ""


# ------------------------------------------------------------------ queries


@pytest.mark.parametrize("size", [5, 50])
def test_page_and_fragments_run_a_constant_number_of_queries(
    client, csm, account, size, django_assert_max_num_queries, query_budget
):
    people = StakeholderFactory.create_batch(size, account=account, role="end_user")
    for i in range(size):
        activity = ActivityFactory(account=account, occurred_at=timezone.now() - dt.timedelta(hours=i))
        activity.stakeholders.set(people[:3])
        activity.participants.set([csm])
    client.force_login(csm)
    a = account.pk
    for key, method, url, data in [
        ("accounts:detail", "get", f"/accounts/{a}/", {}),
        ("accounts:file", "get", f"/accounts/{a}/file/?edit=1", {}),
        ("accounts:file_save", "post", f"/accounts/{a}/file/", {"overview": "Steel"}),
        ("accounts:stakeholders", "get", f"/accounts/{a}/stakeholders/", {}),
        ("accounts:stakeholder_add", "post", f"/accounts/{a}/stakeholders/add/", stakeholder_data()),
        ("accounts:timeline", "get", f"/accounts/{a}/timeline/?all=1", {}),
        ("accounts:activity_form", "get", f"/accounts/{a}/timeline/log/", {}),
        ("accounts:activity_log", "post", f"/accounts/{a}/timeline/log/", activity_data()),
        ("accounts:history", "get", f"/accounts/{a}/history/", {}),
    ]:
        with django_assert_max_num_queries(query_budget(key), info=key):
            response = getattr(client, method)(url, data, **HTMX)
        assert response.status_code == 200, key
