"""A complete handover package for tests: every required item filled."""

import datetime as dt

from handover.services import handover_create
from renewals.models import Product

FULL = {
    "contact_name": "Wang Lei",
    "contact_phone": "+86 138 0000 0000",
    "contact_email": "wang.lei@example.com",
    "address": "88 Century Avenue, Shanghai",
    "contract_start": dt.date(2026, 12, 1),
    "contract_end": dt.date(2027, 12, 1),
    "payment_terms": "50% on signature, 50% on go-live; 30 days net",
    "needs": "Month-end close in 2 days instead of 6; all 12 branches on one process.",
    "why_bought": "Spreadsheets broke at 12 branches.",
    "implementation_plan": "Kickoff in December, go-live by end of February.",
    "anticipated_problems": "The IT manager prefers the incumbent; involve him early.",
    "promises": "Two on-site trainings included; Chinese invoices template.",
    "sales_feedback": "Price-sensitive, decided by the CFO.",
    "purchase_history": "Trial in May; two demos; a site visit to a reference customer in August.",
    "support_needs": "Chinese-speaking support on weekdays; a named contact for month-end.",
}


def product(code: str = "crm-pro") -> Product:
    return Product.objects.get_or_create(code=code, defaults={"name": code.upper(), "product_line": "CRM"})[0]


def full_lines() -> dict:
    return {
        "products": [{"product": product(), "quantity": 50, "unit_price": 1200, "discount": 10}],
        "stakeholders": [
            {"name": "Chen Jie", "title": "CFO", "role": "decision_maker", "influence": "high"},
            {"name": "Liu Yang", "title": "IT manager", "role": "it", "influence": "medium"},
        ],
    }


def complete_handover(*, account, sales_owner, team=None, csm=None, **overrides):
    """A draft handover with every required item, ready to submit."""
    lines = full_lines()
    return handover_create(
        account=account,
        sales_owner=sales_owner,
        data={**FULL, **overrides},
        products=lines["products"],
        stakeholders=lines["stakeholders"],
        team=team,
        csm=csm,
    )
