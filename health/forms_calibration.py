"""The calibration page's form. It reads the input; the rules (horizon range, dates whose
horizon has passed, a holdout after training) live in health.calibration, so the page and
the API give the same field errors."""

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .calibration import MAX_HORIZON, MIN_HORIZON
from .forms import DateInput

DEFAULT_HORIZON = 90


def calibration_defaults(today: dt.date | None = None, horizon_days: int = DEFAULT_HORIZON) -> dict:
    """The last twelve months whose horizon has passed: training on the first two thirds,
    the holdout on the last third."""
    today = today or timezone.localdate()
    last = today - dt.timedelta(days=horizon_days)
    start = today - dt.timedelta(days=365)
    return {
        "train_start": start,
        "train_end": start + dt.timedelta(days=(last - start).days * 2 // 3),
        "horizon_days": horizon_days,
        "activate": False,
    }


class CalibrationForm(forms.Form):
    train_start = forms.DateField(
        label=_("Training starts"), widget=DateInput(), help_text=_("The first date observed.")
    )
    train_end = forms.DateField(
        label=_("Training ends"),
        widget=DateInput(),
        help_text=_("Later dates whose horizon has passed check the fit (the holdout)."),
    )
    horizon_days = forms.IntegerField(
        label=_("Horizon (days)"),
        min_value=MIN_HORIZON,
        max_value=MAX_HORIZON,
        help_text=_("An account churns when it has no active subscription this many days after a date."),
    )
    activate = forms.BooleanField(
        label=_("Activate the fitted version right away"),
        required=False,
        help_text=_("Otherwise review it on its page and activate it there."),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", calibration_defaults())
        super().__init__(*args, **kwargs)
        today = timezone.localdate().isoformat()
        self.fields["train_start"].widget.attrs["max"] = today
        self.fields["train_end"].widget.attrs["max"] = today
