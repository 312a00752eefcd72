"""Shared know-how per path step and the best-practice library (issue 5, items 3 and 7)."""

import datetime as dt
import random
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Account
from playbooks.models import BestPractice, KnowHow, PathStep, SuccessPath
from playbooks.selectors.knowhow import best_practices_for_account, know_how_for_step, know_how_search
from playbooks.services.knowhow import (
    best_practice_create,
    best_practice_update,
    know_how_add,
    know_how_mark_helpful,
)
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db

SB, IND = Account.SizeBand, Account.Industry
EMPLOYEES = {SB.SMALL: 50, SB.MEDIUM: 500, SB.LARGE: 5000, SB.ENTERPRISE: 50000}


@pytest.fixture
def steps():
    """The steps of the built-in first-project path (created by a migration)."""
    path = SuccessPath.objects.get(is_builtin=True)
    return list(PathStep.objects.filter(stage__path=path).order_by("stage__order", "order"))


@pytest.fixture
def step(steps):
    return steps[1]  # Kickoff meeting (项目启动会)


def add(step, by, difficulty="The decision maker skipped the kickoff", solution="Booked a follow-up", **kw):
    return know_how_add(step=step, by=by, difficulty=difficulty, solution=solution, **kw)


def case(industry=IND.MANUFACTURING, band=SB.MEDIUM, title="Case", **kw):
    return BestPractice.objects.create(title=title, industry=industry, size_band=band, story="s", outcome="o", **kw)


def votes(entry, *users):
    entry.helpful.add(*users)


# ------------------------------------------------------------------ know-how: writes


def test_csm_records_know_how_at_a_step(step, csm, world):
    entry = add(step, csm, difficulty="  客户不允许用微信群  ", solution="改用企业微信", account=world["own"])
    assert (entry.step, entry.author, entry.account, entry.difficulty) == (
        step,
        csm,
        world["own"],
        "客户不允许用微信群",
    )


@pytest.mark.parametrize(
    ("difficulty", "solution", "field"),
    [("", "x", "difficulty"), ("x", "   ", "solution"), ("x" * 2001, "x", "difficulty"), ("x", "y" * 5000, "solution")],
)
def test_empty_or_too_long_know_how_is_refused_with_a_message(step, csm, difficulty, solution, field):
    with pytest.raises(ValidationError) as error:
        add(step, csm, difficulty=difficulty, solution=solution)
    assert field in error.value.message_dict
    assert KnowHow.objects.count() == 0


def test_unknown_step_is_refused_with_a_message(csm):
    with pytest.raises(ValidationError) as error:
        know_how_add(step=999999, by=csm, difficulty="x", solution="y")
    assert "does not exist" in error.value.message_dict["step"][0]


def test_know_how_cannot_name_an_account_the_author_cannot_see(step, csm, world):
    with pytest.raises(ValidationError) as error:
        add(step, csm, account=world["other_team"])
    assert "account" in error.value.message_dict
    assert KnowHow.objects.count() == 0


def test_sales_and_integration_users_cannot_write(step, sales, integration):
    for user in (sales, integration):
        with pytest.raises(PermissionDenied):
            add(step, user)


# ------------------------------------------------------------------ know-how: helpful


def test_marking_helpful_toggles_and_setting_it_is_idempotent(step, csm, teammate, other_csm):
    entry = add(step, csm)
    assert know_how_mark_helpful(entry=entry, by=teammate) is True
    assert know_how_mark_helpful(entry=entry, by=teammate) is False  # toggled back
    assert know_how_mark_helpful(entry=entry, by=teammate, helpful=True) is True
    assert know_how_mark_helpful(entry=entry, by=teammate, helpful=True) is True  # a retry changes nothing
    know_how_mark_helpful(entry=entry, by=other_csm, helpful=True)
    assert entry.helpful.count() == 2
    know_how_mark_helpful(entry=entry, by=teammate, helpful=False)
    know_how_mark_helpful(entry=entry, by=teammate, helpful=False)
    assert list(entry.helpful.all()) == [other_csm]


def test_nobody_marks_their_own_entry_helpful(step, csm):
    entry = add(step, csm)
    with pytest.raises(ValidationError):
        know_how_mark_helpful(entry=entry, by=csm)
    assert entry.helpful.count() == 0


# ------------------------------------------------------------------ know-how: reads


def test_know_how_for_a_step_ranks_by_helpful_count_then_recency(step, steps, csm, teammate, manager, other_csm):
    old_popular = add(step, csm, difficulty="old popular")
    KnowHow.objects.filter(pk=old_popular.pk).update(created_at=timezone.now() - dt.timedelta(days=90))
    newest = add(step, csm, difficulty="newest, nobody voted")
    one_vote = add(step, csm, difficulty="one vote")
    add(steps[0], csm, difficulty="another step")
    votes(old_popular, teammate, manager, other_csm)
    votes(one_vote, teammate)

    entries = know_how_for_step(step_id=step.pk, limit=5, user=teammate)
    assert [e.difficulty for e in entries] == ["old popular", "one vote", "newest, nobody voted"]
    assert [e.helpful_count for e in entries] == [3, 1, 0]
    assert [e.marked for e in entries] == [True, True, False]
    assert [e.difficulty for e in know_how_for_step(step_id=step.pk, limit=2, user=csm)] == [
        "old popular",
        "one vote",
    ]
    assert newest.pk


def test_search_finds_words_in_difficulty_solution_and_step_title(steps, csm, teammate):
    kickoff, chat = steps[1], steps[2]
    a = add(kickoff, csm, difficulty="Deputy sent to the kickoff", solution="Met the sponsor alone")
    b = add(chat, csm, difficulty="客户不允许使用外部微信群", solution="改用企业微信外部联系人")
    c = add(chat, csm, difficulty="Noisy group", solution="A pinned weekly SUMMARY")
    votes(c, teammate)

    def found(query, **kw):
        return [e.pk for e in know_how_search(query=query, user=csm, **kw)]

    assert found("deputy") == [a.pk]
    assert found("企业微信") == [b.pk]
    assert found("weekly summary") == [c.pk]  # every word, any field, any case
    assert found("建群") == [c.pk, b.pk]  # step title "Project group chat created (建群)", best first
    assert found("") == [c.pk, a.pk, b.pk] or found("") == [c.pk, b.pk, a.pk]
    assert found("", step_id=kickoff.pk) == [a.pk]
    assert found("nothing like this") == []


# ------------------------------------------------------------------ best practices


def account_of(band, industry=IND.MANUFACTURING, csm=None):
    return AccountFactory(industry=industry, employee_count=EMPLOYEES.get(band), csm=csm or UserFactory())


def test_small_account_never_gets_a_large_or_enterprise_case():
    for band in (SB.LARGE, SB.ENTERPRISE):
        case(band=band, title=f"big {band}")
    medium = case(band=SB.MEDIUM, title="medium")
    small = case(band=SB.SMALL, title="small")
    suggested = best_practices_for_account(account=account_of(SB.SMALL))
    assert [c.pk for c in suggested] == [small.pk, medium.pk]


def test_account_without_employee_count_is_treated_as_small():
    case(band=SB.LARGE, title="large")
    medium = case(band=SB.MEDIUM, title="medium")
    account = AccountFactory(employee_count=None)
    assert [c.pk for c in best_practices_for_account(account=account)] == [medium.pk]


def test_medium_account_may_get_large_but_never_enterprise():
    case(band=SB.ENTERPRISE, title="enterprise")
    large = case(band=SB.LARGE, title="large")
    suggested = best_practices_for_account(account=account_of(SB.MEDIUM))
    assert [c.pk for c in suggested] == [large.pk]
    assert suggested[0].reason == "Same industry, a customer one size larger"


def test_same_industry_first_then_closest_size_with_the_reason():
    other_same_size = case(industry=IND.RETAIL, band=SB.MEDIUM, title="retail medium")
    same_smaller = case(band=SB.SMALL, title="manufacturing small")
    same_larger = case(band=SB.LARGE, title="manufacturing large")
    same_same = case(band=SB.MEDIUM, title="manufacturing medium")
    suggested = best_practices_for_account(account=account_of(SB.MEDIUM), limit=4)
    assert [c.pk for c in suggested] == [same_same.pk, same_smaller.pk, same_larger.pk, other_same_size.pk]
    assert [c.reason for c in suggested] == [
        "Same industry, same size",
        "Same industry, a smaller customer",
        "Same industry, a customer one size larger",
        "Same size, another industry",
    ]
    assert len(best_practices_for_account(account=account_of(SB.MEDIUM))) == 3


def test_an_account_is_not_suggested_its_own_case():
    account = account_of(SB.MEDIUM)
    case(band=SB.MEDIUM, account=account)
    assert best_practices_for_account(account=account) == []


def test_best_practice_create_and_update_validate(csm, teammate, manager, world):
    data = {"title": "Weekly usage review", "industry": IND.MANUFACTURING, "size_band": SB.LARGE, "story": "s",
            "outcome": "o", "resources": "A key user per plant", "account": world["own"]}  # fmt: skip
    created = best_practice_create(by=csm, data=data)
    assert (created.author, created.account, created.resources) == (csm, world["own"], "A key user per plant")

    with pytest.raises(ValidationError) as error:
        best_practice_create(by=csm, data={"title": "", "industry": "mining", "size_band": "huge", "story": ""})
    assert set(error.value.message_dict) == {"title", "industry", "size_band", "story", "outcome"}
    with pytest.raises(ValidationError) as error:
        best_practice_create(by=csm, data={**data, "account": world["other_team"]})
    assert "account" in error.value.message_dict
    assert BestPractice.objects.count() == 1

    with pytest.raises(PermissionDenied):
        best_practice_update(practice=created, by=teammate, data={**data, "title": "Hijacked"})
    updated = best_practice_update(practice=created, by=manager, data={**data, "title": "Renamed"})
    assert updated.title == "Renamed"


# ------------------------------------------------------------------ pages and permissions


def test_step_fragment_shows_the_top_five_and_the_share_form(client, step, csm, teammate):
    entries = [add(step, teammate, difficulty=f"difficulty {i}") for i in range(7)]
    votes(entries[3], csm)
    client.force_login(csm)
    response = client.get(f"/playbooks/know-how/step/{step.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-testid="know-how"') == 5
    assert html.index("difficulty 3") < html.index("difficulty 6")
    assert "Share what you learned at this step" in html
    assert 'aria-pressed="true"' in html
    assert "2 more entries" in html


def test_share_form_adds_over_htmx_and_shows_messages_on_bad_input(client, step, csm):
    client.force_login(csm)
    url = f"/playbooks/know-how/step/{step.pk}/add/"
    response = client.post(url, {f"kh{step.pk}-difficulty": "", f"kh{step.pk}-solution": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Describe the difficulty you met." in response.content.decode()
    assert KnowHow.objects.count() == 0
    response = client.post(url, {f"kh{step.pk}-difficulty": "d", f"kh{step.pk}-solution": "s"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and KnowHow.objects.get().author == csm
    response = client.post(url, {f"kh{step.pk}-difficulty": "", f"kh{step.pk}-solution": "s"})
    assert response.status_code == 400  # without HTMX: the know-how page with the message
    assert client.post("/playbooks/know-how/step/999999/add/", {}).status_code == 404


def test_know_how_page_adds_with_a_step_and_refuses_an_unknown_step(client, step, csm):
    client.force_login(csm)
    response = client.post("/playbooks/know-how/add/", {"step": 999999, "difficulty": "d", "solution": "s"})
    assert response.status_code == 400
    assert "This path step does not exist" in response.content.decode()
    response = client.post("/playbooks/know-how/add/", {"step": step.pk, "difficulty": "d", "solution": "s"})
    assert response.status_code == 302 and KnowHow.objects.get().step == step


def test_helpful_button_toggles_over_htmx_but_not_on_ones_own_entry(client, step, csm, teammate):
    entry = add(step, teammate)
    client.force_login(csm)
    url = f"/playbooks/know-how/{entry.pk}/helpful/"
    for _ in range(2):
        response = client.post(url, {"helpful": "1"}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200 and 'aria-pressed="true"' in response.content.decode()
    assert entry.helpful.count() == 1
    client.post(url, {"helpful": "0"}, HTTP_HX_REQUEST="true")
    assert entry.helpful.count() == 0
    own = add(step, csm)
    response = client.post(f"/playbooks/know-how/{own.pk}/helpful/", {"helpful": "1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and own.helpful.count() == 0
    assert "own know-how" in response.content.decode()


def test_sales_read_but_cannot_write_and_integration_users_see_nothing(client, step, csm, sales, integration, world):
    entry = add(step, csm)
    practice = case()
    client.force_login(sales)
    urls = [
        "/playbooks/know-how/",
        f"/playbooks/know-how/step/{step.pk}/",
        "/playbooks/best-practices/",
        f"/playbooks/best-practices/{practice.pk}/",
        f"/playbooks/account/{world['own'].pk}/best-practices/",
    ]
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert "Share what you learned" not in client.get(f"/playbooks/know-how/step/{step.pk}/").content.decode()
    assert client.post(f"/playbooks/know-how/{entry.pk}/helpful/", {"helpful": "1"}).status_code == 404
    assert client.get("/playbooks/best-practices/new/").status_code == 404
    assert client.get(f"/playbooks/account/{world['teammates'].pk}/best-practices/").status_code == 404
    client.force_login(integration)
    for url in ["/playbooks/know-how/", f"/playbooks/know-how/step/{step.pk}/", "/playbooks/best-practices/"]:
        assert client.get(url).status_code == 404


def test_know_how_is_shared_across_teams_but_the_account_only_with_who_may_see_it(client, step, csm, other_csm, world):
    add(step, csm, difficulty="shared difficulty", account=world["own"])
    client.force_login(other_csm)
    html = client.get(f"/playbooks/know-how/step/{step.pk}/").content.decode()
    assert "shared difficulty" in html and "Own Co" not in html
    client.force_login(csm)
    assert "Own Co" in client.get(f"/playbooks/know-how/step/{step.pk}/").content.decode()


def test_account_fragment_follows_account_visibility(client, csm, other_csm, world):
    case(band=SB.MEDIUM, title="Plant review")
    client.force_login(other_csm)
    assert client.get(f"/playbooks/account/{world['own'].pk}/best-practices/").status_code == 404
    client.force_login(csm)
    html = client.get(f"/playbooks/account/{world['own'].pk}/best-practices/").content.decode()
    assert "Plant review" in html and "Same industry, same size" in html
    assert (
        f"playbooks/account/{world['own'].pk}/best-practices/"
        in client.get(f"/accounts/{world['own'].pk}/").content.decode()
    )


def test_best_practice_pages_filter_create_and_edit(client, csm, teammate):
    case(industry=IND.RETAIL, band=SB.SMALL, title="Store pilot")
    case(industry=IND.FINANCE, band=SB.ENTERPRISE, title="审批线上化")
    client.force_login(csm)
    html = client.get("/playbooks/best-practices/?industry=retail").content.decode()
    assert "Store pilot" in html and "审批线上化" not in html
    html = client.get("/playbooks/best-practices/?size_band=enterprise").content.decode()
    assert "Store pilot" not in html and "审批线上化" in html

    response = client.post("/playbooks/best-practices/new/", {"title": "", "industry": "retail"})
    assert response.status_code == 400 and "Give the case a title." in response.content.decode()
    data = {"title": "Weekly review", "industry": "manufacturing", "size_band": "large", "story": "s", "outcome": "o"}
    response = client.post("/playbooks/best-practices/new/", data)
    created = BestPractice.objects.get(title="Weekly review")
    assert response.status_code == 302 and created.author == csm
    assert client.post(f"/playbooks/best-practices/{created.pk}/edit/", {**data, "title": "Renamed"}).status_code == 302
    client.force_login(teammate)
    assert client.get(f"/playbooks/best-practices/{created.pk}/edit/").status_code == 404


def test_playbook_list_links_to_know_how_and_best_practices(client, csm):
    client.force_login(csm)
    html = client.get("/playbooks/").content.decode()
    assert 'href="/playbooks/know-how/"' in html and 'href="/playbooks/best-practices/"' in html


# ------------------------------------------------------------------ query counts


@pytest.mark.parametrize("size", [3, 15])
def test_fragments_and_pages_run_a_constant_number_of_queries(
    client, step, csm, teammate, world, size, django_assert_max_num_queries, query_budget
):
    voters = [UserFactory() for _ in range(3)]
    for i in range(size):
        entry = add(step, teammate, difficulty=f"difficulty {i}", account=world["teammates"])
        votes(entry, *voters[: i % 4])
        case(industry=IND.MANUFACTURING if i % 2 else IND.RETAIL, band=SB.MEDIUM, title=f"case {i}",
             account=world["own"] if i % 3 else None)  # fmt: skip
    client.force_login(csm)
    pages = {
        "playbooks:know_how_for_step": f"/playbooks/know-how/step/{step.pk}/",
        "playbooks:know_how": f"/playbooks/know-how/?q=difficulty&step={step.pk}",
        "playbooks:best_practice_list": "/playbooks/best-practices/",
        "playbooks:best_practice_detail": f"/playbooks/best-practices/{BestPractice.objects.first().pk}/",
        "playbooks:best_practices_for_account": f"/playbooks/account/{world['own'].pk}/best-practices/",
    }
    for name, url in pages.items():
        with django_assert_max_num_queries(query_budget(name)):
            assert client.get(url).status_code == 200, name


# ------------------------------------------------------------------ demo data


def test_demo_loader_creates_know_how_votes_and_cases_once(csm, teammate, manager, other_csm):
    accounts = [account_of(SB.LARGE), account_of(SB.MEDIUM, IND.RETAIL), account_of(SB.SMALL)]
    plans = [SimpleNamespace(pk=a.pk, industry=a.industry, employees=a.employee_count) for a in accounts]
    users = {u.username: u for u in (csm, teammate, manager, other_csm)}
    builder = SimpleNamespace(users=users, plans=plans, rng=random.Random(7))

    from demo.knowhow import load

    counts = load(builder)
    assert counts["know_how"] >= 20 and counts["best_practices"] >= 10 and counts["helpful_votes"] > 0
    assert KnowHow.objects.filter(helpful=csm, author=csm).count() == 0
    assert BestPractice.objects.exclude(account=None).exists()
    assert BestPractice.objects.filter(title__regex=r"[\u4e00-\u9fff]").exists()
    again = load(SimpleNamespace(users=users, plans=plans, rng=random.Random(7)))
    assert again == {"know_how": 0, "helpful_votes": 0, "best_practices": 0}
