"""Coordination: the room, appointments, Mijn werk, calendars, invitations, reminders."""
