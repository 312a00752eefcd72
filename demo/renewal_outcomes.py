"""Renewal outcomes and churn records for the demo: past renewals get the MRR that was up
for renewal, what renewed, who closed them and when, reasons from the taxonomy and a story
that agrees with them (first-year ones owned by sales, the CSM beside); a few committed
renewals due soon are signed early (with the next term's subscriptions); downsized renewals
show in the subscriptions (the next term at the lower MRR), so the retention metrics see
the downsell; every churned account gets its churn record. Its own random stream."""

import datetime as dt
import random
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from accounts.models import Account
from renewals.models import ChurnRecord, Renewal, RenewalReason, Subscription
from renewals.services import renewals_risk_refresh

S = Renewal.Stage

RENEW = {
    "Product fit": (
        "Their order-to-cash process runs on it now; the renewal was never in doubt.",
        "订单到回款流程已经完全跑在系统上，续约没有悬念。",
    ),
    "Price": (
        "Renewed after we held the price for two years in exchange for a longer term.",
        "我们承诺两年不涨价，客户签了更长的合同期。",
    ),
    "Service value": (
        "The monthly reviews and fast fixes won the sponsor over; she calls us their best vendor.",
        "月度复盘和快速响应让发起人非常满意，称我们是最好的供应商。",
    ),
    "Executive relationship": (
        "Our VP's quarterly visits with their COO made the renewal a formality.",
        "我们VP与对方COO的季度会面让续约水到渠成。",
    ),
}
DOWNSIZE = {
    "Budget cut": (
        "Renewed with fewer seats: two regional offices had their budgets cut.",
        "降级续约：两个区域分公司预算削减，减少了席位。",
    ),
    "Never adopted the product": (
        "Dropped the seats that were never used; the core team renewed.",
        "去掉了从未使用的席位，核心团队续约。",
    ),
    "Missing capability": (
        "Dropped the analytics add-on, which lacked the reports they needed; the core product renewed.",
        "分析模块缺少客户需要的报表，已停用，核心产品续约。",
    ),
    "Price": (
        "Moved to a smaller edition to fit the new budget ceiling.",
        "为适配新的预算上限，改签了较低版本。",
    ),
}
CHURN = {
    "Never adopted the product": (
        "Usage never took off after go-live: only the project team logged in and the business kept its spreadsheets.",
        "上线后业务部门一直没用起来，只有项目组在登录，业务仍用Excel。",
    ),
    "Budget cut": (
        "The group froze IT spending for the year; every subscription without a clear owner was cancelled.",
        "集团年度IT预算冻结，没有明确负责人的订阅全部取消。",
    ),
    "Moved to a competitor": (
        "Switched to a competitor's suite that their new parent company already uses.",
        "新母公司统一使用竞品套件，客户随之切换。",
    ),
    "Missing capability": (
        "They needed multi-entity consolidation, which is not on our roadmap this year.",
        "客户需要多法人合并报表，今年的产品路线图里没有。",
    ),
    "Price": (
        "Procurement asked for 30% off; we could offer 10%, and they chose a cheaper local tool.",
        "采购要求降价30%，我们最多给10%，客户选择了更便宜的本地工具。",
    ),
    "Poor service experience": (
        "Three escalations in a quarter with slow answers; the sponsor lost trust in the team.",
        "一个季度内三次升级投诉且响应慢，发起人对团队失去了信任。",
    ),
    "Champion or decision maker left": (
        "The CIO who bought us left in spring; his successor brought his own vendors.",
        "采购我们的CIO春天离职，继任者带来了自己的供应商。",
    ),
    "Acquired, merged or closed": (
        "Acquired by a group that runs everything on its own ERP; the contract was not renewed.",
        "客户被集团收购，统一使用集团ERP，合同未续。",
    ),
}
# How likely each reason is, by the account's health band: healthy customers renew for
# fit and service, unhealthy ones for price or the relationship; churn follows the band.
RENEW_WEIGHTS = {
    "green": [5, 1, 4, 2],
    "yellow": [2, 3, 2, 3],
    "red": [1, 4, 1, 3],
    "": [3, 2, 3, 2],
}
CHURN_WEIGHTS = [4, 3, 3, 2, 2, 2, 2, 1]


def _story(texts: dict, names: list[str], chinese: bool) -> str:
    return " ".join(texts[name][1 if chinese else 0] for name in names if name in texts)


def _pick(rng: random.Random, names: list[str], weights: list[int], k: int) -> list[str]:
    chosen: list[str] = []
    while len(chosen) < k:
        name = rng.choices(names, weights)[0]
        if name not in chosen:
            chosen.append(name)
    return chosen


def _shares(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """`total` split in proportion to `weights` (evenly when they are all 0), to the cent."""
    whole = sum(weights, Decimal(0))
    if not whole:
        weights, whole = [Decimal(1)] * len(weights), Decimal(len(weights))
    return [(total * w / whole).quantize(Decimal("0.01")) for w in weights]


def _fewer(quantity: int, ratio: Decimal) -> int:
    return max(1, min(quantity, int((quantity * ratio).to_integral_value())))


def _downsell(downsized: list[Renewal]) -> None:
    """Make the subscriptions agree with the downsized renewals: the next term (starting on
    the due date) at the renewed MRR, the term that ended on it at the MRR up for renewal.
    A term's subscriptions that end on the due date keep their MRR and the next-term ones
    starting on it are lowered (or created when missing); a subscription running through
    the due date (a multi-year contract renewed for another year) is split there."""
    subs_by_account: dict[int, list[Subscription]] = {}
    accounts = {r.account_id for r in downsized}
    for s in Subscription.objects.filter(account_id__in=accounts).order_by("start_date", "pk"):
        subs_by_account.setdefault(s.account_id, []).append(s)
    changed, created = [], []
    for r in downsized:
        due, subs = r.due_date, subs_by_account.get(r.account_id, [])
        if not r.term_mrr or r.renewed_mrr is None or r.renewed_mrr >= r.term_mrr:
            continue
        ratio = r.renewed_mrr / r.term_mrr
        ending = [s for s in subs if s.end_date == due]
        following = [s for s in subs if s.start_date == due]
        if ending and following:
            for s, mrr in zip(following, _shares(r.renewed_mrr, [s.mrr for s in following]), strict=True):
                s.mrr, s.quantity = mrr, _fewer(s.quantity, ratio)
                changed.append(s)
        elif ending:
            next_end = due + relativedelta(years=1)
            for s, mrr in zip(ending, _shares(r.renewed_mrr, [s.mrr for s in ending]), strict=True):
                created.append(
                    Subscription(
                        account_id=s.account_id, product_id=s.product_id, start_date=due, end_date=next_end, mrr=mrr,
                        quantity=_fewer(s.quantity, ratio), bill_period_months=s.bill_period_months,
                        discount=s.discount,
                    )
                )  # fmt: skip
        else:
            # The term's subscriptions run through the due date to a year after it.
            through = [s for s in subs if s.start_date < due and s.end_date == due + relativedelta(years=1)]
            weights = [s.mrr for s in through]
            before = _shares(r.term_mrr, weights)
            after = _shares(r.renewed_mrr, weights)
            for s, old, new in zip(through, before, after, strict=True):
                created.append(
                    Subscription(
                        account_id=s.account_id, product_id=s.product_id, start_date=due, end_date=s.end_date,
                        mrr=new, quantity=_fewer(s.quantity, ratio), bill_period_months=s.bill_period_months,
                        discount=s.discount,
                    )
                )  # fmt: skip
                s.end_date, s.mrr = due, old
                changed.append(s)
    Subscription.objects.bulk_update(changed, ["end_date", "mrr", "quantity"], batch_size=500)
    Subscription.objects.bulk_create(created, batch_size=500)


def load(builder) -> dict:
    rng = random.Random(builder.rng.random())
    today = builder.today
    reasons = {(r.kind, r.name): r for r in RenewalReason.objects.all()}
    Through = Renewal.reasons.through
    links: list = []

    def link(renewal_id: int, kind: str, names: list[str]) -> None:
        links.extend(Through(renewal_id=renewal_id, renewalreason_id=reasons[(kind, n)].pk) for n in names)

    accounts = {a.pk: a for a in Account.objects.select_related("csm", "sales_owner")}
    first_start: dict[int, dt.date] = {}
    for account_id, start in Subscription.objects.order_by("start_date").values_list("account_id", "start_date"):
        first_start.setdefault(account_id, start)

    # Past renewals: decided, with reasons, story and the figures.
    past = list(
        Renewal.objects.filter(due_date__lt=today).exclude(stage__in=Renewal.OPEN_STAGES).order_by("due_date", "pk")
    )
    churn_stories: dict[int, tuple[list[str], str]] = {}
    for r in past:
        account = accounts[r.account_id]
        chinese = account.name[0] > "\u2e80"
        band = account.health_band or ""
        r.term_mrr = r.forecast_mrr
        r.closed_by_id = r.owner_id
        started = first_start.get(r.account_id)
        if started and started > r.due_date - relativedelta(months=13) and account.sales_owner_id:
            r.owner_rule = Renewal.OwnerRule.FIRST_YEAR
            r.owner_id, r.co_owner_id = account.sales_owner_id, account.csm_id
            r.closed_by_id = account.sales_owner_id
        if r.stage == S.RENEWED:
            names = _pick(rng, list(RENEW), RENEW_WEIGHTS.get(band, RENEW_WEIGHTS[""]), rng.choice([1, 1, 2]))
            grew = rng.random() < 0.3
            growth = Decimal(str(rng.uniform(1.05, 1.25))) if grew else Decimal(1)
            r.renewed_mrr = (r.term_mrr * growth).quantize(Decimal("0.01"))
            r.outcome = _story(RENEW, names, chinese)
            r.closed_on = min(today, r.due_date - dt.timedelta(days=rng.randint(0, 25)))
            r.probability = 100
            link(r.pk, "renew", names)
        elif r.stage == S.DOWNSIZED:
            names = _pick(rng, list(DOWNSIZE), [3, 2, 2, 2], 1)
            r.renewed_mrr = (r.term_mrr / Decimal("1.3")).quantize(Decimal("0.01"))
            r.outcome = _story(DOWNSIZE, names, chinese)
            r.closed_on = min(today, r.due_date - dt.timedelta(days=rng.randint(0, 15)))
            r.probability = 100
            link(r.pk, "churn", names)
        else:
            names = _pick(rng, list(CHURN), CHURN_WEIGHTS, rng.choice([1, 1, 2]))
            r.renewed_mrr = Decimal(0)
            r.outcome = _story(CHURN, names, chinese)
            r.closed_on = min(today, r.due_date + dt.timedelta(days=rng.randint(0, 10)))
            r.probability = 0
            link(r.pk, "churn", names)
            churn_stories[r.account_id] = (names, r.outcome)
    fields = ["term_mrr", "renewed_mrr", "outcome", "closed_on", "closed_by", "probability", "owner_rule", "owner",
              "co_owner"]  # fmt: skip
    Renewal.objects.bulk_update(past, fields, batch_size=500)
    _downsell([r for r in past if r.stage == S.DOWNSIZED])

    # A few committed renewals due within three weeks are signed early, with the next term.
    soon = list(
        Renewal.objects.filter(
            stage=S.COMMITTED, due_date__gte=today, due_date__lte=today + dt.timedelta(days=21)
        ).order_by("due_date", "pk")
    )
    early = [r for r in soon if rng.random() < 0.4]
    next_terms = []
    for r in early:
        account = accounts[r.account_id]
        band = account.health_band or ""
        names = _pick(rng, list(RENEW), RENEW_WEIGHTS.get(band, RENEW_WEIGHTS[""]), 1)
        r.stage, r.renewed_mrr, r.probability = S.RENEWED, r.term_mrr, 100
        r.outcome = _story(RENEW, names, account.name[0] > "\u2e80")
        r.closed_on, r.closed_by_id = today - dt.timedelta(days=rng.randint(0, 6)), r.owner_id
        link(r.pk, "renew", names)
        for s in Subscription.objects.filter(account_id=r.account_id, end_date=r.due_date):
            s.pk, s.start_date, s.end_date = None, r.due_date, r.due_date + relativedelta(years=1)
            next_terms.append(s)
    Renewal.objects.bulk_update(early, ["stage", "renewed_mrr", "probability", "outcome", "closed_on", "closed_by"])
    Subscription.objects.bulk_create(next_terms)

    # Churn records for every churned account, agreeing with its lost renewal when known.
    churned_renewals = dict(
        Renewal.objects.filter(stage=S.CHURNED).order_by("due_date").values_list("account_id", "pk")
    )
    records, record_reasons = [], []
    for plan in builder.plans:
        if plan.stage != Account.Stage.CHURNED:
            continue
        account = accounts[plan.pk]
        day = plan.main_end
        before = day - dt.timedelta(days=1)
        lost = sum((s.mrr for s in plan.subs if s.start <= before and (s.end is None or s.end > before)), Decimal(0))
        names, story = churn_stories.get(plan.pk) or (None, "")
        if names is None:
            names = _pick(rng, list(CHURN), CHURN_WEIGHTS, rng.choice([1, 1, 2]))
            story = _story(CHURN, names, account.name[0] > "\u2e80")
        records.append(
            ChurnRecord(
                account=account, renewal_id=churned_renewals.get(plan.pk), churned_on=day, mrr_lost=lost,
                story=story, recorded_by=account.csm,
            )
        )  # fmt: skip
        record_reasons.append(names)
    ChurnRecord.objects.bulk_create(records)
    saved = list(ChurnRecord.objects.filter(account_id__in=[r.account_id for r in records]).order_by("pk"))
    by_account = {r.account_id: r for r in saved}
    RecordThrough = ChurnRecord.reasons.through
    RecordThrough.objects.bulk_create(
        [
            RecordThrough(churnrecord_id=by_account[rec.account_id].pk, renewalreason_id=reasons[("churn", n)].pk)
            for rec, names in zip(records, record_reasons, strict=True)
            for n in names
        ]
    )
    for record in saved:
        day = min(today, record.churned_on + dt.timedelta(days=rng.randint(0, 7)))
        recorded = dt.datetime.combine(day, dt.time(17, rng.randrange(60)), tzinfo=builder.tz)
        record.created_at = min(recorded, builder.now)
    ChurnRecord.objects.bulk_update(saved, ["created_at"])

    Through.objects.filter(renewal_id__in=[r.pk for r in past + early]).delete()
    Through.objects.bulk_create(links, batch_size=1000)

    # Open renewals: risk by the platform's rule (health and alerts are in place by now, as
    # the periodic sync would find them) and a probability the owner would give.
    renewals_risk_refresh()
    still_open = list(Renewal.objects.filter(stage__in=Renewal.OPEN_STAGES).order_by("due_date", "pk"))
    base = {S.UPCOMING: 75, S.IN_PROGRESS: 70, S.COMMITTED: 92}
    for r in still_open:
        cut = {Renewal.Risk.HIGH: 30, Renewal.Risk.MEDIUM: 12}.get(r.risk, 0) if r.stage != S.COMMITTED else 0
        r.probability = max(10, min(100, base[r.stage] - cut + 5 * rng.randint(-2, 2)))
    Renewal.objects.bulk_update(still_open, ["probability"], batch_size=500)
    return {"renewals_closed": len(past) + len(early), "renewals_signed_early": len(early), "churn_records": len(saved)}
