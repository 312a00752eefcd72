"""Forms of the scorecard editor: the version (name, note, bands, activation) and one
row per measure (a formset). Saving always makes a new version through
health.scorecards.version_create; nothing here writes."""

import math
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import ScorecardMeasure, ScorecardVersion
from .scorecards import DEFAULT_MEASURES, DEFAULT_THRESHOLDS

K = ScorecardMeasure.Kind
P = ScorecardMeasure.Per

# Which fields of a measure mean something for its kind (scoring ignores the others).
EVENT_TYPE_KINDS = {K.USAGE, K.USAGE_TREND, K.ACTIVE_USERS}
PER_KINDS = {K.USAGE}
DEFAULT_WEIGHTS = {m["kind"]: m["weight"] for m in DEFAULT_MEASURES}
FALLBACK_WEIGHT = 10
MAX_MEASURES = 50
MAX_POINTS = 20


def format_number(value) -> str:
    """A number as a person writes it: 2 rather than 2.0, 0.1 rather than 0.10000."""
    value = float(value)
    if value.is_integer():
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def format_points(points) -> str:
    """[[0, 0], [2, 40]] as the editor shows it: "0:0, 2:40"."""
    return ", ".join(f"{format_number(raw)}:{format_number(score)}" for raw, score in points or [])


def parse_points(text: str) -> list[list[float]]:
    """ "0:0, 2:40, 10:80" as [[0, 0], [2, 40], [10, 80]], sorted by raw value. Accepts
    full-width punctuation and semicolons or new lines between points. Raises
    ValidationError with a message a manager can act on."""
    text = (text or "").translate(str.maketrans({"：": ":", "，": ",", "；": ",", ";": ",", "\n": ","}))
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise ValidationError(_("Give at least one point as raw value:score, e.g. 0:0, 10:100."), code="empty")
    if len(parts) > MAX_POINTS:
        raise ValidationError(_("Use at most %(max)s points.") % {"max": MAX_POINTS}, code="too_many")
    points = []
    for part in parts:
        pieces = re.split(r"\s*:\s*", part)
        try:
            if len(pieces) != 2:
                raise ValueError
            raw, score = float(pieces[0]), float(pieces[1])
        except ValueError:
            raise ValidationError(
                _("“%(point)s” is not a point: write raw value:score, e.g. 10:80.") % {"point": part}, code="format"
            ) from None
        if not (math.isfinite(raw) and math.isfinite(score)):
            raise ValidationError(
                _("“%(point)s” is not a point: use ordinary numbers.") % {"point": part}, code="format"
            )
        if not 0 <= score <= 100:
            raise ValidationError(
                _("“%(point)s”: the score after the colon must be between 0 and 100.") % {"point": part}, code="range"
            )
        points.append([int(raw) if raw.is_integer() else raw, int(score) if score.is_integer() else score])
    raws = [p[0] for p in points]
    if len(set(raws)) != len(raws):
        raise ValidationError(_("Each raw value may appear in only one point."), code="duplicate")
    return sorted(points, key=lambda p: p[0])


class ScorecardVersionForm(forms.Form):
    """The version's own settings; `measure_keys` are the keys the activation measure may
    name (the measures shown, plus any typed into new rows of a posted form)."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=150)
    note = forms.CharField(
        label=gettext_lazy("What changed"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Shown with the version, so colleagues know why it differs from the one before."),
    )
    green_from = forms.IntegerField(label=gettext_lazy("Green from"), min_value=1, max_value=100)
    yellow_from = forms.IntegerField(
        label=gettext_lazy("Yellow from"), min_value=0, max_value=99, help_text=gettext_lazy("Below this is red.")
    )
    activation_measure = forms.ChoiceField(
        label=gettext_lazy("Activation measure"),
        required=False,
        help_text=gettext_lazy("The measure whose raw value says an account is activated (using the product)."),
    )
    activation_threshold = forms.FloatField(
        label=gettext_lazy("Activation threshold"),
        help_text=gettext_lazy("Activated once the measure's raw value reaches this."),
    )
    activate = forms.BooleanField(
        label=gettext_lazy("Activate the new version now"),
        required=False,
        help_text=gettext_lazy("The next scoring run uses it. Otherwise activate it later from its page."),
    )

    def __init__(self, *args, measure_keys=(), **kwargs):
        super().__init__(*args, **kwargs)
        keys = list(dict.fromkeys(k for k in measure_keys if k))
        if self.is_bound:
            posted = [
                v.strip()
                for name, v in self.data.items()
                if re.fullmatch(r"measures-\d+-key", name) and isinstance(v, str) and v.strip()
            ]
            keys += [k for k in dict.fromkeys(posted) if k not in keys]
        self.fields["activation_measure"].choices = [("", _("None")), *((k, k) for k in keys)]

    def clean(self):
        data = super().clean()
        green, yellow = data.get("green_from"), data.get("yellow_from")
        if green is not None and yellow is not None and yellow >= green:
            self.add_error("yellow_from", _("Yellow must start below green (%(green)s).") % {"green": green})
        return data


class MeasureForm(forms.Form):
    """One measure: what it measures, how the raw value maps to 0-100, how much it counts."""

    key = forms.SlugField(
        label=gettext_lazy("Key"),
        max_length=50,
        help_text=gettext_lazy("Short name without spaces, unique in the version, e.g. logins_per_seat."),
    )
    label = forms.CharField(
        label=gettext_lazy("Label"),
        max_length=150,
        required=False,
        help_text=gettext_lazy("Optional; empty shows a name built from what it measures."),
    )
    kind = forms.ChoiceField(label=gettext_lazy("Measures"), choices=K.choices, initial=K.USAGE)
    event_type = forms.ChoiceField(label=gettext_lazy("Event type"), required=False, initial="")
    per = forms.ChoiceField(label=gettext_lazy("Counted"), choices=P.choices, initial=P.TOTAL)
    window_days = forms.IntegerField(label=gettext_lazy("Window (days)"), min_value=1, max_value=365, initial=30)
    thresholds = forms.CharField(
        label=gettext_lazy("Thresholds"),
        max_length=500,
        help_text=gettext_lazy("Points raw value:score (0-100); scores between points are interpolated."),
        widget=forms.TextInput(attrs={"placeholder": "0:0, 2:40, 10:80", "autocomplete": "off"}),
    )
    weight = forms.FloatField(label=gettext_lazy("Weight"), min_value=0, max_value=1_000_000)
    position = forms.IntegerField(
        label=gettext_lazy("Order"), required=False, min_value=0, max_value=999, widget=forms.NumberInput()
    )

    def __init__(self, *args, event_types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["event_type"].choices = [("", _("All events")), *event_types]

    def clean_thresholds(self):
        return parse_points(self.cleaned_data["thresholds"])

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind and kind not in EVENT_TYPE_KINDS:
            data["event_type"] = ""
        if kind and kind not in PER_KINDS:
            data["per"] = P.TOTAL
        return data

    def measure(self) -> dict:
        """The row as version_create takes it."""
        d = self.cleaned_data
        return {
            "key": d["key"],
            "label": d["label"].strip(),
            "kind": d["kind"],
            "event_type": d["event_type"],
            "per": d["per"],
            "window_days": d["window_days"],
            "thresholds": d["thresholds"],
            "weight": d["weight"],
        }


class BaseMeasureFormSet(forms.BaseFormSet):
    """The measures of the version being edited. Event types are read once and shared by
    every row; the checks across rows (unique keys, some weight) are made here so that
    the page shows them before the service is asked."""

    def __init__(self, *args, event_types=(), **kwargs):
        self.event_types = list(event_types)
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {"event_types": self.event_types}

    def kept_forms(self) -> list:
        """Rows not ticked for removal and not left empty, in the order asked for."""
        kept = []
        for index, form in enumerate(self.forms):
            if self.can_delete and self._should_delete_form(form):
                continue
            if not form.has_changed() and index >= self.initial_form_count():
                continue
            kept.append((index, form))

        # Rows without an order keep their place after those with one.
        def place(pair):
            index, form = pair
            position = form.cleaned_data.get("position")
            return (position is None, position or 0, index)

        return [form for _index, form in sorted(kept, key=place)]

    def clean(self):
        if any(self.errors) or not self.management_form.is_valid():
            return
        kept = self.kept_forms()
        if not kept:
            raise ValidationError(_("A scorecard needs at least one measure."), code="empty")
        seen: dict[str, MeasureForm] = {}
        for form in kept:
            key = form.cleaned_data["key"]
            if key in seen:
                form.add_error("key", _("Another measure already has the key “%(key)s”.") % {"key": key})
            seen[key] = form
        if len(seen) != len(kept):
            raise ValidationError(_("Each measure needs its own key."), code="duplicate_key")
        if not any(form.cleaned_data["weight"] > 0 for form in kept):
            raise ValidationError(_("At least one measure needs a weight above zero."), code="no_weight")

    def measures(self) -> list[dict]:
        return [form.measure() for form in self.kept_forms()]


MeasureFormSet = forms.formset_factory(
    MeasureForm,
    formset=BaseMeasureFormSet,
    extra=0,
    can_delete=True,
    max_num=MAX_MEASURES,
    validate_max=True,
    absolute_max=MAX_MEASURES * 2,
)


def event_type_choices(event_types, measures: list[dict]) -> list[tuple[str, str]]:
    """Event types telemetry has sent, plus any the measures name that are not (or no
    longer) among them, so an existing measure can be kept as it is."""
    choices = [
        (et.name, f"{et.label} ({et.name})" if et.label and et.label != et.name else et.name) for et in event_types
    ]
    known = {name for name, _label in choices}
    extra = sorted({m["event_type"] for m in measures if m.get("event_type") and m["event_type"] not in known})
    return choices + [(name, name) for name in extra]


def editor_initial(version: ScorecardVersion, measures: list[dict]) -> tuple[dict, list[dict]]:
    """What the editor starts from when making a new version out of `version`: its
    settings and measures. A fitted version becomes a weighted one: each measure gets its
    kind's default weight, and its thresholds (the kind's default when it has none)."""
    fitted = version.kind == ScorecardVersion.Kind.FITTED
    rows = []
    for i, m in enumerate(measures):
        thresholds = m.get("thresholds") or DEFAULT_THRESHOLDS.get(m["kind"]) or [[0, 0], [100, 100]]
        weight = DEFAULT_WEIGHTS.get(m["kind"], FALLBACK_WEIGHT) if fitted else m.get("weight") or 0
        rows.append(
            {
                "key": m["key"],
                "label": m.get("label") or "",
                "kind": m["kind"],
                "event_type": m.get("event_type") or "",
                "per": m.get("per") or P.TOTAL,
                "window_days": m.get("window_days") or 30,
                "thresholds": format_points(thresholds),
                "weight": format_number(weight),
                "position": i + 1,
            }
        )
    settings = {
        "name": version.name,
        "note": "",
        "green_from": version.green_from,
        "yellow_from": version.yellow_from,
        "activation_measure": version.activation_measure,
        "activation_threshold": version.activation_threshold,
    }
    return settings, rows
