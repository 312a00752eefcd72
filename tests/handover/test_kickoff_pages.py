"""Kickoff meeting pages (issue 6, part 3): the account slot, the meeting page and its
edit form with participants on both sides, marking it held (which completes the success
plan's kickoff steps), the minutes as a printable page and a PDF, and who may do what."""

import datetime as dt
import re
import zlib

import pytest
from django.utils import timezone

from accounts.models import Account, Stakeholder
from handover.models import Kickoff, KickoffParticipant
from handover.services import handover_accept, handover_submit, kickoff_update
from people.models import User
from playbooks.models import PlanStep
from tests.factories import AccountFactory, StakeholderFactory, UserFactory
from tests.handover.helpers import complete_handover

pytestmark = pytest.mark.django_db

KICKOFF_KEYS = ["kickoff", "group_chat", "kickoff_minutes"]


@pytest.fixture
def account(team, sales):
    return AccountFactory(
        name="Huaxin Manufacturing", csm=None, team=team, sales_owner=sales, lifecycle_stage="handover"
    )


@pytest.fixture
def kickoff(account, sales, csm, team) -> Kickoff:
    """What a CSM finds after accepting a complete handover: a scheduled kickoff and the
    first-project plan."""
    handover = complete_handover(account=account, sales_owner=sales, team=team)
    handover_submit(handover=handover, by=sales)
    handover_accept(handover=handover, by=csm)
    return Kickoff.objects.get(account=account)


def url(kickoff: Kickoff, name: str = "") -> str:
    return f"/handovers/kickoffs/{kickoff.pk}/{name}"


def stakeholder(account: Account, name: str) -> Stakeholder:
    return Stakeholder.objects.get(account=account, name=name)


def formset(prefix: str, rows: list[dict], *, initial: int = 0) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            if key == "DELETE":
                if value:
                    data[f"{prefix}-{i}-DELETE"] = "on"
            else:
                data[f"{prefix}-{i}-{key}"] = "" if value is None else str(value)
    return data


def edit_data(kickoff: Kickoff, *, customer=(), ours=(), customer_initial=0, ours_initial=0, **fields) -> dict:
    values = {
        "scheduled_on": kickoff.scheduled_on.isoformat(),
        "background": kickoff.background,
        "expected_outcomes": kickoff.expected_outcomes,
        "minutes": kickoff.minutes,
        "follow_up_plan": kickoff.follow_up_plan,
        "group_chat_created": kickoff.group_chat_created,
        "group_chat_name": kickoff.group_chat_name,
        **fields,
    }
    if values.pop("group_chat_created"):
        values["group_chat_created"] = "on"
    return {
        **values,
        **formset("customer", list(customer), initial=customer_initial),
        **formset("ours", list(ours), initial=ours_initial),
    }


def participants(kickoff: Kickoff) -> list[tuple]:
    return [
        (p.side, p.name, p.role, p.stakeholder_id, p.user_id)
        for p in KickoffParticipant.objects.filter(kickoff=kickoff).order_by("side", "pk")
    ]


def with_people(kickoff: Kickoff, csm: User, *, extra: int = 0) -> Kickoff:
    """Two customer stakeholders and the CSM, plus `extra` typed people on each side."""
    rows = [
        {"side": "customer", "stakeholder": stakeholder(kickoff.account, "Chen Jie"), "role": "Sponsor"},
        {"side": "customer", "stakeholder": stakeholder(kickoff.account, "Liu Yang"), "role": "IT lead"},
        {"side": "ours", "user": csm, "role": "Project manager"},
    ]
    for i in range(extra):
        rows.append({"side": "customer", "name": f"Key user {i}", "role": "Key user"})
        rows.append({"side": "ours", "name": f"Consultant {i}", "role": "Consultant"})
    return kickoff_update(kickoff=kickoff, by=csm, data={}, participants=rows)


def steps(account: Account) -> dict[str, str]:
    return dict(
        PlanStep.objects.filter(stage__plan__account=account, key__in=KICKOFF_KEYS).values_list("key", "status")
    )


# ------------------------------------------------------------------ the account slot


def test_account_slot_shows_the_scheduled_kickoff_with_its_links(client, kickoff, csm):
    with_people(kickoff, csm)
    client.force_login(csm)
    html = client.get(f"/handovers/account/{kickoff.account_id}/kickoff/").content.decode()
    assert kickoff.scheduled_on.strftime("%Y-%m-%d") in html and "Scheduled" in html
    assert "2 from the customer, 1 from our side" in html
    for name in ["", "minutes/", "minutes.pdf", "edit/", "hold/"]:
        assert f'href="{url(kickoff, name)}"' in html, name
    assert "Schedule a kickoff" not in html and "Not yet recorded as held" not in html
    Kickoff.objects.filter(pk=kickoff.pk).update(scheduled_on=timezone.localdate() - dt.timedelta(days=1))
    html = client.get(f"/handovers/account/{kickoff.account_id}/kickoff/").content.decode()
    assert "Not yet recorded as held" in html


def test_account_page_loads_the_kickoff_slot(client, kickoff, csm):
    client.force_login(csm)
    html = client.get(f"/accounts/{kickoff.account_id}/").content.decode()
    assert f'hx-get="/handovers/account/{kickoff.account_id}/kickoff/"' in html


def test_an_account_without_kickoff_offers_to_schedule_one(client, csm, sales):
    account = AccountFactory(csm=csm, sales_owner=sales)
    client.force_login(csm)
    html = client.get(f"/handovers/account/{account.pk}/kickoff/").content.decode()
    assert "No kickoff meeting yet." in html and f'href="/handovers/account/{account.pk}/kickoff/new/"' in html
    client.force_login(sales)
    html = client.get(f"/handovers/account/{account.pk}/kickoff/").content.decode()
    assert "No kickoff meeting yet." in html and "Schedule a kickoff" not in html


def test_scheduling_a_kickoff_with_participants(client, csm, sales):
    account = AccountFactory(name="Bright Foods", csm=csm, sales_owner=sales)
    cfo = StakeholderFactory(account=account, name="Zhou Min", title="CFO")
    client.force_login(csm)
    new = f"/handovers/account/{account.pk}/kickoff/new/"
    page = client.get(new).content.decode()
    assert 'name="customer-TOTAL_FORMS"' in page and "Zhou Min · CFO" in page and 'name="scheduled_on"' in page
    data = edit_data(
        Kickoff(scheduled_on=dt.date(2026, 12, 8)),
        background="Replace the spreadsheets in 12 branches.",
        expected_outcomes="Month-end close in 2 days.",
        customer=[{"person": cfo.pk, "role": "Sponsor"}, {"name": "Ma Li", "role": "Key user"}],
        ours=[{"person": csm.pk, "role": "CSM"}],
    )
    response = client.post(new, data)
    kickoff = Kickoff.objects.get(account=account)
    assert response.status_code == 302 and response["Location"] == url(kickoff)
    assert (kickoff.scheduled_on, kickoff.status, kickoff.created_by) == (dt.date(2026, 12, 8), "scheduled", csm)
    assert participants(kickoff) == [
        ("customer", "Zhou Min", "Sponsor", cfo.pk, None),
        ("customer", "Ma Li", "Key user", None, None),
        ("ours", str(csm), "CSM", None, csm.pk),
    ]


# ------------------------------------------------------------------ the meeting page


def test_kickoff_page_shows_the_meeting_participants_and_the_plan_steps_it_will_complete(client, kickoff, csm):
    with_people(kickoff, csm)
    kickoff_update(kickoff=kickoff, by=csm, data={"follow_up_plan": "Workshop on 15 December"})
    client.force_login(csm)
    html = client.get(url(kickoff)).content.decode()
    assert "Kickoff in December, go-live by end of February." in html  # background, from the handover
    assert "Month-end close in 2 days instead of 6" in html  # expected outcomes, from the handover
    assert "Workshop on 15 December" in html
    assert "Chen Jie" in html and "Sponsor" in html and "Liu Yang" in html and "IT lead" in html
    assert str(csm) in html and "Project manager" in html
    assert 'action="' + url(kickoff, "hold/") + '"' in html and 'name="held_on"' in html
    assert "completes these steps" in html
    for key in KICKOFF_KEYS:
        assert f'data-key="{key}" data-status="todo"' in html, key
    assert "Will be completed when the kickoff is marked as held." in html
    assert "Will be completed once the group chat is recorded as created." in html
    assert "Will be completed once the minutes are written." in html


def test_edit_page_lists_the_participants_in_their_rows(client, kickoff, csm):
    with_people(kickoff, csm)
    client.force_login(csm)
    html = client.get(url(kickoff, "edit/")).content.decode()
    assert 'name="customer-TOTAL_FORMS" value="3"' in html  # two people and an empty row
    assert 'name="ours-TOTAL_FORMS" value="2"' in html
    assert 'name="customer-INITIAL_FORMS" value="2"' in html
    chen = stakeholder(kickoff.account, "Chen Jie")
    assert re.search(rf'<option value="{chen.pk}" selected>Chen Jie · CFO</option>', html)
    assert re.search(rf'<option value="{csm.pk}" selected>', html)
    assert "customer-__prefix__-person" in html  # the template the "add" button copies


def test_edit_saves_the_meeting_and_replaces_the_participants(client, kickoff, csm, teammate):
    with_people(kickoff, csm)
    chen, liu = stakeholder(kickoff.account, "Chen Jie"), stakeholder(kickoff.account, "Liu Yang")
    client.force_login(csm)
    data = edit_data(
        kickoff,
        minutes="会议纪要: goals agreed, IT joins the weekly call.",
        group_chat_created=True,
        group_chat_name="华信 x 我们 项目群",
        customer=[
            {"person": chen.pk, "role": "Sponsor"},
            {"person": liu.pk, "role": "IT lead", "DELETE": True},
            {"name": "Wang Fang", "role": "Finance key user"},
            {"name": "", "role": ""},  # an empty row is ignored
        ],
        customer_initial=2,
        ours=[{"person": csm.pk, "role": "Project manager"}, {"person": teammate.pk, "role": "Consultant"}],
        ours_initial=1,
    )
    response = client.post(url(kickoff, "edit/"), data)
    assert response.status_code == 302 and response["Location"] == url(kickoff)
    kickoff.refresh_from_db()
    assert kickoff.minutes.startswith("会议纪要") and kickoff.group_chat_name == "华信 x 我们 项目群"
    assert participants(kickoff) == [
        ("customer", "Chen Jie", "Sponsor", chen.pk, None),
        ("customer", "Wang Fang", "Finance key user", None, None),
        ("ours", str(csm), "Project manager", None, csm.pk),
        ("ours", str(teammate), "Consultant", None, teammate.pk),
    ]
    assert steps(kickoff.account)["kickoff_minutes"] == "todo"  # not held yet: nothing completed


def test_stakeholder_of_another_account_is_a_field_error_and_changes_nothing(client, kickoff, csm):
    with_people(kickoff, csm)
    before = participants(kickoff)
    stranger = StakeholderFactory(account=AccountFactory(csm=csm), name="Outsider")
    client.force_login(csm)
    data = edit_data(kickoff, minutes="Should not be saved", customer=[{"person": stranger.pk, "role": "Spy"}])
    response = client.post(url(kickoff, "edit/"), data)
    html = response.content.decode()
    assert response.status_code == 200 and "field-errors" in html and "Select a valid choice" in html
    kickoff.refresh_from_db()
    assert kickoff.minutes == "" and participants(kickoff) == before


def test_people_who_cannot_see_the_account_are_not_offered(client, kickoff, csm, other_csm, integration):
    client.force_login(csm)
    html = client.get(url(kickoff, "edit/")).content.decode()
    assert f'<option value="{csm.pk}">' in html
    assert f">{other_csm}</option>" not in html and f">{integration}</option>" not in html
    response = client.post(url(kickoff, "edit/"), edit_data(kickoff, ours=[{"person": other_csm.pk}]))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert participants(kickoff) == []


def test_a_role_without_a_person_is_a_field_error(client, kickoff, csm):
    client.force_login(csm)
    response = client.post(url(kickoff, "edit/"), edit_data(kickoff, customer=[{"name": "", "role": "Sponsor"}]))
    assert response.status_code == 200 and "Choose a person or type a name." in response.content.decode()
    assert participants(kickoff) == []


def test_a_group_chat_name_needs_the_chat_created(client, kickoff, csm):
    client.force_login(csm)
    response = client.post(url(kickoff, "edit/"), edit_data(kickoff, group_chat_name="华信项目群"))
    assert response.status_code == 200 and "Tick this box" in response.content.decode()
    assert Kickoff.objects.get(pk=kickoff.pk).group_chat_name == ""


def test_garbage_input_never_gives_a_server_error(client, kickoff, csm):
    client.force_login(csm)
    for data in [
        {"scheduled_on": "soon"},  # no participant rows at all
        edit_data(kickoff, scheduled_on="31/31/2026", customer=[{"person": "abc"}]),
        {**edit_data(kickoff), "customer-TOTAL_FORMS": "many"},
    ]:
        response = client.post(url(kickoff, "edit/"), data)
        html = response.content.decode()
        assert response.status_code == 200 and re.search('class="(field|form)-errors"', html), data
    response = client.post(url(kickoff, "hold/"), {"held_on": "yesterday"})
    assert response.status_code == 200 and "field-errors" in response.content.decode()
    assert Kickoff.objects.get(pk=kickoff.pk).status == "scheduled" and participants(kickoff) == []


# ------------------------------------------------------------------ marking it held


def test_marking_held_completes_the_plan_steps_and_moves_the_account_on(client, kickoff, csm):
    kickoff_update(kickoff=kickoff, by=csm, data={"minutes": "Goals agreed.", "group_chat_created": True})
    assert steps(kickoff.account) == dict.fromkeys(KICKOFF_KEYS, "todo")
    client.force_login(csm)
    today = timezone.localdate()
    response = client.post(
        url(kickoff, "hold/"), {"held_on": today.isoformat(), "expected_outcomes": "Close in 2 days; 12 branches."}
    )
    assert response.status_code == 302 and response["Location"] == url(kickoff)
    kickoff.refresh_from_db()
    assert (kickoff.status, kickoff.held_on, kickoff.expected_outcomes) == (
        "held", today, "Close in 2 days; 12 branches."
    )  # fmt: skip
    assert steps(kickoff.account) == dict.fromkeys(KICKOFF_KEYS, "done")
    assert Account.objects.get(pk=kickoff.account_id).lifecycle_stage == "onboarding"
    html = client.get(url(kickoff)).content.decode()
    assert "Held" in html and 'name="held_on"' not in html
    assert html.count(f"Completed on {today:%Y-%m-%d}") == 3
    again = client.post(url(kickoff, "hold/"), {"held_on": today.isoformat(), "expected_outcomes": "x"})
    assert again.status_code == 302 and Kickoff.objects.get(pk=kickoff.pk).expected_outcomes.startswith("Close")


def test_hold_page_explains_what_it_completes(client, kickoff, csm):
    client.force_login(csm)
    html = client.get(url(kickoff, "hold/")).content.decode()
    assert 'name="held_on"' in html and "kickoff steps" in html and "Kickoff meeting (项目启动会)" in html


def test_a_kickoff_in_the_future_cannot_be_held_and_nothing_changes(client, kickoff, csm):
    client.force_login(csm)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    response = client.post(url(kickoff, "hold/"), {"held_on": tomorrow.isoformat(), "expected_outcomes": "Changed"})
    html = response.content.decode()
    assert response.status_code == 200 and "field-errors" in html and "once it has happened" in html
    kickoff.refresh_from_db()
    assert kickoff.status == "scheduled" and kickoff.held_on is None and kickoff.expected_outcomes.startswith("Month")
    assert steps(kickoff.account) == dict.fromkeys(KICKOFF_KEYS, "todo")


def test_holding_without_expected_outcomes_is_a_field_error(client, kickoff, csm):
    kickoff_update(kickoff=kickoff, by=csm, data={"expected_outcomes": ""})
    client.force_login(csm)
    html = client.get(url(kickoff)).content.decode()
    assert 'name="expected_outcomes"' in html
    response = client.post(
        url(kickoff, "hold/"), {"held_on": timezone.localdate().isoformat(), "expected_outcomes": " "}
    )
    html = response.content.decode()
    assert response.status_code == 200 and "field-errors" in html
    assert Kickoff.objects.get(pk=kickoff.pk).status == "scheduled"
    assert steps(kickoff.account)["kickoff"] == "todo"
    assert Account.objects.get(pk=kickoff.account_id).lifecycle_stage == "kickoff"


# ------------------------------------------------------------------ minutes


def _pdf_objects(pdf: bytes) -> bytes:
    """The PDF's objects with their compressed streams inflated (fonts are named inside)."""
    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        try:
            parts.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    return b"".join(parts)


def test_minutes_page_is_printable_with_everything_the_customer_reads(client, kickoff, csm):
    with_people(kickoff, csm)
    kickoff_update(
        kickoff=kickoff, by=csm, data={"minutes": "IT joins the weekly call.", "follow_up_plan": "Workshop 15 Dec"}
    )
    client.force_login(csm)
    html = client.get(url(kickoff, "minutes/")).content.decode()
    assert "@media print" in html and ".topbar" in html and "window.print()" in html
    assert "Huaxin Manufacturing" in html and kickoff.scheduled_on.strftime("%Y-%m-%d") in html
    for text in ["Chen Jie", "Sponsor", str(csm), "Project manager", "Kickoff in December", "Month-end close"]:
        assert text in html, text
    assert "IT joins the weekly call." in html and "Workshop 15 Dec" in html
    assert "draft minutes" in html  # not held yet
    assert f'href="{url(kickoff, "minutes.pdf")}"' in html


def test_minutes_pdf_renders_chinese(client, kickoff, csm):
    with_people(kickoff, csm)
    kickoff_update(kickoff=kickoff, by=csm, data={"minutes": "项目启动会已召开，双方确认了上线目标。"})
    client.force_login(csm)
    client.cookies["django_language"] = "zh-hans"
    response = client.get(url(kickoff, "minutes.pdf"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and len(response.content) > 5000
    assert re.search(rb"Noto-?Sans-?CJK", _pdf_objects(response.content))
    assert "huaxin-manufacturing-kickoff" in response["Content-Disposition"]


# ------------------------------------------------------------------ who may do what


def _all_urls(kickoff: Kickoff) -> tuple[list[str], list[str]]:
    reads = [
        url(kickoff),
        url(kickoff, "minutes/"),
        url(kickoff, "minutes.pdf"),
        f"/handovers/account/{kickoff.account_id}/kickoff/",
    ]
    writes = [url(kickoff, "edit/"), url(kickoff, "hold/"), f"/handovers/account/{kickoff.account_id}/kickoff/new/"]
    return reads, writes


@pytest.mark.parametrize("who", ["other_csm", "integration"])
def test_csm_of_another_team_and_integration_users_get_404(client, kickoff, who, request):
    client.force_login(request.getfixturevalue(who))
    reads, writes = _all_urls(kickoff)
    for address in reads + writes:
        assert client.get(address).status_code == 404, address
    for address in writes:
        assert client.post(address, {"held_on": "2020-01-01", "expected_outcomes": "x"}).status_code == 404, address
    assert Kickoff.objects.get(pk=kickoff.pk).status == "scheduled"


def test_sales_read_the_kickoff_but_cannot_change_it(client, kickoff, sales):
    client.force_login(sales)
    reads, writes = _all_urls(kickoff)
    for address in reads:
        assert client.get(address).status_code == 200, address
    html = client.get(url(kickoff)).content.decode()
    assert 'name="held_on"' not in html and url(kickoff, "edit/") not in html
    assert url(kickoff, "edit/") not in client.get(reads[-1]).content.decode()
    for address in writes:
        assert client.get(address).status_code == 403, address
    response = client.post(url(kickoff, "hold/"), {"held_on": "2020-01-01", "expected_outcomes": "x"})
    assert response.status_code == 403
    assert client.post(url(kickoff, "edit/"), edit_data(kickoff, minutes="x")).status_code == 403
    assert Kickoff.objects.get(pk=kickoff.pk).status == "scheduled"


@pytest.mark.parametrize("who", ["teammate", "manager", "admin_user"])
def test_the_team_its_manager_and_admins_may_change_it(client, kickoff, who, request):
    client.force_login(request.getfixturevalue(who))
    assert client.get(url(kickoff, "edit/")).status_code == 200
    response = client.post(url(kickoff, "edit/"), edit_data(kickoff, minutes=f"Noted by {who}"))
    assert response.status_code == 302
    assert Kickoff.objects.get(pk=kickoff.pk).minutes == f"Noted by {who}"


# ------------------------------------------------------------------ query counts


@pytest.mark.parametrize("extra", [0, 6])
def test_kickoff_pages_run_a_constant_number_of_queries(
    client, kickoff, csm, extra, django_assert_max_num_queries, query_budget
):
    with_people(kickoff, csm, extra=extra)
    for _ in range(extra):
        UserFactory(team=csm.team, role=User.Role.CSM)
        StakeholderFactory(account=kickoff.account)
    client.force_login(csm)
    for name, address in [
        ("handover:kickoff_detail", url(kickoff)),
        ("handover:kickoff_edit", url(kickoff, "edit/")),
        ("handover:kickoff_hold", url(kickoff, "hold/")),
        ("handover:kickoff_minutes", url(kickoff, "minutes/")),
        ("handover:account_kickoff_panel", f"/handovers/account/{kickoff.account_id}/kickoff/"),
    ]:
        with django_assert_max_num_queries(query_budget(name)):
            assert client.get(address).status_code == 200, name
