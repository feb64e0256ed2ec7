"""Accounts: login, sessions, tokens, password reset."""
