"""Meeting series, meetings, agendas, attendance, minutes and calendars."""
