import pytest
from django.utils import timezone, translation


@pytest.fixture(autouse=True)
def _english():
    """Renewals tests read English text; a test that switched language must not leak here."""
    with translation.override("en"):
        yield


@pytest.fixture
def today():
    return timezone.localdate()
