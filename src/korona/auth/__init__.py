"""Organisations, users, roles, sessions, API tokens, CSRF and permissions."""
