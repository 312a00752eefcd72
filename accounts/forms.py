"""Forms of the account pages: the account itself, its customer file, stakeholders, the
timeline and the lifecycle stage. Forms validate input; writes go through accounts.services."""

import datetime as dt

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cs_platform.access import can_reassign
from people.models import Team

from .models import Account, Activity, CustomerFile, Stakeholder
from .services import FILE_SECTIONS, TEXT_SECTIONS

User = get_user_model()


class UserChoiceField(forms.ModelChoiceField):
    """Users by their full name (or username), which is what people recognise."""

    def label_from_instance(self, obj) -> str:
        return str(obj)


class AccountForm(forms.ModelForm):
    """Create or edit an account. Save it with accounts.services.account_create/update
    (form.cleaned_data is the `data` they take), not with form.save()."""

    csm = UserChoiceField(label=_("CSM"), queryset=User.objects.none(), required=False)
    sales_owner = UserChoiceField(label=_("Sales owner"), queryset=User.objects.none(), required=False)

    class Meta:
        model = Account
        fields = [
            "name",
            "external_id",
            "industry",
            "employee_count",
            "region",
            "csm",
            "sales_owner",
            "team",
            "lifecycle_stage",
            "service_model",
            "product_view",
            "usage_driver",
        ]
        error_messages = {
            "external_id": {
                "unique": _("Another account already uses this external ID."),
                "required": _("Give the account's ID in the contract or CRM system."),
            },
            "name": {"required": _("Give the account a name.")},
            "employee_count": {"invalid": _("Enter the number of employees as a whole number.")},
        }
        help_texts = {
            "external_id": _("The customer's ID in the CRM or contract system; unique."),
            "team": _("Leave empty to use the CSM's team."),
        }

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        active = User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")
        self.fields["csm"].queryset = active.filter(role__in=[User.Role.CSM, User.Role.MANAGER])
        self.fields["sales_owner"].queryset = active.filter(role=User.Role.SALES)
        self.fields["employee_count"].widget.attrs.setdefault("min", 0)
        for name in ("csm", "sales_owner", "team"):
            self.fields[name].empty_label = _("Not assigned")
        for name in ("product_view", "usage_driver"):
            self.fields[name].choices = [("", _("Not known yet")), *self.fields[name].choices[1:]]
        # Who owns an account is decided in cs_platform.access: a manager assigns within the
        # team, a CSM cannot move an account (the fields show but do not change).
        if user is not None and not user.sees_everything:
            if can_reassign(user) and user.team_id:
                self.fields["csm"].queryset = self.fields["csm"].queryset.filter(team_id=user.team_id)
                self.fields["team"].queryset = Team.objects.filter(pk=user.team_id)
            elif not can_reassign(user):
                self.fields["csm"].disabled = self.fields["team"].disabled = True

    def clean_name(self) -> str:
        name = (self.cleaned_data.get("name") or "").strip()
        if not name:
            raise forms.ValidationError(_("Give the account a name."))
        return name

    def clean_external_id(self) -> str:
        external_id = (self.cleaned_data.get("external_id") or "").strip()
        if not external_id:
            raise forms.ValidationError(_("Give the account's ID in the contract or CRM system."))
        others = Account.objects.filter(external_id__iexact=external_id)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(_("Another account already uses this external ID."))
        return external_id


class CustomerFileForm(forms.ModelForm):
    """All text sections of the customer file in one form, in file order."""

    class Meta:
        model = CustomerFile
        fields = TEXT_SECTIONS
        widgets = {key: forms.Textarea(attrs={"rows": 3}) for key in TEXT_SECTIONS}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for section in FILE_SECTIONS:
            if section.key in self.fields:
                self.fields[section.key].label = section.label


class StakeholderForm(forms.ModelForm):
    class Meta:
        model = Stakeholder
        fields = [
            "name",
            "title",
            "role",
            "influence",
            "relationship",
            "email",
            "phone",
            "goals",
            "demands",
            "personality",
        ]
        widgets = {
            "goals": forms.Textarea(attrs={"rows": 2}),
            "demands": forms.Textarea(attrs={"rows": 2}),
            "personality": forms.Textarea(attrs={"rows": 2}),
        }
        error_messages = {"name": {"required": _("Give the person's name.")}}

    def clean_name(self) -> str:
        name = (self.cleaned_data.get("name") or "").strip()
        if not name:
            raise forms.ValidationError(_("Give the person's name."))
        return name


class StakeholderLeftForm(forms.Form):
    left_on = forms.DateField(label=_("Left on"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean_left_on(self) -> dt.date:
        left_on = self.cleaned_data["left_on"]
        if left_on > timezone.localdate():
            raise forms.ValidationError(_("The date someone left cannot be in the future."))
        return left_on


class ActivityForm(forms.Form):
    """Log a touch on the timeline. Participants: the account's active stakeholders and
    our people (by default the one who logs it)."""

    kind = forms.ChoiceField(
        label=_("Kind"), choices=[c for c in Activity.Kind.choices if c[0] != Activity.Kind.MAJOR_EVENT]
    )
    occurred_at = forms.DateTimeField(
        label=_("When"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    summary = forms.CharField(
        label=_("Summary"),
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Write what happened.")},
    )
    next_step = forms.CharField(label=_("Next step"), max_length=300, required=False)
    stakeholders = forms.ModelMultipleChoiceField(
        label=_("Customer participants"),
        queryset=Stakeholder.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    participants = forms.ModelMultipleChoiceField(
        label=_("Our participants"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, stakeholders=None, users=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stakeholders"].queryset = stakeholders if stakeholders is not None else Stakeholder.objects.none()
        self.fields["participants"].queryset = users if users is not None else User.objects.none()

    def clean_summary(self) -> str:
        summary = (self.cleaned_data.get("summary") or "").strip()
        if not summary:
            raise forms.ValidationError(_("Write what happened."))
        return summary

    def clean_occurred_at(self) -> dt.datetime:
        occurred_at = self.cleaned_data["occurred_at"]
        if occurred_at > timezone.now() + dt.timedelta(minutes=5):
            raise forms.ValidationError(
                _("An activity is logged once it has happened; pick a time that is not in the future.")
            )
        return occurred_at


class StageForm(forms.Form):
    lifecycle_stage = forms.ChoiceField(label=_("Lifecycle stage"), choices=Account.Stage.choices)
