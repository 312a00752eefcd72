"""The Celery app. The beat schedule lives here, in code, so it is reviewed like code."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cs_platform.settings")

app = Celery("cs_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Score every account as of today (the world at midnight) with the active scorecard,
    # then evaluate the early-warning rules.
    "health-score": {
        "task": "health.tasks.health_score_task",
        "schedule": crontab(minute=40, hour=0),
    },
    # Roll yesterday's and today's raw usage into the daily table (idempotent upsert).
    "usage-rollup": {
        "task": "health.tasks.usage_rollup_task",
        "schedule": crontab(minute="*/15"),
    },
    # Tiers follow contract value (ARR from active subscriptions), re-derived nightly.
    "account-tiers": {
        "task": "accounts.tasks.account_tiers_refresh_task",
        "schedule": crontab(minute=30, hour=2),
    },
    # Keep one renewal per account and term in step with subscription end dates.
    "renewals-sync": {
        "task": "renewals.tasks.renewals_sync_task",
        "schedule": crontab(minute=10, hour="*/6"),
    },
    # Launch triggered playbooks (stage entered, renewal approaching, health turned red).
    "playbooks-fire": {
        "task": "playbooks.tasks.playbooks_fire_task",
        "schedule": crontab(minute=20),
    },
    # Create touch-cadence check-in tasks ahead of each period.
    "cadence-tasks": {
        "task": "playbooks.tasks.cadence_tasks_create_task",
        "schedule": crontab(minute=0, hour=6),
    },
    # Tell managers about submitted handovers not reviewed within HANDOVER_REVIEW_DAYS
    # business days (each once), on working mornings.
    "handovers-overdue": {
        "task": "handover.tasks.handovers_flag_overdue_task",
        "schedule": crontab(minute=30, hour=8, day_of_week="mon-fri"),
    },
}
