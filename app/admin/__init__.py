"""Beheer: accounts, organisations, API keys, meeting-series membership and the audit trail."""
