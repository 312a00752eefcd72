"""Simplified Chinese formats as business software in China shows them: Django's, with
amounts grouped in thousands by commas (12,345,678) as on contracts and invoices."""

from django.conf.locale.zh_Hans.formats import *  # noqa: F403

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
