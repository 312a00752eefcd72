"""Expansion leads and partial payments for the demo (issue 8): upsell and cross-sell leads
found by the demo CSMs on their accounts, in every status: some just found, some with the
demo sales people, some won with the MRR they brought, some lost with the reason. Plus a
few invoices paid in part. Everything goes through renewals.leads and
renewals.collections, so the sales people get their notifications as they would. Its own
random stream."""

import datetime as dt
import random
from decimal import Decimal

from accounts.models import Account
from people.models import Notification
from renewals import collections, leads
from renewals.models import Invoice, Lead, Product

# (kind, product code or None for the account's own, English title, Chinese title); {n} seats, {city}
IDEAS = [
    ("upsell", None, "Add {n} seats for the {city} plant", "为{city}工厂增加{n}个账号"),
    ("upsell", "crm-enterprise", "Upgrade the sales team to CRM Enterprise", "销售团队升级到CRM企业版"),
    ("upsell", "mobile-addon", "Mobile add-on for {n} field engineers", "为{n}名外勤工程师开通移动端"),
    ("upsell", None, "Seats for the new {city} sales office", "{city}新销售办公室增购账号"),
    ("cross_sell", "analytics", "Cross-sell: Analytics Cloud for the finance team", "交叉销售：数据分析模块"),
    ("cross_sell", "analytics", "Management dashboards for the board", "交叉销售：管理层驾驶舱"),
    ("cross_sell", "scm-core", "SCM Core for the new warehouse in {city}", "{city}新仓库上线供应链模块"),
    ("cross_sell", "scm-core", "Supplier portal for 200 vendors", "交叉销售：供应商协同门户"),
]  # fmt: skip
NEEDS = [
    ("The customer is opening a second production line and wants the same setup there.",
     "客户新开一条产线，希望沿用现有配置。"),
    ("Their CFO asked for month-end reports without exporting to Excel.", "财务总监希望月底报表不再导出Excel。"),
    ("Field staff keep visit notes on paper; the regional manager wants them in the system.",
     "外勤人员还在纸上记录拜访，区域经理希望全部线上化。"),
]  # fmt: skip
LOST = [
    ("Budget frozen until the next fiscal year.", "预算冻结，明年再议。"),
    ("Chose a competitor's tool bundled with their ERP.", "客户选择了ERP自带的竞品。"),
    ("The plant expansion was postponed.", "工厂扩建项目延期。"),
    ("The sponsor left the company.", "关键决策人离职。"),
]
# share of leads in each status
MIX = [(Lead.Status.OPEN, 0.28), (Lead.Status.WITH_SALES, 0.24), (Lead.Status.WON, 0.32), (Lead.Status.LOST, 0.16)]


def _chinese(name: str) -> bool:
    return name[:1] > "\u2e80"


def load(builder) -> dict:
    rng = random.Random(builder.rng.random())
    today = builder.today
    plans = [p for p in builder.plans if p.pk and p.owner and not p.handover and p.stage != "churned" and p.subs]
    n = max(len(MIX) * 2, round(len(plans) * 0.2))
    statuses = [status for status, share in MIX for _ in range(max(1, round(n * share)))]
    rng.shuffle(statuses)
    chosen = rng.sample(plans, min(len(plans), len(statuses)))
    accounts = Account.objects.select_related("csm", "sales_owner").in_bulk([p.pk for p in chosen])
    products = {p.code: p for p in Product.objects.all()}
    sellers = [builder.users[name] for name in builder.sales_people]
    created_on: dict[int, dt.date] = {}
    counts = {s: 0 for s, _share in MIX}
    for plan, status in zip(chosen, statuses, strict=False):
        account = accounts[plan.pk]
        kind, code, en, zh = rng.choice(IDEAS)
        seats = rng.choice([10, 20, 30, 50, 80])
        city_zh, city_en = plan.city
        chinese = _chinese(account.name)
        title = (zh if chinese else en).format(n=seats, city=city_zh if chinese else city_en)
        product = products.get(code or plan.subs[0].product)
        price = Decimal(rng.choice([45, 120, 150, 220]))
        estimate = (price * seats * Decimal(rng.uniform(0.7, 1.0))).quantize(Decimal("1"))
        need_en, need_zh = rng.choice(NEEDS)
        # Open leads are fresh; closed ones went through sales over the past months.
        age = rng.randint(3, 40) if status == Lead.Status.OPEN else rng.randint(40, 320)
        found = today - dt.timedelta(days=age)
        lead = leads.lead_create(
            account=account, by=account.csm, kind=kind, title=title, product=product, estimated_mrr=estimate,
            description=need_zh if chinese else need_en,
        )  # fmt: skip
        created_on[lead.pk] = found
        if status == Lead.Status.OPEN:
            counts[status] += 1
            continue
        if status == Lead.Status.LOST and rng.random() < 0.3:  # dropped before sales saw it
            reason_en, reason_zh = rng.choice(LOST)
            leads.lead_mark_lost(lead=lead, by=account.csm, reason=reason_zh if chinese else reason_en,
                                 on=found + dt.timedelta(days=rng.randint(5, 20)), today=today)  # fmt: skip
            counts[status] += 1
            continue
        seller = account.sales_owner if account.sales_owner and rng.random() < 0.8 else rng.choice(sellers)
        if status == Lead.Status.WITH_SALES:
            handed = today - dt.timedelta(days=rng.randint(1, min(age - 1, 45)))
        else:
            handed = found + dt.timedelta(days=rng.randint(2, 15))
        lead = leads.lead_hand_to_sales(lead=lead, by=account.csm, sales_owner=seller, on=handed, today=today)
        closed = min(today, handed + dt.timedelta(days=rng.randint(10, 60)))
        if status == Lead.Status.WON:
            won = (estimate * Decimal(rng.uniform(0.8, 1.25))).quantize(Decimal("1"))
            leads.lead_mark_won(lead=lead, by=seller, won_mrr=won, on=closed, today=today)
        elif status == Lead.Status.LOST:
            reason_en, reason_zh = rng.choice(LOST)
            leads.lead_mark_lost(lead=lead, by=seller, reason=reason_zh if chinese else reason_en, on=closed,
                                 today=today)  # fmt: skip
        counts[status] += 1
    _date_leads(builder, created_on)
    partial = _partial_payments(builder, rng)
    return {
        "leads": sum(counts.values()),
        "leads_won": counts[Lead.Status.WON],
        "partial_payments": partial,
    }


def _date_leads(builder, created_on: dict[int, dt.date]) -> None:
    """auto_now_add stamped the leads now: put the planned days back, and date (and mark
    read, when older than a week) the notifications the hand-overs and closes sent."""
    objs = list(Lead.objects.filter(pk__in=list(created_on)))
    for lead in objs:
        lead.created_at = builder._at(created_on[lead.pk])
    Lead.objects.bulk_update(objs, ["created_at"], batch_size=500)
    for lead in objs:
        day = lead.closed_on or lead.handed_on
        if day is None:
            continue
        at = builder._at(day)
        read = at if (builder.today - day).days > 7 else None
        Notification.objects.filter(url=leads.lead_url(lead)).update(created_at=at, read_at=read)


def _partial_payments(builder, rng: random.Random) -> int:
    """Part of a few open invoices paid, recorded by the account's CSM."""
    today = builder.today
    open_invoices = list(
        Invoice.objects.filter(paid_on__isnull=True, paid_amount=0, issued_on__lt=today, account__csm__isnull=False)
        .select_related("account", "account__csm")
        .order_by("pk")
    )
    picked = rng.sample(open_invoices, min(len(open_invoices), max(3, round(len(open_invoices) * 0.08))))
    paid = 0
    for invoice in picked:
        share = Decimal(rng.choice([20, 30, 40, 50, 60])) / 100
        amount = (invoice.amount * share).quantize(Decimal("1"))
        if amount <= 0:
            continue
        days = max(0, (today - invoice.issued_on).days - 1)
        collections.invoice_payment_record(
            invoice=invoice,
            by=invoice.account.csm,
            amount=amount,
            paid_on=invoice.issued_on + dt.timedelta(days=rng.randint(0, days)),
            today=today,
        )
        paid += 1
    return paid
