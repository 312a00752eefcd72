"""The notifications page and the bell in the top bar."""

import datetime as dt

import pytest
from django.utils import timezone

from people.models import Notification
from people.services import notify
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _note(user, message, *, url="", read=False, minutes_ago=0):
    note = Notification.objects.create(user=user, message=message, url=url)
    Notification.objects.filter(pk=note.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
        read_at=timezone.now() if read else None,
    )
    return note


def test_unread_come_first_then_the_newest(client, csm):
    _note(csm, "Old and read", read=True, minutes_ago=1)
    _note(csm, "Older unread", minutes_ago=30)
    _note(csm, "Newer unread", minutes_ago=5)
    _note(csm, "Newest but read", read=True, minutes_ago=0)
    client.force_login(csm)
    response = client.get("/notifications/")
    assert response.status_code == 200
    assert [n.message for n in response.context["page"].object_list] == [
        "Newer unread",
        "Older unread",
        "Newest but read",
        "Old and read",
    ]


def test_the_bell_shows_the_unread_count(client, csm):
    notify(users=[csm], message="Handover of Huaxin assigned to you", url="/handovers/", email=False)
    notify(users=[csm], message="Another", email=False)
    client.force_login(csm)
    body = client.get("/accounts/").content.decode()
    assert 'href="/notifications/"' in body
    assert '<span class="count nav-count nav-count-warn">2<span class="visually-hidden"> unread</span>' in body


def test_no_count_on_the_bell_when_everything_is_read(client, csm):
    _note(csm, "Seen", read=True)
    client.force_login(csm)
    body = client.get("/notifications/").content.decode()
    assert "nav-count" not in body and "Mark all as read" not in body


def test_mark_all_as_read(client, csm, teammate):
    _note(csm, "One")
    _note(csm, "Two")
    _note(teammate, "Not mine")
    client.force_login(csm)
    assert "Mark all as read" in client.get("/notifications/").content.decode()
    response = client.post("/notifications/read/")
    assert response.status_code == 302 and response.url == "/notifications/"
    assert not Notification.objects.filter(user=csm, read_at__isnull=True).exists()
    assert Notification.objects.get(user=teammate).read_at is None


def test_opening_one_marks_it_read_and_goes_to_its_page(client, csm):
    note = _note(csm, "Handover returned", url="/handovers/7/")
    other = _note(csm, "Still unread")
    client.force_login(csm)
    response = client.post(f"/notifications/{note.pk}/open/")
    assert response.status_code == 302 and response.url == "/handovers/7/"
    note.refresh_from_db()
    other.refresh_from_db()
    assert note.read_at is not None and other.read_at is None


def test_a_link_to_another_site_is_not_followed(client, csm):
    note = _note(csm, "Suspicious", url="https://evil.example.com/")
    client.force_login(csm)
    response = client.post(f"/notifications/{note.pk}/open/")
    assert response.url == "/notifications/"
    note.refresh_from_db()
    assert note.read_at is not None


def test_nobody_opens_another_users_notification(client, csm, teammate):
    note = _note(teammate, "Private")
    client.force_login(csm)
    assert client.post(f"/notifications/{note.pk}/open/").status_code == 404
    note.refresh_from_db()
    assert note.read_at is None


def test_opening_needs_a_post(client, csm):
    note = _note(csm, "x", url="/accounts/")
    client.force_login(csm)
    assert client.get(f"/notifications/{note.pk}/open/").status_code == 405
    assert client.get("/notifications/read/").status_code == 405


def test_integration_users_have_no_notifications_page(client, integration):
    client.force_login(integration)
    assert client.get("/notifications/").status_code == 404


def test_anonymous_is_sent_to_login(client):
    response = client.get("/notifications/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_an_empty_page_says_what_will_appear(client):
    user = UserFactory()
    client.force_login(user)
    assert "No notifications yet." in client.get("/notifications/").content.decode()


@pytest.mark.parametrize("size", [1, 40])
def test_the_page_runs_a_fixed_number_of_queries(client, csm, size, django_assert_max_num_queries, query_budget):
    for i in range(size):
        _note(csm, f"Note {i}", url="/handovers/", read=i % 2 == 0)
    client.force_login(csm)
    with django_assert_max_num_queries(query_budget("people:notifications")):
        response = client.get("/notifications/")
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == min(size, 25)
