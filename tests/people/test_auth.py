import re

import pytest
from django.core import mail

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-123"


def test_login_and_logout(client, csm):
    response = client.post("/login/", {"username": "csm.li", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/playbooks/my-work/"
    assert response.context["user"] == csm
    client.post("/logout/")
    assert client.get("/accounts/").status_code == 302


def test_wrong_password_is_refused_with_a_message(client, csm):
    response = client.post("/login/", {"username": "csm.li", "password": "nope"})
    assert response.status_code == 200 and "correct username and password" in response.content.decode()


def test_integration_user_cannot_log_in_to_pages(client, integration):
    response = client.post("/login/", {"username": "crm-sync", "password": PASSWORD})
    assert "API-only" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_password_change(client, csm):
    client.force_login(csm)
    response = client.post(
        "/password/change/",
        {"old_password": PASSWORD, "new_password1": "a-new-Long-pass-42", "new_password2": "a-new-Long-pass-42"},
    )
    assert response.status_code == 302
    csm.refresh_from_db()
    assert csm.check_password("a-new-Long-pass-42")


def test_password_reset_by_email(client, csm):
    client.post("/password/reset/", {"email": csm.email})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/password/reset/\S+/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(link).url
    response = client.post(form_url, {"new_password1": "Reset-pass-9876", "new_password2": "Reset-pass-9876"})
    assert response.status_code == 302
    csm.refresh_from_db()
    assert csm.check_password("Reset-pass-9876")


def test_non_staff_cannot_open_admin(client, csm):
    client.force_login(csm)
    assert client.get("/admin/").status_code == 302


def test_full_names_follow_the_naming_order_of_the_language_they_are_in():
    from people.models import User

    assert User(first_name="静", last_name="陈").get_full_name() == "陈静"
    assert str(User(username="emma", first_name="Emma", last_name="Walker")) == "Emma Walker"
    assert str(User(username="crm-sync")) == "crm-sync"
