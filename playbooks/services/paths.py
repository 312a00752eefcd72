"""Writes for success path templates (成功路径): paths, their stages and steps.

Plans copy a path's steps when they start, so an edit here never changes a plan under
way; each save action raises the path's version by exactly one, in the same transaction,
so a plan can tell which version it was started from. Stages and steps are retired, never
deleted: know-how and plan steps point at them."""

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import PathStage, PathStep, SuccessPath

MAX_OFFSET_DAYS = 730  # two years: later than that is a typo, not a plan
UP, DOWN = "up", "down"


# ------------------------------------------------------------------ helpers


def _lock(path_id: int) -> None:
    """Serialise edits of one path (PostgreSQL), so two reorders never interleave."""
    SuccessPath.objects.select_for_update().filter(pk=path_id).values_list("pk", flat=True).first()


def _bump(path: SuccessPath) -> SuccessPath:
    """Raise the version by one (in SQL, so concurrent edits each count) and refresh."""
    SuccessPath.objects.filter(pk=path.pk).update(version=F("version") + 1, updated_at=timezone.now())
    path.refresh_from_db(fields=["version", "updated_at"])
    return path


def _clean_text(value) -> str:
    return (value or "").strip()


def _check_name(*, name: str, exclude_pk: int | None = None) -> None:
    if not name:
        raise ValidationError({"name": _("Give the path a name.")})
    clash = SuccessPath.objects.filter(name__iexact=name)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError({"name": _("A success path with this name already exists.")})


def _check_offset(value) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        days = -1
    if not 0 <= days <= MAX_OFFSET_DAYS:
        raise ValidationError(
            {"due_offset_days": _("Enter a number of days from 0 to %(max)d.") % {"max": MAX_OFFSET_DAYS}}
        )
    return days


def _reordered(siblings: list, moved, direction: str) -> list:
    """`siblings` (all, in order) with `moved` swapped with its nearest active neighbour.
    Retired items keep their slots, so moving skips over what the editor hides."""
    active = [s for s in siblings if not s.is_retired]
    if moved not in active or direction not in (UP, DOWN):
        return siblings
    i = active.index(moved)
    j = i - 1 if direction == UP else i + 1
    if not 0 <= j < len(active):
        return siblings
    active[i], active[j] = active[j], active[i]
    return _merge(siblings, active)


def _merge(siblings: list, active_in_order: list) -> list:
    """Put `active_in_order` into the slots the active siblings held."""
    it = iter(active_in_order)
    return [s if s.is_retired else next(it) for s in siblings]


def _renumber(model, items: list) -> bool:
    """Store 0..n-1 as the order of `items`; True when anything changed."""
    changed = [item for i, item in enumerate(items) if item.order != i]
    for i, item in enumerate(items):
        item.order = i
    if changed:
        model.objects.bulk_update(changed, ["order"])
    return bool(changed)


def _ids(order: Sequence) -> list[int]:
    try:
        return [int(x) for x in order]
    except (TypeError, ValueError) as error:
        raise ValidationError({"order": _("The order must list item numbers.")}) from error


def _reorder(model, siblings: list, order: Sequence) -> bool:
    ids = _ids(order)
    active = {s.pk: s for s in siblings if not s.is_retired}
    if len(ids) != len(set(ids)) or set(ids) != set(active):
        raise ValidationError({"order": _("The order must list every item shown exactly once; reload the page.")})
    return _renumber(model, _merge(siblings, [active[pk] for pk in ids]))


# ------------------------------------------------------------------ paths


@transaction.atomic
def path_create(*, name: str, scenario: str = "", segment: str = "", by=None) -> SuccessPath:
    """A new path, at version 1, with no stages yet."""
    name = _clean_text(name)
    _check_name(name=name)
    path = SuccessPath(name=name, scenario=_clean_text(scenario), segment=_clean_text(segment))
    path.full_clean()
    path.save()
    return path


@transaction.atomic
def path_update(*, path: SuccessPath, name: str, scenario: str = "", segment: str = "", by=None) -> SuccessPath:
    _lock(path.pk)
    name = _clean_text(name)
    _check_name(name=name, exclude_pk=path.pk)
    new = {"name": name, "scenario": _clean_text(scenario), "segment": _clean_text(segment)}
    if all(getattr(path, k) == v for k, v in new.items()):
        return path
    for field, value in new.items():
        setattr(path, field, value)
    path.full_clean()
    path.save(update_fields=[*new, "updated_at"])
    return _bump(path)


def _path_set_active(path: SuccessPath, active: bool) -> SuccessPath:
    _lock(path.pk)
    if path.is_active == active:
        return path
    path.is_active = active
    path.save(update_fields=["is_active", "updated_at"])
    return _bump(path)


@transaction.atomic
def path_retire(*, path: SuccessPath, by=None) -> SuccessPath:
    """No new plan starts from a retired path; plans already started go on."""
    return _path_set_active(path, False)


@transaction.atomic
def path_restore(*, path: SuccessPath, by=None) -> SuccessPath:
    return _path_set_active(path, True)


# ------------------------------------------------------------------ stages


def _stages(path_id: int) -> list[PathStage]:
    return list(PathStage.objects.filter(path_id=path_id).order_by("order", "pk"))


def _check_stage_name(name: str) -> None:
    if not name:
        raise ValidationError({"name": _("Give the stage a name.")})


@transaction.atomic
def stage_add(*, path: SuccessPath, name: str, by=None) -> PathStage:
    """A stage at the end of the path."""
    _lock(path.pk)
    name = _clean_text(name)
    _check_stage_name(name)
    last = PathStage.objects.filter(path=path).aggregate(m=Max("order"))["m"]
    stage = PathStage(path=path, name=name, order=0 if last is None else last + 1)
    stage.full_clean()
    stage.save()
    _bump(path)
    return stage


@transaction.atomic
def stage_update(*, stage: PathStage, name: str, by=None) -> PathStage:
    _lock(stage.path_id)
    name = _clean_text(name)
    _check_stage_name(name)
    if stage.name == name:
        return stage
    stage.name = name
    stage.full_clean()
    stage.save(update_fields=["name"])
    _bump(stage.path)
    return stage


def _stage_set_retired(stage: PathStage, retired: bool) -> PathStage:
    _lock(stage.path_id)
    if stage.is_retired == retired:
        return stage
    stage.is_retired = retired
    stage.save(update_fields=["is_retired"])
    _bump(stage.path)
    return stage


@transaction.atomic
def stage_retire(*, stage: PathStage, by=None) -> PathStage:
    """Plans started later leave the stage (and its steps) out; nothing is deleted."""
    return _stage_set_retired(stage, True)


@transaction.atomic
def stage_restore(*, stage: PathStage, by=None) -> PathStage:
    return _stage_set_retired(stage, False)


@transaction.atomic
def stage_move(*, stage: PathStage, direction: str, by=None) -> PathStage:
    """Move a stage one place up or down among the stages in use; at either end a no-op."""
    if direction not in (UP, DOWN):
        raise ValidationError({"direction": _("Move up or down.")})
    _lock(stage.path_id)
    siblings = _stages(stage.path_id)
    current = next((s for s in siblings if s.pk == stage.pk), None)
    if current is not None and _renumber(PathStage, _reordered(siblings, current, direction)):
        stage.order = current.order
        _bump(stage.path)
    return stage


@transaction.atomic
def stage_reorder(*, path: SuccessPath, order: Sequence, by=None) -> SuccessPath:
    """Put the stages in use in the order of `order` (their ids, every one exactly once)."""
    _lock(path.pk)
    if _reorder(PathStage, _stages(path.pk), order):
        _bump(path)
    return path


# ------------------------------------------------------------------ steps


def _steps(stage_id: int) -> list[PathStep]:
    return list(PathStep.objects.filter(stage_id=stage_id).order_by("order", "pk"))


def _step_values(*, title, guidance, owner_role, due_offset_days, exit_criteria) -> dict:
    values = {
        "title": _clean_text(title),
        "guidance": _clean_text(guidance),
        "owner_role": owner_role or PathStep.OwnerRole.CSM,
        "exit_criteria": _clean_text(exit_criteria),
    }
    errors = {}
    if not values["title"]:
        errors["title"] = [_("Give the step a title.")]
    if values["owner_role"] not in PathStep.OwnerRole.values:
        errors["owner_role"] = [_("Choose who owns the step.")]
    try:
        values["due_offset_days"] = _check_offset(due_offset_days)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return values


@transaction.atomic
def step_add(
    *,
    stage: PathStage,
    title: str,
    guidance: str = "",
    owner_role: str = PathStep.OwnerRole.CSM,
    due_offset_days: int = 0,
    exit_criteria: str = "",
    by=None,
) -> PathStep:
    """A step at the end of the stage."""
    _lock(stage.path_id)
    if PathStage.objects.filter(pk=stage.pk, is_retired=True).exists():
        raise ValidationError(_("Restore the stage before adding steps to it."))
    values = _step_values(
        title=title, guidance=guidance, owner_role=owner_role, due_offset_days=due_offset_days,
        exit_criteria=exit_criteria,
    )  # fmt: skip
    last = PathStep.objects.filter(stage=stage).aggregate(m=Max("order"))["m"]
    step = PathStep(stage=stage, order=0 if last is None else last + 1, **values)
    step.full_clean()
    step.save()
    _bump(stage.path)
    return step


@transaction.atomic
def step_update(
    *,
    step: PathStep,
    title: str,
    guidance: str = "",
    owner_role: str = PathStep.OwnerRole.CSM,
    due_offset_days: int = 0,
    exit_criteria: str = "",
    by=None,
) -> PathStep:
    path_id = PathStage.objects.filter(pk=step.stage_id).values_list("path_id", flat=True).get()
    _lock(path_id)
    values = _step_values(
        title=title, guidance=guidance, owner_role=owner_role, due_offset_days=due_offset_days,
        exit_criteria=exit_criteria,
    )  # fmt: skip
    if all(getattr(step, k) == v for k, v in values.items()):
        return step
    for field, value in values.items():
        setattr(step, field, value)
    step.full_clean()
    step.save(update_fields=list(values))
    _bump(SuccessPath(pk=path_id))
    return step


def _step_set_retired(step: PathStep, retired: bool) -> PathStep:
    path_id = PathStage.objects.filter(pk=step.stage_id).values_list("path_id", flat=True).get()
    _lock(path_id)
    if step.is_retired == retired:
        return step
    step.is_retired = retired
    step.save(update_fields=["is_retired"])
    _bump(SuccessPath(pk=path_id))
    return step


@transaction.atomic
def step_retire(*, step: PathStep, by=None) -> PathStep:
    """Plans started later leave the step out; its know-how and plan copies stay."""
    return _step_set_retired(step, True)


@transaction.atomic
def step_restore(*, step: PathStep, by=None) -> PathStep:
    return _step_set_retired(step, False)


@transaction.atomic
def step_move(*, step: PathStep, direction: str, by=None) -> PathStep:
    """Move a step one place up or down among its stage's steps in use."""
    if direction not in (UP, DOWN):
        raise ValidationError({"direction": _("Move up or down.")})
    path_id = PathStage.objects.filter(pk=step.stage_id).values_list("path_id", flat=True).get()
    _lock(path_id)
    siblings = _steps(step.stage_id)
    current = next((s for s in siblings if s.pk == step.pk), None)
    if current is not None and _renumber(PathStep, _reordered(siblings, current, direction)):
        step.order = current.order
        _bump(SuccessPath(pk=path_id))
    return step


@transaction.atomic
def step_reorder(*, stage: PathStage, order: Sequence, by=None) -> PathStage:
    """Put the stage's steps in use in the order of `order` (their ids, each once)."""
    _lock(stage.path_id)
    if _reorder(PathStep, _steps(stage.pk), order):
        _bump(SuccessPath(pk=stage.path_id))
    return stage
