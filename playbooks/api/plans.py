"""Playbooks API: plans (issue 5). Viewsets register on cs_platform.api.router."""
