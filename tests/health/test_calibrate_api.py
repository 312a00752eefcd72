"""POST /api/v1/health/calibrate/ per the contract, its task status URL for large
histories, and the calibration page /health/scorecards/calibrate/."""

import datetime as dt

import pytest
from django.utils import timezone

from health.calibration import health_calibrate_task
from health.models import ScorecardVersion
from health.scorecards import active_version
from tests.conftest import api_as
from tests.health.test_calibration import HORIZON, build_history

pytestmark = pytest.mark.django_db

URL = "/api/v1/health/calibrate/"
PAGE = "/health/scorecards/calibrate/"


def body(today: dt.date | None = None, **changes) -> dict:
    today = today or timezone.localdate()
    return {
        "train_start": (today - dt.timedelta(days=330)).isoformat(),
        "train_end": (today - dt.timedelta(days=150)).isoformat(),
        "horizon_days": HORIZON,
        "activate": False,
        **changes,
    }


@pytest.fixture
def history():
    return build_history(80, seed=21)


@pytest.fixture
def in_process(monkeypatch):
    """Queued calibrations run at once in this process; their result is stored as a worker's would be."""
    monkeypatch.setattr(health_calibrate_task, "apply_async", lambda kwargs: health_calibrate_task.apply(kwargs=kwargs))


def test_a_manager_calibrates_and_gets_the_figures_beside_the_baselines(manager, history):
    base = active_version()
    response = api_as(manager).post(URL, body(), format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["auc"] > 0.7 and data["top_decile_lift"] > 1
    assert set(data["baseline"]) == {"scorecard", "usage_counts"}
    for figures in data["baseline"].values():
        assert set(figures) == {"auc", "top_decile_lift"}
    assert data["auc"] > data["baseline"]["usage_counts"]["auc"]
    assert data["weights"]["usage_export_30d"] < 0 < data["weights"]["usage_login_30d"]
    assert set(data["observations"]) == {"training", "training_churned", "holdout", "holdout_churned"}
    assert data["observations"]["holdout"] > 0 and data["horizon_days"] == HORIZON and data["activated"] is False
    version = ScorecardVersion.objects.get(pk=data["scorecard_version"])
    assert version.kind == "fitted" and version.created_by == manager and not version.is_active
    assert active_version() == base


def test_integration_users_may_calibrate_and_activate(integration, history):
    response = api_as(integration).post(URL, body(activate=True), format="json")
    assert response.status_code == 200
    assert response.json()["activated"] is True
    assert active_version().pk == response.json()["scorecard_version"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"train_start": None}, "train_start"),
        ({"train_start": "last spring"}, "train_start"),
        ({"train_end": "2025-02-30"}, "train_end"),
        ({"horizon_days": 6}, "horizon_days"),
        ({"horizon_days": 731}, "horizon_days"),
        ({"horizon_days": "ninety"}, "horizon_days"),
        ({"activate": "perhaps"}, "activate"),
        ({"train_end": "2020-01-01"}, "train_end"),  # before the start
        ({"train_start": "2999-01-01", "train_end": "2999-02-01"}, "train_start"),
    ],
)
def test_bad_input_is_a_400_with_field_errors(manager, changes, field):
    data = {k: v for k, v in body(**changes).items() if v is not None}
    response = api_as(manager).post(URL, data, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_no_holdout_and_no_history_are_400s(manager):
    today = timezone.localdate()
    no_holdout = api_as(manager).post(
        URL, body(train_end=(today - dt.timedelta(days=HORIZON)).isoformat()), format="json"
    )
    assert no_holdout.status_code == 400 and list(no_holdout.json()) == ["train_end"]
    no_history = api_as(manager).post(URL, body(), format="json")
    assert no_history.status_code == 400 and list(no_history.json()) == ["train_start"]
    assert not ScorecardVersion.objects.filter(kind="fitted").exists()


@pytest.mark.parametrize("payload", [[1, 2], "text", {"activate": True}])
def test_a_body_that_is_not_an_object_with_the_fields_is_a_400(manager, payload):
    assert api_as(manager).post(URL, payload, format="json").status_code == 400


def test_csms_may_not_calibrate(csm, api):
    assert api_as(csm).post(URL, body(), format="json").status_code == 403
    assert api_as(csm).get(f"{URL}0123abcd/").status_code == 403
    assert api.post(URL, body(), format="json").status_code in (401, 403)


def test_a_large_history_runs_as_a_task_with_a_status_url(manager, history, settings, in_process):
    settings.CALIBRATE_SYNC_LIMIT = 100
    client = api_as(manager)
    response = client.post(URL, body(activate=True), format="json")
    assert response.status_code == 202
    started = response.json()
    assert started["status_url"].endswith(f"{URL}{started['task_id']}/")
    status = client.get(started["status_url"]).json()
    assert status["state"] == "SUCCESS" and status["errors"] is None
    result = status["result"]
    assert result["auc"] > 0.7 and result["activated"] is True
    assert active_version().pk == result["scorecard_version"]
    assert ScorecardVersion.objects.get(pk=result["scorecard_version"]).created_by == manager


def test_a_task_whose_history_cannot_make_a_calibration_reports_field_errors(manager, settings, in_process):
    build_history(30, churners=0, seed=22, weeks=50)
    settings.CALIBRATE_SYNC_LIMIT = 10
    client = api_as(manager)
    started = client.post(URL, body(), format="json").json()
    status = client.get(started["status_url"]).json()
    assert status["state"] == "FAILURE" and status["result"] is None
    assert list(status["errors"]) == ["train_start"]


def test_an_unknown_task_is_pending(manager):
    status = api_as(manager).get(f"{URL}0123abcd-0000-4000-8000-000000000000/").json()
    assert status == {"state": "PENDING", "result": None, "errors": None}


def test_a_redelivered_task_returns_the_version_it_made(manager, history):
    kwargs = {**body(), "by_id": manager.pk, "step_days": 42}
    first = health_calibrate_task.apply(kwargs=kwargs, task_id="run-1").result
    again = health_calibrate_task.apply(kwargs=kwargs, task_id="run-1").result
    assert "errors" not in first
    assert again["scorecard_version"] == first["scorecard_version"]
    assert ScorecardVersion.objects.filter(kind="fitted").count() == 1


# ------------------------------------------------------------------ the page


def test_the_page_offers_a_form_with_sensible_defaults(client, manager):
    client.force_login(manager)
    response = client.get(PAGE)
    assert response.status_code == 200
    initial = response.context["form"].initial
    today = timezone.localdate()
    assert initial["train_start"] < initial["train_end"] < today - dt.timedelta(days=initial["horizon_days"])
    assert b'name="horizon_days"' in response.content and b'name="activate"' in response.content


def test_a_manager_fits_on_the_page_and_sees_the_comparison(client, manager, history):
    client.force_login(manager)
    response = client.post(PAGE, body(activate=""))
    assert response.status_code == 200, response.context["form"].errors
    report = response.context["report"]
    version = ScorecardVersion.objects.get(pk=report["scorecard_version"])
    html = response.content.decode()
    assert f'href="/health/scorecards/{version.pk}/"' in html
    assert 'data-figure="usage-auc"' in html and 'data-figure="scorecard-auc"' in html
    assert 'class="coef-neg" data-measure="usage_export_30d"' in html
    assert 'class="coef-pos" data-measure="usage_login_30d"' in html
    assert "goes with leaving" in html and "Not active yet" in html
    assert not version.is_active


def test_bad_input_on_the_page_shows_field_errors(client, manager):
    client.force_login(manager)
    today = timezone.localdate()
    response = client.post(PAGE, body(horizon_days=3))
    assert response.status_code == 400 and "horizon_days" in response.context["form"].errors
    response = client.post(PAGE, body(train_end=(today - dt.timedelta(days=10)).isoformat()))
    assert response.status_code == 400 and "train_end" in response.context["form"].errors
    assert response.context["report"] is None


def test_a_large_history_on_the_page_points_to_the_api(client, manager, settings):
    build_history(10, seed=23, weeks=4)
    settings.CALIBRATE_SYNC_LIMIT = 20
    client.force_login(manager)
    response = client.post(PAGE, body())
    assert response.status_code == 400
    assert "/api/v1/health/calibrate/" in " ".join(response.context["form"].non_field_errors())
    assert not ScorecardVersion.objects.filter(kind="fitted").exists()


def test_csms_get_403_on_the_page(client, csm):
    client.force_login(csm)
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, body()).status_code == 403
