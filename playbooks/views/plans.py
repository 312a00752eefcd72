"""Playbooks pages: plans (issue 5)."""

urlpatterns = []
