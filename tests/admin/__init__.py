"""Beheer: users, organisations, API keys, series, the audit trail."""
