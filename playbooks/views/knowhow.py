"""Playbooks pages: knowhow (issue 5)."""

urlpatterns = []
