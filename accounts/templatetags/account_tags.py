"""Template helpers of the accounts pages."""

from django import template

from cs_platform import access

register = template.Library()


@register.filter
def can_import(user) -> bool:
    """`{% if request.user|can_import %}`: whether to offer the import page."""
    return access.can_import(user)
