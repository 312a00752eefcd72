"""The know-how and best-practice part of the demo: what CSMs learned at the steps of the
built-in first-project path (with helpful votes from colleagues), and a library of cases
across industries and customer sizes with the conditions that made them work.

Runs after the main load with its own random stream (drawn once from the builder's), so
adding it changes nothing the rest of the demo draws. Running it twice adds nothing."""

import datetime as dt
import random

from django.utils import timezone

from accounts.models import Account
from people.models import User
from playbooks.models import BestPractice, KnowHow, PathStep

FIRST_PROJECT = "First project (首个项目)"

# step title -> [(difficulty, solution)]
KNOW_HOW = {
    "Read the handover package and call the sales owner": [
        ("The handover package promised a custom report nobody on our side had heard of.",
         "Called the sales owner before the kickoff; we agreed to present it as phase two with a date, "
         "and the customer accepted because they heard it from us first."),
        ("销售已离职，交接资料里只有合同，没有关键人信息。",
         "从CRM里导出所有往来邮件，按发件人整理出决策人和项目负责人，再请销售经理补充背景，半天就补齐了。"),
    ],
    "Kickoff meeting (项目启动会)": [
        ("The decision maker sent a deputy to the kickoff, so goals stayed vague.",
         "Booked a 20-minute follow-up with the decision maker alone and asked for three measurable goals; "
         "sent them to the whole group the same day."),
        ("客户项目负责人认为启动会是走形式，只排了30分钟。",
         "提前把议程和需要客户确认的5个问题发给负责人，会上只讨论分歧点，30分钟内完成目标和分工确认。"),
        ("IT and operations disagreed in the kickoff about who owns the project.",
         "Proposed a joint owner model: operations owns the outcomes, IT owns the platform; "
         "wrote it into the minutes as a RACI table and both signed."),
        ("启动会上客户提出的目标过多，超出首期范围。",
         "把目标分成首期必须达成和后续阶段两类，用成功路径的阶段图说明节奏，客户同意先聚焦三个目标。"),
    ],
    "Project group chat created (建群)": [
        ("客户不允许使用外部微信群，担心信息安全。",
         "改用客户自己的企业微信，把我们的CSM和实施工程师加为外部联系人，问题当天就解决了。"),
        ("The group chat became noisy and key users muted it.",
         "Set one rule: decisions and dates go into a pinned weekly summary; everything else is optional. "
         "Engagement came back within a week."),
    ],
    "Kickoff minutes sent (会议纪要)": [
        ("The customer never confirmed the minutes, then disputed a date later.",
         "Now I send the minutes with an explicit line: 'No reply by Friday means agreed', "
         "and ask the project owner to reply '确认' in the group."),
        ("会议纪要太长，客户高层不看。",
         "纪要第一页只放目标、负责人、关键日期三项，详细内容放附件，高层当天就回复了确认。"),
    ],
    "Process workshops with each department": [
        ("Warehouse staff could only meet on the night shift.",
         "Ran the workshop at 21:00 on site with our implementation engineer; "
         "it uncovered three exceptions the managers did not know about."),
        ("各部门流程说法不一致，同一个单据有三种叫法。",
         "先做一张术语表，让各部门对照确认，再画流程图，后面的讨论效率高了很多。"),
        ("Department heads sent interns to the workshops.",
         "Asked the project sponsor to send a short note making attendance of process owners mandatory; "
         "rescheduled with the right people the next week."),
    ],
    "Confirm the target process and the configuration": [
        ("The customer wanted to replicate every spreadsheet column in the product.",
         "Walked through which columns anyone actually used in the last quarter; "
         "cut the fields from 64 to 19 and they signed off."),
        ("客户迟迟不签流程确认书，担心签了不能再改。",
         "在确认书里加入变更流程：上线前可以通过变更单调整，客户放心签字，项目没有再拖延。"),
    ],
    "Configure and load test data": [
        ("Sample data from the old system had duplicate supplier codes.",
         "Wrote a quick dedupe rule with the customer's data owner and loaded a cleaned sample; "
         "the full migration later reused the same rule."),
        ("测试数据全部是虚构的，跑不出真实问题。",
         "请客户提供上个月一周的真实单据（脱敏），流程验证时发现了两个审批节点配置错误。"),
    ],
    "User acceptance test (UAT)": [
        ("Key users had no time for UAT next to their daily work.",
         "Split UAT into daily 45-minute slots over two weeks with a test script per user; "
         "completion went from 30% to 100%."),
        ("UAT问题记录分散在群聊里，容易遗漏。",
         "建立一张共享的问题清单，每天下班前同步状态，阻塞问题当天升级给双方负责人。"),
        ("The customer logged feature requests as UAT defects.",
         "Added a 'change request' column and agreed with the project owner which ones block go-live; "
         "only two did."),
    ],
    "Admin and key-user training": [
        ("The admin changed jobs two weeks before go-live.",
         "Trained a second admin from the start on every project since; here we recorded the sessions "
         "and the new admin caught up in three days."),
        ("关键用户培训后不会教别人。",
         "让关键用户在培训最后一天给同事试讲一次，我们在旁边补充，正式推广时他们就能独立讲了。"),
    ],
    "End-user training sessions": [
        ("Store staff work shifts and could not attend live training.",
         "Recorded 5-minute videos per task and put them in the group chat; "
         "the store managers checked completion weekly."),
        ("一线员工年龄偏大，对系统有抵触。",
         "把培训改成手机端操作演示，每次只教一个场景，并请他们熟悉的班组长带教，抵触明显减少。"),
    ],
    "Go-live (上线)": [
        ("On go-live day the printer templates did not match the new documents.",
         "Kept the old templates as a fallback for one week and fixed the new ones overnight; "
         "always test printing in UAT now."),
        ("上线第一周问题集中爆发，客服响应不过来。",
         "上线前一周就安排现场值守和每日两次的问题碰头会，问题按影响范围分级处理，第一周满意度反而提高了。"),
    ],
    "First stage report (阶段性报告)": [
        ("The decision maker did not read the stage report.",
         "Presented it in a 15-minute meeting with three numbers against the kickoff goals; "
         "the next stage was agreed in the same meeting."),
        ("阶段报告里缺少客户能感知的业务价值。",
         "用上线前后对比：月结时间从6天缩短到2天、审批平均时长减半，客户高层当场认可并同意扩大使用范围。"),
    ],
}  # fmt: skip

IND, SB = Account.Industry, Account.SizeBand
# title, industry, size band, story, outcome, policy, resources, capability, volume
CASES = [
    ("Weekly usage review with the plant managers", IND.MANUFACTURING, SB.LARGE,
     "Every Monday the CSM and the three plant managers reviewed last week's usage per line and picked one "
     "process to fix.",
     "Daily active users rose from 35% to 82% of licensed seats in ten weeks; scrap reporting moved fully into "
     "the system.",
     "The COO made the weekly review part of the plant managers' KPIs.",
     "A full-time key user per plant; our CSM on site every second week.",
     "Each plant has a process engineer who owns the configuration.",
     "3 plants, 1,800 production staff, about 12,000 work orders a month."),
    ("车间班组长带教上线", IND.MANUFACTURING, SB.MEDIUM,
     "由各车间班组长先学会系统，再以班组为单位带教一线员工，CSM每周抽查一次使用情况。",
     "两个月内一线员工系统报工率从40%提高到95%，纸质报工单全部取消。",
     "总经理在月度会上宣布纸质报工停用日期。",
     "每个车间一名班组长兼职负责，约占其20%的时间。",
     "班组长有带新人的传统，熟悉现场流程。",
     "2个车间，约300名一线员工。"),
    ("One-page monthly value report for the owner", IND.MANUFACTURING, SB.SMALL,
     "Instead of a long stage report, the CSM sent the owner one page each month: three numbers and one "
     "suggestion.",
     "The owner renewed early and added the inventory module.",
     "", "The owner reads everything himself; no project team.",
     "Small office team; the owner decides alone.",
     "About 60 employees, one site."),
    ("门店店长晨会十分钟", IND.RETAIL, SB.LARGE,
     "在区域店长晨会上固定十分钟讲一个系统用法，由表现最好的门店店长分享。",
     "三个月内门店库存盘点差异率下降40%，店长主动提出新需求。",
     "区域总监要求每周晨会固定议程。",
     "区域培训专员一名。",
     "门店标准化程度高，有成熟的晨会机制。",
     "120家门店，约2,500名员工。"),
    ("Pilot in two stores before the roll-out", IND.RETAIL, SB.MEDIUM,
     "Ran the new ordering process in the two busiest stores for a month before rolling it out to the other 18.",
     "Roll-out took three weeks instead of the planned eight; stock-outs fell by a quarter.",
     "The retail director let the pilot stores skip the old process for a month.",
     "One store manager released half-time as the pilot lead.",
     "Head office has a small operations team that wrote the store playbook.",
     "20 stores, 400 staff."),
    ("审批流程线上化先从报销开始", IND.FINANCE, SB.ENTERPRISE,
     "先把报销审批搬到系统，因为涉及人数最多、痛点最明显，再逐步扩展到合同和采购审批。",
     "报销平均周期从12天缩短到3天，一年内覆盖全部审批类型。",
     "集团财务部发文统一审批标准。",
     "集团IT专职团队8人，外部实施顾问两名。",
     "有成熟的流程管理部门和变更管理机制。",
     "约30,000名员工，每月审批单据20万笔。"),
    ("Compliance checklist built with the risk team", IND.FINANCE, SB.MEDIUM,
     "The CSM co-designed the compliance checklist with the customer's risk officer instead of IT.",
     "Audit findings on approvals dropped to zero in the next review.",
     "The regulator's new rules gave the project a hard deadline.",
     "A risk officer for two days a week.",
     "Risk team used to owning procedures.",
     "About 500 employees, 9 branches."),
    ("Ward-by-ward training with the head nurses", IND.HEALTHCARE, SB.LARGE,
     "Head nurses were trained first and then trained their own ward during shift handover.",
     "All 24 wards live in six weeks with no overtime for training.",
     "The hospital director tied go-live to the annual quality inspection.",
     "Head nurses released two hours a week.",
     "Strong ward hierarchy; head nurses are trusted trainers.",
     "1,200 beds, 3,000 staff."),
    ("校区负责人周报制度", IND.EDUCATION, SB.MEDIUM,
     "每个校区负责人每周五提交一份系统生成的周报，总部据此点评，CSM提供周报模板。",
     "系统使用率从50%提升到90%，续费时客户主动增购两个校区。",
     "总部把周报纳入校区考核。",
     "总部运营一名专员汇总周报。",
     "校区负责人习惯用数据管理。",
     "8个校区，约600名员工。"),
    ("Founder-led adoption in a small agency", IND.PROFESSIONAL_SERVICES, SB.SMALL,
     "The founder moved all client approvals into the product and stopped answering approval emails.",
     "Full adoption in two weeks; the team of 30 stopped using spreadsheets for time tracking.",
     "The founder's personal rule.",
     "No dedicated resources: the founder set it up in an afternoon with our CSM.",
     "Small team that follows the founder's lead.",
     "30 employees, about 40 client projects at a time."),
    ("调度中心大屏驱动使用", IND.LOGISTICS, SB.LARGE,
     "在调度中心放置实时大屏，显示各线路的系统数据，调度员必须在系统里更新状态大屏才准确。",
     "运单状态及时更新率从60%提升到98%，客户投诉减少三成。",
     "运营副总裁要求所有调度例会使用大屏数据。",
     "调度中心IT一名，硬件投入约5万元。",
     "调度流程标准化程度高。",
     "每日约8,000票运单，5,000名员工。"),
    ("Small-site go-live checklist", IND.ENERGY, SB.SMALL,
     "A one-page go-live checklist for sites with no IT staff, walked through by phone with the site manager.",
     "Four small sites live in one month with no on-site visit.",
     "", "Site manager only.", "No IT staff; the site manager follows checklists well.",
     "Under 50 employees per site."),
]  # fmt: skip


def _first_project_steps() -> dict[str, PathStep]:
    steps = PathStep.objects.filter(stage__path__name=FIRST_PROJECT).select_related("stage")
    return {s.title: s for s in steps}


def _matching_account(plans, industry: str, band: str, used: set[int]) -> int | None:
    """A demo account of the case's industry and size band, for the case's 'customer'."""
    for plan in plans:
        pk = getattr(plan, "pk", None)
        if pk is None or pk in used:
            continue
        if plan.industry == industry and Account.size_band_for(plan.employees) == band:
            used.add(pk)
            return pk
    return None


def load(builder) -> dict:
    """Create the demo know-how and best practices; `builder` has `users` (username ->
    User), `plans` (with `pk`, `industry`, `employees`) and `rng`. Returns counts."""
    rng = random.Random(builder.rng.random())
    now = timezone.now()
    csms = sorted((u for u in builder.users.values() if u.role == User.Role.CSM), key=lambda u: u.username) or sorted(
        builder.users.values(), key=lambda u: u.username
    )
    managers = [u for u in builder.users.values() if u.role == User.Role.MANAGER]
    voters_pool = csms + managers
    steps = _first_project_steps()
    plans = list(getattr(builder, "plans", []) or [])
    account_pks = [p.pk for p in plans if getattr(p, "pk", None)]
    counts = {"know_how": 0, "helpful_votes": 0, "best_practices": 0}

    if steps and not KnowHow.objects.filter(step__in=steps.values()).exists():
        through = KnowHow.helpful.through
        votes = []
        for title, entries in KNOW_HOW.items():
            step = steps.get(title)
            if step is None:
                continue
            for difficulty, solution in entries:
                author = rng.choice(csms)
                entry = KnowHow.objects.create(
                    step=step,
                    difficulty=difficulty,
                    solution=solution,
                    author=author,
                    account_id=rng.choice(account_pks) if account_pks and rng.random() < 0.6 else None,
                )
                created = now - dt.timedelta(days=rng.randint(3, 150), hours=rng.randint(0, 9))
                KnowHow.objects.filter(pk=entry.pk).update(created_at=created)
                others = [u for u in voters_pool if u.pk != author.pk]
                for voter in rng.sample(others, k=min(len(others), rng.choice([0, 0, 1, 2, 3, 4, 6, 8]))):
                    votes.append(through(knowhow_id=entry.pk, user_id=voter.pk))
                counts["know_how"] += 1
        through.objects.bulk_create(votes, ignore_conflicts=True)
        counts["helpful_votes"] = len(votes)

    existing = set(BestPractice.objects.filter(title__in=[c[0] for c in CASES]).values_list("title", flat=True))
    used: set[int] = set()
    for title, industry, band, story, outcome, policy, resources, capability, volume in CASES:
        if title in existing:
            continue
        case = BestPractice.objects.create(
            title=title,
            industry=industry,
            size_band=band,
            account_id=_matching_account(plans, industry, band, used) if rng.random() < 0.7 else None,
            story=story,
            outcome=outcome,
            policy_support=policy,
            resources=resources,
            organisational_capability=capability,
            business_volume=volume,
            author=rng.choice(voters_pool) if voters_pool else None,
        )
        BestPractice.objects.filter(pk=case.pk).update(created_at=now - dt.timedelta(days=rng.randint(10, 300)))
        counts["best_practices"] += 1
    return counts
