"""People, detention notices, cases, detention periods, leefgebieden and the basisdossier."""
