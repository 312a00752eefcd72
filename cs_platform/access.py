"""Who may see and change which account: decided here and nowhere else.

A CSM sees their own accounts and their team's; a manager sees the team's; sales see the
accounts they sold; an admin or an integration user sees everything. Pages, API, exports
and admin actions all start from these functions; what a user may not see answers 404.
"""

from dataclasses import dataclass

from django.db.models import Model, Q, QuerySet

from accounts.models import Account
from people.models import User


def _account_q(user, prefix: str = "") -> Q | None:
    """The filter that selects the accounts `user` may see, or None for all of them."""
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.sees_everything:
        return None
    role = user.role
    if role == User.Role.SALES:
        return Q(**{f"{prefix}sales_owner": user})
    if role == User.Role.MANAGER:
        if user.team_id:
            return Q(**{f"{prefix}team_id": user.team_id})
        return Q(**{f"{prefix}csm": user})
    if role == User.Role.CSM:
        q = Q(**{f"{prefix}csm": user})
        if user.team_id:
            q |= Q(**{f"{prefix}team_id": user.team_id})
        return q
    return Q(pk__in=[])


def visible_accounts(user) -> QuerySet[Account]:
    """The accounts `user` may see."""
    q = _account_q(user)
    qs = Account.objects.all()
    return qs if q is None else qs.filter(q)


def restrict(queryset: QuerySet, user, *, via: str = "account") -> QuerySet:
    """Narrow any queryset of rows that belong to an account (through `via`)."""
    q = _account_q(user, prefix=f"{via}__")
    return queryset if q is None else queryset.filter(q)


def can_see(user, account: Account) -> bool:
    return visible_accounts(user).filter(pk=account.pk).exists()


def can_change(user, obj: Model) -> bool:
    """Whether `user` may write `obj` (an account or anything with an `account`).

    Sales may read the accounts they sold but write only what they own as seller
    (objects with a `sales_owner`, e.g. a handover)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.sees_everything:
        return True
    if user.role == User.Role.SALES:
        return not isinstance(obj, Account) and getattr(obj, "sales_owner_id", None) == user.pk
    account = obj if isinstance(obj, Account) else getattr(obj, "account", None)
    return account is not None and can_see(user, account)


def can_create_account(user) -> bool:
    return user.is_authenticated and (user.sees_everything or user.role == User.Role.MANAGER)


def can_use_admin(user) -> bool:
    return user.is_authenticated and user.is_active and user.is_staff


def can_import(user) -> bool:
    """Whether `user` may import accounts, stakeholders and subscriptions from a file:
    managers (into their team's accounts) and administrators. Every row is still checked
    against visible_accounts, so an import never reaches past what the user may change."""
    return (
        user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.role in (User.Role.MANAGER, User.Role.ADMIN))
    )


def can_reassign(user) -> bool:
    """Whether `user` may choose an account's CSM and team: managers within their own team,
    administrators anywhere. A CSM edits an account's details but not who owns it."""
    return user.is_authenticated and user.is_active and (user.sees_everything or user.role == User.Role.MANAGER)


def can_assign(user, *, csm=None, team=None) -> bool:
    """Whether `user` may make `csm` and `team` an account's owners (see can_reassign)."""
    if not can_reassign(user):
        return False
    if user.sees_everything:
        return True
    return (csm is None or csm.team_id == user.team_id) and (team is None or team.pk == user.team_id)


def can_edit_paths(user) -> bool:
    """Whether `user` may edit success path templates: managers and administrators.
    Everyone else who works in the browser reads them."""
    return (
        user.is_authenticated
        and user.is_active
        and not user.is_api_only
        and (user.is_superuser or user.role in (User.Role.MANAGER, User.Role.ADMIN))
    )


def can_manage_scorecards(user) -> bool:
    """Whether `user` may edit, fit and activate health scorecards and start a scoring
    run in the browser: managers and administrators."""
    return (
        user.is_authenticated
        and user.is_active
        and not user.is_api_only
        and (user.is_superuser or user.role in (User.Role.MANAGER, User.Role.ADMIN))
    )


def can_recompute_health(user) -> bool:
    """Whether `user` may score every account on demand or fit a scorecard through the
    API: managers, administrators and integration users."""
    return user.is_authenticated and user.is_active and (user.sees_everything or user.role == User.Role.MANAGER)


# ------------------------------------------------------------------ handovers
# The handover services check the same rules again; these answer what the pages offer.


def can_start_handover(user) -> bool:
    """Whether `user` may start a handover in the browser: sales (for the accounts they
    sold, or a new one) and administrators."""
    return (
        user.is_authenticated
        and user.is_active
        and not user.is_api_only
        and (user.sees_everything or user.role == User.Role.SALES)
    )


@dataclass(frozen=True)
class HandoverRights:
    fill: bool  # edit and submit: its sales owner, or an administrator
    review: bool  # accept and return: CS of the account's team (CSMs, manager), administrators; never sales
    assign: bool  # name the receiving CSM: a manager of the account's team, or an administrator


def handover_rights(user, handover) -> HandoverRights:
    """What `user` may do with `handover` (whatever its status), with at most one query.
    An integration fills handovers for the sales owner (the CRM posting a deal) but never
    reviews them."""
    if not user.is_authenticated or not user.is_active:
        return HandoverRights(fill=False, review=False, assign=False)
    review = not user.is_api_only and user.role != User.Role.SALES and can_change(user, handover.account)
    return HandoverRights(
        fill=user.sees_everything or user.pk == handover.sales_owner_id,
        review=review,
        assign=review and (user.sees_everything or user.role == User.Role.MANAGER),
    )


def can_fill_handover(user, handover) -> bool:
    return handover_rights(user, handover).fill


def can_review_handover(user, handover) -> bool:
    return handover_rights(user, handover).review


def can_assign_handover(user, handover) -> bool:
    return handover_rights(user, handover).assign
