"""Forms of the kickoff pages: the meeting, its participants (one formset per side) and
marking it as held."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Kickoff, KickoffParticipant

DATE = {"type": "date"}


class KickoffForm(forms.ModelForm):
    class Meta:
        model = Kickoff
        fields = [
            "scheduled_on", "background", "expected_outcomes", "minutes", "follow_up_plan", "group_chat_created",
            "group_chat_name",
        ]  # fmt: skip
        widgets = {
            "scheduled_on": forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
            "background": forms.Textarea(attrs={"rows": 3}),
            "expected_outcomes": forms.Textarea(attrs={"rows": 3}),
            "minutes": forms.Textarea(attrs={"rows": 8}),
            "follow_up_plan": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {
            "background": _("Why the customer bought and what the first project is about."),
            "expected_outcomes": _(
                "What the customer wants to have achieved by the end of the first project. "
                "Needed before the kickoff can be marked as held."
            ),
            "minutes": _(
                "What was discussed and decided. Once the kickoff is held, written minutes complete the "
                "“minutes sent” step of the success plan."
            ),
            "follow_up_plan": _("Next steps with owners and dates, on both sides."),
            "group_chat_name": _("The project group chat with the customer, as it is named in the messaging app."),
        }

    def clean(self):
        data = super().clean()
        if data.get("group_chat_name", "").strip() and not data.get("group_chat_created"):
            self.add_error("group_chat_created", _("Tick this box if the group chat has been created."))
        return data


class HoldForm(forms.Form):
    """Marking the kickoff as held asks for the day and confirms the outcomes the customer
    expects (they go on the account's timeline)."""

    held_on = forms.DateField(label=_("Held on"), widget=forms.DateInput(attrs=DATE, format="%Y-%m-%d"))
    expected_outcomes = forms.CharField(
        label=_("Expected outcomes"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("As agreed in the meeting."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["held_on"].widget.attrs["max"] = timezone.localdate().isoformat()

    def clean_held_on(self):
        held_on = self.cleaned_data["held_on"]
        if held_on > timezone.localdate():
            raise ValidationError(_("A kickoff is recorded once it has happened."))
        return held_on

    def clean_expected_outcomes(self):
        outcomes = self.cleaned_data["expected_outcomes"].strip()
        if not outcomes:
            raise ValidationError(_("Write down the outcomes the customer expects."))
        return outcomes


class ParticipantForm(forms.Form):
    """One person at the meeting: chosen from a list (the account's stakeholders, or our
    people who may see the account) or typed, with their role in the project. The choices
    are read once per formset and shared by its rows, so more rows cost no more queries."""

    person = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    name = forms.CharField(
        label=_("Or type a name"),
        max_length=100,
        required=False,
        help_text=_("For someone not on the list."),
    )
    role = forms.CharField(label=_("Role in the project"), max_length=100, required=False)

    def __init__(self, *args, people: dict, side: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.people = people
        field = self.fields["person"]
        field.label = _("Stakeholder") if side == KickoffParticipant.Side.CUSTOMER else _("Colleague")
        field.choices = [("", "—"), *((pk, label) for pk, (_obj, label) in people.items())]

    def clean(self):
        data = super().clean()
        if data.get("person") is None and not data.get("name", "").strip() and data.get("role", "").strip():
            self.add_error("name", _("Choose a person or type a name."))
        return data

    def participant(self) -> dict | None:
        """The row as the service takes it, or None for an empty row."""
        data = getattr(self, "cleaned_data", None) or {}
        person = self.people[data["person"]][0] if data.get("person") is not None else None
        name = data.get("name", "").strip()
        if person is None and not name:
            return None
        return {"person": person, "name": "" if person is not None else name, "role": data.get("role", "").strip()}


class BaseParticipantFormSet(forms.BaseFormSet):
    def __init__(self, *args, side: str, choices, **kwargs):
        self.side = side
        if side == KickoffParticipant.Side.CUSTOMER:
            self.people = {s.pk: (s, f"{s.name} · {s.title}" if s.title else s.name) for s in choices}
        else:
            self.people = {u.pk: (u, str(u)) for u in choices}
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {"people": self.people, "side": self.side}

    @property
    def is_customer(self) -> bool:
        return self.side == KickoffParticipant.Side.CUSTOMER

    def participants(self) -> list[dict]:
        """Every kept, non-empty row, for kickoff_participants_set."""
        person_field = "stakeholder" if self.is_customer else "user"
        rows = []
        for form in self.forms:
            if self.can_delete and self._should_delete_form(form):
                continue
            row = form.participant()
            if row is not None:
                rows.append({"side": self.side, "name": row["name"], "role": row["role"], person_field: row["person"]})
        return rows


ParticipantFormSet = forms.formset_factory(
    ParticipantForm, formset=BaseParticipantFormSet, extra=1, can_delete=True, max_num=50, validate_max=True
)


def participant_initial(participant: KickoffParticipant) -> dict:
    """A saved participant as a form row: the person when one was chosen, else the typed name."""
    person = participant.stakeholder_id or participant.user_id
    return {"person": person, "name": "" if person else participant.name, "role": participant.role}
