"""Helpers of the suite: live app processes and browsers, Yjs clients, faults, notices, a test clock."""
