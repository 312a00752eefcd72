import pytest
from django.core.exceptions import ValidationError

from cs_platform.access import can_edit_paths
from playbooks.models import PathStage, PathStep, SuccessPath
from playbooks.services import paths as services
from tests.conftest import api_as

pytestmark = pytest.mark.django_db

BUILTIN = "First project (首个项目)"


def make_path(name="Retail rollout", *, stages=2, steps=2) -> SuccessPath:
    path = SuccessPath.objects.create(name=name, scenario="Stores", segment="Retail chains")
    for i in range(stages):
        stage = PathStage.objects.create(path=path, order=i, name=f"{name} stage {i}")
        PathStep.objects.bulk_create(
            PathStep(stage=stage, order=j, title=f"{name} step {i}.{j}", due_offset_days=j * 7) for j in range(steps)
        )
    return path


def version(path) -> int:
    return SuccessPath.objects.values_list("version", flat=True).get(pk=path.pk)


def titles(stage) -> list[str]:
    return list(stage.steps.filter(is_retired=False).order_by("order", "pk").values_list("title", flat=True))


def stage_names(path) -> list[str]:
    return list(path.stages.filter(is_retired=False).order_by("order", "pk").values_list("name", flat=True))


# ------------------------------------------------------------------ services


def test_the_builtin_first_project_path_is_shipped():
    path = SuccessPath.objects.get(name=BUILTIN)
    assert path.is_builtin and path.version == 1
    assert path.stages.count() == 4 and PathStep.objects.filter(stage__path=path).count() == 12


def test_creating_a_path_starts_at_version_one():
    path = services.path_create(name="  Manufacturing MES  ", scenario="Shop floor", segment="Factories")
    assert (path.name, path.version) == ("Manufacturing MES", 1)


@pytest.mark.parametrize(
    "operation",
    [
        lambda p, st, sp: services.path_update(path=p, name="Renamed", scenario="", segment=""),
        lambda p, st, sp: services.stage_add(path=p, name="Value review"),
        lambda p, st, sp: services.stage_update(stage=st, name="Kickoff"),
        lambda p, st, sp: services.stage_retire(stage=st),
        lambda p, st, sp: services.stage_move(stage=st, direction="down"),
        lambda p, st, sp: services.stage_reorder(path=p, order=list(reversed([s.pk for s in p.stages.all()]))),
        lambda p, st, sp: services.step_add(stage=st, title="Call", due_offset_days=3),
        lambda p, st, sp: services.step_update(step=sp, title="Changed", owner_role="customer", due_offset_days=9),
        lambda p, st, sp: services.step_retire(step=sp),
        lambda p, st, sp: services.step_move(step=sp, direction="down"),
        lambda p, st, sp: services.step_reorder(stage=st, order=list(reversed([s.pk for s in st.steps.all()]))),
        lambda p, st, sp: services.path_retire(path=p),
    ],
)
def test_each_edit_raises_the_version_by_exactly_one(operation):
    path = make_path()
    stage = path.stages.order_by("order").first()
    step = stage.steps.order_by("order").first()
    operation(path, stage, step)
    assert version(path) == 2


def test_an_edit_that_changes_nothing_keeps_the_version():
    path = make_path()
    stage = path.stages.order_by("order").first()
    first = stage.steps.order_by("order").first()
    services.path_update(path=path, name=path.name, scenario=path.scenario, segment=path.segment)
    services.stage_move(stage=stage, direction="up")  # already first
    services.step_move(step=first, direction="up")
    services.stage_restore(stage=stage)  # not retired
    assert version(path) == 1


def test_moving_steps_up_and_down_skips_retired_ones():
    path = make_path(stages=1, steps=4)
    stage = path.stages.get()
    a, b, c, d = stage.steps.order_by("order")
    services.step_retire(step=b)
    services.step_move(step=c, direction="up")  # over the retired b, before a
    assert titles(stage) == [c.title, a.title, d.title]
    services.step_move(step=c, direction="down")
    services.step_move(step=c, direction="down")
    assert titles(stage) == [a.title, d.title, c.title]
    assert list(stage.steps.order_by("order").values_list("order", flat=True)) == [0, 1, 2, 3]
    assert version(path) == 5


def test_reordering_stages_by_a_posted_list():
    path = make_path(stages=3, steps=0)
    s0, s1, s2 = path.stages.order_by("order")
    services.stage_reorder(path=path, order=[str(s2.pk), str(s0.pk), str(s1.pk)])
    assert stage_names(path) == [s2.name, s0.name, s1.name]


@pytest.mark.parametrize("order", ["empty", "letters", "dup", "missing"])
def test_a_reorder_must_list_every_item_once(order):
    path = make_path(stages=3, steps=0)
    ids = [s.pk for s in path.stages.order_by("order")]
    order = {"empty": [], "letters": ["x"], "dup": [ids[0], ids[0], ids[1]], "missing": ids[:2]}[order]
    with pytest.raises(ValidationError) as error:
        services.stage_reorder(path=path, order=order)
    assert "order" in error.value.message_dict and version(path) == 1


def test_retire_and_restore_keep_the_rows():
    path = make_path()
    stage = path.stages.order_by("order").first()
    services.stage_retire(stage=stage)
    assert stage_names(path) == [f"{path.name} stage 1"] and PathStage.objects.filter(pk=stage.pk).exists()
    services.stage_restore(stage=stage)
    assert stage_names(path) == [f"{path.name} stage 0", f"{path.name} stage 1"] and version(path) == 3


def test_a_new_step_goes_to_the_end_of_its_stage():
    path = make_path(stages=1, steps=2)
    stage = path.stages.get()
    step = services.step_add(stage=stage, title="  Sign off  ", owner_role="customer", due_offset_days=30)
    assert titles(stage)[-1] == "Sign off" and step.owner_role == "customer"


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"title": "   "}, "title"),
        ({"due_offset_days": -1}, "due_offset_days"),
        ({"due_offset_days": 731}, "due_offset_days"),
        ({"due_offset_days": "soon"}, "due_offset_days"),
        ({"owner_role": "boss"}, "owner_role"),
        ({"title": "x" * 201}, "title"),
    ],
)
def test_invalid_steps_are_refused_and_nothing_is_saved(fields, error_field):
    path = make_path(stages=1, steps=1)
    stage = path.stages.get()
    with pytest.raises(ValidationError) as error:
        services.step_add(stage=stage, **({"title": "Call"} | fields))
    assert error_field in error.value.message_dict
    assert stage.steps.count() == 1 and version(path) == 1


def test_path_names_are_unique_whatever_the_case():
    make_path("Retail rollout")
    with pytest.raises(ValidationError) as error:
        services.path_create(name="retail ROLLOUT")
    assert "name" in error.value.message_dict
    with pytest.raises(ValidationError):
        services.path_create(name=" ")


def test_no_step_is_added_to_a_retired_stage():
    path = make_path(stages=1, steps=0)
    stage = path.stages.get()
    services.stage_retire(stage=stage)
    with pytest.raises(ValidationError):
        services.step_add(stage=stage, title="Late step")


def test_who_may_edit_paths(csm, manager, sales, admin_user, integration):
    assert [can_edit_paths(u) for u in (csm, manager, sales, admin_user, integration)] == [
        False, True, False, True, False,
    ]  # fmt: skip


# ------------------------------------------------------------------ pages


def test_a_manager_edits_a_path_in_the_browser(client, manager):
    client.force_login(manager)
    response = client.post("/playbooks/paths/new/", {"name": "Retail rollout", "scenario": "Stores"})
    path = SuccessPath.objects.get(name="Retail rollout")
    assert response.status_code == 302 and response.url == f"/playbooks/paths/{path.pk}/"

    htmx = {"HTTP_HX_REQUEST": "true"}
    response = client.post(f"/playbooks/paths/{path.pk}/stages/add/", {"new-stage-name": "Kickoff"}, **htmx)
    assert response.status_code == 200 and "Kickoff" in response.content.decode()
    stage = path.stages.get()
    prefix = f"add{stage.pk}-"
    for title, day in [("Kickoff meeting", 5), ("Minutes sent", 6)]:
        data = {prefix + "title": title, prefix + "owner_role": "csm", prefix + "due_offset_days": day}
        response = client.post(f"/playbooks/paths/stages/{stage.pk}/steps/add/", data, **htmx)
        assert response.status_code == 200
    body = response.content.decode()
    assert f'id="stage-{stage.pk}"' in body and 'id="path-meta"' in body and "hx-swap-oob" in body
    minutes = stage.steps.get(title="Minutes sent")
    assert client.post(f"/playbooks/paths/steps/{minutes.pk}/move/", {"direction": "up"}, **htmx).status_code == 200
    assert titles(stage) == ["Minutes sent", "Kickoff meeting"]
    fields = {"title": "Send minutes", "owner_role": "csm", "due_offset_days": 7, "guidance": "Within a day"}
    edit = {f"step{minutes.pk}-{k}": v for k, v in fields.items()}
    assert client.get(f"/playbooks/paths/steps/{minutes.pk}/edit/").status_code == 200
    assert client.post(f"/playbooks/paths/steps/{minutes.pk}/edit/", edit, **htmx).status_code == 200
    assert client.post(f"/playbooks/paths/steps/{minutes.pk}/retire/", **htmx).status_code == 200
    assert titles(stage) == ["Kickoff meeting"]
    # Without HTMX the same forms redirect back to the editor.
    response = client.post(f"/playbooks/paths/steps/{minutes.pk}/restore/")
    assert response.status_code == 302 and response.url.startswith(f"/playbooks/paths/{path.pk}/")
    assert titles(stage) == ["Send minutes", "Kickoff meeting"]
    assert version(path) == 1 + 7


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": ""}, "This field is required."),
        ({"due_offset_days": "-3"}, "greater than or equal to 0"),
        ({"due_offset_days": "9999"}, "less than or equal to 730"),
        ({"due_offset_days": "abc"}, "Enter a whole number."),
        ({"owner_role": "boss"}, "Select a valid choice."),
    ],
)
def test_an_invalid_step_answers_400_with_the_form(client, manager, data, message):
    path = make_path(stages=1, steps=1)
    stage = path.stages.get()
    client.force_login(manager)
    values = {"title": "Call", "owner_role": "csm", "due_offset_days": "3"} | data
    post = {f"add{stage.pk}-{k}": v for k, v in values.items()}
    response = client.post(f"/playbooks/paths/stages/{stage.pk}/steps/add/", post, HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and message in response.content.decode()
    assert 'class="path-step-form"' in response.content.decode()
    assert stage.steps.count() == 1 and version(path) == 1


def test_invalid_path_and_stage_input_answers_400(client, manager):
    path = make_path("Retail rollout", stages=1)
    stage = path.stages.get()
    client.force_login(manager)
    response = client.post("/playbooks/paths/new/", {"name": "RETAIL rollout"})
    assert response.status_code == 400 and "already exists" in response.content.decode()
    htmx = {"HTTP_HX_REQUEST": "true"}
    assert client.post(f"/playbooks/paths/{path.pk}/stages/add/", {"new-stage-name": " "}, **htmx).status_code == 400
    assert (
        client.post(f"/playbooks/paths/stages/{stage.pk}/edit/", {f"stage{stage.pk}-name": ""}, **htmx).status_code
        == 400
    )
    response = client.post(f"/playbooks/paths/{path.pk}/edit/", {"path-name": BUILTIN}, **htmx)
    assert response.status_code == 400 and "already exists" in response.content.decode()
    response = client.post(f"/playbooks/paths/stages/{stage.pk}/move/", {"direction": "sideways"}, **htmx)
    assert response.status_code == 400
    response = client.post(f"/playbooks/paths/{path.pk}/stages/reorder/", {"order": ["nope"]}, **htmx)
    assert response.status_code == 400
    assert SuccessPath.objects.count() == 2 and version(path) == 1 and path.stages.count() == 1


def test_a_csm_reads_paths_but_cannot_edit_them(client, csm):
    path = make_path()
    stage = path.stages.order_by("order").first()
    step = stage.steps.order_by("order").first()
    client.force_login(csm)
    page = client.get(f"/playbooks/paths/{path.pk}/")
    assert page.status_code == 200 and step.title in page.content.decode()
    assert "Add a step" not in page.content.decode() and "Retire" not in page.content.decode()
    assert "New path" not in client.get("/playbooks/paths/").content.decode()
    for url, data in [
        ("/playbooks/paths/new/", {"name": "Mine"}),
        (f"/playbooks/paths/{path.pk}/edit/", {"path-name": "Mine"}),
        (f"/playbooks/paths/{path.pk}/retire/", {}),
        (f"/playbooks/paths/{path.pk}/stages/add/", {"new-stage-name": "X"}),
        (f"/playbooks/paths/stages/{stage.pk}/move/", {"direction": "down"}),
        (f"/playbooks/paths/stages/{stage.pk}/retire/", {}),
        (f"/playbooks/paths/stages/{stage.pk}/steps/add/", {f"add{stage.pk}-title": "X"}),
        (f"/playbooks/paths/steps/{step.pk}/edit/", {}),
        (f"/playbooks/paths/steps/{step.pk}/retire/", {}),
    ]:
        assert client.post(url, data).status_code == 404, url
    assert client.get(f"/playbooks/paths/steps/{step.pk}/edit/").status_code == 404
    assert version(path) == 1


def test_sales_read_and_integration_users_get_404(client, sales, integration):
    path = make_path()
    client.force_login(sales)
    assert client.get(f"/playbooks/paths/{path.pk}/").status_code == 200
    assert client.post(f"/playbooks/paths/{path.pk}/retire/").status_code == 404
    client.force_login(integration)
    assert client.get("/playbooks/paths/").status_code == 404
    assert client.get(f"/playbooks/paths/{path.pk}/").status_code == 404


def test_retired_items_are_shown_to_editors_behind_a_toggle_and_hidden_from_readers(client, manager, csm):
    path = make_path(stages=2, steps=2)
    stage = path.stages.order_by("order").first()
    services.step_retire(step=stage.steps.order_by("order").first())
    services.stage_retire(stage=path.stages.order_by("order").last())
    retired_step, retired_stage = f"{path.name} step 0.0", f"{path.name} stage 1"
    client.force_login(manager)
    body = client.get(f"/playbooks/paths/{path.pk}/").content.decode()
    assert retired_step in body and retired_stage in body and 'id="show-retired"' in body and "Restore" in body
    client.force_login(csm)
    body = client.get(f"/playbooks/paths/{path.pk}/").content.decode()
    assert retired_step not in body and retired_stage not in body


def test_the_list_shows_retired_paths_only_when_asked(client, csm):
    services.path_retire(path=make_path("Old way"))
    client.force_login(csm)
    assert "Old way" not in client.get("/playbooks/paths/").content.decode()
    assert "Old way" in client.get("/playbooks/paths/?retired=1").content.decode()


def test_the_playbooks_page_links_to_success_paths(client, csm):
    client.force_login(csm)
    assert 'href="/playbooks/paths/"' in client.get("/playbooks/").content.decode()


@pytest.mark.parametrize("size", [2, 10])
def test_path_pages_query_count(client, manager, size, django_assert_max_num_queries, query_budget):
    for i in range(size):
        make_path(f"Path {i}", stages=size, steps=size)
    path = SuccessPath.objects.get(name="Path 0")
    client.force_login(manager)
    with django_assert_max_num_queries(query_budget("playbooks:path_list")):
        assert len(client.get("/playbooks/paths/").context["paths"]) == size + 1
    with django_assert_max_num_queries(query_budget("playbooks:path_detail")):
        assert client.get(f"/playbooks/paths/{path.pk}/").status_code == 200
    stage = path.stages.order_by("order").first()
    with django_assert_max_num_queries(query_budget("playbooks:path_step_add")):
        data = {f"add{stage.pk}-title": "New", f"add{stage.pk}-owner_role": "csm", f"add{stage.pk}-due_offset_days": 1}
        response = client.post(f"/playbooks/paths/stages/{stage.pk}/steps/add/", data, HTTP_HX_REQUEST="true")
        assert response.status_code == 200


# ------------------------------------------------------------------ API


def test_the_api_lists_paths_with_nested_stages_and_steps(csm):
    path = make_path(stages=2, steps=2)
    stage = path.stages.order_by("order").first()
    services.step_retire(step=stage.steps.order_by("order").first())
    api = api_as(csm)
    body = api.get("/api/v1/success-paths/").json()
    assert [p["name"] for p in body["results"]] == [BUILTIN, path.name]
    shown = body["results"][1]
    assert shown["version"] == 2 and set(shown) >= {"scenario", "segment", "is_builtin", "updated_at"}
    assert [len(s["steps"]) for s in shown["stages"]] == [1, 2]
    assert set(shown["stages"][0]["steps"][0]) == {
        "id", "order", "title", "guidance", "owner_role", "due_offset_days", "exit_criteria", "is_retired",
    }  # fmt: skip
    one = api.get(f"/api/v1/success-paths/{path.pk}/?include_retired=true").json()
    assert [len(s["steps"]) for s in one["stages"]] == [2, 2]
    assert api.get("/api/v1/success-paths/?include_retired=maybe").status_code == 400


def test_the_api_is_read_only_and_needs_a_login(api, manager, integration):
    path = make_path()
    assert api.get("/api/v1/success-paths/").status_code == 401
    assert api_as(integration).get(f"/api/v1/success-paths/{path.pk}/").status_code == 200
    assert api_as(manager).post("/api/v1/success-paths/", {"name": "X"}).status_code == 405
    services.path_retire(path=path)
    assert api_as(manager).get(f"/api/v1/success-paths/{path.pk}/").status_code == 404


@pytest.mark.parametrize("size", [2, 10])
def test_the_api_query_count(csm, size, django_assert_max_num_queries, query_budget):
    for i in range(size):
        make_path(f"Path {i}", stages=size, steps=size)
    api = api_as(csm)
    with django_assert_max_num_queries(query_budget("api:success_paths")):
        assert api.get("/api/v1/success-paths/").json()["count"] == size + 1
