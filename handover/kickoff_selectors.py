"""Reads for the kickoff pages; every one starts from cs_platform.access."""

from collections.abc import Iterable

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Account, Stakeholder
from cs_platform.access import restrict
from people.models import User
from playbooks.models import PlanStep, SuccessPlan

from .models import Kickoff, KickoffParticipant


def kickoff_list(*, user) -> QuerySet[Kickoff]:
    """The kickoffs of the accounts `user` may see."""
    return restrict(Kickoff.objects.all(), user).select_related("account", "account__csm", "account__team", "handover")


def kickoff_get(*, user, pk: int) -> Kickoff:
    return get_object_or_404(kickoff_list(user=user), pk=pk)


def account_kickoffs(*, user, account: Account) -> QuerySet[Kickoff]:
    """The account's kickoffs, the latest first, with how many took part on each side."""
    return (
        restrict(Kickoff.objects.filter(account=account), user)
        .annotate(
            customer_count=Count("participants", filter=Q(participants__side=KickoffParticipant.Side.CUSTOMER)),
            ours_count=Count("participants", filter=Q(participants__side=KickoffParticipant.Side.OURS)),
        )
        .order_by("-scheduled_on", "-pk")
    )


def kickoff_participants(*, kickoff: Kickoff) -> list[KickoffParticipant]:
    """Customer side first, then ours, in the order they were entered."""
    return list(kickoff.participants.select_related("stakeholder", "user").order_by("side", "pk"))


def kickoff_plan_steps(*, kickoff: Kickoff, keys: Iterable[str]) -> list[PlanStep]:
    """The steps of the account's running plans that holding the kickoff completes."""
    return list(
        PlanStep.objects.filter(
            stage__plan__account_id=kickoff.account_id, stage__plan__status=SuccessPlan.Status.ACTIVE, key__in=keys
        )
        .select_related("stage__plan")
        .order_by("stage__plan_id", "stage__order", "order", "pk")
    )


def kickoff_stakeholder_choices(*, account: Account, keep: Iterable[int] = ()) -> QuerySet[Stakeholder]:
    """The customer's people one may invite: those still at the company, and whoever is
    already on the list (someone who left since stays on the record)."""
    return Stakeholder.objects.filter(Q(is_active=True) | Q(pk__in=list(keep)), account=account).order_by("name", "pk")


def kickoff_people(*, account: Account, keep: Iterable[int] = ()) -> QuerySet[User]:
    """Our people who may see the account (the inverse of cs_platform.access: its CSM,
    its team's CSMs and managers, its sales owner, administrators), and whoever is already
    on the list. Integration users are systems, not people."""
    sees = Q(is_superuser=True) | Q(role=User.Role.ADMIN)
    sees |= Q(pk__in=[pk for pk in (account.csm_id, account.sales_owner_id) if pk])
    if account.team_id:
        sees |= Q(team_id=account.team_id, role__in=[User.Role.CSM, User.Role.MANAGER])
    return (
        User.objects.filter((sees & Q(is_active=True)) | Q(pk__in=list(keep)))
        .exclude(role=User.Role.INTEGRATION)
        .order_by("first_name", "last_name", "username")
    )
