"""Health scorecards in the browser: everyone reads the versions and their measures,
managers and administrators edit them into new versions, activate one and start a
scoring run; a version never changes in place."""

import datetime as dt

import pytest
from django.utils import timezone

from cs_platform.celery import app as celery_app
from health.forms_scorecards import DEFAULT_WEIGHTS, format_number, format_points, parse_points
from health.models import EventType, HealthScore, ScorecardMeasure, ScorecardVersion
from health.scorecards import DEFAULT_THRESHOLDS, active_version, measures_of, version_activate, version_create
from tests.factories import AccountFactory, HealthScoreFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

LIST = "/health/scorecards/"
NEW = "/health/scorecards/new/"
RECOMPUTE = "/health/scorecards/recompute/"

# Until tests/query_counts.json names these pages, the budgets measured with them.


def detail_url(version) -> str:
    return f"/health/scorecards/{version.pk}/"


def edit_url(version) -> str:
    return f"/health/scorecards/{version.pk}/edit/"


def activate_url(version) -> str:
    return f"/health/scorecards/{version.pk}/activate/"


def status_url(task_id: str) -> str:
    return f"/health/scorecards/recompute/{task_id}/"


def two_measures(**changes) -> list[dict]:
    measures = [
        {"key": "logins", "kind": "usage", "event_type": "login", "per": "seat", "window_days": 30,
         "thresholds": [[0, 0], [2, 40], [10, 80]], "weight": 3},
        {"key": "nps", "kind": "nps", "window_days": 180, "thresholds": [[0, 0], [10, 100]], "weight": 1},
    ]  # fmt: skip
    for m in measures:
        m.update(changes.get(m["key"], {}))
    return measures


@pytest.fixture
def v1(db):
    version = version_create(
        name="Usage and sentiment", measures=two_measures(), activation_measure="logins", activation_threshold=1
    )
    return version_activate(version=version)


def editor_data(version, *, settings=None, rows=None, extra_rows=(), **overrides) -> dict:
    """The editor's form as the browser posts it when nothing is changed, with changes:
    `rows` maps a measure key to changed fields, `extra_rows` are new rows."""
    measures = measures_of(version)
    data = {
        "name": version.name,
        "note": "",
        "green_from": version.green_from,
        "yellow_from": version.yellow_from,
        "activation_measure": version.activation_measure,
        "activation_threshold": version.activation_threshold,
    }
    data.update(settings or {})
    all_rows = []
    for i, m in enumerate(measures):
        row = {
            "key": m["key"], "label": m["label"], "kind": m["kind"], "event_type": m["event_type"], "per": m["per"],
            "window_days": m["window_days"], "weight": m["weight"], "position": i + 1,
            "thresholds": ", ".join(f"{a}:{b}" for a, b in m["thresholds"]),
        }  # fmt: skip
        row.update((rows or {}).get(m["key"], {}))
        all_rows.append(row)
    all_rows += list(extra_rows)
    data.update({"measures-TOTAL_FORMS": len(all_rows), "measures-INITIAL_FORMS": len(measures)})
    for i, row in enumerate(all_rows):
        data.update({f"measures-{i}-{k}": v for k, v in row.items() if v is not None})
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def snapshot(version) -> tuple:
    version.refresh_from_db()
    return (version.name, version.green_from, version.is_active, measures_of(version))


# ------------------------------------------------------------------ reading


@pytest.mark.parametrize("who", ["manager", "csm"])
def test_list_and_detail_show_versions_and_measures_to_everyone(client, request, v1, who):
    user = request.getfixturevalue(who)
    account = AccountFactory()
    HealthScoreFactory(account=account, scorecard=v1)
    HealthScoreFactory(account=account, scorecard=v1, as_of=timezone.localdate() - dt.timedelta(days=1))
    client.force_login(user)

    page = client.get(LIST)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Usage and sentiment" in html and "v1" in html
    [row] = page.context["page"].object_list
    assert (row.measure_count, row.score_count) == (2, 2)
    assert [r["weight_pct"] for r in page.context["active_rows"]] == ["75", "25"]
    assert "Login per licensed seat, last 30 days" in html  # the readable label
    assert 'href="/health/scorecards/"' in html and "Scorecards</a>" in html  # in the main navigation

    detail = client.get(detail_url(v1))
    assert detail.status_code == 200
    html = detail.content.decode()
    assert "0 → 0" in html and "2 → 40" in html and "10 → 80" in html
    assert "75%" in html and "25%" in html
    assert detail.context["score_count"] == 2

    manages = who == "manager"
    for content in (page.content.decode(), html):
        assert ("Edit as a new version" in content or "New version" in content) is manages
    assert ("Recompute all scores now" in page.content.decode()) is manages


def test_detail_offers_activation_of_an_inactive_version_only(client, manager, v1):
    v2 = version_create(name="Draft", measures=two_measures(), based_on=v1)
    client.force_login(manager)
    assert "/activate/" in client.get(detail_url(v2)).content.decode()
    assert "/activate/" not in client.get(detail_url(v1)).content.decode()


def test_a_fitted_version_shows_coefficients_instead_of_weights(client, csm):
    fitted = version_create(
        name="Fitted",
        kind=ScorecardVersion.Kind.FITTED,
        intercept=0.5,
        measures=[{"key": "logins", "kind": "usage", "weight": 0, "coefficient": 1.234, "center": 4.5, "scale": 2.0}],
    )
    client.force_login(csm)
    response = client.get(detail_url(fitted))
    assert response.status_code == 200
    html = response.content.decode()
    assert "1.234" in html and "4.500" in html and "Coefficient" in html
    assert "Weight" not in html


def test_an_unknown_version_is_not_found(client, csm, v1):
    client.force_login(csm)
    assert client.get("/health/scorecards/999999/").status_code == 404


def test_the_list_on_a_new_installation_shows_the_default_scorecard(client, csm):
    client.force_login(csm)
    response = client.get(LIST)
    assert response.status_code == 200
    assert response.context["active"].is_active and response.context["active_rows"]


def test_integration_users_have_the_api_not_these_pages(client, integration, v1):
    client.force_login(integration)
    assert client.get(LIST).status_code == 404
    assert client.get(detail_url(v1)).status_code == 404
    assert client.post(RECOMPUTE).status_code == 404


# ------------------------------------------------------------------ who may change


def test_csm_cannot_edit_activate_or_recompute(client, csm, v1):
    v2 = version_create(name="Draft", measures=two_measures(), based_on=v1)
    before = ScorecardVersion.objects.count()
    client.force_login(csm)
    assert client.get(NEW).status_code == 403
    assert client.get(edit_url(v1)).status_code == 403
    assert client.post(edit_url(v1), editor_data(v1, rows={"nps": {"weight": 5}})).status_code == 403
    assert client.post(NEW, editor_data(v1)).status_code == 403
    assert client.post(activate_url(v2)).status_code == 403
    assert client.post(RECOMPUTE).status_code == 403
    assert client.get(status_url("0f1e2d3c-0000-4000-8000-000000000000")).status_code == 403
    assert ScorecardVersion.objects.count() == before
    assert active_version() == v1


def test_changing_pages_answer_post_only_where_they_change(client, manager, v1):
    client.force_login(manager)
    assert client.get(activate_url(v1)).status_code == 405
    assert client.get(RECOMPUTE).status_code == 405


# ------------------------------------------------------------------ editing


def test_manager_makes_a_new_version_by_changing_a_weight(client, manager, v1):
    before = snapshot(v1)
    client.force_login(manager)
    form = client.get(edit_url(v1))
    assert form.status_code == 200
    assert form.context["formset"].initial[0]["thresholds"] == "0:0, 2:40, 10:80"

    response = client.post(
        edit_url(v1), editor_data(v1, settings={"note": "NPS counts more"}, rows={"nps": {"weight": 3}})
    )
    v2 = ScorecardVersion.objects.get(number=2)
    assert response.status_code == 302 and response["Location"] == detail_url(v2)
    assert v2.based_on == v1 and v2.created_by == manager and v2.note == "NPS counts more"
    assert not v2.is_active  # activated separately
    assert [(m["key"], m["weight"]) for m in measures_of(v2)] == [("logins", 3), ("nps", 3)]
    assert measures_of(v2)[0]["thresholds"] == [[0, 0], [2, 40], [10, 80]]
    assert snapshot(v1) == before  # the old version is untouched
    assert active_version() == v1


def test_save_and_activate_now(client, manager, v1):
    client.force_login(manager)
    client.post(edit_url(v1), editor_data(v1, rows={"nps": {"weight": 2}}, activate="on"))
    v2 = ScorecardVersion.objects.get(number=2)
    assert v2.is_active and v2.activated_at is not None
    assert active_version() == v2
    v1.refresh_from_db()
    assert not v1.is_active


def test_new_version_starts_from_the_active_one(client, manager, v1):
    client.force_login(manager)
    response = client.get(NEW)
    assert response.status_code == 200 and response.context["source"] == v1
    client.post(NEW, editor_data(v1, settings={"name": "Second"}))
    v2 = ScorecardVersion.objects.get(number=2)
    assert v2.name == "Second" and v2.based_on == v1


def test_activation_switches_the_active_version(client, manager, v1):
    v2 = version_create(name="Draft", measures=two_measures(), based_on=v1)
    client.force_login(manager)
    response = client.post(activate_url(v2))
    assert response.status_code == 302 and response["Location"] == detail_url(v2)
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert v2.is_active and not v1.is_active
    assert ScorecardVersion.objects.filter(is_active=True).count() == 1
    assert client.post(activate_url(v2)).status_code == 302  # again: nothing changes
    assert active_version() == v2


def test_rows_can_be_added_removed_and_reordered(client, manager, v1):
    EventType.objects.create(name="report_export", label="Report exported")
    client.force_login(manager)
    new_row = {
        "key": "exports", "label": "", "kind": "usage", "event_type": "report_export", "per": "active_user",
        "window_days": 60, "thresholds": "0：0，5：100", "weight": "2", "position": "",
    }  # fmt: skip
    data = editor_data(
        v1,
        rows={"logins": {"DELETE": "on"}, "nps": {"position": 9}},
        extra_rows=[new_row],
        settings={"activation_measure": "exports"},
    )
    data["measures-0-position"] = "1"
    response = client.post(edit_url(v1), data)
    assert response.status_code == 302, response.context and response.context["formset"].errors
    v2 = ScorecardVersion.objects.get(number=2)
    assert [m["key"] for m in measures_of(v2)] == ["nps", "exports"]  # numbered rows first, then the rest
    exports = v2.measures.get(key="exports")
    assert (exports.event_type, exports.per, exports.window_days, exports.thresholds) == (
        "report_export", "active_user", 60, [[0, 0], [5, 100]]
    )  # fmt: skip
    assert v2.activation_measure == "exports"


def test_an_added_row_left_empty_is_ignored(client, manager, v1):
    client.force_login(manager)
    blank = {"key": "", "label": "", "kind": "usage", "event_type": "", "per": "total", "window_days": "30",
             "thresholds": "", "weight": "", "position": ""}  # fmt: skip
    response = client.post(edit_url(v1), editor_data(v1, extra_rows=[blank]))
    assert response.status_code == 302
    assert [m["key"] for m in measures_of(ScorecardVersion.objects.get(number=2))] == ["logins", "nps"]


def test_fields_that_do_not_apply_to_the_kind_are_cleared(client, manager, v1):
    client.force_login(manager)
    client.post(edit_url(v1), editor_data(v1, rows={"nps": {"event_type": "login", "per": "seat"}}))
    nps = ScorecardVersion.objects.get(number=2).measures.get(key="nps")
    assert (nps.event_type, nps.per) == ("", "total")


def test_editing_a_fitted_version_starts_a_weighted_one(client, manager):
    fitted = version_create(
        name="Fitted",
        kind=ScorecardVersion.Kind.FITTED,
        intercept=0.5,
        measures=[
            {"key": "logins", "kind": "usage", "event_type": "login", "coefficient": 0.8, "center": 1, "scale": 1},
            {"key": "complaints", "kind": "complaints", "window_days": 90, "coefficient": -0.4},
        ],
    )
    client.force_login(manager)
    response = client.get(edit_url(fitted))
    assert response.status_code == 200 and response.context["is_fitted"]
    rows = response.context["formset"].initial
    assert [(r["key"], r["weight"], r["thresholds"]) for r in rows] == [
        ("logins", format_number(DEFAULT_WEIGHTS["usage"]), format_points(DEFAULT_THRESHOLDS["usage"])),
        ("complaints", format_number(DEFAULT_WEIGHTS["complaints"]), format_points(DEFAULT_THRESHOLDS["complaints"])),
    ]
    data = editor_data(fitted, rows={r["key"]: {"weight": r["weight"], "thresholds": r["thresholds"]} for r in rows})
    assert client.post(edit_url(fitted), data).status_code == 302
    v2 = ScorecardVersion.objects.get(number=2)
    assert v2.kind == ScorecardVersion.Kind.WEIGHTED and v2.based_on == fitted
    assert [m.coefficient for m in v2.measures.all()] == [None, None]


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "change, message",
    [
        ({"rows": {"logins": {"thresholds": "0-0, 2-40"}}}, "is not a point"),
        ({"rows": {"logins": {"thresholds": "0:0, 5:150"}}}, "between 0 and 100"),
        ({"rows": {"logins": {"thresholds": " , "}}}, "at least one point"),
        ({"rows": {"logins": {"thresholds": "1:10, 1:20"}}}, "only one point"),
        ({"rows": {"logins": {"thresholds": "nan:10"}}}, "ordinary numbers"),
        ({"rows": {"nps": {"key": "logins"}}}, "Each measure needs its own key"),
        ({"rows": {"nps": {"key": "net promoter"}}}, "letters, numbers"),
        ({"rows": {"logins": {"weight": 0}, "nps": {"weight": "0"}}}, "weight above zero"),
        ({"rows": {"logins": {"weight": -1}}}, "greater than or equal to 0"),
        ({"rows": {"logins": {"window_days": 0}}}, "greater than or equal to 1"),
        ({"rows": {"logins": {"kind": "magic"}}}, "Select a valid choice"),
        ({"rows": {"logins": {"event_type": "never_seen"}}}, "Select a valid choice"),
        ({"settings": {"yellow_from": 70}}, "Yellow must start below green"),
        ({"settings": {"yellow_from": 80, "green_from": 60}}, "Yellow must start below green"),
        ({"settings": {"activation_measure": "nope"}}, "Select a valid choice"),
        ({"settings": {"activation_measure": "logins"}, "rows": {"logins": {"DELETE": "on"}}}, "must be one of"),
        ({"settings": {"name": ""}}, "This field is required"),
        ({"settings": {"activation_threshold": "lots"}}, "Enter a number"),
        ({"rows": {"logins": {"DELETE": "on"}, "nps": {"DELETE": "on"}}}, "at least one measure"),
        ({"measures-TOTAL_FORMS": "bogus"}, "ManagementForm data is missing or has been tampered with"),
    ],
)
def test_bad_input_saves_nothing_and_says_why(client, manager, v1, change, message):
    before = snapshot(v1)
    client.force_login(manager)
    data = editor_data(v1, settings=change.get("settings"), rows=change.get("rows"))
    data.update({k: v for k, v in change.items() if k not in ("settings", "rows")})
    response = client.post(edit_url(v1), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "Nothing was saved" in response.content.decode()
    assert ScorecardVersion.objects.count() == 1
    assert snapshot(v1) == before


def test_a_missing_management_form_is_an_error_not_a_crash(client, manager, v1):
    client.force_login(manager)
    response = client.post(edit_url(v1), {"name": "x", "green_from": 70, "yellow_from": 40})
    assert response.status_code == 400
    assert ScorecardVersion.objects.count() == 1


def test_threshold_text_is_parsed_into_sorted_points():
    assert parse_points("10:80, 0:0; 2 : 40\n20:100") == [[0, 0], [2, 40], [10, 80], [20, 100]]
    assert parse_points("0.1:30，-5：0.5") == [[-5, 0.5], [0.1, 30]]


# ------------------------------------------------------------------ scoring on demand


@pytest.fixture
def eager(settings):
    """Tasks run in process, as a worker would run them, and store their result (the
    Celery app read its settings at start, so its configuration is changed as well)."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    before = {key: celery_app.conf[key] for key in ("task_always_eager", "task_store_eager_result")}
    celery_app.conf.update(task_always_eager=True, task_store_eager_result=True)
    yield
    celery_app.conf.update(before)


def test_recompute_queues_a_run_and_the_status_box_shows_the_count(client, manager, v1, eager):
    SubscriptionFactory(account=AccountFactory())
    SubscriptionFactory(account=AccountFactory())
    client.force_login(manager)

    response = client.post(RECOMPUTE)
    assert response.status_code == 302
    task_id = response["Location"].split("?task=")[1]
    page = client.get(response["Location"])
    assert page.context["task"]["state"] == "SUCCESS"
    assert "Scored 2 accounts" in page.content.decode()

    fragment = client.get(status_url(task_id))
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert "Scored 2 accounts" in html and "hx-trigger" not in html  # finished: polling stops
    assert HealthScore.objects.filter(scorecard=v1, as_of=timezone.localdate()).count() == 2


def test_recompute_over_htmx_answers_the_status_box(client, manager, v1, eager):
    SubscriptionFactory(account=AccountFactory())
    client.force_login(manager)
    response = client.post(RECOMPUTE, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'id="recompute-box"' in response.content.decode()
    assert "Scored 1 account" in response.content.decode()


def test_a_run_still_queued_keeps_polling(client, manager, v1):
    client.force_login(manager)
    url = status_url("0f1e2d3c-0000-4000-8000-000000000000")
    html = client.get(url).content.decode()
    assert 'hx-trigger="every 2s"' in html and "Queued" in html and "?n=1" in html
    assert "?n=8" in client.get(f"{url}?n=7").content.decode()
    html = client.get(f"{url}?n=300").content.decode()  # ten minutes and no worker took it
    assert "hx-trigger" not in html and "Still waiting for a worker" in html
    assert client.get(f"{url}?n=x").status_code == 200
    assert client.get(status_url("not a task!")).status_code == 404


# ------------------------------------------------------------------ queries


@pytest.mark.parametrize("size", [1, 8])
def test_list_detail_and_editor_run_a_fixed_number_of_queries(
    client, manager, csm, v1, size, django_assert_max_num_queries, query_budget
):
    EventType.objects.bulk_create([EventType(name=f"event{i}") for i in range(size)])
    accounts = [AccountFactory() for _i in range(size)]
    version = v1
    for i in range(size):
        version = version_create(
            name=f"v{i}", measures=two_measures(nps={"weight": i + 1}) + [
                {"key": f"extra{j}", "kind": "breadth", "thresholds": [[0, 0], [5, 100]], "weight": 1}
                for j in range(size)
            ], based_on=version,
        )  # fmt: skip
        HealthScore.objects.bulk_create(
            [HealthScore(account=a, as_of=timezone.localdate() - dt.timedelta(days=i), score=50, band="yellow",
                         scorecard=version) for a in accounts]
        )  # fmt: skip
    version_activate(version=version)
    assert ScorecardMeasure.objects.filter(version=version).count() == 2 + size
    for user in (manager, csm):
        client.force_login(user)
        with django_assert_max_num_queries(query_budget("health:scorecard_list")):
            assert client.get(LIST).status_code == 200
        with django_assert_max_num_queries(query_budget("health:scorecard_detail")):
            assert client.get(detail_url(version)).status_code == 200
    client.force_login(manager)
    with django_assert_max_num_queries(query_budget("health:scorecard_edit")):
        assert client.get(edit_url(version)).status_code == 200
