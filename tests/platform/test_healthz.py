import pytest

from cs_platform.celery import app as celery_app

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_healthz_fails_when_the_broker_is_unreachable(client):
    keys = ("broker_url", "broker_write_url")
    original = {k: celery_app.conf[k] for k in keys}
    celery_app.conf.update(dict.fromkeys(keys, "redis://127.0.0.1:1/0"))  # nothing listens on port 1
    try:
        response = client.get("/healthz")
    finally:
        celery_app.conf.update(original)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error" and body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error")


def test_healthz_needs_no_login_and_is_never_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
