"""Playbooks API: paths (issue 5). Viewsets register on cs_platform.api.router."""
