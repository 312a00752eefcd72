"""The customer-file part of the demo (一客一档): file sections with a realistic spread of
completeness, segmentation (service model, product view, usage driver), stakeholder
detail, activity participants, the lifecycle stage history and an audit trail.

Runs after the main load with its own random stream, so adding it did not change any
account, score or renewal the rest of the demo draws."""

import datetime as dt
import random

from django.utils import timezone

from accounts.models import Account, AccountStageChange, Activity, CustomerFile, Stakeholder
from accounts.services import account_completeness_refresh, account_tiers_refresh
from people.models import User

S = Account.Stage
SR = Stakeholder.Role

# The order an account moves through its life; churned leaves from wherever it was.
PATH = [S.HANDOVER, S.KICKOFF, S.ONBOARDING, S.ADOPTION, S.MATURE, S.RENEWAL]

SECTIONS_EN = {
    "overview": [
        "{industry} company headquartered in {city}, about {employees:,} employees; listed on the SZSE since 2015.",
        "Family-owned {industry} group in {city}, {employees:,} staff in three business units, growing 15% a year.",
        "Regional leader in {industry} around {city}; {employees:,} employees, 40% of revenue from exports.",
    ],
    "organisation": [
        "CEO → COO → Operations (our main users) and IT (platform owner). Finance signs off every renewal.",
        "Board chaired by the founder; a VP per business unit; IT is a shared service of 12 people under the CFO.",
        "Flat: the general manager decides; the operations director runs the project; procurement sits in group HQ.",
    ],
    "products_bought": [
        "{products}; rolled out to operations first, sales offices in phase two.",
        "{products}. Seats bought for head office; branches to follow if the pilot works.",
    ],
    "why_bought": [
        "Month-end reporting took 6 days in spreadsheets; they want it in 1 and one version of the numbers.",
        "The old system was end-of-life; audit found gaps in approval records.",
        "Growth: they open 20 new sites a year and need one process everywhere.",
    ],
    "sales_promises": [
        "Go-live within 8 weeks; Chinese-language training on site; an integration with their ERP by Q2.",
        "A dedicated CSM, a quarterly business review with the COO, and a price lock for the second year.",
        "Custom approval flow for purchases above 500k CNY; data migration of 3 years of history.",
    ],
    "internal_politics": [
        "IT would have preferred an in-house build; the COO pushed us through. Keep IT involved in every decision.",
        "Two business units compete for budget; the one not using us yet is sceptical.",
        "The new CFO reviews every software contract this year; show hard savings.",
    ],
    "process_bidding": [
        "Three quotes above 200k CNY; procurement runs the tender, the business scores it.",
        "Framework agreement with group HQ; local sites order within it.",
    ],
    "process_approval": [
        "Department head → CFO → general manager; about 3 weeks.",
        "Approval in their OA system; contracts above 1M CNY need a board signature.",
    ],
    "process_payment": [
        "Invoices (增值税专用发票) paid 60 days after receipt, in the last week of the month.",
        "Annual payment in advance, after the acceptance report is signed.",
    ],
    "process_audit": [
        "Internal audit each March checks user access lists and approval records.",
        "External audit by a Big Four firm; they ask for system logs every year-end.",
    ],
    "goals": [
        "Close the books in 1 day by June; 90% of purchase orders approved in the system.",
        "Roll out to all 12 branches this year; cut reporting headcount by 3.",
        "Every site on the same process by year-end; NPS from internal users above 40.",
    ],
}

SECTIONS_ZH = {
    "overview": [
        "{city}的{industry}企业，员工约 {employees:,} 人，2015 年在深交所上市。",
        "{city}家族控股的{industry}集团，三大事业部，员工 {employees:,} 人，年增长约 15%。",
        "{city}地区{industry}龙头，员工 {employees:,} 人，出口收入占四成。",
    ],
    "organisation": [
        "总经理 → 运营副总（主要用户）与 IT（平台负责人）；财务负责续约审批。",
        "创始人任董事长；各事业部设副总；IT 为共享服务中心，12 人，归财务总监管理。",
        "扁平：总经理拍板；运营总监负责项目；采购在集团总部。",
    ],
    "products_bought": [
        "{products}；先在运营部门上线，二期推广到销售分公司。",
        "{products}。总部先购买席位，试点成功后推广到分公司。",
    ],
    "why_bought": [
        "月结报表靠表格要 6 天，希望缩短到 1 天，并统一口径。",
        "老系统停止维护，审计发现审批记录不完整。",
        "每年新开 20 家门店，需要统一的流程。",
    ],
    "sales_promises": [
        "8 周内上线；现场中文培训；二季度前完成与 ERP 的集成。",
        "专属客户成功经理；每季度与运营副总做业务回顾；第二年价格不变。",
        "50 万元以上采购的定制审批流；迁移 3 年历史数据。",
    ],
    "internal_politics": [
        "IT 原本倾向自研，运营副总力推我们。每个决定都要拉上 IT。",
        "两个事业部争预算；尚未使用我们的那个事业部持怀疑态度。",
        "新任财务总监今年要审查所有软件合同，需要拿出实际节省的数字。",
    ],
    "process_bidding": [
        "20 万元以上需三家比价；采购部组织招标，业务部门打分。",
        "与集团总部签框架协议，各地在框架内下单。",
    ],
    "process_approval": [
        "部门负责人 → 财务总监 → 总经理，约 3 周。",
        "在 OA 系统中审批；100 万元以上合同需董事会签字。",
    ],
    "process_payment": [
        "收到增值税专用发票后 60 天付款，每月最后一周统一付款。",
        "验收报告签字后一次性预付全年费用。",
    ],
    "process_audit": [
        "内审每年 3 月检查用户权限清单和审批记录。",
        "四大会计师事务所做外审，每年年底需要系统日志。",
    ],
    "goals": [
        "6 月前实现 1 天关账；90% 的采购单在系统内审批。",
        "今年推广到全部 12 家分公司；报表岗位减少 3 人。",
        "年底前所有门店统一流程；内部用户 NPS 超过 40。",
    ],
}

INDUSTRY_ZH = {
    "manufacturing": "制造", "retail": "零售", "finance": "金融", "healthcare": "医疗", "education": "教育",
    "technology": "科技", "logistics": "物流", "real_estate": "地产", "professional_services": "专业服务",
    "energy": "能源", "other": "综合",
}  # fmt: skip

STAKEHOLDER_NOTES = {
    SR.DECISION_MAKER: (
        ["Visible savings before the budget round", "Fewer audit findings", "One set of numbers for the board"],
        ["Quarterly review with real figures", "No surprises on price", "Executive attention from our side"],
        ["Decides fast, wants one page, not a deck", "Numbers person; trusts data over anecdotes"],
    ),
    SR.DAY_TO_DAY: (
        ["Get the team to stop using spreadsheets", "Be seen as the one who made the project work"],
        ["Answers within a day", "Training for new hires every quarter", "A roadmap they can share internally"],
        ["Detail-oriented, prefers WeChat to email", "Friendly, but escalates quickly when blocked"],
    ),
}
SECTION_KEYS = list(SECTIONS_EN)


def load(builder) -> dict:
    """Add the customer-file data to what `builder` (demo.services._Demo) wrote."""
    rng = random.Random(builder.rng.random())
    plans = builder.plans
    accounts = {a.pk: a for a in Account.objects.filter(pk__in=[p.pk for p in plans])}
    _segments(rng, plans, accounts)
    files = _files(rng, builder, plans, accounts)
    _stakeholders(rng, plans)
    _participants(rng, plans)
    changes = _stage_history(rng, builder, plans, accounts)
    _audit_trail(rng, builder, plans, accounts, files)
    account_tiers_refresh(as_of=builder.today)
    account_completeness_refresh()
    return {"customer_files": len(files), "stage_changes": changes}


def _segments(rng, plans, accounts) -> None:
    for plan in plans:
        account = accounts[plan.pk]
        account.service_model = rng.choices(
            list(Account.ServiceModel.values), {"strategic": [1, 3, 4], "key": [3, 4, 2]}.get(plan.tier, [6, 3, 1])
        )[0]
        account.product_view = rng.choices(list(Account.ProductView.values), [3, 4, 2, 1])[0]
        account.usage_driver = rng.choices(list(Account.UsageDriver.values), [5, 3, 1, 2])[0]
    Account.objects.bulk_update(accounts.values(), ["service_model", "product_view", "usage_driver"], batch_size=500)


def _fill_share(plan) -> float:
    """How much of its file a CSM has written: little at handover, most for mature customers
    that are cared for, less for the neglected ones."""
    if plan.stage in (S.HANDOVER, S.KICKOFF) or plan.handover:
        return 0.25
    share = {S.ONBOARDING: 0.4, S.ADOPTION: 0.55, S.MATURE: 0.7, S.RENEWAL: 0.7, S.CHURNED: 0.35}.get(plan.stage, 0.5)
    if plan.neglected:
        share -= 0.35
    return share


def _files(rng, builder, plans, accounts) -> dict[int, CustomerFile]:
    files = {}
    # Accepted handovers already wrote their part of the file: keep it, fill the rest.
    existing = CustomerFile.objects.in_bulk([plan.pk for plan in plans], field_name="account_id")
    for plan in plans:
        chinese = plan.name[0] > "\u2e80"
        texts = SECTIONS_ZH if chinese else SECTIONS_EN
        industry = INDUSTRY_ZH[plan.industry] if chinese else Account.Industry(plan.industry).label
        names = [builder.products[sub.product].name for sub in plan.subs]
        products = "、".join(names) if chinese else ", ".join(names)
        share = _fill_share(plan)
        values = {}
        for key in SECTION_KEYS:
            # Sales fills what it knows at handover: the overview, what was bought and promised.
            sure = plan.handover and key in ("overview", "products_bought", "sales_promises")
            if sure or rng.random() < share:
                values[key] = rng.choice(texts[key]).format(
                    city=plan.city[0] if chinese else plan.city[1],
                    industry=industry if chinese else industry.lower(),
                    employees=plan.employees,
                    products=products,
                )
        file = existing.get(plan.pk)
        if file is None:
            files[plan.pk] = CustomerFile(account_id=plan.pk, **values)
        else:
            for key, value in values.items():
                if not getattr(file, key):
                    setattr(file, key, value)
            files[plan.pk] = file
    CustomerFile.objects.bulk_create([f for f in files.values() if f.pk is None], batch_size=1000)
    CustomerFile.objects.bulk_update([f for f in files.values() if f.account_id in existing], SECTION_KEYS)
    return files


def _stakeholders(rng, plans) -> None:
    people = list(Stakeholder.objects.filter(account_id__in=[p.pk for p in plans]).order_by("pk"))
    influence = {
        SR.DECISION_MAKER: Stakeholder.Influence.HIGH, SR.EXECUTIVE_SPONSOR: Stakeholder.Influence.HIGH,
        SR.DAY_TO_DAY: Stakeholder.Influence.MEDIUM, SR.CHAMPION: Stakeholder.Influence.MEDIUM,
        SR.IT: Stakeholder.Influence.MEDIUM, SR.END_USER: Stakeholder.Influence.LOW,
    }  # fmt: skip
    for person in people:
        person.influence = influence[person.role]
        if rng.random() < 0.15 and person.role in (SR.CHAMPION, SR.IT):
            person.influence = Stakeholder.Influence.HIGH
        notes = STAKEHOLDER_NOTES.get(person.role)
        if notes and rng.random() < 0.8:
            goals, demands, personality = notes
            person.goals, person.demands = rng.choice(goals), rng.choice(demands)
            person.personality = rng.choice(personality) if rng.random() < 0.7 else ""
    Stakeholder.objects.bulk_update(people, ["influence", "goals", "demands", "personality"], batch_size=1000)


def _participants(rng, plans) -> None:
    pks = [p.pk for p in plans]
    contacts: dict[int, dict[str, list[int]]] = {}
    for pk, account_id, role in Stakeholder.objects.filter(account_id__in=pks, is_active=True).values_list(
        "pk", "account_id", "role"
    ):
        contacts.setdefault(account_id, {}).setdefault(role, []).append(pk)
    with_customer = {
        Activity.Kind.CALL, Activity.Kind.MEETING, Activity.Kind.ONSITE_VISIT, Activity.Kind.EXECUTIVE_VISIT,
        Activity.Kind.TRAINING, Activity.Kind.BUSINESS_REVIEW, Activity.Kind.CHECK_IN, Activity.Kind.EMAIL,
    }  # fmt: skip
    senior = {Activity.Kind.EXECUTIVE_VISIT, Activity.Kind.BUSINESS_REVIEW}
    theirs, ours = [], []
    Through, Ours = Activity.stakeholders.through, Activity.participants.through
    for pk, account_id, kind, by in (
        Activity.objects.filter(account_id__in=pks).order_by("pk").values_list("pk", "account_id", "kind", "created_by")
    ):
        if by:
            ours.append(Ours(activity_id=pk, user_id=by))
        if kind not in with_customer:
            continue
        roles = contacts.get(account_id, {})
        wanted = [SR.DECISION_MAKER, SR.EXECUTIVE_SPONSOR] if kind in senior else [SR.DAY_TO_DAY]
        if kind in (Activity.Kind.TRAINING, Activity.Kind.MEETING, Activity.Kind.ONSITE_VISIT):
            wanted += [SR.END_USER, SR.CHAMPION, SR.IT]
        chosen = {p for role in wanted for p in roles.get(role, []) if rng.random() < 0.8}
        if not chosen and roles.get(SR.DAY_TO_DAY):
            chosen = {roles[SR.DAY_TO_DAY][0]}
        theirs += [Through(activity_id=pk, stakeholder_id=s) for s in sorted(chosen)]
    Through.objects.bulk_create(theirs, batch_size=2000)
    Ours.objects.bulk_create(ours, batch_size=2000)


def _stage_history(rng, builder, plans, accounts) -> int:
    rows = []
    for plan in plans:
        account = accounts[plan.pk]
        final = account.lifecycle_stage
        if final == S.CHURNED:
            reached = rng.choice([S.ONBOARDING, S.ADOPTION, S.MATURE, S.RENEWAL])
            steps = PATH[: PATH.index(reached) + 1] + [S.CHURNED]
        else:
            steps = PATH[: PATH.index(final) + 1]
        start = timezone.localtime(account.created_at).date()
        last_day = min(builder.today, plan.main_end or builder.today) - dt.timedelta(days=1)
        span = max(0, (last_day - start).days)
        # Early stages take days to weeks; later ones spread over the rest of the contract.
        t, when = 0, [start]
        for k, step in enumerate(steps[1:], start=1):
            after = len(steps) - 1 - k
            if step in (S.KICKOFF, S.ONBOARDING):
                step_days = rng.randint(3, 15)
            else:
                step_days = rng.randint(10, max(10, (span - t) // (after + 1)))
            t = min(span, t + step_days)
            when.append(start + dt.timedelta(days=t))
        previous = ""
        for stage, day in zip(steps, when, strict=True):
            rows.append(
                AccountStageChange(
                    account_id=plan.pk,
                    from_stage=previous,
                    to_stage=stage,
                    changed_by_id=account.sales_owner_id if stage == S.HANDOVER else account.csm_id,
                    changed_at=builder._at(day),
                )
            )
            previous = stage
    planned = [row.changed_at for row in rows]
    AccountStageChange.objects.bulk_create(rows, batch_size=2000)
    # auto_now_add overwrote the dates on insert; put the planned ones back.
    for row, when in zip(rows, planned, strict=True):
        row.changed_at = when
    AccountStageChange.objects.bulk_update(rows, ["changed_at"], batch_size=2000)
    return len(rows)


def _audit_trail(rng, builder, plans, accounts, files) -> None:
    """History as if people had done the work in the app: sales created the account and the
    first lines of the file, the CSM wrote the rest later, people who left were marked."""
    users = User.objects.in_bulk(
        ({a.csm_id for a in accounts.values()} | {a.sales_owner_id for a in accounts.values()}) - {None}
    )
    for account in accounts.values():
        account._history_user = users.get(account.sales_owner_id)
        account._history_date = account.created_at
    Account.history.bulk_history_create(list(accounts.values()), batch_size=1000)

    first, later = [], []
    for plan in plans:
        account, final = accounts[plan.pk], files[plan.pk]
        created = account.created_at
        blank = CustomerFile(pk=final.pk, account_id=plan.pk)
        for key in ("overview", "products_bought", "sales_promises"):
            setattr(blank, key, getattr(final, key))
        blank._history_user, blank._history_date = users.get(account.sales_owner_id), created
        first.append(blank)
        if account.csm_id and any(getattr(final, k) != getattr(blank, k) for k in SECTION_KEYS):
            span = max(1, (builder.now - created).days)
            final._history_user = users.get(account.csm_id)
            final._history_date = min(builder.now, created + dt.timedelta(days=rng.randint(min(7, span), span)))
            later.append(final)
    CustomerFile.history.bulk_history_create(first, batch_size=1000)
    CustomerFile.history.bulk_history_create(later, batch_size=1000, update=True)

    people = list(Stakeholder.objects.filter(account_id__in=accounts).order_by("pk"))
    joined, left = [], []
    for person in people:
        account = accounts[person.account_id]
        gone = (person.is_active, person.left_on)
        person.is_active, person.left_on = True, None
        person._history_user, person._history_date = users.get(account.sales_owner_id), account.created_at
        joined.append(person)
        if not gone[0]:
            copy = Stakeholder(**{f.attname: getattr(person, f.attname) for f in Stakeholder._meta.concrete_fields})
            copy.is_active, copy.left_on = gone
            copy._history_user = users.get(account.csm_id)
            copy._history_date = builder._at(gone[1])
            left.append(copy)
    Stakeholder.history.bulk_history_create(joined, batch_size=1000)
    Stakeholder.history.bulk_history_create(left, batch_size=1000, update=True)
