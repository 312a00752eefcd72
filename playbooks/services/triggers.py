"""Playbook triggers: which accounts a triggered playbook is launched for, and when.

Playbooks sit below health and handover, so they learn about events in two ways
(architecture, "Which app may import which"):

- they *read* what lower apps and the health tables recorded: new rows of the account's
  stage history, upcoming open renewals, the health score history (read through the app
  registry, never by importing health); `playbooks_fire` runs every hour;
- a higher app *calls down*: health calls `playbook_launch_for_trigger` when it opens an
  alert.

Every launch names its trigger occurrence ("stage:<change id>", "renewal:<renewal id>",
"health_red:<day the band turned red>", "alert:<alert id>"); PlaybookRun is unique per
(playbook, account, occurrence), so a retry or a second run creates nothing twice.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from django.apps import apps
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from accounts.models import Account, AccountStageChange
from renewals.models import Renewal

from ..models import Playbook, PlaybookRun
from .tasks import playbook_launch

logger = logging.getLogger(__name__)

# How far back the stage scan looks: a stage change older than this is history, not news
# (and a trigger task that was down for a few days still catches up).
STAGE_LOOKBACK = dt.timedelta(days=7)


@dataclass(frozen=True)
class Match:
    """One launch due: tasks are dated from `start`, the day the scan saw the trigger."""

    playbook: Playbook
    account: Account
    occurrence: str
    start: dt.date


def _playbooks() -> list[Playbook]:
    return list(
        Playbook.objects.filter(is_active=True).exclude(trigger=Playbook.Trigger.MANUAL).prefetch_related("steps")
    )


def _workable(prefix: str = "") -> Q:
    """Accounts a playbook can be launched for: someone owns them and they have not churned."""
    return Q(**{f"{prefix}csm__isnull": False}) & ~Q(**{f"{prefix}lifecycle_stage": Account.Stage.CHURNED})


def _stage_matches(playbooks: list[Playbook], *, today: dt.date) -> list[Match]:
    by_stage: dict[str, list[Playbook]] = {}
    for playbook in playbooks:
        by_stage.setdefault(playbook.trigger_value, []).append(playbook)
    if not by_stage:
        return []
    since = timezone.make_aware(dt.datetime.combine(today, dt.time.min)) - STAGE_LOOKBACK
    changes = AccountStageChange.objects.filter(
        _workable("account__"), to_stage__in=list(by_stage), changed_at__gte=since
    ).select_related("account", "account__csm")
    return [
        Match(p, change.account, f"stage:{change.pk}", today) for change in changes for p in by_stage[change.to_stage]
    ]


def _renewal_matches(playbooks: list[Playbook], *, today: dt.date) -> list[Match]:
    days = {p.pk: int(p.trigger_value) for p in playbooks if p.trigger_value.strip().isdigit()}
    if not days:
        return []
    renewals = Renewal.objects.filter(
        _workable("account__"),
        stage__in=Renewal.OPEN_STAGES,
        due_date__gt=today,
        due_date__lte=today + dt.timedelta(days=max(days.values())),
    ).select_related("account", "account__csm")
    return [
        Match(p, renewal.account, f"renewal:{renewal.pk}", today)
        for renewal in renewals
        for p in playbooks
        if p.pk in days and (renewal.due_date - today).days <= days[p.pk]
    ]


def _health_red_matches(playbooks: list[Playbook], *, today: dt.date) -> list[Match]:
    """Accounts whose latest score is red while the one before was not (or there was none):
    the band turned red on the latest score's day."""
    if not playbooks:
        return []
    health_score = apps.get_model("health", "HealthScore")
    history = health_score.objects.filter(account=OuterRef("pk"), as_of__lte=today).order_by("-as_of")
    accounts = (
        Account.objects.filter(_workable(), health_band=Account.HealthBand.RED)
        .annotate(
            latest_band=Subquery(history.values("band")[:1]),
            latest_day=Subquery(history.values("as_of")[:1]),
            previous_band=Subquery(history.values("band")[1:2]),
        )
        .filter(latest_band=Account.HealthBand.RED)
        .filter(
            Q(previous_band__isnull=True) | Q(previous_band__in=[Account.HealthBand.GREEN, Account.HealthBand.YELLOW])
        )
        .select_related("csm")
    )
    return [
        Match(p, account, f"health_red:{account.latest_day:%Y-%m-%d}", today) for account in accounts for p in playbooks
    ]


def _launch(matches: list[Match]) -> int:
    """Launch what is not launched yet. One query finds the runs that already exist, so a
    second run of the scan calls nothing; then one playbook_launch per new (playbook,
    account, occurrence) — a few per day, and each is itself idempotent."""
    if not matches:
        return 0
    done = set(
        PlaybookRun.objects.filter(
            playbook__in={m.playbook.pk for m in matches}, occurrence__in={m.occurrence for m in matches}
        ).values_list("playbook_id", "account_id", "occurrence")
    )
    launched = 0
    for m in matches:
        if (m.playbook.pk, m.account.pk, m.occurrence) in done:
            continue
        _, created = playbook_launch(playbook=m.playbook, account=m.account, occurrence=m.occurrence, start=m.start)
        launched += created
        done.add((m.playbook.pk, m.account.pk, m.occurrence))
    return launched


def playbooks_fire(*, today: dt.date) -> dict:
    """Launch the playbooks whose trigger fired: a stage entered in the last 7 days, an open
    renewal due in N days or fewer (and not yet past), a health band that turned red.

    The matching is set-based: one query for the playbooks, one per trigger kind whatever
    the number of accounts, one for the runs that already exist. Launching then loops over
    the new matches only (few per day), calling playbook_launch for each."""
    playbooks = _playbooks()

    def of(trigger: str) -> list[Playbook]:
        return [p for p in playbooks if p.trigger == trigger]

    launched = {
        "stage_entered": _launch(_stage_matches(of(Playbook.Trigger.STAGE_ENTERED), today=today)),
        "renewal_due": _launch(_renewal_matches(of(Playbook.Trigger.RENEWAL_DUE), today=today)),
        "health_red": _launch(_health_red_matches(of(Playbook.Trigger.HEALTH_RED), today=today)),
    }
    logger.info("playbooks fired on %s: %s", today, launched)
    return {"today": today.isoformat(), "launched": launched}


def playbook_launch_for_trigger(*, trigger: str, value: str, account: Account, occurrence: str) -> list:
    """Launch every active playbook with this trigger and value for `account` (health calls
    this with trigger "alert_opened", the alert's type and occurrence "alert:<id>").
    Returns the runs created; an account nobody owns, or a second call, creates nothing."""
    if account.csm_id is None or account.lifecycle_stage == Account.Stage.CHURNED:
        return []
    runs = []
    for playbook in Playbook.objects.filter(is_active=True, trigger=trigger, trigger_value=value).prefetch_related(
        "steps"
    ):
        run, created = playbook_launch(playbook=playbook, account=account, occurrence=occurrence)
        if created:
            runs.append(run)
    return runs
