"""People who use the platform: users, roles, sessions, API tokens and login throttling."""
