"""Playbooks pages: paths (issue 5)."""

urlpatterns = []
