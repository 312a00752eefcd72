"""Realistic demo data: three CS teams and a book of business of a few hundred accounts
with subscriptions, renewals, stakeholders, a timeline, product usage, 90 days of health,
alerts, playbooks, tasks and handovers in every status.

Deterministic for a given seed and `today` (one `random.Random`, rows read back in a
fixed order). Big tables are written with `bulk_create`; the flows that carry rules
(renewal sync, rollup, scoring, alerts, playbook launches, the handover flow) go
through their apps' services so the demo shows what the platform itself would write."""

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import Account, Activity, Stakeholder
from accounts.services import account_health_set
from demo import customer_files
from demo import invoices as demo_invoices
from demo import kickoffs as demo_kickoffs
from demo import knowhow as demo_knowhow
from demo import leads as demo_leads
from demo import plans as demo_plans
from demo import renewal_outcomes as demo_renewal_outcomes
from demo import surveys as demo_surveys
from handover import services as handover_services
from handover.models import Handover, HandoverTransition
from health.alerts import alerts_evaluate
from health.calibration import calibrate
from health.models import Alert, EventType, HealthScore, UsageDaily, UsageEvent
from health.services import alert_raise, alert_set_status, band_for, health_score_run, usage_rollup
from people.models import Team, User
from playbooks.models import Playbook, PlaybookRun, PlaybookStep, Task
from playbooks.services import playbook_launch
from playbooks.services.cadence import cadence_tasks_create
from renewals.models import Product, Renewal, Subscription
from renewals.services import renewals_risk_refresh, renewals_sync

DEMO_PASSWORD = "demo12345"
MIN_ACCOUNTS = 20
HISTORY_DAYS = 90
USAGE_DAYS = 31
# Days before those with the daily usage rollup only (for backtests, trends and calibration).
ROLLUP_DAYS = 165

R = User.Role
S = Account.Stage
GREEN, YELLOW, RED = Account.HealthBand.GREEN, Account.HealthBand.YELLOW, Account.HealthBand.RED

# name, cities the team covers (Chinese, English)
TEAMS = [
    ("华东 East", [("上海", "Shanghai"), ("杭州", "Hangzhou"), ("南京", "Nanjing"), ("苏州", "Suzhou"),
                 ("宁波", "Ningbo"), ("武汉", "Wuhan")]),
    ("华北 North", [("北京", "Beijing"), ("天津", "Tianjin"), ("济南", "Jinan"), ("青岛", "Qingdao"),
                  ("大连", "Dalian")]),
    ("华南 South", [("深圳", "Shenzhen"), ("广州", "Guangzhou"), ("厦门", "Xiamen"), ("东莞", "Dongguan"),
                  ("成都", "Chengdu")]),
]  # fmt: skip


@dataclass(frozen=True)
class _Person:
    username: str
    first_name: str
    last_name: str
    role: str
    team: int | None = None  # index into TEAMS
    weight: int = 0  # share of the book of business a CS person carries


# Managers carry a few strategic accounts themselves (player-coaches); csm.zhou is
# deliberately overloaded so the team-load dashboard has something to show.
PEOPLE = [
    _Person("admin", "Platform", "Admin", R.ADMIN),
    _Person("manager", "静", "陈", R.MANAGER, 0, 12),
    _Person("csm", "娜", "李", R.CSM, 0, 36),
    _Person("csm.zhou", "磊", "周", R.CSM, 0, 48),
    _Person("csm.emma", "Emma", "Walker", R.CSM, 0, 36),
    _Person("mgr.zhao", "强", "赵", R.MANAGER, 1, 12),
    _Person("csm.liu", "洋", "刘", R.CSM, 1, 36),
    _Person("csm.sarah", "Sarah", "Johnson", R.CSM, 1, 36),
    _Person("csm.zhang", "伟", "张", R.CSM, 1, 36),
    _Person("mgr.lin", "Grace", "Lin", R.MANAGER, 2, 12),
    _Person("csm.huang", "敏", "黄", R.CSM, 2, 36),
    _Person("csm.tom", "Tom", "Becker", R.CSM, 2, 36),
    _Person("csm.he", "涛", "何", R.CSM, 2, 36),
    _Person("sales", "Kevin", "Wu", R.SALES),
    _Person("sales.sun", "丽", "孙", R.SALES),
    _Person("sales.james", "James", "Carter", R.SALES),
    _Person("sales.guo", "峰", "郭", R.SALES),
    _Person("integration", "CRM", "Integration", R.INTEGRATION),
]
LOGIN_ORDER = ["admin", "manager", "csm", "sales"]

# code, name, product line, list price per seat and month (CNY)
PRODUCTS = [
    ("crm-pro", "CRM Professional", "CRM", 150),
    ("crm-enterprise", "CRM Enterprise", "CRM", 280),
    ("mobile-addon", "Mobile Field Add-on", "CRM", 45),
    ("analytics", "Analytics Cloud", "Analytics", 120),
    ("scm-core", "SCM Core", "Supply chain", 220),
]
PRICE = {code: price for code, _n, _l, price in PRODUCTS}
PRODUCT_NAME = {code: name for code, name, _l, _p in PRODUCTS}

IND = Account.Industry
INDUSTRY_WEIGHTS = [
    (IND.MANUFACTURING, 18), (IND.TECHNOLOGY, 14), (IND.RETAIL, 12), (IND.LOGISTICS, 10), (IND.HEALTHCARE, 8),
    (IND.FINANCE, 8), (IND.PROFESSIONAL_SERVICES, 8), (IND.REAL_ESTATE, 6), (IND.ENERGY, 6), (IND.EDUCATION, 5),
    (IND.OTHER, 5),
]  # fmt: skip
CN_INDUSTRY_WORDS = {
    IND.MANUFACTURING: ["精密制造", "机械", "电子", "新材料", "汽车零部件"],
    IND.TECHNOLOGY: ["科技", "信息技术", "软件", "网络科技"],
    IND.RETAIL: ["商贸", "零售", "连锁", "食品"],
    IND.LOGISTICS: ["物流", "供应链", "冷链物流", "国际货运"],
    IND.HEALTHCARE: ["医疗器械", "医药", "健康科技", "生物科技"],
    IND.FINANCE: ["融资租赁", "金融服务", "保险代理"],
    IND.PROFESSIONAL_SERVICES: ["管理咨询", "人力资源服务", "企业服务"],
    IND.REAL_ESTATE: ["置业", "建设", "物业服务", "建筑工程"],
    IND.ENERGY: ["能源", "新能源", "电力", "环保科技"],
    IND.EDUCATION: ["教育科技", "培训"],
    IND.OTHER: ["实业", "文化传媒"],
}
EN_INDUSTRY_WORDS = {
    IND.MANUFACTURING: ["Manufacturing", "Industries", "Precision Parts", "Electronics"],
    IND.TECHNOLOGY: ["Technologies", "Software", "Systems", "Digital"],
    IND.RETAIL: ["Retail Group", "Stores", "Consumer Brands", "Foods"],
    IND.LOGISTICS: ["Logistics", "Freight", "Supply Chain"],
    IND.HEALTHCARE: ["Health", "Medical", "Biotech"],
    IND.FINANCE: ["Capital", "Financial Services", "Leasing"],
    IND.PROFESSIONAL_SERVICES: ["Consulting", "Partners", "Advisory"],
    IND.REAL_ESTATE: ["Properties", "Construction", "Facilities"],
    IND.ENERGY: ["Energy", "Power", "Renewables"],
    IND.EDUCATION: ["Learning", "Education Group"],
    IND.OTHER: ["Holdings", "Media"],
}
CN_CORES = [
    ("华瑞", "huarui"), ("恒泰", "hengtai"), ("博远", "boyuan"), ("启明", "qiming"), ("鼎盛", "dingsheng"),
    ("星河", "xinghe"), ("安达", "anda"), ("瑞丰", "ruifeng"), ("德信", "dexin"), ("宏图", "hongtu"),
    ("嘉禾", "jiahe"), ("金桥", "jinqiao"), ("天合", "tianhe"), ("永安", "yongan"), ("凯瑞", "kairui"),
    ("汇通", "huitong"), ("远景", "yuanjing"), ("新锐", "xinrui"), ("同创", "tongchuang"), ("万象", "wanxiang"),
    ("创联", "chuanglian"), ("海川", "haichuan"), ("明达", "mingda"), ("泰和", "taihe"), ("优联", "youlian"),
    ("九州", "jiuzhou"), ("云帆", "yunfan"), ("蓝海", "lanhai"), ("智诚", "zhicheng"), ("百川", "baichuan"),
    ("锦程", "jincheng"), ("长青", "changqing"), ("易通", "yitong"), ("祥云", "xiangyun"), ("卓越", "zhuoyue"),
    ("融通", "rongtong"), ("华庭", "huating"), ("正和", "zhenghe"), ("东升", "dongsheng"), ("银河", "yinhe"),
]  # fmt: skip
EN_PREFIXES = [
    "Northwind", "Bluepeak", "Silverline", "Redwood", "Brightpath", "Evergreen", "Ironbridge", "Clearwater",
    "Summit", "Harborview", "Pinecrest", "Goldleaf", "Skyline", "Oakridge", "Lumen", "Vertex", "Crescent",
    "Granite", "Maplestone", "Everest", "Jade River", "Pacific Rim", "Lotus", "Orchid Bay", "Bamboo Gate",
    "Greenfield", "Starlight", "Westlake", "Pearl Delta", "Cloudhaven",
]  # fmt: skip
CN_SURNAMES = [
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"), ("黄", "huang"),
    ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"),
    ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"), ("罗", "luo"), ("高", "gao"), ("梁", "liang"),
    ("宋", "song"), ("唐", "tang"), ("许", "xu"), ("邓", "deng"), ("冯", "feng"), ("韩", "han"), ("曹", "cao"),
]  # fmt: skip
CN_GIVEN = [
    ("伟", "wei"), ("芳", "fang"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("强", "qiang"), ("磊", "lei"),
    ("洋", "yang"), ("艳", "yan"), ("勇", "yong"), ("军", "jun"), ("杰", "jie"), ("娟", "juan"), ("涛", "tao"),
    ("明", "ming"), ("超", "chao"), ("秀英", "xiuying"), ("华", "hua"), ("建国", "jianguo"), ("晓东", "xiaodong"),
    ("海燕", "haiyan"), ("志强", "zhiqiang"), ("雪梅", "xuemei"), ("宇航", "yuhang"), ("子涵", "zihan"),
    ("文博", "wenbo"), ("佳怡", "jiayi"), ("俊杰", "junjie"), ("欣然", "xinran"), ("浩然", "haoran"),
]  # fmt: skip
EN_FIRST = [
    "Michael", "Sarah", "David", "Jennifer", "Daniel", "Laura", "Chris", "Anna", "Mark", "Olivia", "Peter",
    "Sophie", "Brian", "Rachel", "Kevin", "Helen", "Steven", "Lucy", "Jason", "Nina", "Eric", "Vivian", "Tony",
    "Cindy",
]  # fmt: skip
EN_LAST = [
    "Smith", "Brown", "Taylor", "Miller", "Anderson", "Clark", "Lewis", "Walker", "Hall", "Young", "King",
    "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Chan",
    "Ng", "Tan",
]  # fmt: skip

SR = Stakeholder.Role
TITLES = {
    SR.DECISION_MAKER: ["CEO", "总经理", "CIO", "COO", "CFO", "副总裁", "VP Operations", "信息化总监"],
    SR.DAY_TO_DAY: ["IT经理", "运营经理", "Project Manager", "系统管理员", "Sales Operations Manager", "业务主管"],
    SR.CHAMPION: ["运营总监", "Head of Sales Operations", "销售总监", "Digital Transformation Lead"],
    SR.IT: ["IT Director", "信息中心主任", "IT工程师", "Solutions Architect"],
    SR.END_USER: ["销售主管", "Customer Service Lead", "仓储主管", "财务经理", "Key User"],
    SR.EXECUTIVE_SPONSOR: ["董事长", "SVP", "副总经理", "Managing Director"],
}
EXTRA_ROLES = [SR.CHAMPION, SR.IT, SR.END_USER, SR.EXECUTIVE_SPONSOR]
RELATIONSHIPS = list(Stakeholder.Relationship.values)  # knows < understands < approves < willing to help

K = Activity.Kind
KIND_WEIGHTS = {
    K.CALL: 18, K.EMAIL: 16, K.CHECK_IN: 16, K.MEETING: 14, K.TRAINING: 8, K.BUSINESS_REVIEW: 6,
    K.ONSITE_VISIT: 6, K.EXECUTIVE_VISIT: 3, K.PRAISE_LETTER: 2, K.COMPLAINT: 4, K.MAJOR_EVENT: 3,
}  # fmt: skip
TOUCH_KINDS = {K.CALL, K.MEETING, K.ONSITE_VISIT, K.EXECUTIVE_VISIT, K.TRAINING, K.BUSINESS_REVIEW, K.CHECK_IN}
SUMMARIES = {
    K.CALL: [
        "Call with {dm} about rollout priorities for next quarter",
        "电话沟通：与{dtd}确认下季度培训安排",
        "Discussed slow report loading with {dtd}; escalated to support",
        "与{dtd}电话沟通数据导入问题，已给出解决方案",
        "Call with {dtd}: two branches still on spreadsheets, agreed a migration date",
    ],
    K.EMAIL: [
        "Sent release notes for the new version, highlighting approval workflows",
        "邮件发送月度使用报告给{dm}",
        "Followed up on open support ticket #{n}",
        "Shared a best practice from a similar {industry} customer",
    ],
    K.CHECK_IN: [
        "Bi-weekly check-in with {dtd}; no open issues",
        "例行回访，客户满意度 {score}/10",
        "Check-in: champion busy with month-end close; next call in two weeks",
        "月度回访：确认新功能使用情况",
    ],
    K.MEETING: [
        "Monthly sync with {dtd}: reviewed the adoption dashboard",
        "与运营团队例会，梳理审批流程",
        "Workshop on the order-to-cash workflow configuration",
        "与{dtd}及IT团队讨论ERP对接方案",
    ],
    K.TRAINING: [
        "Trained {n2} new sales reps on the mobile app",
        "管理员培训：权限配置与报表制作",
        "Train-the-trainer session for branch managers",
        "新员工上线培训，共{n2}人参加",
    ],
    K.BUSINESS_REVIEW: [
        "Quarterly business review: usage up {pct}%, two new workflows live",
        "季度业务回顾 (QBR)：展示ROI，{dm}认可项目价值",
        "QBR: customer wants a faster month-end close; proposed the analytics add-on",
    ],
    K.ONSITE_VISIT: [
        "On-site visit to the {city} office; met the warehouse and sales teams",
        "现场拜访{city}总部，走访仓库与门店，收集使用反馈",
        "On-site day with key users to fix data quality issues",
    ],
    K.EXECUTIVE_VISIT: [
        "Executive visit: our VP met {dm}; agreed on an annual value review",
        "高层拜访：双方高层就明年合作规划交换意见",
    ],
    K.PRAISE_LETTER: [
        "Praise letter from {dm} for the implementation team",
        "客户发来表扬信，感谢项目组按期上线",
    ],
    K.COMPLAINT: [
        "Complaint: the ERP sync failed twice last week",
        "客户投诉：报表导出速度慢，影响月底结账",
        "Complaint about invoice errors; routed to finance",
        "{dtd} complained that the new release changed the approval screen without notice",
    ],
    K.MAJOR_EVENT: [
        "Customer reorganised sales into three regions",
        "客户完成新一轮融资，计划扩张门店",
        "New CIO appointed; IT priorities under review",
        "客户被集团收购，采购流程变更",
    ],
}
NEXT_STEPS = [
    "Send meeting minutes", "安排下次培训", "Prepare the QBR deck", "Follow up with support on the ticket",
    "约高层拜访时间", "Share a best practice from a similar customer", "Confirm the renewal budget",
    "更新客户档案 (一客一档)", "Book a training for the new branch", "Check usage again in two weeks", "", "",
]  # fmt: skip

# What CSMs wrote when they resolved an alert of each type.
ALERT_RESOLUTIONS = {
    Alert.Type.RENEWAL_RISK: ["Met the decision maker; renewal budget confirmed.", "续约方案已与客户确认，风险解除。"],
    Alert.Type.HEALTH_DROP: ["Usage back after the ERP migration finished.", "培训后使用量已恢复。"],
    Alert.Type.ACTIVATION_OVERDUE: ["Second training done; 40% of users active now.", "项目上线，核心用户已开始使用。"],
    Alert.Type.NO_RECENT_TOUCH: ["Monthly call held.", "已电话回访。"],
    Alert.Type.PAYMENT_OVERDUE: ["Paid after finance approved the PO.", "客户财务已付款。"],
    Alert.Type.STAKEHOLDER_LEFT: ["Met the successor; relationship handed over.", "已拜访新任负责人。"],
}

# measure, weight: what a score is made of (weights sum to 1)
MEASURES = [
    ("usage_trend", 0.30),
    ("active_users", 0.25),
    ("feature_adoption", 0.20),
    ("engagement", 0.15),
    ("support_tickets", 0.10),
]
EVENT_TYPES = ["login", "report_viewed", "order_created", "workflow_run", "export"]
EVENT_WEIGHTS = [38, 24, 16, 13, 9]
WORK_HOURS = (
    [8] * 2
    + [9] * 6
    + [10] * 8
    + [11] * 7
    + [12] * 3
    + [13] * 5
    + [14] * 8
    + [15] * 8
    + [16] * 7
    + [17] * 5
    + [18, 18, 19, 20, 21]
)

T = Task.Type
PLAYBOOKS = [
    (
        "Red health rescue",
        "When an account turns red: find the cause within two days and agree a rescue plan with the customer.",
        Playbook.Trigger.HEALTH_RED,
        "",
        [
            (0, "Review usage and health drivers", T.RISK, "high"),
            (2, "Call the day-to-day contact to find the cause", T.RISK, "high"),
            (5, "Agree a rescue plan with the customer (挽回计划)", T.RISK, "high"),
            (14, "Executive check-in with the decision maker", T.RISK, "normal"),
            (30, "Review recovery and close or escalate", T.CHECK_IN, "normal"),
        ],
    ),
    (
        "Renewal 90 days out",
        "Ninety days before a term ends: prove the value, confirm budget and process, then send the proposal.",
        Playbook.Trigger.RENEWAL_DUE,
        "90",
        [
            (0, "Review health, usage and open issues before the renewal", T.RENEWAL, "normal"),
            (14, "Send the value report to the decision maker", T.RENEWAL, "normal"),
            (30, "Confirm budget, procurement and approval process", T.RENEWAL, "high"),
            (60, "Send the renewal proposal", T.RENEWAL, "high"),
            (80, "Chase the signature", T.RENEWAL, "high"),
        ],
    ),
    (
        "Onboarding kickoff",
        "After the handover is accepted: hold the kickoff meeting (项目启动会) and run the first project.",
        Playbook.Trigger.STAGE_ENTERED,
        "kickoff",
        [
            (0, "Read the handover package and call the sales owner", T.ONBOARDING, "high"),
            (3, "Hold the kickoff meeting (项目启动会)", T.ONBOARDING, "high"),
            (5, "Publish the minutes and the project plan", T.ONBOARDING, "normal"),
            (14, "Confirm business processes (业务流程确认)", T.ONBOARDING, "normal"),
            (30, "Admin and key-user training (交付培训)", T.ONBOARDING, "normal"),
            (45, "Build the customer file (一客一档)", T.OTHER, "normal"),
        ],
    ),
    (
        "Executive sponsor left",
        "A decision maker or sponsor left: rebuild the relationship before the renewal is at risk.",
        Playbook.Trigger.ALERT_OPENED,
        Alert.Type.STAKEHOLDER_LEFT,
        [
            (0, "Find out who replaces the sponsor", T.RISK, "high"),
            (3, "Introduce yourself to the new decision maker", T.RISK, "high"),
            (10, "Re-present the value delivered so far", T.RISK, "normal"),
            (20, "Plan an executive visit (高层拜访)", T.RISK, "normal"),
        ],
    ),
]
MANUAL_TASKS = {
    T.CHECK_IN: ["Monthly check-in with {dtd}", "回访：确认培训效果", "Send the monthly usage report",
                 "Quarterly value report for {dm}"],
    T.RENEWAL: ["Prepare the renewal quote", "确认续约预算与采购流程", "Renewal call with {dm}"],
    T.EXPANSION: ["Explore the analytics add-on with {dm}", "增购机会：新分公司上线",
                  "Pass the expansion lead to sales", "Demo the mobile add-on to the field team"],
    T.RISK: ["Follow up on the ERP sync complaint", "制定挽回计划", "Meet {dm} about the drop in usage"],
    T.ONBOARDING: ["Schedule the admin training", "确认数据迁移范围"],
    T.OTHER: ["Update the customer file (一客一档)", "Collect feedback for the product team",
              "Record the best practice from this account"],
}  # fmt: skip
RETURN_REASONS = [
    "These only say TBD: {items}. The customer expects go-live before month end; please complete them.",
    "请补充具体内容（目前只写了“待定”）：{items}。启动会前需要确认。",
    "Before I accept, these need real content, not a placeholder: {items}. Call me if unsure.",
]
RENEWED = [
    "Renewed for 12 months at the same price.",
    "续约一年，价格不变。",
    "Renewed with 15 more seats after the QBR.",
    "Renewed; the customer asked for quarterly business reviews.",
    "续约并增购移动端模块。",
    "Renewed after the champion presented the ROI to the CFO.",
]
DOWNSIZED = [
    "Renewed with 30% fewer seats: one business unit moved to another system.",
    "降级续约：预算削减，减少20个席位。",
    "Dropped the analytics add-on; the core product renewed.",
]
CHURNED = [
    "Churned: switched to a competitor after the sponsor left.",
    "流失：客户被收购，集团统一使用其他系统。",
    "Churned: never got past the first project; usage stayed low.",
    "Churned for budget reasons; open to coming back next year.",
]


def demo_is_needed() -> bool:
    """True when the database has no accounts, i.e. nothing a demo load could collide with."""
    return not Account.objects.exists()


def demo_logins() -> list[tuple[str, str]]:
    """(username, what the login shows), the four main ones first; all use DEMO_PASSWORD."""
    labels = {
        R.ADMIN: "Administrator, sees everything",
        R.MANAGER: "Manager",
        R.CSM: "Customer success manager",
        R.SALES: "Sales",
        R.INTEGRATION: "Integration, API only",
    }
    people = sorted(PEOPLE, key=lambda p: LOGIN_ORDER.index(p.username) if p.username in LOGIN_ORDER else 99)
    result = []
    for p in people:
        label = labels[p.role]
        if p.team is not None:
            label = f"{label}, team {TEAMS[p.team][0]}"
        if p.username == "csm.zhou":
            label += " (overloaded)"
        result.append((p.username, label))
    return result


def demo_load(*, seed: int = 7, today: dt.date | None = None, accounts: int = 400) -> dict:
    """Load the demo into an empty database and return counts of what was written."""
    if accounts < MIN_ACCOUNTS:
        raise ValidationError({"accounts": f"The demo needs at least {MIN_ACCOUNTS} accounts."})
    if not demo_is_needed():
        raise ValidationError("The database already has accounts; demo data loads only into an empty one.")
    builder = _Demo(seed=seed, today=today or timezone.localdate(), n=accounts)
    # The flows notify people in the app and by email; demo people have no real mailbox.
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"), transaction.atomic():
        builder.run()
    return builder.summary()


# --------------------------------------------------------------------------- helpers


def _money(x: float) -> Decimal:
    return Decimal(str(round(x, 2))).quantize(Decimal("0.01"))


def _clamp(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


def _years(d: dt.date, n: int) -> dt.date:
    return d + relativedelta(years=n)


def _next_anniversary(start: dt.date, today: dt.date) -> dt.date:
    k = 1
    while _years(start, k) <= today:
        k += 1
    return _years(start, k)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _split(total: int, weights: list[float]) -> list[int]:
    """Largest-remainder split of `total` in proportion to `weights`."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    counts = [math.floor(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: counts[i] - raw[i])[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _raw_value(measure: str, score: int) -> float:
    """A plausible raw measurement behind a component score."""
    if measure == "usage_trend":  # last 30 days over the 30 before
        return round(0.45 + 0.85 * score / 100, 2)
    if measure == "active_users":  # share of licensed users active in 30 days
        return round(0.08 + 0.87 * score / 100, 2)
    if measure == "feature_adoption":  # key features in use, of 12
        return float(round(1 + 11 * score / 100))
    if measure == "engagement":  # days since the last meaningful touch
        return float(round(2 + (100 - score) * 0.7))
    return float(round((100 - score) / 15))  # open support tickets


@dataclass
class _Sub:
    product: str
    start: dt.date
    end: dt.date | None
    seats: int
    mrr: Decimal
    bill: int
    discount: Decimal


@dataclass
class _Contact:
    name: str
    title: str
    email: str
    phone: str
    role: str
    relationship: str
    left_on: dt.date | None = None


@dataclass
class _Plan:
    """Everything decided about one account before anything is written."""

    i: int
    stage: str
    team: int
    owner: str | None = None  # the CSM (or manager) who owns it, planned
    handover: str = ""  # path through the handover flow, for handover/kickoff accounts
    reviewer: str | None = None
    sales: str = ""
    name: str = ""
    domain: str = ""
    city: tuple[str, str] = ("", "")
    industry: str = ""
    employees: int = 0
    external_id: str = ""
    subs: list[_Sub] = field(default_factory=list)
    start: dt.date | None = None
    tier: str = Account.Tier.STANDARD
    band: str = ""
    trajectory: str = ""
    series: dict[dt.date, int] = field(default_factory=dict)
    offsets: list[float] = field(default_factory=list)
    neglected: bool = False
    contacts: list[_Contact] = field(default_factory=list)
    last_touch: tuple[dt.date, str] | None = None
    accepted_on: dt.date | None = None
    pk: int | None = None

    @property
    def mrr(self) -> Decimal:
        return sum((s.mrr for s in self.subs), Decimal(0))

    @property
    def seats(self) -> int:
        return self.subs[0].seats

    @property
    def main_end(self) -> dt.date:
        return self.subs[0].end

    def contact(self, role: str) -> _Contact:
        return next(c for c in self.contacts if c.role == role and c.left_on is None)


# --------------------------------------------------------------------------- the load


class _Demo:
    def __init__(self, *, seed: int, today: dt.date, n: int):
        self.rng = random.Random(seed)
        self.today = today
        self.n = n
        self.tz = timezone.get_current_timezone()
        self.now = timezone.now()
        self.plans: list[_Plan] = []
        self.reused: list[str] = []

    def run(self) -> None:
        self._users()
        self._products()
        self._plan_accounts()
        self._create_accounts()
        self._create_subscriptions()
        self._create_stakeholders()
        self._create_activities()
        self._create_handovers()
        self._renewals()
        self.invoice_counts = demo_invoices.load(self)
        self._usage()
        self._health_scores()
        self._alerts()
        self._playbooks()
        self._manual_tasks()
        self._close_past_tasks()
        self.file_counts = customer_files.load(self)
        self.plan_counts = demo_plans.load(self)
        self.knowhow_counts = demo_knowhow.load(self)
        self.kickoff_counts = demo_kickoffs.load(self)
        self.survey_counts = demo_surveys.load(self)
        self.renewal_outcome_counts = demo_renewal_outcomes.load(self)
        self.lead_counts = demo_leads.load(self)
        # Check-in tasks of the touch cadences for the current period, as the nightly task makes them.
        self.cadence_counts = cadence_tasks_create(today=self.today)
        self._score_history()

    def summary(self) -> dict:
        counts = {
            "teams": Team.objects.count(),
            "users": User.objects.count(),
            "products": Product.objects.count(),
            "accounts": Account.objects.count(),
            "customer_files": self.file_counts["customer_files"],
            "stage_changes": self.file_counts["stage_changes"],
            "success_plans": self.plan_counts["success_plans"],
            "know_how": self.knowhow_counts["know_how"],
            "best_practices": self.knowhow_counts["best_practices"],
            "cadence_tasks": self.cadence_counts["total"],
            "kickoffs": self.kickoff_counts["kickoffs"],
            "kickoffs_held": self.kickoff_counts["kickoffs_held"],
            "survey_responses": self.survey_counts["survey_responses"],
            "health_overrides": self.survey_counts["health_overrides"],
            "renewals_closed": self.renewal_outcome_counts["renewals_closed"],
            "churn_records": self.renewal_outcome_counts["churn_records"],
            "leads": self.lead_counts["leads"],
            "leads_won": self.lead_counts["leads_won"],
            "partial_payments": self.lead_counts["partial_payments"],
            "subscriptions": Subscription.objects.count(),
            "renewals": Renewal.objects.count(),
            "stakeholders": Stakeholder.objects.count(),
            "activities": Activity.objects.count(),
            "usage_events": UsageEvent.objects.count(),
            "usage_daily": UsageDaily.objects.count(),
            "health_scores": HealthScore.objects.count(),
            "alerts": Alert.objects.count(),
            "invoices": self.invoice_counts["invoices"],
            "invoices_overdue": self.invoice_counts["invoices_overdue"],
            "playbooks": Playbook.objects.count(),
            "playbook_runs": PlaybookRun.objects.count(),
            "tasks": Task.objects.count(),
            "handovers": Handover.objects.count(),
        }
        counts["reused_users"] = self.reused
        return counts

    # ---- small helpers

    def _at(self, day: dt.date, hour: int | None = None, minute: int | None = None) -> dt.datetime:
        """An aware local datetime on `day` in working hours, never after now."""
        rng = self.rng
        hour = rng.choice(WORK_HOURS) if hour is None else hour
        minute = rng.randrange(60) if minute is None else minute
        value = dt.datetime.combine(day, dt.time(hour, minute, rng.randrange(60)), tzinfo=self.tz)
        return min(value, self.now - dt.timedelta(minutes=rng.randint(5, 120)))

    def _ago(self, days: int) -> dt.date:
        return self.today - dt.timedelta(days=days)

    def _person_name(self, chinese: bool) -> tuple[str, str]:
        """(display name, email local part)."""
        rng = self.rng
        if chinese:
            (sur, sur_py), (given, given_py) = rng.choice(CN_SURNAMES), rng.choice(CN_GIVEN)
            return sur + given, f"{given_py}.{sur_py}"
        first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
        return f"{first} {last}", f"{first}.{last}".lower()

    # ---- people and products

    def _users(self) -> None:
        teams = [Team.objects.get_or_create(name=name)[0] for name, _cities in TEAMS]
        existing = {u.username: u for u in User.objects.filter(username__in=[p.username for p in PEOPLE])}
        conflicts = []
        for p in PEOPLE:
            u = existing.get(p.username)
            if u is None:
                continue
            same_team = p.team is None or u.team_id == teams[p.team].pk
            if not ((u.role == p.role or (p.role == R.ADMIN and u.is_superuser)) and same_team):
                conflicts.append(p.username)
        if conflicts:
            raise ValidationError(
                f"Users {', '.join(conflicts)} already exist with another role or team; the demo needs these names."
            )
        password = make_password(DEMO_PASSWORD)
        User.objects.bulk_create(
            [
                User(
                    username=p.username,
                    first_name=p.first_name,
                    last_name=p.last_name,
                    email=f"{p.username}@demo.example.com",
                    role=p.role,
                    team=teams[p.team] if p.team is not None else None,
                    is_staff=p.role == R.ADMIN,
                    is_superuser=p.role == R.ADMIN,
                    password=password,
                )
                for p in PEOPLE
                if p.username not in existing
            ]
        )
        self.reused = sorted(existing)
        self.users = {u.username: u for u in User.objects.filter(username__in=[p.username for p in PEOPLE])}
        self.teams = teams
        self.cs_people = [p for p in PEOPLE if p.weight]
        self.sales_people = [p.username for p in PEOPLE if p.role == R.SALES]

    def _products(self) -> None:
        Product.objects.bulk_create(
            [Product(code=c, name=n, product_line=line) for c, n, line, _p in PRODUCTS], ignore_conflicts=True
        )
        self.products = {p.code: p for p in Product.objects.filter(code__in=PRICE)}

    # ---- planning (pure Python, so every random draw happens in a fixed order)

    def _plan_accounts(self) -> None:
        rng, n = self.rng, self.n
        n_ho = min(max(4, round(n * 25 / 400)), n // 4)
        draft, returned, accepted = (max(1, round(n_ho * k / 25)) for k in (5, 4, 9))
        submitted = n_ho - draft - returned - accepted
        paths = (
            ["draft"] * draft
            + ["returned"] * returned
            + ["submitted_after_return" if i < round(submitted * 2 / 7) else "submitted" for i in range(submitted)]
            + ["accepted_after_return" if i < round(accepted / 3) else "accepted" for i in range(accepted)]
        )
        rest = n - len(paths)
        churned, renewal, onboarding, mature = (round(n * k) for k in (0.05, 0.06, 0.08, 0.37))
        stages = [S.CHURNED] * churned + [S.RENEWAL] * renewal + [S.ONBOARDING] * onboarding + [S.MATURE] * mature
        stages += [S.ADOPTION] * (rest - len(stages))
        rng.shuffle(stages)
        plans = [_Plan(i=i, stage=stage, team=0) for i, stage in enumerate(stages)]
        for k, path in enumerate(paths):
            plan = _Plan(i=len(plans), stage=S.KICKOFF if path.startswith("accepted") else S.HANDOVER, team=k % 3)
            plan.handover = path
            plan.sales = self.sales_people[k % len(self.sales_people)]
            plans.append(plan)
        rng.shuffle(plans)

        # Owners: every account but the handovers still waiting for a CSM.
        owned = [p for p in plans if p.stage != S.HANDOVER]
        counts = _split(len(owned), [p.weight for p in self.cs_people])
        owners = [p for p, c in zip(self.cs_people, counts, strict=True) for _ in range(c)]
        rng.shuffle(owners)
        for plan, person in zip(owned, owners, strict=True):
            plan.owner, plan.team = person.username, person.team
        for plan in plans:
            if plan.stage == S.HANDOVER:
                team_people = [p.username for p in self.cs_people if p.team == plan.team]
                plan.reviewer = rng.choice(team_people)
            elif plan.handover:
                plan.reviewer = plan.owner

        ids = rng.sample(range(100000, 1000000), n)
        names: set[str] = set()
        for plan, ext in zip(plans, ids, strict=True):
            plan.external_id = f"CRM-{ext}"
            plan.industry = rng.choices([i for i, _w in INDUSTRY_WEIGHTS], [w for _i, w in INDUSTRY_WEIGHTS])[0]
            plan.employees = int(math.exp(rng.uniform(math.log(20), math.log(20000))))
            plan.city = rng.choice(TEAMS[plan.team][1])
            if not plan.sales:
                plan.sales = rng.choice(self.sales_people)
            self._name(plan, names)
            self._plan_subscriptions(plan)
        by_value = sorted(plans, key=lambda p: (-p.mrr, p.i))
        n_strategic, n_key = round(n * 0.10), round(n * 0.30)
        for k, plan in enumerate(by_value):
            plan.tier = (
                Account.Tier.STRATEGIC
                if k < n_strategic
                else Account.Tier.KEY
                if k < n_strategic + n_key
                else Account.Tier.STANDARD
            )
        self._plan_health(plans)
        for plan in plans:
            self._plan_contacts(plan)
        self.plans = sorted(plans, key=lambda p: p.i)

    def _name(self, plan: _Plan, taken: set[str]) -> None:
        rng = self.rng
        for _attempt in range(30):
            if rng.random() < 0.6:
                core, core_py = rng.choice(CN_CORES)
                word = rng.choice(CN_INDUSTRY_WORDS[plan.industry])
                suffix = rng.choices(["有限公司", "股份有限公司", "集团有限公司"], [70, 20, 10])[0]
                name = f"{plan.city[0]}{core}{word}{suffix}"
                domain = f"{core_py}-{plan.city[1].lower()}.example.cn"
            else:
                prefix = rng.choice(EN_PREFIXES)
                word = rng.choice(EN_INDUSTRY_WORDS[plan.industry])
                name = f"{prefix} {word}"
                if rng.random() < 0.25:
                    name = f"{plan.city[1]} {name}"
                name += rng.choices(["", " Co., Ltd.", " Group"], [70, 20, 10])[0]
                domain = f"{prefix.lower().replace(' ', '')}.example.com"
            if name not in taken:
                break
        taken.add(name)
        plan.name, plan.domain = name, domain

    def _plan_subscriptions(self, plan: _Plan) -> None:
        rng, today = self.rng, self.today
        ind = plan.industry
        if ind in (IND.MANUFACTURING, IND.LOGISTICS, IND.RETAIL) and rng.random() < 0.4:
            main = "scm-core"
        elif plan.employees >= 1500 and rng.random() < 0.75:
            main = "crm-enterprise"
        else:
            main = "crm-pro"
        stage = plan.stage
        if stage == S.HANDOVER:
            start = self._ago(rng.randint(3, 14))
        elif stage == S.KICKOFF:
            start = self._ago(rng.randint(12, 40))
        elif stage == S.ONBOARDING:
            start = self._ago(rng.randint(35, 120))
        elif stage == S.ADOPTION:
            start = self._ago(rng.randint(121, 3 * 365))
        elif stage == S.MATURE:
            start = self._ago(rng.randint(400, 3 * 365))
        elif stage == S.RENEWAL:
            start = _years(today + dt.timedelta(days=rng.randint(3, 90)), -rng.randint(1, 3))
        else:  # churned: the last term ended in the past
            start = _years(self._ago(rng.randint(3, 175)), -rng.randint(1, 2))
        end = _years(start, 1) if stage == S.CHURNED else _next_anniversary(start, today)
        if stage == S.CHURNED:
            while _years(end, 1) < today:
                end = _years(end, 1)
        seats = max(5, round(6 * (plan.employees / 20) ** 0.62 * rng.uniform(0.7, 1.3)))
        plan.start = start
        plan.subs = [self._sub(main, start, end, seats)]
        extra = rng.choices([0, 1, 2], [45, 38, 17] if plan.employees < 1000 else [25, 45, 30])[0]
        pool = ["analytics", "mobile-addon", "crm-pro" if main == "scm-core" else "scm-core"]
        for product in rng.sample(pool, extra):
            add_seats = max(3, round(seats * rng.uniform(0.15, 0.7)))
            latest = (end - dt.timedelta(days=30)) if stage == S.CHURNED else self._ago(20)
            span = max(0, (latest - start).days)
            add_start = start + dt.timedelta(days=rng.randint(0, span)) if span else start
            roll = rng.random()
            if stage == S.CHURNED or roll < 0.78:
                add_end = end  # co-termed with the main line
            elif roll < 0.94 and add_start < self._ago(30):
                add_end = _next_anniversary(add_start, today)
            else:
                plan.subs.append(self._sub(product, add_start, None, add_seats, bill=1))
                continue
            plan.subs.append(self._sub(product, add_start, add_end, add_seats))

    def _sub(self, product: str, start: dt.date, end: dt.date | None, seats: int, bill: int | None = None) -> _Sub:
        rng = self.rng
        discount = rng.choice([5, 8, 10, 12, 15, 20]) if rng.random() < 0.35 else 0
        mrr = _clamp(seats * PRICE[product] * (1 - discount / 100) * rng.uniform(0.9, 1.1), 800, 80000)
        bill = bill or rng.choices([12, 3, 1], [78, 12, 10])[0]
        return _Sub(product, start, end, seats, _money(mrr), bill, Decimal(discount).quantize(Decimal("0.01")))

    def _plan_health(self, plans: list[_Plan]) -> None:
        """Bands today in a fixed mix (55% green, 30% yellow, 15% red) and a 90-day path to them."""
        rng = self.rng
        bonus = {S.MATURE: 0.35, S.HANDOVER: 0.3, S.KICKOFF: 0.25, S.ADOPTION: 0.1, S.RENEWAL: 0.0, S.ONBOARDING: -0.1}
        live = [p for p in plans if p.stage != S.CHURNED]
        ranked = sorted(live, key=lambda p: (-(rng.random() + bonus[p.stage]), p.i))
        n_yellow, n_red = round(len(live) * 0.30), round(len(live) * 0.15)
        n_green = len(live) - n_yellow - n_red
        for k, plan in enumerate(ranked):
            plan.band = GREEN if k < n_green else YELLOW if k < n_green + n_yellow else RED
            if plan.stage in (S.HANDOVER, S.KICKOFF):
                plan.trajectory = "stable"
            else:
                plan.trajectory = rng.choices(
                    ["stable", "declining", "recovering", "volatile"],
                    {GREEN: [70, 0, 20, 10], YELLOW: [25, 50, 25, 0], RED: [15, 65, 0, 20]}[plan.band],
                )[0]
            plan.neglected = (
                plan.stage not in (S.HANDOVER, S.KICKOFF)
                and rng.random() < ({GREEN: 0.015, YELLOW: 0.06, RED: 0.1}[plan.band])
            )
            self._plan_series(plan)

    def _plan_series(self, plan: _Plan) -> None:
        rng = self.rng
        final = {GREEN: rng.randint(73, 94), YELLOW: rng.randint(44, 66), RED: rng.randint(18, 37)}[plan.band]
        traj = plan.trajectory
        if traj == "declining":
            first = rng.randint(74, 88) if plan.band == YELLOW else rng.randint(52, 78)
        elif traj == "recovering":
            first = rng.randint(40, 62) if plan.band == GREEN else rng.randint(22, 38)
        elif traj == "volatile":
            first = final + rng.randint(-15, 15)
        else:
            first = final + rng.randint(-5, 5)
        first_day = max(self._ago(HISTORY_DAYS - 1), plan.start)
        length = (self.today - first_day).days + 1
        bend = rng.uniform(0.2, 0.6)
        trough = min(first, final) - rng.randint(0, 8)
        cycles, phase = rng.uniform(1.5, 3.5), rng.uniform(0, 2 * math.pi)
        sigma = {"stable": 1.2, "declining": 2.0, "recovering": 2.0, "volatile": 3.5}[traj]
        noise = 0.0
        for k in range(length):
            x = k / (length - 1) if length > 1 else 1.0
            if traj == "declining":
                base = first if x < bend else first + (final - first) * (x - bend) / (1 - bend)
            elif traj == "recovering":
                base = (
                    first + (trough - first) * x / 0.25 if x < 0.25 else trough + (final - trough) * (x - 0.25) / 0.75
                )
            elif traj == "volatile":
                base = first + (final - first) * x + 7 * math.sin(2 * math.pi * x * cycles + phase) * (1 - x)
            else:
                base = first + (final - first) * x
            noise = 0.7 * noise + rng.gauss(0, sigma)
            value = final if k == length - 1 else round(_clamp(base + noise * (1 - x), 3, 99))
            plan.series[first_day + dt.timedelta(days=k)] = value
        offsets = [rng.gauss(0, 6) for _m in MEASURES]
        if plan.neglected:
            offsets[3] -= 18
        mean = sum(o * w for o, (_m, w) in zip(offsets, MEASURES, strict=True))
        plan.offsets = [o - mean for o in offsets]

    def _plan_contacts(self, plan: _Plan) -> None:
        rng = self.rng
        chinese_share = 0.85 if plan.name[0] > "\u2e80" else 0.45
        size = {Account.Tier.STRATEGIC: (4, 5), Account.Tier.KEY: (3, 5), Account.Tier.STANDARD: (2, 4)}[plan.tier]
        roles = [SR.DECISION_MAKER, SR.DAY_TO_DAY] + rng.sample(EXTRA_ROLES, rng.randint(*size) - 2)
        mu = {GREEN: 2.0, YELLOW: 1.4, RED: 0.8, "": 1.0}[plan.band]
        if plan.stage in (S.HANDOVER, S.KICKOFF):
            mu = 0.6
        for role in roles:
            level = round(_clamp(rng.gauss(mu, 0.9), 0, 3))
            plan.contacts.append(self._contact(plan, role, RELATIONSHIPS[level], chinese_share))
        # Someone who left: mostly long ago, sometimes recently (a stakeholder-left alert).
        leave = rng.random()
        if plan.stage not in (S.HANDOVER, S.KICKOFF) and leave < 0.1 and len(plan.contacts) < 5:
            role = rng.choice([SR.DECISION_MAKER, SR.EXECUTIVE_SPONSOR, SR.CHAMPION, SR.DAY_TO_DAY])
            contact = self._contact(plan, role, rng.choice(RELATIONSHIPS[1:]), chinese_share)
            days = rng.randint(3, 40) if leave < 0.03 else rng.randint(41, 300)
            contact.left_on = self._ago(days)
            plan.contacts.append(contact)

    def _contact(self, plan: _Plan, role: str, relationship: str, chinese_share: float) -> _Contact:
        rng = self.rng
        name, local = self._person_name(rng.random() < chinese_share)
        phone = f"+86 1{rng.choice('3578')}{rng.randint(0, 9)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
        return _Contact(name, rng.choice(TITLES[role]), f"{local}@{plan.domain}", phone, role, relationship)

    # ---- writes

    def _create_accounts(self) -> None:
        users, teams = self.users, self.teams
        objs = [
            Account(
                external_id=p.external_id,
                name=p.name,
                industry=p.industry,
                employee_count=p.employees,
                region=f"{p.city[0]} {p.city[1]}",
                # Handovers not yet accepted have no CSM; accept sets it.
                csm=users[p.owner] if p.owner and not p.handover else None,
                sales_owner=users[p.sales],
                team=teams[p.team],
                lifecycle_stage=S.HANDOVER if p.handover else p.stage,
                tier=p.tier,
            )
            for p in self.plans
        ]
        Account.objects.bulk_create(objs, batch_size=1000)
        pks = dict(Account.objects.values_list("external_id", "pk"))
        for plan in self.plans:
            plan.pk = pks[plan.external_id]
        # Created when the first contract started, so "new accounts" reports look right.
        for obj, plan in zip(objs, self.plans, strict=True):
            obj.pk = plan.pk
            obj.created_at = self._at(plan.start - dt.timedelta(days=self.rng.randint(0, 5)), hour=10)
        Account.objects.bulk_update(objs, ["created_at"], batch_size=500)
        self.by_pk = {p.pk: p for p in self.plans}

    def _create_subscriptions(self) -> None:
        Subscription.objects.bulk_create(
            [
                Subscription(
                    account_id=p.pk,
                    product=self.products[s.product],
                    start_date=s.start,
                    end_date=s.end,
                    mrr=s.mrr,
                    quantity=s.seats,
                    bill_period_months=s.bill,
                    discount=s.discount,
                )
                for p in self.plans
                for s in p.subs
            ],
            batch_size=2000,
        )

    def _create_stakeholders(self) -> None:
        Stakeholder.objects.bulk_create(
            [
                Stakeholder(
                    account_id=p.pk,
                    name=c.name,
                    title=c.title,
                    email=c.email,
                    phone=c.phone,
                    role=c.role,
                    relationship=c.relationship,
                    is_active=c.left_on is None,
                    left_on=c.left_on,
                )
                for p in self.plans
                for c in p.contacts
            ],
            batch_size=2000,
        )

    def _create_activities(self) -> None:
        rng, users = self.rng, self.users
        kinds = list(KIND_WEIGHTS)
        objs: list[Activity] = []
        for plan in self.plans:
            mark = len(objs)
            author = users[plan.owner or plan.sales]
            lo = max(plan.start, self._ago(180))
            hi = self._ago(1)
            if plan.stage == S.CHURNED:
                hi = min(hi, plan.main_end)
            if plan.neglected:
                hi = self._ago(rng.randint(50, 80))
                lo = min(lo, hi - dt.timedelta(days=30))
            if plan.stage == S.HANDOVER:
                count = rng.randint(1, 3)
            elif plan.stage == S.KICKOFF:
                count = rng.randint(2, 5)
            else:
                count = rng.randint(*{"strategic": (7, 12), "key": (5, 10), "standard": (3, 8)}[plan.tier])
            weights = dict(KIND_WEIGHTS)
            if plan.band == RED:
                weights[K.COMPLAINT] *= 3
                weights[K.PRAISE_LETTER] = 0
            dm, dtd = plan.contact(SR.DECISION_MAKER).name, plan.contact(SR.DAY_TO_DAY).name
            span = max(0, (hi - lo).days)
            for _k in range(count):
                kind = rng.choices(kinds, [weights[k] for k in kinds])[0]
                day = lo + dt.timedelta(days=rng.randint(0, span))
                summary = rng.choice(SUMMARIES[kind]).format(
                    dm=dm,
                    dtd=dtd,
                    city=plan.city[0] if rng.random() < 0.5 else plan.city[1],
                    industry=Account.Industry(plan.industry).label.lower(),
                    n=rng.randint(3000, 9999),
                    n2=rng.randint(8, 40),
                    pct=rng.randint(5, 30),
                    score=rng.randint(7, 10),
                )
                objs.append(self._activity(plan, kind, day, summary, rng.choice(NEXT_STEPS), author))
            # The events the stage implies.
            if plan.stage == S.HANDOVER or plan.handover:
                summary = f"Contract signed: {PRODUCT_NAME[plan.subs[0].product]}, {plan.seats} seats (合同签订)"
                objs.append(
                    self._activity(plan, K.MAJOR_EVENT, plan.start, summary, "Prepare the handover", users[plan.sales])
                )
            if plan.stage in (S.ONBOARDING, S.KICKOFF) and plan.start < self._ago(8):
                day = plan.start + dt.timedelta(days=rng.randint(4, 7))
                summary = f"Kickoff meeting (项目启动会) with {dm} and {dtd}: goals, roles and plan agreed"
                objs.append(self._activity(plan, K.MEETING, day, summary, "Publish the minutes and plan", author))
            touches = [(timezone.localtime(o.occurred_at).date(), o.kind) for o in objs[mark:] if o.kind in TOUCH_KINDS]
            plan.last_touch = max(touches) if touches else None
        Activity.objects.bulk_create(objs, batch_size=2000)

    def _activity(self, plan: _Plan, kind: str, day: dt.date, summary: str, next_step: str, by: User) -> Activity:
        return Activity(
            account_id=plan.pk,
            kind=kind,
            occurred_at=self._at(day),
            summary=summary,
            next_step=next_step,
            created_by=by,
        )

    def _handover_text(self, plan: _Plan, complete: bool) -> dict:
        rng = self.rng
        dm, dtd = plan.contact(SR.DECISION_MAKER), plan.contact(SR.DAY_TO_DAY)
        lines = ", ".join(f"{PRODUCT_NAME[s.product]} × {s.seats}" for s in plan.subs)
        arr = plan.mrr * 12
        discount = max(s.discount for s in plan.subs)
        chinese = plan.name[0] > "\u2e80"
        data = {
            "contact_name": dtd.name,
            "contact_phone": dtd.phone,
            "contact_email": dtd.email,
            "address": (
                f"{plan.city[0]}市{rng.choice(['浦东新区', '高新区', '经济开发区', '滨江区'])}{rng.randint(1, 999)}号"
                if chinese
                else f"{rng.randint(1, 400)} {rng.choice(['Century Avenue', 'Nanjing Road', 'Keyuan Road'])}, "
                f"{plan.city[1]}"
            ),
            "contract_start": plan.subs[0].start,
            "contract_end": plan.subs[0].end,
            "payment_terms": rng.choice(
                [
                    "Annual in advance, 30 days net (年付，30天账期)",
                    "50% on signature, 50% on go-live; 30 days net",
                    "季度付款，开票后15天内付款",
                ]
            ),  # fmt: skip
            "deal_summary": (
                f"{lines}. {arr:,.0f} CNY a year, 12-month term from {plan.start:%Y-%m-%d}; discount {discount:.0f}%."
            ),
            "why_bought": rng.choice(
                [
                    "The old system could not follow orders across branches; month-end took six days.",
                    "老系统无法支撑多分公司协同，管理层看不到实时数据。",
                    "A new COO wants one process for every region before the expansion next year.",
                ]
            ),
            "needs": rng.choice(
                [
                    f"Replace spreadsheets for order tracking across {rng.randint(3, 15)} branches; "
                    "希望三个月内上线销售流程。",
                    "One view of every customer for sales and service; approval workflow for discounts above 10%.",
                    "库存与订单打通，减少月底对账时间；management wants weekly dashboards.",
                ]
            ),
            "purchase_history": rng.choice(
                [
                    "First contact at a trade fair in March; two demos, a two-week trial, a reference visit.",
                    "三月展会初次接触，两次产品演示，试用两周，参观了一家标杆客户。",
                    "Bought the Mobile add-on alone two years ago through a partner; now moving to the full suite.",
                ]
            ),
            "support_needs": rng.choice(
                [
                    "Chinese-speaking support on weekdays; a named contact for month-end.",
                    "需要驻场支持上线第一周；之后每月一次回访。",
                    "Remote support is enough; the IT team wants admin training.",
                ]
            ),
            "promises": rng.choice(
                [
                    "Two on-site training sessions free of charge; a dedicated implementation consultant for 60 days.",
                    "承诺ERP接口在上线前完成；go-live within 10 weeks.",
                    "Quarterly business reviews with the decision maker in the first year.",
                ]
            ),
            "implementation_plan": (
                "Week 1-2 项目启动与需求确认 (kickoff); week 3-6 业务流程确认与配置; "
                "week 7-8 系统流程验证 (UAT); week 9 交付培训 and go-live."
            ),
            "anticipated_problems": rng.choice(
                [
                    f"The IT team is small ({rng.randint(2, 6)} people); data migration from the old ERP may slip. "
                    "Response: start the data mapping in week 1 and offer our migration service.",
                    f"{dm.name} ({dm.title}) decided alone; the business line was not involved. "
                    "Response: run the process workshop with the users early.",
                    "Procurement took four months; the renewal will need an early start. 建议提前90天启动续约。",
                ]
            ),
            "sales_feedback": (
                f"Decision maker: {dm.name}, {dm.title}. Day-to-day: {dtd.name}, {dtd.title}. "
                + rng.choice(
                    [
                        "Competitor evaluated: a local vendor, lost on price.",
                        "客户对售后服务期望很高，请尽快联系。",
                        "Champion is enthusiastic; finance was sceptical about the price.",
                    ]
                )
            ),
        }
        if not complete:
            for key in rng.sample(["implementation_plan", "anticipated_problems", "payment_terms", "promises"], 2):
                data[key] = ""
        return data

    def _handover_lines(self, plan: _Plan, products: dict, complete: bool) -> dict:
        rng = self.rng
        lines = [
            {
                "product": products[s.product],
                "quantity": s.seats,
                "unit_price": Decimal(PRICE[s.product] * 12),
                "discount": s.discount,
            }
            for s in plan.subs
            if s.start == plan.subs[0].start
        ]
        influence = {SR.DECISION_MAKER: "high", SR.DAY_TO_DAY: "medium"}
        people = [
            {
                "name": c.name, "title": c.title, "role": c.role, "influence": influence.get(c.role, "low"),
                "email": c.email, "phone": c.phone,
                "notes": rng.choice(["", "Prefers WeChat to email.", "喜欢用数据说话。", "Hard to reach at the end."]),
            }
            for c in plan.contacts
            if c.left_on is None and (complete or c.role != SR.DECISION_MAKER)
        ]  # fmt: skip
        return {"products": lines, "stakeholders": people}

    def _create_handovers(self) -> None:
        """Through the real flow, by the right people: sales creates and submits, the
        team's CSM or manager returns or accepts. Timestamps are moved back afterwards."""
        rng, users = self.rng, self.users
        accounts = Account.objects.in_bulk([p.pk for p in self.plans if p.handover])
        products = {p.code: p for p in Product.objects.all()}
        timeline: dict[int, list[dt.datetime]] = {}
        for plan in self.plans:
            if not plan.handover:
                continue
            path, sales = plan.handover, users[plan.sales]
            reviewer = users[plan.reviewer]
            returns = path in ("returned", "submitted_after_return", "accepted_after_return")
            complete = path != "draft" or rng.random() < 0.3
            text = self._handover_text(plan, complete=complete)
            missing = []
            if returns:  # submitted with two items only sketched: the reviewer sends it back for them
                full = text
                missing = rng.sample(["implementation_plan", "anticipated_problems", "payment_terms", "promises"], 2)
                text = {**text, **{k: rng.choice(["TBD", "待定", "See the contract."]) for k in missing}}
            handover = handover_services.handover_create(
                account=accounts[plan.pk],
                sales_owner=sales,
                data=text,
                **self._handover_lines(plan, products, complete=complete),
            )
            # Steps happen hours or days apart, starting when the contract was signed.
            times = [self._at(plan.start, hour=rng.randint(9, 12))]
            gap = (3, 16) if plan.stage == S.HANDOVER else (4, 40)

            def step(times=times, gap=gap):
                times.append(times[-1] + dt.timedelta(hours=rng.randint(*gap)))

            if path != "draft":
                named = reviewer if plan.reviewer != plan.owner and rng.random() < 0.4 else None
                handover_services.handover_submit(
                    handover=handover, by=sales, csm=named if named and named.role == R.CSM else None
                )
                step()
            if returns:
                reviewer_now = users[rng.choice([plan.reviewer, self._manager(plan.team)])]
                handover_services.handover_return(
                    handover=handover, by=reviewer_now, reason=self._return_reason(missing), missing=missing
                )
                step()
                if path != "returned":
                    handover_services.handover_update(handover=handover, by=sales, data={k: full[k] for k in missing})
                    handover_services.handover_submit(handover=handover, by=sales)
                    step()
            if path.startswith("accepted"):
                handover_services.handover_accept(handover=handover, by=reviewer)
                step()
            timeline[handover.pk] = times
        self._backdate_handovers(timeline)

    def _return_reason(self, missing: list[str]) -> str:
        labels = [str(handover_services.ITEM_BY_KEY[key].label).lower() for key in missing]
        return self.rng.choice(RETURN_REASONS).format(items="; ".join(labels))

    def _manager(self, team: int) -> str:
        return next(p.username for p in self.cs_people if p.team == team and p.role == R.MANAGER)

    def _backdate_handovers(self, timeline: dict[int, list[dt.datetime]]) -> None:
        latest = self.now - dt.timedelta(minutes=30)
        transitions = list(HandoverTransition.objects.filter(handover_id__in=timeline).order_by("handover_id", "pk"))
        handovers = Handover.objects.in_bulk(list(timeline))
        seen: dict[int, int] = {}
        for t in transitions:
            k = seen[t.handover_id] = seen.get(t.handover_id, -1) + 1
            t.at = min(timeline[t.handover_id][k], latest)
            h = handovers[t.handover_id]
            if k == 0:
                h.created_at = t.at
            if t.to_status == Handover.Status.SUBMITTED:
                h.submitted_at = t.at
            if t.to_status in (Handover.Status.RETURNED, Handover.Status.ACCEPTED):
                h.decided_at = t.at
        HandoverTransition.objects.bulk_update(transitions, ["at"])
        Handover.objects.bulk_update(list(handovers.values()), ["created_at", "submitted_at", "decided_at"])
        for plan in self.plans:
            if plan.handover.startswith("accepted"):
                h = next(h for h in handovers.values() if h.account_id == plan.pk)
                plan.accepted_on = timezone.localtime(h.decided_at).date()

    def _renewals(self) -> None:
        rng, today = self.rng, self.today
        renewals_sync(today=today)
        open_renewals = list(Renewal.objects.filter(due_date__gte=today).order_by("due_date", "account_id", "pk"))
        for r in open_renewals:
            plan = self.by_pk[r.account_id]
            days = (r.due_date - today).days
            declining = plan.trajectory == "declining"
            if plan.band == RED:
                r.risk = Renewal.Risk.HIGH
            elif plan.band == YELLOW:
                r.risk = Renewal.Risk.HIGH if declining and rng.random() < 0.3 else Renewal.Risk.MEDIUM
            else:
                r.risk = Renewal.Risk.MEDIUM if rng.random() < 0.08 else Renewal.Risk.LOW
            if days <= 60:
                committed = {Renewal.Risk.LOW: 0.5, Renewal.Risk.MEDIUM: 0.2, Renewal.Risk.HIGH: 0.0}[r.risk]
                r.stage = Renewal.Stage.COMMITTED if rng.random() < committed else Renewal.Stage.IN_PROGRESS
            elif days <= 120 and rng.random() < 0.3:
                r.stage = Renewal.Stage.IN_PROGRESS
        Renewal.objects.bulk_update(open_renewals, ["stage", "risk"], batch_size=500)
        self.open_renewals = open_renewals

        # Terms that ended in the last six months: renewed, downsized or lost.
        users, past = self.users, []
        for plan in self.plans:
            owner = users[plan.owner] if plan.owner else None
            mrr = sum((s.mrr for s in plan.subs if s.end == plan.main_end), Decimal(0))
            if plan.stage == S.CHURNED:
                if plan.main_end >= self._ago(183):
                    past.append(
                        Renewal(
                            account_id=plan.pk,
                            due_date=plan.main_end,
                            owner=owner,
                            forecast_mrr=mrr,
                            stage=Renewal.Stage.CHURNED,
                            risk=Renewal.Risk.HIGH,
                            outcome=rng.choice(CHURNED),
                        )
                    )
                continue
            due = _years(plan.main_end, -1)
            if not (self._ago(183) <= due < today and due > plan.start):
                continue
            if rng.random() < (0.25 if plan.band == RED else 0.1):
                stage, outcome, before = Renewal.Stage.DOWNSIZED, rng.choice(DOWNSIZED), mrr * Decimal("1.3")
            else:
                stage, outcome, before = Renewal.Stage.RENEWED, rng.choice(RENEWED), mrr
            past.append(
                Renewal(
                    account_id=plan.pk,
                    due_date=due,
                    owner=owner,
                    forecast_mrr=_money(before),
                    stage=stage,
                    risk=Renewal.Risk.MEDIUM if plan.band != GREEN else Renewal.Risk.LOW,
                    outcome=outcome,
                )
            )
        Renewal.objects.bulk_create(past, batch_size=1000)

    def _usage(self) -> None:
        """Usage following each account's health path: raw events for the last USAGE_DAYS
        days (rolled up by the service), and for the ROLLUP_DAYS before them the daily
        rollup directly (what scoring reads), so backtests and trends have history."""
        rng = self.rng
        tz, now = self.tz, self.now
        objs, older = [], {}
        first = self._ago(USAGE_DAYS - 1)
        oldest = self._ago(USAGE_DAYS + ROLLUP_DAYS - 1)
        for plan in self.plans:
            if plan.stage == S.CHURNED:
                continue
            earliest = min(plan.series)
            n = 0
            day = max(oldest, plan.start)
            while day <= self.today:
                score = plan.series.get(day, plan.series[earliest] if day < earliest else None)
                if score is None:
                    day += dt.timedelta(days=1)
                    continue
                if plan.stage == S.HANDOVER:
                    factor = 0.1
                elif plan.stage in (S.KICKOFF, S.ONBOARDING):
                    factor = _clamp(0.15 + (day - plan.start).days / 100, 0.15, 1.0)
                else:
                    factor = 1.0
                weekday = 0.25 if day.weekday() >= 5 else 1.0
                # Healthy customers use more, with more of their licensed people, across more features.
                pool = max(2, round(plan.seats * (0.04 + 0.6 * (score / 100) ** 1.5)))
                lam = pool * 0.35 * (score / 100) * factor * weekday
                kinds = max(2, min(len(EVENT_TYPES), round(score / 18)))
                count = _poisson(rng, lam)
                if day < first:  # the rollup row directly: counts split by type, expected distinct users
                    for kind, k in zip(EVENT_TYPES, _split(count, EVENT_WEIGHTS[:kinds]), strict=False):
                        if k:
                            users = round(pool * (1 - (1 - 1 / pool) ** k))
                            value = round(k * math.exp(8.5), 2) if kind == "order_created" else float(k)
                            older[(plan.pk, day, kind)] = (k, value, max(1, users))
                    day += dt.timedelta(days=1)
                    continue
                for _e in range(count):
                    kind = rng.choices(EVENT_TYPES[:kinds], EVENT_WEIGHTS[:kinds])[0]
                    user = f"u{rng.randint(1, pool)}"
                    value = round(rng.lognormvariate(8, 1), 2) if kind == "order_created" else 1
                    at = dt.datetime.combine(
                        day, dt.time(rng.choice(WORK_HOURS), rng.randrange(60), rng.randrange(60)), tzinfo=tz
                    )
                    if at > now:
                        continue
                    n += 1
                    objs.append(
                        UsageEvent(
                            account_id=plan.pk,
                            event_type=kind,
                            occurred_at=at,
                            user_id=user,
                            value=value,
                            event_id=f"demo-{plan.pk}-{n}",
                        )
                    )
                day += dt.timedelta(days=1)
        UsageEvent.objects.bulk_create(objs, batch_size=5000)
        usage_rollup(day_from=first, day_to=self.today)
        UsageDaily.objects.bulk_create(
            [
                UsageDaily(account_id=pk, day=day, event_type=kind, events=e, value_sum=v, distinct_users=u)
                for (pk, day, kind), (e, v, u) in older.items()
            ],
            batch_size=5000,
        )
        EventType.objects.bulk_create([EventType(name=name) for name in EVENT_TYPES], ignore_conflicts=True)

    def _components(self, plan: _Plan, value: int, noise: bool) -> tuple[int, list[dict]]:
        rng = self.rng
        components, total = [], 0.0
        for (measure, weight), offset in zip(MEASURES, plan.offsets, strict=True):
            score = round(_clamp(value + offset + (rng.gauss(0, 2) if noise else 0), 0, 100))
            total += weight * score
            components.append(
                {"measure": measure, "raw_value": _raw_value(measure, score), "score": score, "weight": weight}
            )
        return round(total), components

    def _health_scores(self) -> None:
        """One set-based call per day, oldest first; the last (today) sets the accounts' band."""
        today = self.today
        live = [p for p in self.plans if p.stage != S.CHURNED]
        final: dict[int, tuple[int, list]] = {}
        rank = {RED: 0, YELLOW: 1, GREEN: 2}
        for plan in live:
            value = plan.series[today]
            for _attempt in range(30):  # the band today is part of the story; keep it
                score, components = self._components(plan, value, noise=False)
                if band_for(score) == plan.band:
                    break
                value += 1 if rank[plan.band] > rank[band_for(score)] else -1
            final[plan.pk] = (score, components)
        for back in range(HISTORY_DAYS - 1, -1, -1):
            day = today - dt.timedelta(days=back)
            if back == 0:
                scores = final
            else:
                scores = {p.pk: self._components(p, p.series[day], noise=True) for p in live if day in p.series}
            for pk, (score, _c) in scores.items():
                self.by_pk[pk].series[day] = score
        # The story's band until the real engine scores the history (_score_history); the
        # survey answers follow it.
        account_health_set(scores={pk: (s, band_for(s)) for pk, (s, _c) in final.items()})

    def _score_history(self) -> None:
        """The real scoring engine over the history, as the nightly task and a backtest
        would have scored it: every week for the last 12 weeks, then every day of the last
        one, with the default scorecard; then the early-warning rules for today."""
        days = sorted({self._ago(d) for d in range(7)} | {self._ago(d) for d in range(7, HISTORY_DAYS, 7)})
        for day in days:
            health_score_run(as_of=day)
        # The rules as the nightly run evaluated them a week ago and today; since then the
        # owners worked on part of last week's alerts.
        rng = self.rng
        week_ago = self._ago(7)
        for day in (week_ago, self.today):
            alerts_evaluate(as_of=day)
        raised = list(Alert.objects.filter(as_of__isnull=False).select_related("account", "owner").order_by("pk"))
        for alert in raised:
            alert.created_at = self._at(alert.as_of, hour=rng.randint(1, 6))
            if alert.as_of != week_ago or not alert.owner:
                continue
            roll = rng.random()
            if roll < 0.35:
                note = rng.choice(ALERT_RESOLUTIONS[alert.type])
                alert_set_status(alert=alert, status=Alert.Status.RESOLVED, by=alert.owner, resolution=note)
                alert.resolved_at = self._at(week_ago + dt.timedelta(days=rng.randint(1, 6)))
            elif roll < 0.6:
                alert_set_status(alert=alert, status=Alert.Status.ACKNOWLEDGED, by=alert.owner)
                alert.acknowledged_at = self._at(week_ago + dt.timedelta(days=rng.randint(0, 3)))
        Alert.objects.bulk_update(raised, ["created_at", "resolved_at", "acknowledged_at"])
        renewals_risk_refresh()  # renewal risk from the new bands and alerts, as the nightly task does
        # A version fitted on the history, waiting for a manager to review and activate it.
        manager = User.objects.filter(role=User.Role.MANAGER).order_by("pk").first()
        try:
            self.fitted = calibrate(
                train_start=self._ago(190), train_end=self._ago(100), horizon_days=60, activate=False, by=manager
            )
        except ValidationError:  # a small demo may have too little churn in its history to learn from
            self.fitted = None

    def _alerts(self) -> None:
        rng, today, n = self.rng, self.today, self.n
        AT = Alert.Type
        plans = [p for p in self.plans if p.stage != S.CHURNED]
        wanted: list[tuple[_Plan, str, str, str, dt.date]] = []

        drops = []
        for p in plans:
            earlier = p.series.get(self._ago(30))
            now_score = p.series[today]
            if earlier is not None and p.band != GREEN and earlier - now_score >= 10:
                drops.append((earlier - now_score, p.i, p, earlier, now_score))
        for drop, _i, p, earlier, now_score in sorted(drops, reverse=True)[: round(n * 0.07)]:
            reason = (
                f"Health fell from {earlier} to {now_score} in 30 days; logins are down "
                f"{min(85, 20 + drop)}% over the same period"
            )
            severity = Alert.Severity.HIGH if p.band == RED else Alert.Severity.MEDIUM
            wanted.append((p, AT.HEALTH_DROP, severity, reason, self._ago(rng.randint(1, 20))))

        at_risk = {}
        for r in self.open_renewals:
            if r.risk == Renewal.Risk.HIGH and (r.due_date - today).days <= 120 and r.account_id not in at_risk:
                at_risk[r.account_id] = r
        for r in list(at_risk.values())[: round(n * 0.05)]:
            p = self.by_pk[r.account_id]
            detail = rng.choice(
                [
                    "the decision maker has not been met for four months",
                    f"logins fell {rng.randint(25, 60)}% in 30 days",
                    "the customer asked for a 30% discount to renew",
                    "客户正在评估竞品",
                ]
            )
            reason = (
                f"Renewal of {r.forecast_mrr * 12:,.0f} CNY a year due on {r.due_date:%Y-%m-%d}; "
                f"health is {p.band} ({p.series[today]}) and {detail}"
            )
            wanted.append((p, AT.RENEWAL_RISK, Alert.Severity.HIGH, reason, self._ago(rng.randint(1, 25))))

        slow = [
            p
            for p in plans
            if p.stage in (S.ONBOARDING, S.KICKOFF) and p.band != GREEN and (today - p.start).days >= 30
        ]
        for p in slow[: max(1, round(n * 0.025))]:
            days = (today - p.start).days
            active = max(1, round(p.seats * rng.uniform(0.05, 0.25)))
            reason = f"Signed {days} days ago; only {active} of {p.seats} licensed users have logged in"
            wanted.append((p, AT.ACTIVATION_OVERDUE, Alert.Severity.MEDIUM, reason, self._ago(rng.randint(1, 15))))

        for p in [p for p in plans if p.neglected][: round(n * 0.03)]:
            if p.last_touch:
                day, kind = p.last_touch
                reason = (
                    f"No call, meeting or visit for {(today - day).days} days "
                    f"(last: {Activity.Kind(kind).label.lower()} on {day:%Y-%m-%d})"
                )
            else:
                reason = "No call, meeting or visit recorded in the last 60 days"
            severity = Alert.Severity.MEDIUM if p.tier != Account.Tier.STANDARD else Alert.Severity.LOW
            wanted.append((p, AT.NO_RECENT_TOUCH, severity, reason, self._ago(rng.randint(1, 10))))

        for p in plans:
            for c in p.contacts:
                if c.left_on and (today - c.left_on).days <= 40:
                    label = Stakeholder.Role(c.role).label.lower()
                    reason = f"{c.name} ({c.title}) left the company on {c.left_on:%Y-%m-%d}; they were the {label}"
                    day = min(today, c.left_on + dt.timedelta(days=rng.randint(1, 3)))
                    wanted.append((p, AT.STAKEHOLDER_LEFT, Alert.Severity.HIGH, reason, day))

        accounts = Account.objects.in_bulk([p.pk for p, *_rest in wanted])
        created: list[tuple[Alert, dt.date]] = []
        for p, type_, severity, reason, day in wanted:
            alert, new = alert_raise(account=accounts[p.pk], type=type_, severity=severity, reason=reason)
            if new:
                created.append((alert, day))
        for alert, day in created:
            alert.created_at = self._at(day)
            roll = rng.random()
            if roll < 0.12:
                alert_set_status(alert=alert, status=Alert.Status.RESOLVED)
                alert.resolved_at = min(alert.created_at + dt.timedelta(hours=rng.randint(6, 120)), self.now)
            elif roll < 0.30:
                alert_set_status(alert=alert, status=Alert.Status.ACKNOWLEDGED)
        Alert.objects.bulk_update([a for a, _d in created], ["created_at", "resolved_at"])
        self.alerts = created

    def _playbooks(self) -> None:
        rng, today = self.rng, self.today
        books = {}
        for name, description, trigger, value, steps in PLAYBOOKS:
            book, _new = Playbook.objects.get_or_create(
                name=name, defaults={"description": description, "trigger": trigger, "trigger_value": value}
            )
            if _new:
                PlaybookStep.objects.bulk_create(
                    [
                        PlaybookStep(
                            playbook=book, order=k, title=title, task_type=type_, priority=priority, offset_days=offset
                        )
                        for k, (offset, title, type_, priority) in enumerate(steps)
                    ]
                )
            books[trigger] = book
        accounts = Account.objects.select_related("csm").in_bulk([p.pk for p in self.plans])
        launches: list[tuple[Playbook, int, str, dt.date]] = []
        for plan in self.plans:
            if plan.band == RED and plan.owner:
                days = 0
                while self._ago(days + 1) in plan.series and band_for(plan.series[self._ago(days + 1)]) == RED:
                    days += 1
                start = self._ago(min(days, 60))
                launches.append((books[Playbook.Trigger.HEALTH_RED], plan.pk, f"health_red:{start}", start))
            if plan.handover.startswith("accepted"):
                launches.append((books[Playbook.Trigger.STAGE_ENTERED], plan.pk, "stage:kickoff", plan.accepted_on))
        for r in self.open_renewals:
            if (r.due_date - today).days <= 90 and accounts[r.account_id].csm_id:
                start = r.due_date - dt.timedelta(days=90)
                launches.append((books[Playbook.Trigger.RENEWAL_DUE], r.account_id, f"renewal:{r.pk}", start))
        for alert, day in self.alerts:
            if alert.type == Alert.Type.STAKEHOLDER_LEFT and alert.status != Alert.Status.RESOLVED:
                launches.append((books[Playbook.Trigger.ALERT_OPENED], alert.account_id, f"alert:{alert.pk}", day))
        runs = []
        for book, pk, occurrence, start in launches:
            run, new = playbook_launch(playbook=book, account=accounts[pk], occurrence=occurrence, start=start)
            if new:
                run.launched_at = self._at(start, hour=rng.randint(6, 8))
                runs.append(run)
        PlaybookRun.objects.bulk_update(runs, ["launched_at"], batch_size=500)

    def _manual_tasks(self) -> None:
        """Every CS person's My work has overdue, today, this week and later tasks."""
        rng, today, users = self.rng, self.today, self.users
        objs = []
        for person in self.cs_people:
            mine = [p for p in self.plans if p.owner == person.username and p.stage != S.CHURNED]
            if not mine:
                continue
            manager = person.role == R.MANAGER
            buckets = [
                (rng.randint(1, 2) if manager else rng.randint(2, 3), -10, -1, "open"),
                (1 if manager else rng.randint(1, 2), 0, 0, "open"),
                (rng.randint(1, 2) if manager else rng.randint(2, 4), 1, 7, "open"),
                (rng.randint(2, 3) if manager else rng.randint(3, 5), 8, 30, "open"),
                (2 if manager else rng.randint(3, 5), -20, -1, "done"),
            ]
            for count, lo, hi, status in buckets:
                for _k in range(count):
                    plan = rng.choice(mine)
                    type_ = rng.choices(list(MANUAL_TASKS), [30, 12, 14, 14 if plan.band != GREEN else 4, 6, 12])[0]
                    title = rng.choice(MANUAL_TASKS[type_]).format(
                        dm=plan.contact(SR.DECISION_MAKER).name, dtd=plan.contact(SR.DAY_TO_DAY).name
                    )
                    due = today + dt.timedelta(days=rng.randint(lo, hi))
                    done = status == "done"
                    objs.append(
                        Task(
                            account_id=plan.pk,
                            title=title,
                            type=type_,
                            priority=rng.choices(["high", "normal", "low"], [2, 6, 2])[0],
                            due_date=due,
                            owner=users[person.username],
                            status=Task.Status.DONE if done else Task.Status.OPEN,
                            source=Task.Source.MANUAL,
                            completed_at=self._at(due - dt.timedelta(days=rng.randint(0, 2))) if done else None,
                        )
                    )
        Task.objects.bulk_create(objs, batch_size=1000)

    def _close_past_tasks(self) -> None:
        """Playbook tasks launched weeks ago were mostly done on time; a few slipped."""
        rng, today = self.rng, self.today
        tasks = list(
            Task.objects.filter(source=Task.Source.PLAYBOOK, status=Task.Status.OPEN, due_date__lt=today).order_by("pk")
        )
        changed = []
        for task in tasks:
            age = (today - task.due_date).days
            roll = rng.random()
            if roll < (0.9 if age > 3 else 0.4):
                task.status = Task.Status.DONE
                task.completed_at = self._at(task.due_date - dt.timedelta(days=rng.randint(0, 2)))
                changed.append(task)
            elif roll < 0.93 and age > 3:
                task.status = Task.Status.CANCELLED
                changed.append(task)
        Task.objects.bulk_update(changed, ["status", "completed_at"], batch_size=500)
