"""What happens between meetings: pairing of casemanagers, action items, follow-ups, release moments."""
