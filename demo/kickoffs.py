"""The kickoff part of the demo: every accepted handover got its kickoff scheduled a
week after acceptance; those whose day has passed were held, through the real services
(participants from both sides, minutes, the group chat), which completes the plan's
kickoff steps, logs the meeting and moves the account to onboarding."""

import datetime as dt
import random

from django.utils import timezone

from accounts.models import Stakeholder
from handover.models import Kickoff, KickoffParticipant
from handover.services import business_days_after, kickoff_hold, kickoff_update
from playbooks.models import PlanStep, Task

MINUTES_EN = (
    "1. Goals confirmed: {goal}\n2. Scope: phase one covers orders and approvals; reports in phase two.\n"
    "3. Roles: {dm} sponsors the project, {dtd} runs it day to day; our CSM leads the weekly call.\n"
    "4. Risks: data migration from the old system; IT capacity in month-end weeks."
)
MINUTES_ZH = (
    "一、确认项目目标：{goal}\n二、一期范围：订单与审批流程，报表放在二期。\n"
    "三、分工：{dm}为项目发起人，{dtd}负责日常推进；我方客户成功经理主持每周例会。\n"
    "四、风险：老系统数据迁移；月底IT人手紧张。"
)
FOLLOW_UP_EN = "Process workshops next week; weekly status call on Tuesdays; first stage report after go-live."
FOLLOW_UP_ZH = "下周开展流程调研；每周二例会；上线后提交第一份阶段性报告。"


def load(builder) -> dict:
    rng = random.Random(builder.rng.random())
    today = builder.today
    held = 0
    kickoffs = list(Kickoff.objects.select_related("account", "account__csm", "handover"))
    for kickoff in kickoffs:
        account, csm = kickoff.account, kickoff.account.csm
        accepted = timezone.localtime(kickoff.handover.decided_at).date() if kickoff.handover else today
        day = business_days_after(accepted, rng.randint(3, 6))
        Kickoff.objects.filter(pk=kickoff.pk).update(scheduled_on=day)
        kickoff.scheduled_on = day
        chinese = account.name[0] > "\u2e80"
        people = list(account.stakeholders.filter(is_active=True).order_by("role", "pk"))
        dm = next((p for p in people if p.role == Stakeholder.Role.DECISION_MAKER), None)
        dtd = next((p for p in people if p.role == Stakeholder.Role.DAY_TO_DAY), None)
        participants = [_customer_side(p, dm, dtd, chinese) for p in people[:4]]
        participants.append(
            {"side": KickoffParticipant.Side.OURS, "name": str(csm), "user": csm,
             "role": "客户成功经理" if chinese else "Customer success manager"}
        )  # fmt: skip
        if day >= today:
            kickoff_update(kickoff=kickoff, by=csm, data={}, participants=participants)
            continue
        goal = (kickoff.expected_outcomes or "").split("；")[0].split(";")[0][:120]
        names = {"goal": goal, "dm": dm.name if dm else "—", "dtd": dtd.name if dtd else "—"}
        kickoff_update(
            kickoff=kickoff,
            by=csm,
            data={
                "minutes": (MINUTES_ZH if chinese else MINUTES_EN).format(**names),
                "follow_up_plan": FOLLOW_UP_ZH if chinese else FOLLOW_UP_EN,
                "group_chat_created": True,
                "group_chat_name": f"{account.name[:12]} × 客户成功"
                if chinese
                else f"{account.name.split(',')[0][:60]} x CS",
            },
            participants=participants,
        )
        kickoff_hold(kickoff=kickoff, by=csm, held_on=day)
        _backdate_plan_steps(kickoff, day)
        held += 1
    return {"kickoffs": len(kickoffs), "kickoffs_held": held}


def _customer_side(person, dm, dtd, chinese: bool) -> dict:
    if person is dm:
        role = "项目发起人" if chinese else "Sponsor"
    elif person is dtd:
        role = "项目经理" if chinese else "Project lead"
    else:
        role = person.title
    return {"side": KickoffParticipant.Side.CUSTOMER, "name": person.name, "stakeholder": person, "role": role}


def _backdate_plan_steps(kickoff, day: dt.date) -> None:
    """Holding the kickoff closed its plan steps today; date them on the kickoff's day."""
    steps = PlanStep.objects.filter(
        stage__plan__account=kickoff.account, key__in=["kickoff", "group_chat", "kickoff_minutes"], status="done"
    )
    steps.update(completed_on=day)
    moment = dt.datetime.combine(day, dt.time(17, 0), tzinfo=timezone.get_current_timezone())
    Task.objects.filter(plan_step__in=steps).update(completed_at=moment)
    kickoff.account.activities.filter(kind="meeting", summary__startswith="Kickoff meeting").update(
        occurred_at=moment.replace(hour=10)
    )
