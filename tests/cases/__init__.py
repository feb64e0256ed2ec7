"""Cases: notices in, the case list, leefgebieden and basisdossier."""
