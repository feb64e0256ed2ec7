"""Ketentafel: the shared table of a Zorg- en Veiligheidshuis for detained residents' re-integration."""
