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


# ------------------------------------------------------------------ subscriptions, leads, invoices
# Issue 8. Subscriptions and invoices are money other systems own: integrations and
# administrators write any; the CS team writes subscriptions (never invoices, except a
# payment) of the accounts it may change. Leads are found by CS and closed by sales.

_CS_ROLES = (User.Role.CSM, User.Role.MANAGER)


def _active(user) -> bool:
    return bool(user.is_authenticated and user.is_active)


def can_write_subscriptions(user) -> bool:
    """Whether `user` may write subscriptions at all (which accounts: subscription_accounts)."""
    return _active(user) and (user.sees_everything or user.role in _CS_ROLES)


def subscription_accounts(user) -> QuerySet[Account]:
    """The accounts whose subscriptions `user` may write: every account for integrations
    and administrators, the accounts a manager or CSM may change (those they see)."""
    return visible_accounts(user) if can_write_subscriptions(user) else Account.objects.none()


def can_manage_products(user) -> bool:
    """Whether `user` may add and edit products: integration users and administrators."""
    return _active(user) and user.sees_everything


def can_write_invoices(user) -> bool:
    """Whether `user` may create, change and delete invoices (billing systems): integration
    users and administrators."""
    return _active(user) and user.sees_everything


def can_record_payment(user, account: Account) -> bool:
    """Whether `user` may record a payment received on an invoice of `account` in the
    browser: administrators, and the CSMs and managers who may change the account (CS
    follows up collections)."""
    if not _active(user) or user.is_api_only:
        return False
    return user.sees_everything or (user.role in _CS_ROLES and can_change(user, account))


def restrict_leads(queryset: QuerySet, user) -> QuerySet:
    """Leads `user` may see: those of the accounts they see, and for sales also the leads
    handed to them (a sales person chosen for a lead may not have sold the account)."""
    q = _account_q(user, prefix="account__")
    if q is None:
        return queryset
    if _active(user) and user.role == User.Role.SALES:
        q |= Q(sales_owner=user)
    return queryset.filter(q)


def can_log_lead(user, account: Account) -> bool:
    """Whether `user` may log an expansion lead on `account`: the CSMs and managers who may
    change it, administrators and integrations (a CRM posting one for a CSM)."""
    if not _active(user):
        return False
    return user.sees_everything or (user.role in _CS_ROLES and can_change(user, account))


@dataclass(frozen=True)
class LeadRights:
    edit: bool  # change title, kind, product, estimate, description
    hand: bool  # hand to sales (or drop before that)
    close: bool  # mark won or lost once with sales


def lead_rights(user, lead, *, account_visible: bool | None = None) -> LeadRights:
    """What `user` may do with `lead` (the status decides what is possible now). CS of the
    account do everything; the sales person it was handed to closes it. Pass
    `account_visible` when already known (a list scoped by visible accounts) to save the query."""
    if not _active(user):
        return LeadRights(edit=False, hand=False, close=False)
    if user.sees_everything:
        return LeadRights(edit=True, hand=True, close=True)
    cs = False
    if user.role in _CS_ROLES:
        cs = account_visible if account_visible is not None else can_change(user, lead.account)
    seller = user.role == User.Role.SALES and lead.sales_owner_id == user.pk
    return LeadRights(edit=cs, hand=cs, close=cs or seller)


# ------------------------------------------------------------------ renewals
# The renewal services check these again; the pages ask them to decide what to offer.


def can_change_renewal(user, renewal) -> bool:
    """Whether `user` may work a renewal (stage, probability, forecast, close it): whoever
    may change its account, and the renewal's owner, who is a seller for a first-year
    renewal or a new product line and may not otherwise write the account."""
    if not user.is_authenticated or not user.is_active:
        return False
    if renewal.owner_id == user.pk and can_see(user, renewal.account):
        return True
    return can_change(user, renewal.account)


def can_reassign_renewal(user, renewal) -> bool:
    """Whether `user` may choose who owns a renewal (the can_reassign rule): a manager for
    the accounts of their team, an administrator for any."""
    return can_reassign(user) and can_change(user, renewal.account)


def can_own_renewal(user, renewal, owner) -> bool:
    """Whether `user` may make `owner` the owner of `renewal`: an administrator anyone who
    works in the browser; a manager someone of their own team or a seller."""
    if owner is None or not owner.is_active or owner.is_api_only or not can_reassign_renewal(user, renewal):
        return False
    if user.sees_everything:
        return True
    return owner.role == User.Role.SALES or (owner.team_id is not None and owner.team_id == user.team_id)


def can_record_churn(user, account: Account) -> bool:
    """Whether `user` may record that an account churned: whoever may change the account
    (its CSM, the team, its manager, an administrator); never sales alone."""
    return can_change(user, account)


def can_change_visible_renewal(user, renewal) -> bool:
    """can_change_renewal for a renewal already read through restrict (so the user sees
    its account), without a query: lists and the board ask it once per row. Sales may
    change only the renewals they own; everyone else who sees an account may change it."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.sees_everything or renewal.owner_id == user.pk:
        return True
    return user.role in (User.Role.CSM, User.Role.MANAGER)
