"""The handover flow: draft -> submitted -> returned -> submitted -> accepted.
Every transition is recorded with who and when."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from cs_platform.access import can_change
from people.models import User

from .models import Handover, HandoverTransition

S = Handover.Status


def _record(handover: Handover, *, to: str, by: User, note: str = "") -> None:
    HandoverTransition.objects.create(handover=handover, from_status=handover.status, to_status=to, by=by, note=note)
    handover.status = to


@transaction.atomic
def handover_create(*, account: Account, sales_owner: User, data: dict | None = None) -> Handover:
    handover = Handover(account=account, sales_owner=sales_owner, **(data or {}))
    handover.full_clean()
    handover.save()
    HandoverTransition.objects.create(handover=handover, from_status="", to_status=S.DRAFT, by=sales_owner)
    return handover


@transaction.atomic
def handover_submit(*, handover: Handover, by: User, csm: User | None = None) -> Handover:
    handover = Handover.objects.select_for_update().get(pk=handover.pk)
    if handover.status not in (S.DRAFT, S.RETURNED):
        raise ValidationError({"status": _("Only a draft or a returned handover can be submitted.")})
    if not can_change(by, handover):
        raise ValidationError(_("Only the sales owner can submit this handover."))
    _record(handover, to=S.SUBMITTED, by=by)
    handover.submitted_at = timezone.now()
    if csm is not None:
        handover.csm = csm
    handover.save()
    return handover


def _check_reviewer(handover: Handover, by: User) -> None:
    if handover.status != S.SUBMITTED:
        raise ValidationError({"status": _("Only a submitted handover can be reviewed.")})
    if by.role == User.Role.SALES or not can_change(by, handover.account):
        raise ValidationError(_("Only a CSM or manager of the account's team can review this handover."))


@transaction.atomic
def handover_return(*, handover: Handover, by: User, reason: str) -> Handover:
    handover = Handover.objects.select_for_update().get(pk=handover.pk)
    _check_reviewer(handover, by)
    if not reason.strip():
        raise ValidationError({"return_reason": _("Say what is missing so sales can complete it.")})
    _record(handover, to=S.RETURNED, by=by, note=reason)
    handover.return_reason = reason
    handover.decided_at = timezone.now()
    handover.save()
    return handover


@transaction.atomic
def handover_accept(*, handover: Handover, by: User) -> Handover:
    """Accept: the reviewer becomes the CSM unless one was named, and the account moves
    to the kickoff stage. A second accept (double click) changes nothing."""
    handover = Handover.objects.select_for_update().get(pk=handover.pk)
    if handover.status == S.ACCEPTED:
        return handover
    _check_reviewer(handover, by)
    _record(handover, to=S.ACCEPTED, by=by)
    handover.csm = handover.csm or by
    handover.decided_at = timezone.now()
    handover.save()
    Account.objects.filter(pk=handover.account_id).update(
        csm=handover.csm, lifecycle_stage=Account.Stage.KICKOFF, team=handover.csm.team
    )
    return handover
