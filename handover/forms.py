"""Forms of the handover pages. Forms validate input; writes go through handover.services
(form.cleaned_data is the `data` they take, never form.save())."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Stakeholder
from people.models import Team
from renewals.models import Product

from .models import Handover, HandoverProduct, HandoverStakeholder
from .services import ITEMS

User = get_user_model()

DATE = {"type": "date"}


class UserChoiceField(forms.ModelChoiceField):
    """Users by their full name (or username), with their team, which is what people recognise."""

    def label_from_instance(self, obj) -> str:
        return f"{obj} · {obj.team}" if obj.team_id else str(obj)


# ------------------------------------------------------------------ new handover


class HandoverStartForm(forms.Form):
    """Pick one of the accounts the salesperson sold, or name a new one."""

    account = forms.ModelChoiceField(
        label=_("Account"),
        queryset=Account.objects.none(),
        required=False,
        empty_label=_("Choose an account…"),
        help_text=_("The accounts you sold. If the customer is new, leave this empty and name it below."),
    )
    name = forms.CharField(label=_("New account: name"), max_length=200, required=False)
    external_id = forms.CharField(
        label=_("New account: ID in the CRM or contract"),
        max_length=100,
        required=False,
        help_text=_("The customer's ID in the CRM or contract system; unique."),
    )
    sales_owner = UserChoiceField(
        label=_("Sales owner"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("The account's salesperson"),
        help_text=_("The salesperson who fills the package; for a new account, choose one."),
    )

    def __init__(self, *args, accounts=None, sales_people=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts if accounts is not None else Account.objects.none()
        if sales_people is None:
            del self.fields["sales_owner"]  # sales start their own handovers
        else:
            self.fields["sales_owner"].queryset = sales_people

    def clean(self):
        data = super().clean()
        account = data.get("account")
        name = (data.get("name") or "").strip()
        external_id = (data.get("external_id") or "").strip()
        data["name"], data["external_id"] = name, external_id
        if self.errors:
            return data
        if account is not None and (name or external_id):
            raise forms.ValidationError(
                _("Either choose an existing account or name a new one, not both."), code="both"
            )
        if account is None:
            if not name and not external_id:
                raise forms.ValidationError(_("Choose an account, or name a new one."), code="none")
            if not name:
                self.add_error("name", _("Give the new account a name."))
            if not external_id:
                self.add_error("external_id", _("Give the new account's ID in the CRM or contract system."))
            elif Account.objects.filter(external_id__iexact=external_id).exists():
                self.add_error("external_id", _("Another account already uses this ID."))
        return data


# ------------------------------------------------------------------ the package


class HandoverForm(forms.ModelForm):
    """Every field of the package except the deal lines and key people (formsets below)."""

    team = forms.ModelChoiceField(
        label=_("Receiving team"),
        queryset=Team.objects.all(),
        required=False,
        empty_label=_("Not chosen yet"),
        help_text=_("The CS team that takes the customer over; its manager sees the handover waiting."),
    )
    csm = UserChoiceField(
        label=_("Receiving CSM"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Let the team's manager assign"),
        help_text=_("Optional: name the CSM if it was agreed. They must be in the receiving team."),
    )

    class Meta:
        model = Handover
        fields = [
            "contact_name",
            "contact_phone",
            "contact_email",
            "address",
            "contract_start",
            "contract_end",
            "payment_terms",
            "deal_summary",
            "needs",
            "why_bought",
            "purchase_history",
            "implementation_plan",
            "support_needs",
            "anticipated_problems",
            "sales_feedback",
            "promises",
            "kickoff_on",
        ]
        widgets = {
            "contract_start": forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
            "contract_end": forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
            "kickoff_on": forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
            "payment_terms": forms.Textarea(attrs={"rows": 2}),
            "deal_summary": forms.Textarea(attrs={"rows": 2}),
            "needs": forms.Textarea(attrs={"rows": 4}),
            "why_bought": forms.Textarea(attrs={"rows": 3}),
            "purchase_history": forms.Textarea(attrs={"rows": 4}),
            "implementation_plan": forms.Textarea(attrs={"rows": 4}),
            "support_needs": forms.Textarea(attrs={"rows": 3}),
            "anticipated_problems": forms.Textarea(attrs={"rows": 4}),
            "sales_feedback": forms.Textarea(attrs={"rows": 3}),
            "promises": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "contact_name": _("The customer's main contact for the project."),
            "deal_summary": _("In a sentence or two: what was sold, for how long, anything unusual in the contract."),
            "needs": _("What the customer expects to achieve, and any special requests."),
            "implementation_plan": _("Milestones and dates agreed with the customer."),
            "anticipated_problems": _("What could go wrong, and how you would respond."),
            "promises": _("Everything sales promised beyond the contract: trainings, features, dates."),
        }
        error_messages = {
            "contact_email": {"invalid": _("Enter an email address such as name@example.com.")},
            "contract_start": {"invalid": _("Enter a date such as 2026-12-01.")},
            "contract_end": {"invalid": _("Enter a date such as 2026-12-01.")},
            "kickoff_on": {"invalid": _("Enter a date such as 2026-12-01.")},
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["csm"].queryset = (
            User.objects.filter(is_active=True, role__in=[User.Role.CSM, User.Role.MANAGER])
            .select_related("team")
            .order_by("first_name", "last_name", "username")
        )

    def clean(self):
        data = super().clean()
        start, end = data.get("contract_start"), data.get("contract_end")
        if start and end and end <= start:
            self.add_error("contract_end", _("The contract must end after it starts."))
        csm, team = data.get("csm"), data.get("team")
        if csm is not None and team is not None and csm.team_id != team.pk:
            self.add_error("csm", _("This CSM is not in the receiving team."))
        return data

    def service_data(self) -> dict:
        """The package fields as handover_update takes them (team and CSM go separately)."""
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class ProductField(forms.ModelChoiceField):
    """The product of a deal line, chosen among products read once for the whole form
    (not once per line)."""

    def __init__(self, **kwargs):
        super().__init__(queryset=Product.objects.none(), **kwargs)
        self.by_pk = {}

    def set_products(self, products: list[Product]) -> None:
        self.by_pk = {str(p.pk): p for p in products}
        self.choices = [("", self.empty_label), *((p.pk, str(p)) for p in products)]

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return self.by_pk[str(value)]
        except KeyError:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice", params={"value": value}
            ) from None


def products_for_lines() -> list[Product]:
    return list(Product.objects.order_by("product_line", "name"))


class ProductLineForm(forms.ModelForm):
    product = ProductField(
        label=_("Product"),
        empty_label=_("Choose…"),
        error_messages={"required": _("Choose the product."), "invalid_choice": _("Choose a product from the list.")},
    )

    class Meta:
        model = HandoverProduct
        fields = ["product", "quantity", "unit_price", "discount"]
        error_messages = {
            "quantity": {
                "required": _("Enter how many."),
                "invalid": _("Enter a whole number."),
                "min_value": _("At least 1."),
            },
            "unit_price": {
                "required": _("Enter the yearly price per unit."),
                "invalid": _("Enter an amount such as 1200 or 1200.50."),
                "min_value": _("The price cannot be negative."),
            },
            "discount": {
                "invalid": _("Enter a percentage such as 10."),
                "min_value": _("The discount cannot be negative."),
                "max_value": _("The discount is at most %(limit_value)s%%."),
            },
        }

    def __init__(self, *args, products: list[Product] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].set_products(products_for_lines() if products is None else products)
        self.fields["quantity"].widget.attrs.update(min=1, step=1)
        self.fields["unit_price"].widget.attrs.update(min=0, step="0.01")
        self.fields["discount"].widget.attrs.update(min=0, max=100, step="0.01")
        self.fields["discount"].required = False

    def clean_discount(self):
        discount = self.cleaned_data.get("discount")
        return 0 if discount is None else discount

    def line(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class KeyPersonForm(forms.ModelForm):
    class Meta:
        model = HandoverStakeholder
        fields = ["name", "title", "role", "influence", "email", "phone", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}
        error_messages = {
            "name": {"required": _("Give the person's name.")},
            "role": {"required": _("Choose their role.")},
            "email": {"invalid": _("Enter an email address such as name@example.com.")},
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [("", _("Choose…")), *Stakeholder.Role.choices]

    def clean_name(self) -> str:
        name = (self.cleaned_data.get("name") or "").strip()
        if not name:
            raise forms.ValidationError(_("Give the person's name."))
        return name

    def person(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class _LinesFormSet(forms.BaseFormSet):
    """Lines that are left blank or marked for removal are dropped; the rest replace the
    stored lines."""

    def rows(self) -> list[forms.Form]:
        """The lines to keep: stored ones not marked for removal, and new ones filled in."""
        return [
            form
            for i, form in enumerate(self.forms)
            if (i < self.initial_form_count() or form.has_changed()) and not self._should_delete_form(form)
        ]


ProductLineFormSet = forms.formset_factory(
    ProductLineForm, formset=_LinesFormSet, extra=1, can_delete=True, max_num=100, validate_max=True
)
KeyPersonFormSet = forms.formset_factory(
    KeyPersonForm, formset=_LinesFormSet, extra=1, can_delete=True, max_num=100, validate_max=True
)


# ------------------------------------------------------------------ review


class ReturnForm(forms.Form):
    reason = forms.CharField(
        label=_("Why it goes back"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        error_messages={"required": _("Say what is missing so sales can complete it.")},
    )
    missing = forms.MultipleChoiceField(
        label=_("What is missing"),
        choices=[(item.key, item.label) for item in ITEMS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def clean_reason(self) -> str:
        reason = (self.cleaned_data.get("reason") or "").strip()
        if not reason:
            raise forms.ValidationError(_("Say what is missing so sales can complete it."))
        return reason


class AssignForm(forms.Form):
    csm = UserChoiceField(
        label=_("Receiving CSM"),
        queryset=User.objects.none(),
        empty_label=_("Choose…"),
        error_messages={"required": _("Choose the CSM."), "invalid_choice": _("Choose a CSM of the team.")},
    )

    def __init__(self, *args, csms=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["csm"].queryset = csms if csms is not None else User.objects.none()
