import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import Account, Activity, CustomerFile, Stakeholder
from handover.models import Handover
from health.models import Alert, HealthScore, UsageEvent
from people.models import Team, User
from playbooks.models import Playbook, PlaybookStep, Task
from renewals.models import Invoice, Product, Renewal, Subscription


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    role = User.Role.CSM
    team = factory.SubFactory(TeamFactory)
    password = factory.django.Password("pw-for-tests-123")


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    external_id = factory.Sequence(lambda n: f"EXT-{n:05d}")
    name = factory.Sequence(lambda n: f"Account {n} Ltd")
    industry = Account.Industry.MANUFACTURING
    employee_count = 250
    csm = factory.SubFactory(UserFactory)
    team = factory.LazyAttribute(lambda a: a.csm.team if a.csm else None)
    lifecycle_stage = Account.Stage.ADOPTION
    tier = Account.Tier.STANDARD


class CustomerFileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerFile
        django_get_or_create = ["account"]

    account = factory.SubFactory(AccountFactory)


class StakeholderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stakeholder

    account = factory.SubFactory(AccountFactory)
    name = factory.Faker("name")
    title = "CIO"
    role = Stakeholder.Role.DECISION_MAKER


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    account = factory.SubFactory(AccountFactory)
    kind = Activity.Kind.CALL
    occurred_at = factory.LazyFunction(timezone.now)
    summary = "Weekly check-in call"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ["code"]

    code = "crm-pro"
    name = "CRM Pro"
    product_line = "CRM"


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    account = factory.SubFactory(AccountFactory)
    product = factory.SubFactory(ProductFactory)
    start_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=200))
    end_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=165))
    mrr = Decimal("1000.00")


class RenewalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Renewal

    account = factory.SubFactory(AccountFactory)
    due_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=30))
    owner = factory.LazyAttribute(lambda r: r.account.csm)
    forecast_mrr = Decimal("1000.00")


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    account = factory.SubFactory(AccountFactory)
    title = factory.Sequence(lambda n: f"Call the customer #{n}")
    due_date = factory.LazyFunction(timezone.localdate)
    owner = factory.LazyAttribute(lambda t: t.account.csm)


class PlaybookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Playbook

    name = factory.Sequence(lambda n: f"Playbook {n}")


class PlaybookStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlaybookStep

    playbook = factory.SubFactory(PlaybookFactory)
    order = factory.Sequence(lambda n: n)
    title = factory.Sequence(lambda n: f"Step {n}")
    offset_days = 3


class UsageEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UsageEvent

    account = factory.SubFactory(AccountFactory)
    event_type = "login"
    occurred_at = factory.LazyFunction(timezone.now)
    user_id = "u1"
    event_id = factory.Sequence(lambda n: f"evt-{n}")


class HealthScoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HealthScore

    account = factory.SubFactory(AccountFactory)
    as_of = factory.LazyFunction(timezone.localdate)
    score = 75
    band = "green"


class AlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Alert

    account = factory.SubFactory(AccountFactory)
    type = Alert.Type.HEALTH_DROP
    reason = "Logins fell by half"


class HandoverFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Handover

    account = factory.SubFactory(AccountFactory, lifecycle_stage=Account.Stage.HANDOVER)
    sales_owner = factory.SubFactory(UserFactory, role=User.Role.SALES, team=None)
    deal_summary = "200 seats of CRM Pro, 3-year contract"


class InvoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invoice

    account = factory.SubFactory(AccountFactory)
    number = factory.Sequence(lambda n: f"INV-{n:04d}")
    amount = Decimal("12000.00")
    due_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=40))
    issued_on = factory.LazyAttribute(lambda i: i.due_date - dt.timedelta(days=30))
