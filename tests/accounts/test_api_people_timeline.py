"""Stakeholders, the timeline, the customer file and the audit trail through the API."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Activity, CustomerFile, Stakeholder
from tests.conftest import api_as
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    CustomerFileFactory,
    StakeholderFactory,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date.today


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# ------------------------------------------------------------------ stakeholders


def test_stakeholder_carries_its_fields(csm):
    account = AccountFactory(csm=csm, external_id="CRM-7")
    person = StakeholderFactory(account=account, name="陈静", role="decision_maker", email="chen@example.com")
    body = api_as(csm).get(f"/api/v1/stakeholders/{person.pk}/").json()
    assert body == {
        "id": person.pk,
        "account": account.pk,
        "account_external_id": "CRM-7",
        "name": "陈静",
        "title": "CIO",
        "email": "chen@example.com",
        "phone": "",
        "role": "decision_maker",
        "level": 1,
        "influence": "medium",
        "relationship": "knows",
        "goals": "",
        "demands": "",
        "personality": "",
        "is_active": True,
        "left_on": None,
    }


def test_csm_sees_only_stakeholders_of_visible_accounts(world, csm):
    mine = StakeholderFactory(account=world["own"])
    teammates = StakeholderFactory(account=world["teammates"])
    hidden = StakeholderFactory(account=world["other_team"])
    client = api_as(csm)
    assert set(ids(client.get("/api/v1/stakeholders/"))) == {mine.pk, teammates.pk}
    assert client.get(f"/api/v1/stakeholders/{hidden.pk}/").status_code == 404
    response = client.patch(f"/api/v1/stakeholders/{hidden.pk}/", {"name": "Changed"}, format="json")
    assert response.status_code == 404
    hidden.refresh_from_db()
    assert hidden.name != "Changed"


def test_stakeholder_filters(integration):
    a, b = AccountFactory(external_id="CRM-A"), AccountFactory(external_id="CRM-B")
    dm = StakeholderFactory(account=a, role="decision_maker")
    dtd = StakeholderFactory(account=a, role="day_to_day")
    gone = StakeholderFactory(account=b, role="it", is_active=False, left_on=TODAY())
    client = api_as(integration)
    assert set(ids(client.get(f"/api/v1/stakeholders/?account={a.pk}"))) == {dm.pk, dtd.pk}
    assert ids(client.get("/api/v1/stakeholders/?account_external_id=CRM-B")) == [gone.pk]
    assert ids(client.get("/api/v1/stakeholders/?role=day_to_day")) == [dtd.pk]
    assert ids(client.get("/api/v1/stakeholders/?is_active=false")) == [gone.pk]
    assert client.get("/api/v1/stakeholders/?role=astrologer").status_code == 400


@pytest.mark.parametrize("ref", ["account", "account_external_id"])
def test_csm_creates_a_stakeholder_by_account_id_or_external_id(csm, ref):
    account = AccountFactory(csm=csm, external_id="CRM-9")
    value = account.pk if ref == "account" else "CRM-9"
    response = api_as(csm).post(
        "/api/v1/stakeholders/", {ref: value, "name": "王磊", "role": "day_to_day"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["level"] == 2 and response.json()["account"] == account.pk
    assert account.stakeholders.get().name == "王磊"


def test_account_of_another_team_is_an_unknown_account(csm, other_csm):
    hidden = AccountFactory(csm=other_csm, external_id="CRM-HIDDEN")
    client = api_as(csm)
    for payload in (
        {"account_external_id": "CRM-HIDDEN", "name": "X"},
        {"account_external_id": "CRM-NOWHERE", "name": "X"},
        {"account": hidden.pk, "name": "X"},
        {"account": 999999, "name": "X"},
    ):
        response = client.post("/api/v1/stakeholders/", payload, format="json")
        assert response.status_code == 400, payload
        assert response.json()[next(iter(k for k in payload if k.startswith("account")))] == ["Unknown account."]
    assert not Stakeholder.objects.exists()


def test_stakeholder_needs_an_account(csm):
    response = api_as(csm).post("/api/v1/stakeholders/", {"name": "Nobody's"}, format="json")
    assert response.status_code == 400 and "account" in response.json()


def test_account_and_external_id_must_agree(csm):
    a, b = AccountFactory(csm=csm), AccountFactory(csm=csm)
    response = api_as(csm).post(
        "/api/v1/stakeholders/", {"account": a.pk, "account_external_id": b.external_id, "name": "X"}, format="json"
    )
    assert response.status_code == 400 and "account_external_id" in response.json()
    assert not Stakeholder.objects.exists()


def test_stakeholder_cannot_move_to_another_account(csm):
    a, b = AccountFactory(csm=csm), AccountFactory(csm=csm)
    person = StakeholderFactory(account=a)
    response = api_as(csm).patch(f"/api/v1/stakeholders/{person.pk}/", {"account": b.pk}, format="json")
    assert response.status_code == 400 and "account" in response.json()
    person.refresh_from_db()
    assert person.account == a


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"role": "astrologer"}, "role"),
        ({"influence": "enormous"}, "influence"),
        ({"relationship": 3}, "relationship"),
        ({"name": "x" * 101}, "name"),
        ({"phone": "1" * 41}, "phone"),
        ({"email": "not an address"}, "email"),
        ({"name": ""}, "name"),
        ({"name": {"nested": 1}}, "name"),
        ({"is_active": "perhaps"}, "is_active"),
        ({"is_active": False, "left_on": "yesterday"}, "left_on"),
        ({"is_active": False, "left_on": (dt.date.today() + dt.timedelta(days=3)).isoformat()}, "left_on"),
        ({"left_on": "2024-01-01"}, "left_on"),
    ],
)
def test_bad_stakeholder_input_gives_field_errors_and_changes_nothing(csm, payload, field):
    person = StakeholderFactory(account=AccountFactory(csm=csm), name="Before", role="decision_maker")
    response = api_as(csm).patch(f"/api/v1/stakeholders/{person.pk}/", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    person.refresh_from_db()
    assert (person.name, person.role, person.is_active, person.left_on) == ("Before", "decision_maker", True, None)
    assert not Activity.objects.exists()


@pytest.mark.parametrize("payload", [[], "text", [{"name": "x"}]])
def test_malformed_stakeholder_payloads_answer_400(csm, payload):
    assert api_as(csm).post("/api/v1/stakeholders/", payload, format="json").status_code == 400


def test_stakeholders_cannot_be_deleted(csm):
    person = StakeholderFactory(account=AccountFactory(csm=csm))
    assert api_as(csm).delete(f"/api/v1/stakeholders/{person.pk}/").status_code == 405
    assert Stakeholder.objects.filter(pk=person.pk).exists()


def test_decision_maker_leaving_is_a_major_event_once(csm):
    account = AccountFactory(csm=csm)
    person = StakeholderFactory(account=account, name="Chen Jing", title="CIO", role="decision_maker")
    left_on = (timezone.localdate() - dt.timedelta(days=2)).isoformat()
    client = api_as(csm)
    for _ in range(2):
        response = client.patch(
            f"/api/v1/stakeholders/{person.pk}/", {"is_active": False, "left_on": left_on}, format="json"
        )
        assert response.status_code == 200, response.content
        assert response.json()["is_active"] is False and response.json()["left_on"] == left_on
    event = Activity.objects.get(account=account)
    assert event.kind == Activity.Kind.MAJOR_EVENT and "Chen Jing" in event.summary and left_on in event.summary
    assert event.created_by == csm


def test_day_to_day_contact_leaving_is_no_major_event(csm):
    person = StakeholderFactory(account=AccountFactory(csm=csm), role="day_to_day")
    response = api_as(csm).patch(f"/api/v1/stakeholders/{person.pk}/", {"is_active": False}, format="json")
    assert response.status_code == 200
    person.refresh_from_db()
    assert person.is_active is False and person.left_on == timezone.localdate()
    assert not Activity.objects.exists()


def test_stakeholder_comes_back(csm):
    person = StakeholderFactory(account=AccountFactory(csm=csm), is_active=False, left_on=TODAY())
    response = api_as(csm).patch(f"/api/v1/stakeholders/{person.pk}/", {"is_active": True}, format="json")
    assert response.status_code == 200 and response.json()["left_on"] is None


def test_sales_reads_but_cannot_write_stakeholders_of_sold_accounts(sales, csm):
    account = AccountFactory(csm=csm, sales_owner=sales)
    person = StakeholderFactory(account=account, name="Before")
    client = api_as(sales)
    assert ids(client.get("/api/v1/stakeholders/")) == [person.pk]
    assert client.patch(f"/api/v1/stakeholders/{person.pk}/", {"name": "After"}, format="json").status_code == 403
    response = client.post("/api/v1/stakeholders/", {"account": account.pk, "name": "New"}, format="json")
    assert response.status_code == 403
    person.refresh_from_db()
    assert person.name == "Before" and account.stakeholders.count() == 1


def test_creating_a_decision_maker_updates_completeness(csm):
    account = AccountFactory(csm=csm)
    CustomerFileFactory(account=account)
    response = api_as(csm).post("/api/v1/stakeholders/", {"account": account.pk, "name": "A", "role": "decision_maker"})
    assert response.status_code == 201, response.content
    account.refresh_from_db()
    assert account.completeness == 10


@pytest.mark.parametrize("size", [5, 50])
def test_stakeholder_list_query_count_is_constant(integration, size, django_assert_max_num_queries, query_budget):
    for account in AccountFactory.create_batch(5):
        StakeholderFactory.create_batch(size // 5, account=account)
    client = api_as(integration)
    with django_assert_max_num_queries(query_budget("api:stakeholders")):
        assert client.get("/api/v1/stakeholders/?page_size=100").json()["count"] == size


# ------------------------------------------------------------------ activities


def test_csm_logs_an_activity(csm, teammate):
    account = AccountFactory(csm=csm, external_id="CRM-1")
    dm, dtd = StakeholderFactory(account=account), StakeholderFactory(account=account, role="day_to_day")
    response = api_as(csm).post(
        "/api/v1/activities/",
        {
            "account_external_id": "CRM-1",
            "kind": "onsite_visit",
            "occurred_at": "2025-03-01T09:30:00",
            "summary": "Walked the warehouse with the CIO",
            "next_step": "Send the rollout plan",
            "stakeholders": [dm.pk, dtd.pk],
            "participants": ["csm.li", "csm.wang"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["account"] == account.pk and body["created_by"] == "csm.li"
    assert sorted(body["stakeholders"]) == sorted([dm.pk, dtd.pk])
    assert sorted(body["participants"]) == ["csm.li", "csm.wang"]
    activity = Activity.objects.get()
    # A timestamp without a zone is UTC.
    assert activity.occurred_at == dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)


def test_author_is_the_participant_when_none_given(csm):
    account = AccountFactory(csm=csm)
    body = (
        api_as(csm)
        .post(
            "/api/v1/activities/",
            {"account": account.pk, "kind": "call", "occurred_at": "2025-03-01T09:30:00Z", "summary": "Call"},
            format="json",
        )
        .json()
    )
    assert body["participants"] == ["csm.li"]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"kind": "séance"}, "kind"),
        ({"occurred_at": "next tuesday"}, "occurred_at"),
        ({"occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
        ({"summary": ""}, "summary"),
        ({"next_step": "x" * 301}, "next_step"),
        ({"participants": ["nobody"]}, "participants"),
        ({"stakeholders": "1"}, "stakeholders"),
        ({"account_external_id": "CRM-NOWHERE"}, "account_external_id"),
    ],
)
def test_bad_activity_input_gives_field_errors_and_logs_nothing(csm, change, field):
    account = AccountFactory(csm=csm, external_id="CRM-1")
    payload = {"account": account.pk, "kind": "call", "occurred_at": "2025-03-01T09:30:00Z", "summary": "Call"}
    if "account_external_id" in change:
        del payload["account"]
    response = api_as(csm).post("/api/v1/activities/", {**payload, **change}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Activity.objects.exists()


def test_activity_rejects_stakeholders_of_another_account(csm, other_csm):
    account, sibling = AccountFactory(csm=csm), AccountFactory(csm=csm)
    hidden = StakeholderFactory(account=AccountFactory(csm=other_csm))
    foreign = StakeholderFactory(account=sibling)
    payload = {"account": account.pk, "kind": "call", "occurred_at": "2025-03-01T09:30:00Z", "summary": "Call"}
    client = api_as(csm)
    for people in ([foreign.pk], [hidden.pk]):
        response = client.post("/api/v1/activities/", {**payload, "stakeholders": people}, format="json")
        assert response.status_code == 400 and "stakeholders" in response.json()
    assert not Activity.objects.exists()


def test_csm_cannot_read_or_log_on_another_teams_timeline(csm, other_csm):
    hidden = AccountFactory(csm=other_csm)
    entry = ActivityFactory(account=hidden)
    client = api_as(csm)
    assert client.get("/api/v1/activities/").json()["count"] == 0
    assert client.get(f"/api/v1/activities/{entry.pk}/").status_code == 404
    payload = {"account": hidden.pk, "kind": "call", "occurred_at": "2025-03-01T09:30:00Z", "summary": "Call"}
    response = client.post("/api/v1/activities/", payload, format="json")
    assert response.status_code == 400 and response.json()["account"] == ["Unknown account."]
    assert Activity.objects.count() == 1


def test_activities_are_never_edited_or_deleted(csm):
    entry = ActivityFactory(account=AccountFactory(csm=csm))
    client = api_as(csm)
    assert client.patch(f"/api/v1/activities/{entry.pk}/", {"summary": "x"}, format="json").status_code == 405
    assert client.delete(f"/api/v1/activities/{entry.pk}/").status_code == 405


def test_activity_filters(integration):
    a = AccountFactory(external_id="CRM-A")
    b = AccountFactory(external_id="CRM-B")
    utc = dt.UTC
    old = ActivityFactory(account=a, kind="call", occurred_at=dt.datetime(2025, 1, 10, 12, tzinfo=utc))
    mid = ActivityFactory(account=a, kind="meeting", occurred_at=dt.datetime(2025, 2, 10, 12, tzinfo=utc))
    new = ActivityFactory(account=b, kind="call", occurred_at=dt.datetime(2025, 3, 10, 12, tzinfo=utc))
    client = api_as(integration)
    assert ids(client.get("/api/v1/activities/")) == [new.pk, mid.pk, old.pk]
    assert ids(client.get(f"/api/v1/activities/?account={a.pk}")) == [mid.pk, old.pk]
    assert ids(client.get("/api/v1/activities/?account_external_id=CRM-B")) == [new.pk]
    assert ids(client.get("/api/v1/activities/?kind=call")) == [new.pk, old.pk]
    assert ids(client.get("/api/v1/activities/?occurred_after=2025-02-01")) == [new.pk, mid.pk]
    assert ids(client.get("/api/v1/activities/?occurred_before=2025-02-10T12:00:00")) == [old.pk]
    assert ids(client.get("/api/v1/activities/?occurred_after=2025-02-10T20:00:00%2B08:00")) == [new.pk, mid.pk]
    assert client.get("/api/v1/activities/?occurred_after=soon").status_code == 400
    assert client.get("/api/v1/activities/?account=abc").status_code == 400


@pytest.mark.parametrize("size", [5, 50])
def test_activity_list_query_count_is_constant(
    integration, csm, teammate, size, django_assert_max_num_queries, query_budget
):
    for account in AccountFactory.create_batch(5, csm=csm):
        people = StakeholderFactory.create_batch(2, account=account)
        for activity in ActivityFactory.create_batch(size // 5, account=account, created_by=csm):
            activity.stakeholders.set(people)
            activity.participants.set([csm, teammate])
    client = api_as(integration)
    with django_assert_max_num_queries(query_budget("api:activities")):
        body = client.get("/api/v1/activities/?page_size=100").json()
    assert body["count"] == size and all(len(row["participants"]) == 2 for row in body["results"])


# ------------------------------------------------------------------ the customer file


def test_customer_file_shows_sections_completeness_and_missing(csm):
    account = AccountFactory(csm=csm)
    CustomerFileFactory(account=account, overview="Logistics group, 3 hubs", goals="Cut picking errors")
    StakeholderFactory(account=account, role="decision_maker")
    body = api_as(csm).get(f"/api/v1/accounts/{account.pk}/file/").json()
    assert body["overview"] == "Logistics group, 3 hubs" and body["why_bought"] == ""
    assert body["completeness"] == 30
    missing = [m["key"] for m in body["missing"]]
    assert "overview" not in missing and "decision_maker" not in missing
    assert {"why_bought", "day_to_day"} <= set(missing)
    assert {"key": "day_to_day", "label": "A day-to-day contact (level 2)"} in body["missing"]


def test_account_without_a_file_shows_an_empty_one(csm):
    account = AccountFactory(csm=csm)
    body = api_as(csm).get(f"/api/v1/accounts/{account.pk}/file/").json()
    assert body["completeness"] == 0 and len(body["missing"]) == 13


def test_csm_updates_the_customer_file(csm):
    account = AccountFactory(csm=csm)
    response = api_as(csm).patch(
        f"/api/v1/accounts/{account.pk}/file/", {"why_bought": "  Audit findings  ", "overview": "x"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["why_bought"] == "Audit findings" and response.json()["completeness"] == 20
    account.refresh_from_db()
    assert account.file.why_bought == "Audit findings" and account.completeness == 20


@pytest.mark.parametrize("payload", [{"overview": {"a": 1}}, {"overview": None}, [], "text"])
def test_bad_file_input_answers_400_and_changes_nothing(csm, payload):
    account = AccountFactory(csm=csm)
    CustomerFileFactory(account=account, overview="Before")
    response = api_as(csm).patch(f"/api/v1/accounts/{account.pk}/file/", payload, format="json")
    assert response.status_code == 400
    assert CustomerFile.objects.get(account=account).overview == "Before"


def test_file_of_another_team_is_404_and_sales_only_read(csm, other_csm, sales):
    hidden = AccountFactory(csm=other_csm)
    CustomerFileFactory(account=hidden, overview="Secret")
    client = api_as(csm)
    assert client.get(f"/api/v1/accounts/{hidden.pk}/file/").status_code == 404
    assert client.patch(f"/api/v1/accounts/{hidden.pk}/file/", {"overview": "x"}, format="json").status_code == 404
    sold = AccountFactory(csm=csm, sales_owner=sales)
    seller = api_as(sales)
    assert seller.get(f"/api/v1/accounts/{sold.pk}/file/").status_code == 200
    assert seller.patch(f"/api/v1/accounts/{sold.pk}/file/", {"overview": "x"}, format="json").status_code == 403
    assert CustomerFile.objects.get(account=hidden).overview == "Secret"
    assert not CustomerFile.objects.filter(account=sold, overview="x").exists()


# ------------------------------------------------------------------ the audit trail


def test_history_shows_who_changed_what(integration, csm, teammate):
    created = api_as(integration).post(
        "/api/v1/accounts/", {"external_id": "CRM-1", "name": "Blue Sea", "csm": "csm.li"}, format="json"
    )
    pk = created.json()["id"]
    mine, theirs = api_as(csm), api_as(teammate)
    assert mine.patch(f"/api/v1/accounts/{pk}/", {"lifecycle_stage": "kickoff"}, format="json").status_code == 200
    assert theirs.patch(f"/api/v1/accounts/{pk}/file/", {"goals": "Go live by June"}, format="json").status_code == 200
    person = mine.post("/api/v1/stakeholders/", {"account": pk, "name": "Chen", "role": "decision_maker"}).json()
    assert mine.patch(f"/api/v1/stakeholders/{person['id']}/", {"is_active": False}, format="json").status_code == 200

    body = mine.get(f"/api/v1/accounts/{pk}/history/").json()
    entries = body["results"]
    assert body["count"] == len(entries) == 6
    summary = [(e["by"], e["object"], e["action"], [c["field"] for c in e["changes"]]) for e in entries]
    assert summary[:4] == [
        ("csm.li", "stakeholder", "changed", ["is_active", "left_on"]),
        ("csm.li", "stakeholder", "created", ["name", "role", "relationship", "influence", "is_active"]),
        ("csm.wang", "customer_file", "changed", ["goals"]),
        ("csm.li", "account", "changed", ["lifecycle_stage"]),
    ]
    assert {(e["by"], e["object"], e["action"]) for e in entries[4:]} == {
        ("crm-sync", "account", "created"),
        ("crm-sync", "customer_file", "created"),
    }
    stage = entries[3]["changes"][0]
    assert stage == {
        "field": "lifecycle_stage",
        "field_label": "Lifecycle stage",
        "old": "handover",
        "new": "kickoff",
        "old_display": "Handover",
        "new_display": "Kickoff",
    }
    assert entries[0]["object_label"] == "Chen" and entries[0]["object_id"] == person["id"]
    assert entries[2]["changes"][0]["new"] == "Go live by June"


def test_history_names_people_by_username(integration, csm, teammate):
    account = AccountFactory(csm=csm)
    response = api_as(integration).patch(f"/api/v1/accounts/{account.pk}/", {"csm": "csm.wang"}, format="json")
    assert response.status_code == 200
    change = api_as(csm).get(f"/api/v1/accounts/{account.pk}/history/").json()["results"][0]["changes"][0]
    assert (change["field"], change["old"], change["new"]) == ("csm", "csm.li", "csm.wang")


def test_history_of_another_team_is_404(csm, other_csm):
    hidden = AccountFactory(csm=other_csm)
    assert api_as(csm).get(f"/api/v1/accounts/{hidden.pk}/history/").status_code == 404


@pytest.mark.parametrize("size", [5, 50])
def test_history_query_count_is_constant(integration, csm, size, django_assert_max_num_queries, query_budget):
    account = AccountFactory(csm=csm)
    client = api_as(integration)
    people = StakeholderFactory.create_batch(size // 5, account=account)
    for i in range(size // 5):
        client.patch(f"/api/v1/accounts/{account.pk}/", {"name": f"Name {i}"}, format="json")
        client.patch(f"/api/v1/stakeholders/{people[i].pk}/", {"title": f"Title {i}"}, format="json")
        client.patch(f"/api/v1/accounts/{account.pk}/file/", {"goals": f"Goal {i}"}, format="json")
    with django_assert_max_num_queries(query_budget("api:account_history")):
        assert client.get(f"/api/v1/accounts/{account.pk}/history/?page_size=100").status_code == 200
