"""Playbooks API: tasks (issue 5). Viewsets register on cs_platform.api.router."""
