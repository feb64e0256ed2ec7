"""In Chromium: what users do, end to end."""
