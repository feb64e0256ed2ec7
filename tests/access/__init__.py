"""The access policy: who sees what, every route swept, every id a client sends."""
