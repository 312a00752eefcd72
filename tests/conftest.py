import os

import pytest
from rest_framework.test import APIClient

from people.models import User
from tests.factories import AccountFactory, TeamFactory, UserFactory

# CI sets REQUIRE_ALL_TESTS=1: a browser or real-worker test that cannot run fails
# instead of being skipped, so a green CI run means they really ran.
REQUIRE_ALL = os.environ.get("REQUIRE_ALL_TESTS") == "1"


def skip_or_fail(reason: str):
    if REQUIRE_ALL:
        pytest.fail(f"required test could not run: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _test_settings(settings):
    """A fast password hasher; plain http and no collectstatic come from tests/environment.py."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def team(db):
    return TeamFactory(name="East")


@pytest.fixture
def other_team(db):
    return TeamFactory(name="West")


@pytest.fixture
def csm(team):
    return UserFactory(username="csm.li", role=User.Role.CSM, team=team)


@pytest.fixture
def teammate(team):
    return UserFactory(username="csm.wang", role=User.Role.CSM, team=team)


@pytest.fixture
def manager(team):
    return UserFactory(username="mgr.chen", role=User.Role.MANAGER, team=team)


@pytest.fixture
def other_csm(other_team):
    return UserFactory(username="csm.zhao", role=User.Role.CSM, team=other_team)


@pytest.fixture
def sales(db):
    return UserFactory(username="sales.zhou", role=User.Role.SALES, team=None)


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", role=User.Role.ADMIN, team=None, is_staff=True, is_superuser=True)


@pytest.fixture
def integration(db):
    return UserFactory(username="crm-sync", role=User.Role.INTEGRATION, team=None)


@pytest.fixture
def world(csm, teammate, manager, other_csm, sales):
    """Four accounts that make every access rule visible."""
    return {
        "own": AccountFactory(name="Own Co", csm=csm, sales_owner=sales),
        "teammates": AccountFactory(name="Teammate Co", csm=teammate),
        "other_team": AccountFactory(name="Other Team Co", csm=other_csm, sales_owner=sales),
        "unsold": AccountFactory(name="Nobody's Co", csm=other_csm),
    }


@pytest.fixture
def api():
    return APIClient()


def api_as(user) -> APIClient:
    from rest_framework.authtoken.models import Token

    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture(scope="session")
def query_budget():
    import json
    from pathlib import Path

    budgets = json.loads((Path(__file__).parent / "query_counts.json").read_text())
    return budgets.__getitem__
