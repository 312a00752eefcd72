"""Loaded by pytest with `-p tests.environment`, before Django reads its settings: tests
talk plain http to the test client and the live server, without collectstatic.
Everything else comes from the real environment (DATABASE_URL, CELERY_BROKER_URL)."""

import os

TEST_ENV = {
    "SECURE_SSL_REDIRECT": "false",
    "SECURE_HSTS_SECONDS": "0",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "STATIC_MANIFEST": "false",
}
for key, value in TEST_ENV.items():
    os.environ.setdefault(key, value)
