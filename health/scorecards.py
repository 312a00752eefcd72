"""Scorecard versions: the default one, new versions from a manager's edits or a fit, and
activation. A version is never changed once it has scored; editing makes a new one."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import ScorecardMeasure, ScorecardVersion

K = ScorecardMeasure.Kind
P = ScorecardMeasure.Per

# Works on any event types: usage counts every event unless a measure names one.
DEFAULT_MEASURES = [
    {"key": "usage_per_seat", "kind": K.USAGE, "per": P.SEAT, "window_days": 30, "weight": 25,
     "thresholds": [[0, 0], [1, 40], [3, 80], [6, 100]]},
    {"key": "usage_trend", "kind": K.USAGE_TREND, "window_days": 30, "weight": 15,
     "thresholds": [[-50, 0], [-20, 30], [0, 60], [20, 100]]},
    {"key": "active_users", "kind": K.ACTIVE_USERS, "window_days": 30, "weight": 20,
     "thresholds": [[0, 0], [0.05, 40], [0.12, 80], [0.25, 100]]},
    {"key": "breadth", "kind": K.BREADTH, "window_days": 30, "weight": 10,
     "thresholds": [[0, 0], [1, 20], [3, 60], [5, 100]]},
    {"key": "touches", "kind": K.TOUCHES, "window_days": 90, "weight": 10,
     "thresholds": [[0, 0], [1, 40], [3, 100]]},
    {"key": "exec_touch", "kind": K.EXEC_TOUCH, "window_days": 90, "weight": 5, "thresholds": [[0, 0], [1, 100]]},
    {"key": "nps", "kind": K.NPS, "window_days": 180, "weight": 10,
     "thresholds": [[0, 0], [6, 40], [8, 80], [10, 100]]},
    {"key": "complaints", "kind": K.COMPLAINTS, "window_days": 90, "weight": 5,
     "thresholds": [[0, 100], [1, 60], [3, 0]]},
    {"key": "plan_overdue", "kind": K.PLAN_OVERDUE, "weight": 5, "thresholds": [[0, 100], [2, 50], [5, 0]]},
    {"key": "invoices_overdue", "kind": K.INVOICES_OVERDUE, "weight": 5, "thresholds": [[0, 100], [1, 40], [2, 0]]},
    {"key": "file_completeness", "kind": K.FILE_COMPLETENESS, "weight": 5,
     "thresholds": [[0, 0], [50, 50], [100, 100]]},
]  # fmt: skip

# Default thresholds offered when a manager adds a measure of a kind.
DEFAULT_THRESHOLDS = {m["kind"]: m["thresholds"] for m in DEFAULT_MEASURES} | {
    K.CSAT: [[1, 0], [3, 50], [5, 100]],
}


def active_version() -> ScorecardVersion:
    """The active version; on a new installation, the default scorecard (created once)."""
    version = ScorecardVersion.objects.filter(is_active=True).first()
    if version is not None:
        return version
    try:
        with transaction.atomic():
            version = version_create(
                name=_("Default scorecard"),
                note=_(
                    "Usage, adoption, engagement, sentiment, plan and payment measures that work on any event types."
                ),
                measures=DEFAULT_MEASURES,
                activation_measure="active_users",
                activation_threshold=0.05,
            )
            return version_activate(version=version)
    except IntegrityError:  # another process made it first
        return ScorecardVersion.objects.get(is_active=True)


def _validate_measures(measures: list[dict]) -> None:
    keys = [m["key"] for m in measures]
    if not measures:
        raise ValidationError({"measures": _("A scorecard needs at least one measure.")})
    if len(set(keys)) != len(keys):
        raise ValidationError({"measures": _("Each measure needs its own key.")})


@transaction.atomic
def version_create(
    *,
    name: str,
    measures: list[dict],
    note: str = "",
    kind: str = ScorecardVersion.Kind.WEIGHTED,
    green_from: int = 70,
    yellow_from: int = 40,
    activation_measure: str = "",
    activation_threshold: float = 0,
    intercept: float | None = None,
    fit: dict | None = None,
    based_on: ScorecardVersion | None = None,
    by=None,
) -> ScorecardVersion:
    """A new (inactive) version with its measures; the next number."""
    _validate_measures(measures)
    if kind == ScorecardVersion.Kind.WEIGHTED and not any(float(m.get("weight") or 0) > 0 for m in measures):
        raise ValidationError({"measures": _("At least one measure needs a weight above zero.")})
    if activation_measure and activation_measure not in {m["key"] for m in measures}:
        raise ValidationError({"activation_measure": _("The activation measure must be one of the measures.")})
    number = (ScorecardVersion.objects.select_for_update().aggregate(n=Max("number"))["n"] or 0) + 1
    version = ScorecardVersion(
        number=number,
        name=name,
        note=note,
        kind=kind,
        green_from=green_from,
        yellow_from=yellow_from,
        activation_measure=activation_measure,
        activation_threshold=activation_threshold,
        intercept=intercept,
        fit=fit or {},
        based_on=based_on,
        created_by=by,
    )
    version.full_clean()
    version.save()
    objs = []
    for i, m in enumerate(measures):
        obj = ScorecardMeasure(version=version, position=i, **{k: v for k, v in m.items() if k != "position"})
        obj.full_clean(exclude=["version"])
        objs.append(obj)
    ScorecardMeasure.objects.bulk_create(objs)
    return version


def measures_of(version: ScorecardVersion) -> list[dict]:
    """A version's measures as plain dicts, to copy into a new version."""
    fields = ["key", "label", "kind", "event_type", "per", "window_days", "thresholds", "weight"]
    return [{f: getattr(m, f) for f in fields} for m in version.measures.all()]


@transaction.atomic
def version_activate(*, version: ScorecardVersion, by=None) -> ScorecardVersion:
    """Make `version` the one that scores from now on (the next run uses it)."""
    ScorecardVersion.objects.select_for_update().filter(is_active=True).exclude(pk=version.pk).update(is_active=False)
    version.is_active = True
    version.activated_at = timezone.now()
    version.save(update_fields=["is_active", "activated_at"])
    return version
