from django import forms
from django.utils.translation import gettext_lazy as _


class ReturnForm(forms.Form):
    reason = forms.CharField(label=_("What is missing"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
