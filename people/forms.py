from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class LoginForm(AuthenticationForm):
    """Service users (role `integration`) authenticate to the API with a token only."""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if user.is_api_only:
            raise forms.ValidationError(
                _("This is an API-only service account; it cannot log in to the web pages."),
                code="api_only",
            )
