"""NPS and CSAT answers for the demo, in line with each account's health (healthy
customers mostly promoters, red ones detractors), and a few manual overrides written by
CSMs who know something the score does not. Its own random stream."""

import datetime as dt
import random

from accounts.models import Account, Stakeholder
from health.models import HealthOverride, SurveyResponse

COMMENTS = {
    "high": ["Very responsive team; the weekly call helps.", "系统稳定，客服响应很快。", "Go-live went smoothly."],
    "mid": ["Good product, reports are slow at month end.", "培训还不够，希望多一些案例。", ""],
    "low": ["Too many open tickets; nobody follows up.", "导出报表太慢，影响月底结账。", "We are evaluating options."],
}
OVERRIDES = [
    (35, "The new CIO is reviewing every vendor; usage looks fine but the renewal is at real risk.",
     "新任CIO正在评估所有供应商，使用数据正常但续约风险很高。"),
    (80, "Expansion to three new plants agreed on site last week; the score lags the rollout.",
     "上周现场确认再扩展三个工厂，分数还没有反映出来。"),
]  # fmt: skip


def load(builder) -> dict:
    rng = random.Random(builder.rng.random())
    today = builder.today
    accounts = list(
        Account.objects.exclude(lifecycle_stage=Account.Stage.CHURNED).filter(csm__isnull=False).order_by("pk")
    )
    people: dict[int, list[Stakeholder]] = {}
    for person in Stakeholder.objects.filter(is_active=True).order_by("pk"):
        people.setdefault(person.account_id, []).append(person)
    answers = []
    for account in accounts:
        if not people.get(account.pk) or rng.random() < 0.35:
            continue
        health = account.health_score or 60
        for _ in range(rng.randint(1, 4)):
            day = today - dt.timedelta(days=rng.randint(3, 360))
            kind = rng.choice([SurveyResponse.Kind.NPS, SurveyResponse.Kind.NPS, SurveyResponse.Kind.CSAT])
            lean = (health - 50) / 50 + rng.gauss(0, 0.35)  # -1 .. 1
            if kind == SurveyResponse.Kind.NPS:
                score = max(0, min(10, round(7 + 3 * lean)))
            else:
                score = max(1, min(5, round(3.8 + 1.3 * lean)))
            mood = "high" if lean > 0.3 else "low" if lean < -0.3 else "mid"
            answers.append(
                SurveyResponse(
                    account=account, stakeholder=rng.choice(people[account.pk]), kind=kind, score=score,
                    comment=rng.choice(COMMENTS[mood]), responded_on=day, created_by=account.csm,
                )
            )  # fmt: skip
    SurveyResponse.objects.bulk_create(answers, batch_size=1000)
    overrides = []
    for account, (score, en, zh) in zip(rng.sample(accounts, min(4, len(accounts))), OVERRIDES * 2, strict=False):
        overrides.append(
            HealthOverride(
                account=account, score=score, reason=zh if account.name[0] > "\u2e80" else en,
                expires_on=today + dt.timedelta(days=rng.randint(10, 60)), created_by=account.csm,
            )
        )  # fmt: skip
    HealthOverride.objects.bulk_create(overrides)
    return {"survey_responses": len(answers), "health_overrides": len(overrides)}
