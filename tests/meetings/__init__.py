"""Meetings: cadence, the agenda, the meetings API."""
