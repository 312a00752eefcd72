"""Health API modules; each registers its viewsets on cs_platform.api.router."""
