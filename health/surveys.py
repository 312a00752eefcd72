"""Surveys: NPS (0-10) and CSAT (1-5) answers from people at the customer.

Services and selectors for one area, kept in one module (see architecture.md: an app
that grows splits by area). Writes check the domain rules here, so the page form and the
API give the same field errors; reads start from cs_platform.access."""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Stakeholder
from cs_platform.access import restrict

from .models import SurveyResponse

SCORE_RANGE = {SurveyResponse.Kind.NPS: (0, 10), SurveyResponse.Kind.CSAT: (1, 5)}
PROMOTER_FROM = 9  # NPS: 9-10 promoters, 7-8 passives, 0-6 detractors
DETRACTOR_UP_TO = 6
NPS_WINDOW_DAYS = 365
RECENT_LIMIT = 5


# ------------------------------------------------------------------ services


def _check(*, account: Account, kind: str, score, responded_on, stakeholder: Stakeholder | None, today) -> None:
    """Every rule an answer must meet, reported per field at once."""
    errors: dict[str, list] = {}
    if kind not in SCORE_RANGE:
        errors["kind"] = [_("Choose NPS or CSAT.")]
    elif score is None or not SCORE_RANGE[kind][0] <= score <= SCORE_RANGE[kind][1]:
        low, high = SCORE_RANGE[kind]
        errors["score"] = [
            _("A %(kind)s score is a whole number from %(low)d to %(high)d.")
            % {"kind": SurveyResponse.Kind(kind).name, "low": low, "high": high}
        ]
    if responded_on is None:
        errors["responded_on"] = [_("Give the day of the answer.")]
    elif responded_on > today:
        errors["responded_on"] = [_("The answer cannot be dated in the future.")]
    if stakeholder is not None:
        if stakeholder.account_id != account.pk:
            errors["stakeholder"] = [_("This person is not a stakeholder of the account.")]
        elif not stakeholder.is_active and not (
            stakeholder.left_on and responded_on and stakeholder.left_on >= responded_on
        ):
            errors["stakeholder"] = [_("This person had left the customer by then.")]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def survey_response_record(
    *,
    account: Account,
    kind: str,
    score: int,
    responded_on: dt.date,
    stakeholder: Stakeholder | None = None,
    comment: str = "",
    external_id: str | None = None,
    by=None,
) -> tuple[SurveyResponse, bool]:
    """Record an answer, or update the one with the same `external_id` (the survey tool's
    ID), so a tool that sends an answer twice changes nothing the second time.
    Returns (answer, created). Bad input raises ValidationError and writes nothing."""
    today = timezone.localdate()
    _check(account=account, kind=kind, score=score, responded_on=responded_on, stakeholder=stakeholder, today=today)
    external_id = (external_id or "").strip() or None
    values = {
        "kind": kind,
        "score": score,
        "responded_on": responded_on,
        "stakeholder": stakeholder,
        "comment": (comment or "").strip(),
    }
    existing = None
    if external_id is not None:
        existing = SurveyResponse.objects.select_for_update().filter(external_id=external_id).first()
    if existing is None:
        answer = SurveyResponse(account=account, external_id=external_id, created_by=by, **values)
        answer.full_clean(validate_unique=False)
        try:
            with transaction.atomic():
                answer.save()
            return answer, True
        except IntegrityError:  # the same answer arrived twice at once: the first one stands
            existing = SurveyResponse.objects.select_for_update().filter(external_id=external_id).first()
            if existing is None:
                raise
    if existing.account_id != account.pk:
        raise ValidationError({"external_id": _("This survey tool ID belongs to an answer of another account.")})
    for key, value in values.items():
        setattr(existing, key, value)
    existing.full_clean(validate_unique=False)
    existing.save(update_fields=list(values))
    return existing, False


# ------------------------------------------------------------------ selectors


def survey_response_list(*, user) -> QuerySet[SurveyResponse]:
    """The answers of the accounts `user` may see, newest first, ready to list."""
    return (
        restrict(SurveyResponse.objects.all(), user)
        .select_related("account", "stakeholder", "created_by")
        .order_by("-responded_on", "-pk")
    )


def survey_stakeholders(*, account: Account) -> QuerySet[Stakeholder]:
    """Who can be named as having answered: the account's people still there."""
    return Stakeholder.objects.filter(account=account, is_active=True).order_by("role", "name")


@dataclass(frozen=True)
class NetPromoterScore:
    score: int  # promoters % - detractors %, -100..100
    responses: int
    promoters: int
    passives: int
    detractors: int


def nps_for(*, user, account: Account, today: dt.date, days: int = NPS_WINDOW_DAYS) -> NetPromoterScore | None:
    """The account's Net Promoter Score over the last `days` days (every NPS answer
    counts), or None when nobody answered. One query."""
    counts = (
        restrict(SurveyResponse.objects.filter(account=account, kind=SurveyResponse.Kind.NPS), user)
        .filter(responded_on__gt=today - dt.timedelta(days=days), responded_on__lte=today)
        .aggregate(
            responses=Count("pk"),
            promoters=Count("pk", filter=Q(score__gte=PROMOTER_FROM)),
            detractors=Count("pk", filter=Q(score__lte=DETRACTOR_UP_TO)),
        )
    )
    total = counts["responses"]
    if not total:
        return None
    promoters, detractors = counts["promoters"], counts["detractors"]
    return NetPromoterScore(
        score=round(100 * (promoters - detractors) / total),
        responses=total,
        promoters=promoters,
        passives=total - promoters - detractors,
        detractors=detractors,
    )


def survey_summary(*, user, account: Account, today: dt.date, limit: int = RECENT_LIMIT) -> dict:
    """What the health panel shows of surveys: the latest NPS and CSAT answers (with who
    and when), the most recent answers and the NPS of the last 12 months. Three queries,
    whatever the number of answers."""
    answers = survey_response_list(user=user).filter(account=account)
    newest = SurveyResponse.objects.filter(account=OuterRef("account"), kind=OuterRef("kind")).order_by(
        "-responded_on", "-pk"
    )
    latest = {a.kind: a for a in answers.filter(pk=Subquery(newest.values("pk")[:1]))}
    return {
        "latest_nps": latest.get(SurveyResponse.Kind.NPS),
        "latest_csat": latest.get(SurveyResponse.Kind.CSAT),
        "recent": list(answers[:limit]),
        "nps": nps_for(user=user, account=account, today=today),
    }
