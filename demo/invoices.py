"""Invoices (回款) for the demo: every subscription billed each billing period from its
start, most paid on time, some late, the current ones not yet due, and a few accounts
with an invoice well past due (what the payment_overdue alert and the health score's
overdue-invoices measure read). Its own random stream."""

import datetime as dt
import random
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from renewals.models import Invoice

PAYMENT_DAYS = 30  # due this many days after issue
HISTORY_MONTHS = 24


def load(builder) -> dict:
    rng = random.Random(builder.rng.random())
    today = builder.today
    horizon = today - relativedelta(months=HISTORY_MONTHS)
    billable = [p for p in builder.plans if p.pk and p.subs and p.stage not in ("handover", "churned")]
    late_accounts = {p.pk for p in rng.sample(billable, max(1, round(len(billable) * 0.04)))}
    objs, seq, overdue = [], 0, []
    for plan in builder.plans:
        if not plan.pk:
            continue
        for sub in plan.subs:
            months = max(1, sub.bill)
            issued = sub.start
            stop = min(today, sub.end) if sub.end else today
            while issued < stop:
                if issued >= horizon:
                    seq += 1
                    amount = (sub.mrr * months).quantize(Decimal("0.01"))
                    due = issued + dt.timedelta(days=PAYMENT_DAYS)
                    paid_on = None
                    roll = rng.random()
                    if due < today:
                        if roll < 0.8:
                            paid_on = issued + dt.timedelta(days=rng.randint(5, PAYMENT_DAYS))
                        elif roll < 0.97 or plan.pk not in late_accounts:
                            paid_on = due + dt.timedelta(days=rng.randint(3, 40))
                        if paid_on and paid_on >= today:
                            paid_on = None
                    elif roll < 0.3:
                        paid_on = issued + dt.timedelta(days=rng.randint(1, max(1, (today - issued).days)))
                        paid_on = paid_on if paid_on < today else None
                    invoice = Invoice(
                        account_id=plan.pk,
                        number=f"INV-{issued.year}-{seq:05d}",
                        amount=amount,
                        issued_on=issued,
                        due_date=due,
                        paid_amount=amount if paid_on else Decimal(0),
                        paid_on=paid_on,
                    )
                    objs.append(invoice)
                    if paid_on is None and due < today:
                        overdue.append(invoice)
                issued += relativedelta(months=months)
    Invoice.objects.bulk_create(objs, batch_size=2000)
    builder.overdue_invoices = overdue
    return {"invoices": len(objs), "invoices_overdue": len(overdue)}
