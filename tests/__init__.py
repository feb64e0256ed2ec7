"""The test suite; mirrors app/. See tests/conftest.py for how databases are provided."""
